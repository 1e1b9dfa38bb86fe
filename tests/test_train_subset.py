"""``train --train-size N --train-subset K``: disjoint, stratified, recorded; and probe uses the subset."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from denoisebench.cli import cli
from denoisebench.errors import DenoisebenchError
from denoisebench.training.checkpoint import read_metadata
from denoisebench.training.subset import stratified_order, training_subset
from training_kit import tiny_config


def test_subsets_are_disjoint_stratified_and_deterministic() -> None:
    labels = np.repeat(np.arange(4), [400, 400, 200, 1000])  # sorted by label, like mnist-5k
    a = training_subset(labels, len(labels), 100, 0)
    b = training_subset(labels, len(labels), 100, 1)
    assert len(a) == len(b) == 100 and not set(a) & set(b)
    for subset in (a, b):
        counts = np.bincount(labels[subset], minlength=4)
        assert np.all(np.abs(counts - np.array([20, 20, 10, 50])) <= 1), counts
    assert np.array_equal(a, training_subset(labels, len(labels), 100, 0))
    assert not np.array_equal(a, training_subset(labels, len(labels), 100, 0, seed=1))
    assert sorted(stratified_order(labels, len(labels), 0)) == list(range(len(labels)))
    assert len(set(training_subset(None, 50, 25, 0)) | set(training_subset(None, 50, 25, 1))) == 50


def test_too_small_a_split_is_a_one_line_error() -> None:
    with pytest.raises(DenoisebenchError, match=r"needs \(K \+ 1\) x N = 60 training images, but 'x' has 40"):
        training_subset(None, 40, 30, 1, dataset_id="'x'")


def test_training_on_a_subset_records_it_and_probe_uses_it(tiny_registered, tmp_path: Path) -> None:
    from denoisebench.probe.runner import ProbeConfig, run_probe
    from denoisebench.training.trainer import train

    out = tmp_path / "sub1.safetensors"
    train(tiny_config(out, steps=2, train_size=16, train_subset=1), log=lambda _m: None)
    subset = json.loads(read_metadata(out)["train_subset"])
    expected = training_subset(tiny_registered.train_labels, 40, 16, 1)
    assert subset["indices"] == expected.tolist() and subset["size"] == 16 and subset["subset"] == 1
    assert len(subset["indices_sha256"]) == 64 and "recipe" in subset
    record, _ = run_probe(ProbeConfig(provider="unet", checkpoint=out, dataset="tiny-blobs", images=8, levels=2,
                                      jacobian="none", trajectory=0), write=False)
    assert set(record["images"]["train"]) <= set(expected.tolist()) and len(record["images"]["train"]) == 8
    assert record["images"]["train_pool_size"] == 16
    assert record["provider"]["info"]["train_subset"]["indices_sha256"] == subset["indices_sha256"]


@pytest.mark.parametrize("args, words", [
    (["--train-size", "30", "--train-subset", "1"], "needs (K + 1) x N = 60"),
    (["--train-subset", "1"], "need --train-size"),
    (["--train-size", "0"], "--train-size must be at least 1"),
])
def test_cli_refuses_bad_subsets_in_one_line(tiny_registered, tmp_path: Path, args: list[str], words: str) -> None:
    result = CliRunner().invoke(cli, ["train", "-p", "unet", "--dataset", "tiny-blobs", "--steps", "1",
                                      "-o", str(tmp_path / "x.safetensors"), *args])
    assert result.exit_code == 2 and words in result.stderr and len(result.stderr.strip().splitlines()) == 1, \
        result.stderr
    assert not (tmp_path / "x.safetensors").exists()
