"""``evaluate``: every metric of a set of generated digits against the dataset's held-out split."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np

from ..datasets.base import ImageDataset
from ..errors import DenoisebenchError
from .cache import cached_array
from .classifier_view import classifier_view
from .floor import floor_metrics, heldout_baseline
from .frechet import fid_with_uncertainty
from .kid import kid_subsets
from .nearest import memorisation_stats, nearest_train
from .prdc import prdc

SCHEMA = 1
PRDC_K = 5


def feature_metrics(feats: np.ndarray, probs: np.ndarray, ref_feats: np.ndarray, *, seed: int,
                    n_bootstrap: int = 50, subsets: int = 100, k: int = PRDC_K) -> dict[str, Any]:
    """FID-proxy, KID-proxy, PRDC and the classifier view of one feature set against the reference.

    A metric that needs more samples than given is ``None``; the reason is listed in ``skipped``.
    """
    n = len(feats)
    out: dict[str, Any] = {"fid": None, "kid": None, "prdc": None, "skipped": []}
    if n >= 2:
        out["fid"] = fid_with_uncertainty(feats, ref_feats, n_bootstrap=n_bootstrap, seed=seed)
    else:
        out["skipped"].append("fid: needs at least 2 samples")
    if min(n, len(ref_feats)) >= 4:
        out["kid"] = kid_subsets(feats, ref_feats, subsets=subsets, seed=seed)
    else:
        out["skipped"].append("kid: needs at least 4 samples")
    if min(n, len(ref_feats)) > k:
        out["prdc"] = {"k": k, **prdc(ref_feats, feats, k=k)}
    else:
        out["skipped"].append(f"prdc: needs more than k = {k} samples")
    out["classifier"] = classifier_view(probs)
    return out


class _Timer:
    def __init__(self, progress: Callable[[str], None] | None) -> None:
        self.times: dict[str, float] = {}
        self.progress = progress

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        if self.progress is not None:
            self.progress(f"metrics: {name} ...")
        start = time.perf_counter()
        yield
        self.times[name] = round(time.perf_counter() - start, 3)


def evaluate(images: np.ndarray, dataset: ImageDataset, *, seed: int = 0,
             progress: Callable[[str], None] | None = None, n_bootstrap: int = 50, kid_subsets_n: int = 100,
             k: int = PRDC_K, with_floor: bool = True, feature_weights: str | None = None) -> dict[str, Any]:
    """All metrics of uint8 N x H x W ``images`` (JSON-serialisable), against the held-out split.

    ``seed`` drives the bootstrap and the KID subsets. The floor and the held-out baseline are
    read from the cache when present. Times of each part are in ``timing_s``.
    """
    from .features import check_images, load_feature_network

    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 3 or len(images) < 1:
        raise DenoisebenchError("evaluate needs a non-empty uint8 N x H x W array of images")
    if images.shape[1:] != dataset.train_images.shape[1:]:
        raise DenoisebenchError(f"images are {images.shape[1:]} but dataset {dataset.id!r} has "
                                f"{dataset.train_images.shape[1:]}: evaluate against the dataset they came from")
    timer = _Timer(progress)
    n = len(images)
    result: dict[str, Any] = {"schema": SCHEMA, "n": n, "seed": seed,
                              "reference": {"split": "heldout", "n": int(len(dataset.heldout_images))},
                              "dataset": {"id": dataset.id, "hash": dataset.content_hash}}
    with timer.part("nearest training images"):
        nb = nearest_train(images, dataset.train_images)
        result["nearest"] = memorisation_stats(nb)
        result["nearest"]["train_n"] = int(len(dataset.train_images))
    with timer.part("held-out baseline"):
        result["nearest_heldout"] = heldout_baseline(dataset)
    try:
        check_images(images)
    except DenoisebenchError as exc:  # another image size: only the pixel-space metrics apply
        result.update(feature_network=None, feature_network_sha256=None, skipped=[f"feature metrics: {exc}"])
        result["timing_s"] = timer.times
        return result
    net = load_feature_network(feature_weights)
    result["feature_network"] = net.describe()
    result["feature_network_sha256"] = net.sha256
    with timer.part("features"):
        feats, probs = net.embed(images)
        ref_feats = cached_array("heldout-features", {"dataset_hash": dataset.content_hash,
                                                      "feature_sha256": net.sha256},
                                 lambda: net.embed(dataset.heldout_images)[0])
    with timer.part("fid, kid, prdc"):
        result.update(feature_metrics(feats, probs, ref_feats, seed=seed, n_bootstrap=n_bootstrap,
                                      subsets=kid_subsets_n, k=k))
    if with_floor:
        def compute(real: np.ndarray) -> dict[str, Any]:
            f, p = net.embed(real)
            return feature_metrics(f, p, ref_feats, seed=0, n_bootstrap=n_bootstrap, subsets=kid_subsets_n, k=k)

        with timer.part("real-vs-real floor"):
            result["floor"] = floor_metrics(dataset, net.sha256, n, compute,
                                            {"n_bootstrap": n_bootstrap, "kid_subsets": kid_subsets_n, "k": k})
    result["timing_s"] = timer.times
    return result
