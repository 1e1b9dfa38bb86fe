"""The report's real-digit row: each metric's value for real digits, computed once and cached.

- ``"train subset"`` metrics: N real *train* digits (drawn with a fixed seed) scored against the
  held-out split exactly like a provider's samples. Cached per (dataset, feature network, N,
  evaluation settings, metric and its version).
- ``"held-out"`` metrics: the held-out digits themselves (for the nearest-neighbour statistics:
  real, unseen digits against the train split, the baseline of the memorisation numbers). Cached
  per (dataset, feature network, metric and its version).

Only successful results are cached; a metric that is skipped or fails is tried again next time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..datasets.base import ImageDataset
from .cache import read_cached_json, write_cached_json

if TYPE_CHECKING:
    from .base import Metric
    from .evaluation import Evaluation

FLOOR_VERSION = 1
FLOOR_SEED = 0
FLOOR_SOURCE = "train subset vs held-out split"

#: Scores one metric on one evaluation: its result (None when skipped or failed).
Score = Callable[["type[Metric]", "Evaluation"], "dict[str, Any] | None"]


def floor_subset(dataset: ImageDataset, n: int) -> np.ndarray:
    """The N train images of the floor (all of them when the split is smaller)."""
    rng = np.random.default_rng(FLOOR_SEED)
    m = min(n, len(dataset.train_images))
    return dataset.train_images[np.sort(rng.choice(len(dataset.train_images), m, replace=False))]


def floor_key(evaluation: Evaluation) -> dict[str, Any]:
    """What every cached train-subset value of ``evaluation``'s floor depends on, besides the metric."""
    dataset = evaluation.dataset
    return {"version": FLOOR_VERSION, "dataset": dataset.id, "dataset_hash": dataset.content_hash,
            "feature_sha256": evaluation.feature_sha256, "n": evaluation.n, **evaluation.settings.cache_key()}


def _cached(kind: str, key: dict[str, Any], compute: Callable[[], dict[str, Any] | None]) -> dict[str, Any] | None:
    stored = read_cached_json(kind, key)
    if stored is not None:
        return stored
    value = compute()
    if isinstance(value, dict):
        write_cached_json(kind, key, value)
    return value


def _metric_key(metric: type[Metric]) -> dict[str, Any]:
    return {"metric": metric.name, "metric_version": metric.version}


def train_subset_value(metric: type[Metric], evaluation: Evaluation, score: Score) -> dict[str, Any] | None:
    """``metric`` on the N real train digits of ``evaluation``'s floor (cached)."""
    return _cached("floor", {**floor_key(evaluation), **_metric_key(metric)},
                   lambda: score(metric, evaluation.floor))


def heldout_value(metric: type[Metric], evaluation: Evaluation, score: Score) -> dict[str, Any] | None:
    """``metric`` on the held-out digits (cached per dataset and feature network)."""
    dataset = evaluation.dataset
    key = {"version": FLOOR_VERSION, "dataset": dataset.id, "dataset_hash": dataset.content_hash,
           "feature_sha256": evaluation.feature_sha256, **_metric_key(metric)}
    return _cached("heldout", key, lambda: score(metric, evaluation.heldout))
