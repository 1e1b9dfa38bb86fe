"""``score``: the same computation as a run's evaluation; KD equal to torchmetrics' KID."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from denoisebench.cli import cli
from denoisebench.encoders.image_sets import load_image_set
from denoisebench.metrics.kid import kid, kid_subsets


def test_kd_equals_torchmetrics_kid_on_the_same_features() -> None:
    tm = pytest.importorskip("torchmetrics.image.kid")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 16)), rng.normal(0.3, 1.2, size=(40, 16))

    class Given(torch.nn.Module):
        """Hands torchmetrics our features: the 'images' are row indices into them."""

        def __init__(self, feats: np.ndarray) -> None:
            super().__init__()
            self.feats = torch.from_numpy(feats)

        def forward(self, idx: torch.Tensor) -> torch.Tensor:
            return self.feats[idx.long().flatten()]

    both = np.concatenate([x, y])
    metric = tm.KernelInceptionDistance(feature=Given(both), subsets=3, subset_size=40, normalize=False)
    metric.update(torch.arange(40), real=True)  # reference
    metric.update(torch.arange(40, 80), real=False)
    mean, std = metric.compute()
    # subsets of the whole set are permutations of it: every one equals the full-set unbiased MMD^2
    ours = kid_subsets(y, x, subsets=3, subset_size=40)
    assert ours["value"] == pytest.approx(float(mean), rel=1e-9)
    assert kid(y, x) == pytest.approx(float(mean), rel=1e-9) and float(std) == pytest.approx(0, abs=1e-12)


def test_score_on_the_classifier_is_the_runs_evaluation(tmp_path: Path) -> None:
    from denoisebench.datasets.base import DatasetOptions
    from denoisebench.metrics import evaluate
    from denoisebench.plugins import get_registry

    dataset = get_registry().dataset("mnist-5k").load(DatasetOptions())
    samples = dataset.train_images[:60]
    np.savez(tmp_path / "s.npz", samples=samples)
    res = CliRunner().invoke(cli, ["score", str(tmp_path / "s.npz"), "mnist-5k:heldout", "--encoder",
                                   "mnist-classifier", "--metric", "fid", "--metric", "kid", "--json"])
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    from denoisebench.metrics import FIDProxy, KIDProxy

    run = evaluate(samples, dataset, seed=0, with_floor=False, metrics=[FIDProxy, KIDProxy])
    assert got["fid"] == run["fid"]["value"] and got["kid"] == run["kid"]["value"]


def test_image_sets_read_every_kind(tmp_path: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(1)
    colour = rng.integers(0, 256, (3, 12, 10, 3), dtype=np.uint8)
    (tmp_path / "f").mkdir()
    for i, img in enumerate(colour):
        Image.fromarray(img).save(tmp_path / "f" / f"{i}.png")
    np.testing.assert_array_equal(load_image_set(str(tmp_path / "f")), colour)
    np.savez(tmp_path / "a.npz", arr_0=colour.transpose(0, 3, 1, 2))  # N x C x H x W is transposed
    np.testing.assert_array_equal(load_image_set(str(tmp_path / "a.npz")), colour)
    np.savez(tmp_path / "b.npz", train=colour, other=colour[:1])
    np.testing.assert_array_equal(load_image_set(str(tmp_path / "b.npz") + ":other"), colour[:1])
    run = tmp_path / "run"
    run.mkdir()
    np.savez(run / "samples.npz", images=colour[..., 0])
    assert load_image_set(str(run)).shape == (3, 12, 10)
    assert load_image_set("mnist-5k:heldout").shape[1:] == (28, 28)
    from denoisebench.errors import DenoisebenchError

    np.savez(tmp_path / "float.npz", samples=colour.astype(np.float32))
    for bad, needle in [(tmp_path / "float.npz", "uint8"), (tmp_path / "nothing", "not a run directory"),
                        ("mnist-5k:test", "DATASET:train or DATASET:heldout")]:
        with pytest.raises(DenoisebenchError, match=needle):
            load_image_set(str(bad))
