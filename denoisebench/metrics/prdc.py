"""Precision, recall (Kynkaanniemi et al. 2019), density and coverage (Naeem et al. 2020).

Definitions as in clovaai/generative-evaluation-prdc, with r_k(v) the distance from v to its k-th
nearest neighbour in its own set (itself excluded) and B(v, r) the open ball:

- precision = share of fakes inside some B(real_i, r_k(real_i));
- recall    = share of reals inside some B(fake_j, r_k(fake_j));
- density   = (1/k) mean over fakes of the number of real balls containing them;
- coverage  = share of reals whose ball contains at least one fake.

Distances are Euclidean in float64 and computed in row chunks, so memory is chunk x N.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DenoisebenchError
from .base import Metric, MetricColumn, MetricSkipped

if TYPE_CHECKING:
    from .evaluation import Evaluation


def _sq_norms(x: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", x, x)


def pairwise_distances(a: np.ndarray, b: np.ndarray, b_sq: np.ndarray | None = None) -> np.ndarray:
    """Euclidean distances between the rows of ``a`` and ``b`` (float64)."""
    b_sq = _sq_norms(b) if b_sq is None else b_sq
    d2 = _sq_norms(a)[:, None] + b_sq[None, :] - 2.0 * (a @ b.T)
    return np.sqrt(np.maximum(d2, 0.0))


def kth_neighbour_radii(x: np.ndarray, k: int, chunk: int = 1024) -> np.ndarray:
    """Distance from each row to its k-th nearest other row."""
    if len(x) <= k:
        raise DenoisebenchError(f"k-NN radii need more than k = {k} vectors, got {len(x)}")
    x_sq = _sq_norms(x)
    out = np.empty(len(x))
    for s in range(0, len(x), chunk):
        d = pairwise_distances(x[s:s + chunk], x, x_sq)
        d[np.arange(d.shape[0]), np.arange(s, s + d.shape[0])] = 0.0  # self, exactly
        out[s:s + chunk] = np.partition(d, k, axis=1)[:, k]  # index 0 is self
    return out


def prdc(real: np.ndarray, fake: np.ndarray, k: int = 5, chunk: int = 1024) -> dict[str, float]:
    """Precision, recall, density and coverage of ``fake`` against ``real`` (N x d each)."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    r_real = kth_neighbour_radii(real, k, chunk)
    r_fake = kth_neighbour_radii(fake, k, chunk)
    real_sq = _sq_norms(real)
    precise = np.empty(len(fake), dtype=bool)
    dense = np.empty(len(fake))
    recalled = np.zeros(len(real), dtype=bool)
    nearest_fake = np.full(len(real), np.inf)
    for s in range(0, len(fake), chunk):
        d = pairwise_distances(fake[s:s + chunk], real, real_sq)  # fakes x reals
        inside = d < r_real[None, :]
        precise[s:s + chunk] = inside.any(axis=1)
        dense[s:s + chunk] = inside.sum(axis=1)
        recalled |= (d < r_fake[s:s + chunk, None]).any(axis=0)
        nearest_fake = np.minimum(nearest_fake, d.min(axis=0))
    return {"precision": float(precise.mean()), "recall": float(recalled.mean()),
            "density": float(dense.mean() / k), "coverage": float((nearest_fake < r_real).mean())}


class PRDC(Metric):
    """Precision, recall, density and coverage of the samples' features against the held-out split's."""

    name = "prdc"
    description = "precision, recall, density and coverage (k-NN balls in the classifier's feature space)"
    note = ("precision / recall / density / coverage: k-nearest-neighbour balls (k = 5) in the same feature "
            "space (Kynkäänniemi et al. 2019, Naeem et al. 2020); a density of 1 is what real digits get.")
    columns = (MetricColumn("precision", "precision", "max", ("precision",)),
               MetricColumn("recall", "recall", "max", ("recall",)),
               MetricColumn("density", "density (1 = real)", None, ("density",)),
               MetricColumn("coverage", "coverage", "max", ("coverage",)))
    depends_on_n = True

    def compute(self, evaluation: Evaluation) -> dict[str, Any]:
        k = evaluation.settings.prdc_k
        if min(evaluation.n, evaluation.reference_size) <= k:
            raise MetricSkipped(f"needs more than k = {k} samples")
        return {"k": k, **prdc(evaluation.reference_features, evaluation.features, k=k)}
