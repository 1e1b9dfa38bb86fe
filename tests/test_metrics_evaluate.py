"""``evaluate`` end to end on real digits: the record, the floor cache, and degradations ranking."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from denoisebench.datasets.base import ImageDataset
from denoisebench.errors import DenoisebenchError
from denoisebench.metrics.features import default_weights_path, load_feature_network
from denoisebench.metrics import evaluate
from denoisebench.metrics.frechet import fid
from denoisebench.metrics.kid import kid


@pytest.fixture(scope="module")
def small(mnist5k: ImageDataset) -> ImageDataset:
    """300 train / 200 held-out digits of mnist-5k (every class in both)."""
    rng = np.random.default_rng(0)
    tr = np.sort(rng.choice(len(mnist5k.train_images), 300, replace=False))
    he = np.sort(rng.choice(len(mnist5k.heldout_images), 200, replace=False))
    return ImageDataset("mnist-small", mnist5k.train_images[tr], mnist5k.train_labels[tr],
                        mnist5k.heldout_images[he], mnist5k.heldout_labels[he])


def test_shipped_network_is_pinned_and_accurate(mnist5k: ImageDataset) -> None:
    net = load_feature_network()
    path = default_weights_path()
    assert net.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert net.manifest["dataset"]["hash"] == mnist5k.content_hash  # trained on this dataset's train split
    feats, probs = net.embed(mnist5k.heldout_images[::4])
    assert feats.shape == (250, net.feature_dim) and feats.dtype == np.float64
    assert (probs.argmax(1) == mnist5k.heldout_labels[::4]).mean() > 0.95


def test_tampered_weights_are_refused(tmp_path: Path) -> None:
    src = default_weights_path()
    dst = tmp_path / src.name
    shutil.copy(src, dst)
    manifest = json.loads(src.with_suffix(".json").read_text())
    manifest["sha256"] = "0" * 64
    dst.with_suffix(".json").write_text(json.dumps(manifest))
    with pytest.raises(DenoisebenchError, match="sha256"):
        load_feature_network(dst)


def test_record_is_self_contained_and_floor_is_cached(small: ImageDataset, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DENOISEBENCH_CACHE", str(tmp_path))
    images = small.train_images[:40]  # exact copies of training digits
    out = evaluate(images, small, seed=0, n_bootstrap=10, kid_subsets_n=20)
    json.dumps(out)  # JSON-serialisable
    assert out["n"] == 40 and out["feature_network_sha256"] == load_feature_network().sha256
    assert out["reference"] == {"split": "heldout", "n": 200}
    assert out["fid"]["n_bootstrap"] == 10 and out["fid"]["std"] > 0
    assert out["kid"]["subsets"] == 20 and out["kid"]["subset_size"] == 20
    assert set(out["prdc"]) == {"k", "precision", "recall", "density", "coverage"}
    assert sum(out["classifier"]["histogram"]) == 40
    assert out["nearest"]["memorised_share"] == 1.0
    assert out["nearest_heldout"]["memorised_share"] < 0.05
    assert out["authpct"]["value"] == 0.0 and out["authpct_heldout"]["value"] > 50  # copies vs real unseen digits
    assert out["floor"]["n"] == 40 and out["floor"]["cache_key"]["feature_sha256"] == out["feature_network_sha256"]
    floor_files = sorted((tmp_path / "metrics").glob("floor-*.json"))
    heldout_files = sorted((tmp_path / "metrics").glob("heldout-*.json"))
    assert len(floor_files) == 5  # fid, kid, prdc, classifier, vendi on the real train subset
    assert len(heldout_files) == 2  # the held-out digits: nearest-neighbour baseline and AuthPct
    assert len(list((tmp_path / "metrics").glob("*.json"))) == 7

    from denoisebench.metrics.evaluation import Evaluation

    def boom(self):  # type: ignore[no-untyped-def]
        raise AssertionError("recomputed instead of reading the cache")

    monkeypatch.setattr(Evaluation, "floor", property(boom))
    monkeypatch.setattr(Evaluation, "heldout", property(boom))
    again = evaluate(images, small, seed=0, n_bootstrap=10, kid_subsets_n=20)
    assert again["floor"] == out["floor"] and again["nearest_heldout"] == out["nearest_heldout"]


def test_tiny_sets_skip_what_they_cannot_measure(small: ImageDataset) -> None:
    out = evaluate(small.heldout_images[:3], small, seed=0, n_bootstrap=5, with_floor=False)
    assert out["fid"] is not None and out["kid"] is None and out["prdc"] is None
    assert any("kid" in s for s in out["skipped"]) and any("prdc" in s for s in out["skipped"])


def test_bad_input_is_a_one_line_error(small: ImageDataset) -> None:
    with pytest.raises(DenoisebenchError, match="uint8"):
        evaluate(np.zeros((4, 28, 28), np.float32), small, seed=0)
    with pytest.raises(DenoisebenchError, match="dataset"):
        evaluate(np.zeros((4, 14, 14), np.uint8), small, seed=0)


def test_degradations_rank_monotonically(mnist5k: ImageDataset) -> None:
    """Held-out digits with more noise or blur are farther from real digits in FID and KID."""
    net = load_feature_network()
    ref, _ = net.embed(mnist5k.train_images[::10])  # 400 real train digits
    held = mnist5k.heldout_images[::4].astype(np.float64) / 255  # 250 held-out digits
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(held.shape)

    def score(x: np.ndarray) -> tuple[float, float]:
        f, _ = net.embed((np.clip(x, 0, 1) * 255).round().astype(np.uint8))
        return fid(f, ref), kid(f, ref)

    for degrade, strengths in (("noise", (0.0, 0.1, 0.2, 0.4)), ("blur", (0.0, 0.75, 1.25, 2.0))):
        scores = [score(held + s * noise if degrade == "noise" else
                        gaussian_filter(held, sigma=(0, s, s)) if s else held) for s in strengths]
        fids, kids = [s[0] for s in scores], [s[1] for s in scores]
        assert all(a < b for a, b in zip(fids, fids[1:])), (degrade, fids)
        assert all(a < b for a, b in zip(kids, kids[1:])), (degrade, kids)


def test_corrupt_cache_files_are_recomputed(small: ImageDataset, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DENOISEBENCH_CACHE", str(tmp_path))
    first = evaluate(small.heldout_images[:20], small, seed=0, n_bootstrap=5, kid_subsets_n=5)
    cached = sorted((tmp_path / "metrics").iterdir())
    assert {p.suffix for p in cached} == {".json", ".arr"}
    for p in cached:
        p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])  # truncate every cache file
    again = evaluate(small.heldout_images[:20], small, seed=0, n_bootstrap=5, kid_subsets_n=5)
    assert again["fid"] == first["fid"] and again["floor"] == first["floor"]


def test_saved_classifier_is_pinned_and_written_atomically(tiny_dataset: ImageDataset, tmp_path: Path) -> None:
    from denoisebench.metrics.features import DigitClassifier
    from denoisebench.metrics.features.train import TrainConfig, save_classifier

    out = tmp_path / "weights" / "clf.safetensors"
    manifest = save_classifier(DigitClassifier(), out, tiny_dataset, TrainConfig(), heldout_accuracy=0.5, train_s=1.0)
    assert sorted(p.name for p in out.parent.iterdir()) == ["clf.json", "clf.safetensors"]  # no temp files left
    assert json.loads(out.with_suffix(".json").read_text()) == manifest
    assert load_feature_network(out).sha256 == manifest["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
