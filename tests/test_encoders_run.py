"""``run --encoder``: feature metrics per encoder, named by metric and encoder; defaults skipped with a
reason when their weights are absent, a named encoder an error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import denoisebench
from denoisebench.cli import cli
from denoisebench.encoders import Encoder
from denoisebench.encoders.selection import choose_encoders, default_encoder_names
from denoisebench.errors import DenoisebenchError
from denoisebench.plugins import register_plugin, unregister_plugin


class Pool7(Encoder):
    """Cheap stand-in encoder: 4 x 4 average pooling of a 28 x 28 image, 49-d."""

    name = "pool7"
    description = "test: 4x4 average pooling"
    input_channels = 1
    output_dim = 49
    preprocessing = "x/255, 4x4 average pool, flatten"
    needs_weights = False

    @classmethod
    def default_weights_path(cls) -> None:
        return None

    def _build(self, weights: Path | None) -> torch.nn.Module:
        return torch.nn.Sequential(torch.nn.AvgPool2d(4), torch.nn.Flatten())

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        return x


@pytest.fixture
def pool7():  # noqa: ANN201
    class Plugin:
        @denoisebench.hookimpl
        def register_encoders(self, register):  # noqa: ANN001, ANN201
            register(Pool7)

    register_plugin(Plugin(), "pool7-plugin")
    yield
    unregister_plugin("pool7-plugin")


def test_run_with_two_encoders_records_both(pool7: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DENOISEBENCH_CACHE", str(tmp_path / "cache"))
    res = CliRunner().invoke(cli, ["run", "--provider", "empirical", "-n", "12", "--steps", "3", "--encoder",
                                   "mnist-classifier", "--encoder", "pool7", "--results-dir", str(tmp_path)],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    record = json.loads((Path(res.stdout.strip().splitlines()[-1]) / "run.json").read_text())
    metrics = record["metrics"]
    assert metrics["fid"]["value"] > 0 and metrics["fid_pool7"]["value"] > 0
    assert metrics["fid"]["value"] != metrics["fid_pool7"]["value"]
    assert metrics["declared"]["fid_pool7"]["encoder"] == "pool7"
    assert [c["key"] for c in metrics["declared"]["prdc_pool7"]["columns"]] == [
        "precision_pool7", "recall_pool7", "density_pool7", "coverage_pool7"]
    assert metrics["floor"]["fid_pool7"]["value"] >= 0 and set(metrics["encoders"]) == {"mnist-classifier", "pool7"}
    # the pool7 FD is the plain Frechet distance of the pooled pixels
    from denoisebench.datasets.base import DatasetOptions
    from denoisebench.metrics.frechet import fid
    from denoisebench.plugins import get_registry
    from denoisebench.runs.records import load_samples

    dataset = get_registry().dataset("mnist-5k").load(DatasetOptions())
    pooled = lambda a: a.reshape(len(a), 7, 4, 7, 4).mean(axis=(2, 4)).reshape(len(a), 49) / 255  # noqa: E731
    samples = load_samples(Path(res.stdout.strip().splitlines()[-1]))
    expected = fid(pooled(samples.astype(np.float64)), pooled(dataset.heldout_images.astype(np.float64)))
    assert metrics["fid_pool7"]["value"] == pytest.approx(expected, rel=1e-4)


def test_mnist_default_is_the_classifier_and_numbers_unchanged() -> None:
    from denoisebench.datasets.base import DatasetOptions
    from denoisebench.encoders import MNISTClassifierEncoder
    from denoisebench.metrics import FIDProxy, KIDProxy, evaluate
    from denoisebench.plugins import get_registry

    spec = get_registry().dataset("mnist-5k")
    assert default_encoder_names(spec, (1, 28, 28)) == ("mnist-classifier",)
    dataset = spec.load(DatasetOptions())
    images = dataset.train_images[:40]
    before = evaluate(images, dataset, with_floor=False, metrics=[FIDProxy, KIDProxy])
    after = evaluate(images, dataset, with_floor=False, metrics=[FIDProxy, KIDProxy],
                     encoders=[MNISTClassifierEncoder()])
    assert after["fid"] == before["fid"] and after["kid"] == before["kid"]


def test_default_without_weights_is_skipped_named_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    class Spec:
        default_encoders = ("inception", "pixels")

    chosen, skips = choose_encoders((), Spec(), (3, 32, 32))
    assert [e.name for e in chosen] == ["pixels"]
    assert len(skips) == 1 and "inception" in skips[0] and "pt_inception-2015-12-05-6726825d.pth" in skips[0]
    with pytest.raises(DenoisebenchError, match="pt_inception"):
        choose_encoders(("inception",), Spec(), (3, 32, 32))
    assert default_encoder_names(object(), (3, 32, 32)) == ("inception", "dinov2-vitb14")
    res = CliRunner().invoke(cli, ["run", "--provider", "empirical", "-n", "4", "--steps", "2", "--encoder",
                                   "clip-vitb32", "--results-dir", str(tmp_path / "r")])
    assert res.exit_code == 2 and "model.safetensors is missing" in res.output and res.output.count("\n") == 1
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())
