"""Nearest training images in pixel space and the memorisation rule.

Images are compared in [0, 1] pixel units; a distance is the L2 norm divided by sqrt(pixels), i.e.
the root-mean-square pixel difference (0 = identical, 1 = black vs white everywhere). A sample
counts as *memorised* when d1 / d2 < 1/3, with d1 and d2 the distances to its nearest and
second-nearest training images (Gu et al. 2023, "On memorization in diffusion models").

The search is exact and runs in bounded memory: float32 matrix products over chunks of the train
split keep a few candidate neighbours per query, whose distances are then recomputed exactly in
float64 (so exact copies give exactly 0).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..errors import DenoisebenchError
from .base import Metric, MetricColumn

if TYPE_CHECKING:
    from .evaluation import Evaluation

MEMORISED_BELOW = 1.0 / 3.0


@dataclass(frozen=True)
class Neighbours:
    """Per query: index of and distance to the nearest and second-nearest training image."""

    index: np.ndarray  # N x 2, int64
    distance: np.ndarray  # N x 2, float64, RMS pixel units

    @property
    def ratio(self) -> np.ndarray:
        """d1 / d2, with 0 where both are 0 (a copy of a duplicated training image)."""
        d1, d2 = self.distance[:, 0], self.distance[:, 1]
        return np.divide(d1, d2, out=np.zeros_like(d1), where=d2 > 0)


def _flat01(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.asarray(images, dtype=np.float32).reshape(len(images), -1) / 255.0)


def nearest_train(queries: np.ndarray, train: np.ndarray, *, candidates: int = 4, query_chunk: int = 2048,
                  train_chunk: int = 8192, progress: Callable[[int, int], None] | None = None) -> Neighbours:
    """The two nearest ``train`` images (uint8 M x H x W) of each query (uint8 N x H x W)."""
    if queries.shape[1:] != train.shape[1:]:
        raise DenoisebenchError(f"query images {queries.shape[1:]} and train images {train.shape[1:]} differ in shape")
    if len(train) < 2:
        raise DenoisebenchError("nearest-neighbour statistics need at least 2 training images")
    c = min(candidates, len(train))
    q = _flat01(queries)
    q_sq = (q * q).sum(1)
    best_d = torch.full((len(q), c), torch.inf)
    best_i = torch.zeros((len(q), c), dtype=torch.long)
    with torch.inference_mode():
        for ts in range(0, len(train), train_chunk):
            t = _flat01(train[ts:ts + train_chunk])
            t_sq = (t * t).sum(1)
            for qs in range(0, len(q), query_chunk):
                qe = qs + query_chunk
                d2 = q_sq[qs:qe, None] + t_sq[None, :] - 2.0 * (q[qs:qe] @ t.T)
                chunk_top = torch.topk(d2, min(c, d2.shape[1]), dim=1, largest=False)
                vals = torch.cat([best_d[qs:qe], chunk_top.values], dim=1)
                idx = torch.cat([best_i[qs:qe], chunk_top.indices + ts], dim=1)
                top = torch.topk(vals, c, dim=1, largest=False)
                best_d[qs:qe] = top.values
                best_i[qs:qe] = torch.gather(idx, 1, top.indices)
            if progress is not None:
                progress(min(ts + train_chunk, len(train)), len(train))
    cand = best_i.numpy()
    pixels = float(np.prod(queries.shape[1:]))
    qf = queries.reshape(len(queries), -1).astype(np.float64) / 255.0
    exact = np.empty(cand.shape)
    for j in range(c):  # exact float64 distances of the candidates
        diff = qf - train.reshape(len(train), -1)[cand[:, j]].astype(np.float64) / 255.0
        exact[:, j] = np.sqrt((diff * diff).sum(1) / pixels)
    order = np.argsort(exact, axis=1, kind="stable")[:, :2]
    return Neighbours(np.take_along_axis(cand, order, 1), np.take_along_axis(exact, order, 1))


def memorisation_stats(nb: Neighbours, threshold: float = MEMORISED_BELOW) -> dict[str, object]:
    """Median and mean d1, median d1/d2 and the memorised share (d1/d2 < threshold)."""
    d1, ratio = nb.distance[:, 0], nb.ratio
    return {"n": int(len(d1)), "d1_median": float(np.median(d1)), "d1_mean": float(d1.mean()),
            "ratio_median": float(np.median(ratio)), "memorised_share": float((ratio < threshold).mean()),
            "memorised_below": threshold, "unit": "RMS pixel difference in [0, 1] (L2 / sqrt(pixels))"}


class NearestNeighbours(Metric):
    """Distance to the nearest training image and the memorised share; real held-out digits as the floor."""

    name = "nearest"
    description = "nearest training image in pixel space: RMS distance and memorised share (d1/d2 < 1/3)"
    note = ("NN distance: median RMS pixel distance ([0, 1] units) to the nearest training image; memorised: "
            "share with d1/d2 < 1/3 (Gu et al. 2023).")
    columns = (MetricColumn("d1_median", "NN distance", None, ("d1_median",)),
               MetricColumn("memorised", "memorised", "min", ("memorised_share",)))
    floor = "held-out"

    def compute(self, evaluation: Evaluation) -> dict[str, Any]:
        stats = memorisation_stats(evaluation.neighbours)
        stats["train_n"] = int(len(evaluation.dataset.train_images))
        return stats
