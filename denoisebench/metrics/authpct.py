"""AuthPct (Alaa et al. 2022, "How faithful is your synthetic data?", authenticity).

A generated sample g is *authentic* when it is farther from its nearest training sample r* than
r* is from its own nearest other training sample: d(g, r*) > min_{r != r*} d(r*, r). AuthPct is
the percentage of authentic samples (100: none sits closer to a training point than the training
points sit to each other; copies score 0). Euclidean distances in the chosen feature space.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .classifier_metric import ClassifierFeatureMetric
from .base import Metric, MetricColumn, MetricSkipped
from .blocks import ROW_BLOCK, spans
from .prdc import kth_neighbour_radii

if TYPE_CHECKING:
    from .evaluation import Evaluation


def nearest(queries: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance to and index of each query's nearest point (Euclidean, float64, in row blocks)."""
    q = torch.from_numpy(np.ascontiguousarray(queries, np.float64))
    p = torch.from_numpy(np.ascontiguousarray(points, np.float64))
    dist = torch.empty(len(q), dtype=torch.float64)
    index = torch.empty(len(q), dtype=torch.int64)
    with torch.inference_mode():
        for s, e in spans(len(q), ROW_BLOCK):
            d, i = torch.cdist(q[s:e], p).min(dim=1)
            dist[s:e], index[s:e] = d, i
    return dist.numpy(), index.numpy()


def authpct(generated: np.ndarray, train: np.ndarray) -> dict[str, Any]:
    """The percentage of authentic generated samples against ``train`` (both N x d)."""
    train_nn = kth_neighbour_radii(train, 1)
    dist, index = nearest(generated, train)
    authentic = dist > train_nn[index]
    return {"value": float(100.0 * authentic.mean()), "n_train": int(len(train))}


class AuthPct(ClassifierFeatureMetric):
    name = "authpct"
    description = "AuthPct (Alaa et al. 2022): % of samples farther from their nearest train point than it is from its own"
    note = ("AuthPct: percentage of samples whose distance to their nearest training sample exceeds that "
            "sample's distance to its own nearest training neighbour (Alaa et al. 2022); copies score 0.")
    columns = (MetricColumn("authpct", "AuthPct", "max", digits=1),)
    uses_features = True
    floor = "held-out"

    def compute(self, evaluation: Evaluation) -> dict[str, Any]:
        if evaluation.n < 1 or len(evaluation.dataset.train_images) < 2:
            raise MetricSkipped("needs samples and at least 2 training images")
        return authpct(evaluation.features, evaluation.train_features)
