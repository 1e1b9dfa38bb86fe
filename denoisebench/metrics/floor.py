"""The real-vs-real floor and the held-out baseline, each computed once and cached.

- Floor: the same feature metrics for real digits that a perfect generator would get: an
  equal-size subset of the *train* split (N images drawn with a fixed seed) against the held-out
  split. Cached per (dataset hash, feature-network sha256, N).
- Baseline: nearest-training-image statistics of the held-out digits (real, unseen images), the
  reference for the memorisation numbers. Cached per dataset hash.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..datasets.base import ImageDataset
from .cache import cached_json
from .nearest import memorisation_stats, nearest_train

FLOOR_VERSION = 1
FLOOR_SEED = 0


def floor_subset(dataset: ImageDataset, n: int) -> np.ndarray:
    """The N train images of the floor (all of them when the split is smaller)."""
    rng = np.random.default_rng(FLOOR_SEED)
    m = min(n, len(dataset.train_images))
    return dataset.train_images[np.sort(rng.choice(len(dataset.train_images), m, replace=False))]


def floor_metrics(dataset: ImageDataset, feature_sha: str, n: int,
                  compute: Callable[[np.ndarray], dict[str, Any]], params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Cached ``compute(train_subset_images)`` (the feature metrics of real train digits).

    ``params`` (bootstrap count, KID subsets, k) are part of the cache key.
    """
    key = {"version": FLOOR_VERSION, "dataset": dataset.id, "dataset_hash": dataset.content_hash,
           "feature_sha256": feature_sha, "n": int(n), **(params or {})}

    def run() -> dict[str, Any]:
        subset = floor_subset(dataset, n)
        return {"n": int(len(subset)), "source": "train subset vs held-out split", **compute(subset)}

    return {**cached_json("floor", key, run), "cache_key": key}


def heldout_baseline(dataset: ImageDataset) -> dict[str, Any]:
    """Cached nearest-training-image statistics of the whole held-out split."""
    key = {"version": FLOOR_VERSION, "dataset": dataset.id, "dataset_hash": dataset.content_hash}
    return cached_json("heldout-nearest", key,
                       lambda: memorisation_stats(nearest_train(dataset.heldout_images, dataset.train_images)))
