"""The builtin metrics as hook plugins: values equal to the metric functions called directly (as the
evaluation did before the hook), declared metadata, shared work done once, bad declarations refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from denoisebench import Evaluation, Metric, MetricColumn
from denoisebench.datasets.base import ImageDataset
from denoisebench.errors import DenoisebenchError
from denoisebench.metrics import BUILTIN_METRICS, evaluate
from denoisebench.metrics.classifier_view import classifier_view
from denoisebench.metrics.features import load_feature_network
from denoisebench.metrics.floor import floor_subset
from denoisebench.metrics.frechet import fid_with_uncertainty
from denoisebench.metrics.kid import kid_subsets
from denoisebench.metrics.nearest import memorisation_stats, nearest_train
from denoisebench.metrics.prdc import prdc


@pytest.fixture(scope="module")
def small(mnist5k: ImageDataset) -> ImageDataset:
    """400 train / 150 held-out digits of mnist-5k."""
    rng = np.random.default_rng(1)
    tr = np.sort(rng.choice(len(mnist5k.train_images), 400, replace=False))
    he = np.sort(rng.choice(len(mnist5k.heldout_images), 150, replace=False))
    return ImageDataset("mnist-small-b", mnist5k.train_images[tr], mnist5k.train_labels[tr],
                        mnist5k.heldout_images[he], mnist5k.heldout_labels[he])


@pytest.fixture(scope="module")
def images(small: ImageDataset) -> np.ndarray:
    """60 'generated' digits: held-out digits of the full set with noise, so no metric is trivial."""
    from denoisebench.datasets.mnist5k import load_mnist5k
    from denoisebench.datasets.base import DatasetOptions

    real = load_mnist5k(DatasetOptions()).heldout_images[-60:].astype(np.float64)
    noise = np.random.default_rng(2).normal(0, 30, real.shape)
    return np.clip(real + noise, 0, 255).round().astype(np.uint8)


def _without(d: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in keys}


def test_values_are_those_of_the_metric_functions(small: ImageDataset, images: np.ndarray) -> None:
    seed, boot, subsets = 7, 12, 15
    out = evaluate(images, small, seed=seed, n_bootstrap=boot, kid_subsets_n=subsets, metrics=BUILTIN_METRICS)
    net = load_feature_network()
    feats, probs = net.embed(images)
    ref = net.embed(small.heldout_images)[0]
    assert out["fid"] == fid_with_uncertainty(feats, ref, n_bootstrap=boot, seed=seed)
    assert out["kid"] == kid_subsets(feats, ref, subsets=subsets, seed=seed)
    assert out["prdc"] == {"k": 5, **prdc(ref, feats, k=5)}
    assert out["classifier"] == classifier_view(probs)
    assert out["nearest"] == {**memorisation_stats(nearest_train(images, small.train_images)), "train_n": 400}
    heldout = memorisation_stats(nearest_train(small.heldout_images, small.train_images))
    assert _without(out["nearest_heldout"], "train_n") == heldout
    # the floor: N real train digits scored with seed 0, exactly like a provider's samples
    f, p = net.embed(floor_subset(small, len(images)))
    floor = out["floor"]
    assert floor["n"] == 60 and floor["source"] == "train subset vs held-out split" and floor["skipped"] == []
    assert floor["fid"] == fid_with_uncertainty(f, ref, n_bootstrap=boot, seed=0)
    assert floor["kid"] == kid_subsets(f, ref, subsets=subsets, seed=0)
    assert floor["prdc"] == {"k": 5, **prdc(ref, f, k=5)}
    assert floor["classifier"] == classifier_view(p)
    assert "nearest" not in floor  # its real-digit value is the held-out baseline above
    # and read back from the cache: still identical
    again = evaluate(images, small, seed=seed, n_bootstrap=boot, kid_subsets_n=subsets, metrics=BUILTIN_METRICS)
    assert again["floor"] == floor and again["nearest_heldout"] == out["nearest_heldout"]


def test_registered_builtins_and_their_declarations(small: ImageDataset, images: np.ndarray) -> None:
    from denoisebench.plugins import get_registry

    assert [cls for cls, _ in get_registry().metrics.values()][:len(BUILTIN_METRICS)] == list(BUILTIN_METRICS)
    out = evaluate(images[:10], small, seed=0, n_bootstrap=3, kid_subsets_n=3)
    declared = out["declared"]
    assert list(declared) == [m.name for m in BUILTIN_METRICS]
    assert declared["fid"]["depends_on_n"] is True and declared["classifier"]["depends_on_n"] is False
    assert declared["nearest"]["floor"] == "held-out" and declared["kid"]["floor"] == "train subset"
    assert declared["fid"]["plugin"] == "denoisebench.builtin" and declared["fid"]["distribution"] == "denoisebench"
    kid = {c["key"]: c for c in declared["kid"]["columns"]}
    assert kid["kid"]["better"] == "min" and kid["kid"]["scale"] == 1000.0 and kid["kid"]["std_path"] == ["std"]
    assert kid["kid_subset_size"]["shown"] is False


def test_shared_pieces_are_computed_once(small: ImageDataset, images: np.ndarray, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import denoisebench.metrics.nearest as nearest_mod

    monkeypatch.setenv("DENOISEBENCH_CACHE", str(tmp_path))  # the held-out features are not on disk yet

    calls = {"embed": 0, "nearest": 0}
    net = load_feature_network()
    real_embed, real_nearest = type(net).embed, nearest_mod.nearest_train

    def embed(self, x, batch=1000):  # type: ignore[no-untyped-def]
        calls["embed"] += 1
        return real_embed(self, x, batch)

    def nearest(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["nearest"] += 1
        return real_nearest(*args, **kwargs)

    monkeypatch.setattr(type(net), "embed", embed)
    monkeypatch.setattr(nearest_mod, "nearest_train", nearest)
    evaluation = Evaluation(images, small, seed=0)
    for metric in BUILTIN_METRICS:
        metric().compute(evaluation)
    assert calls == {"embed": 3, "nearest": 1}  # samples, held-out and train splits (AuthPct, C_T); one NN search


def test_malformed_declarations_are_refused() -> None:
    with pytest.raises(DenoisebenchError, match="better must be"):
        class Sideways(Metric):  # noqa: F841
            name = "sideways"
            description = "x"
            columns = (MetricColumn("v", "v", "up"),)

            def compute(self, evaluation: Evaluation) -> dict[str, Any]:
                return {}
    with pytest.raises(DenoisebenchError, match="reserved"):
        class Floor(Metric):  # noqa: F841
            name = "floor"
            description = "x"

            def compute(self, evaluation: Evaluation) -> dict[str, Any]:
                return {}
    with pytest.raises(DenoisebenchError, match="repeat"):
        class Twice(Metric):  # noqa: F841
            name = "twice"
            description = "x"
            columns = (MetricColumn("v", "v"), MetricColumn("v", "w"))

            def compute(self, evaluation: Evaluation) -> dict[str, Any]:
                return {}


def test_images_the_feature_network_cannot_read_skip_only_the_feature_metrics(tiny_dataset: ImageDataset) -> None:
    small_images = ImageDataset("tiny-14", tiny_dataset.train_images[:, :14, :14], tiny_dataset.train_labels,
                                tiny_dataset.heldout_images[:, :14, :14], tiny_dataset.heldout_labels)
    out = evaluate(small_images.heldout_images[:6], small_images, seed=0)
    assert out["feature_network_sha256"] is None
    assert out["fid"] is None and out["classifier"] is None
    assert any(s.startswith("fid: reads 1x28x28 images only") and "1x14x14" in s for s in out["skipped"])
    assert out["nearest"]["n"] == 6 and "failed" not in out
