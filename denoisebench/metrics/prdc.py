"""Precision, recall (Kynkaanniemi et al. 2019), density and coverage (Naeem et al. 2020).

Definitions as in clovaai/generative-evaluation-prdc, with r_k(v) the distance from v to its k-th
nearest neighbour in its own set (itself excluded) and B(v, r) the open ball:

- precision = share of fakes inside some B(real_i, r_k(real_i));
- recall    = share of reals inside some B(fake_j, r_k(fake_j));
- density   = (1/k) mean over fakes of the number of real balls containing them;
- coverage  = share of reals whose ball contains at least one fake.

Distances are Euclidean, in float64, computed with torch in blocks of rows x columns (one matrix
product per block, per-row k smallest kept by ``topk``), so memory is one block whatever N.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..errors import DenoisebenchError
from .base import MetricColumn, MetricSkipped
from .classifier_metric import ClassifierFeatureMetric
from .blocks import COLUMN_BLOCK, ROW_BLOCK, merge_smallest, spans

if TYPE_CHECKING:
    from .evaluation import Evaluation


def _as_tensor(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))


def _sq_norms(x: torch.Tensor) -> torch.Tensor:
    return (x * x).sum(1)


def _partial_sq_distances(a: torch.Tensor, b: torch.Tensor, b_sq: torch.Tensor) -> torch.Tensor:
    """|b_j|^2 - 2 a_i.b_j for all pairs: the squared distance less the row's own |a_i|^2 (one GEMM)."""
    return torch.addmm(b_sq, a, b.T, beta=1.0, alpha=-2.0)


def kth_neighbour_radii(x: np.ndarray, k: int, chunk: int | None = None,
                        column_chunk: int | None = None) -> np.ndarray:
    """Distance from each row to its k-th nearest other row, in blocks of ``chunk`` x ``column_chunk`` pairs.

    Per row only the k + 1 smallest partial squared distances are kept (the row itself counts as
    -inf, so it is always one of them); the radius is the largest of those, plus |x_i|^2, clipped
    at 0 and square-rooted. Clipping and the square root are monotone, so this is the k-th
    smallest of the row's clipped Euclidean distances to the others, as with a full matrix.
    """
    if len(x) <= k:
        raise DenoisebenchError(f"k-NN radii need more than k = {k} vectors, got {len(x)}")
    xt = _as_tensor(x)
    sq = _sq_norms(xt)
    out = torch.empty(len(xt), dtype=torch.float64)
    with torch.inference_mode():
        for rs, re in spans(len(xt), chunk or ROW_BLOCK):
            best = None
            for cs, ce in spans(len(xt), column_chunk or COLUMN_BLOCK):
                block = _partial_sq_distances(xt[rs:re], xt[cs:ce], sq[cs:ce])
                lo, hi = max(rs, cs), min(re, ce)
                if lo < hi:  # this block holds some rows' distances to themselves
                    own = torch.arange(lo, hi)
                    block[own - rs, own - cs] = -torch.inf
                best = merge_smallest(best, block, k + 1)
            assert best is not None
            out[rs:re] = (sq[rs:re] + best.amax(dim=1)).clamp_min(0.0).sqrt()
    return out.numpy()


def prdc(real: np.ndarray, fake: np.ndarray, k: int = 5, chunk: int | None = None,
         column_chunk: int | None = None) -> dict[str, float]:
    """Precision, recall, density and coverage of ``fake`` against ``real`` (N x d each), in float64.

    The fake x real distances are visited in blocks of ``chunk`` fakes x ``column_chunk`` reals,
    so memory stays bounded for any N.
    """
    r_real = torch.from_numpy(kth_neighbour_radii(real, k, chunk, column_chunk))
    r_fake = torch.from_numpy(kth_neighbour_radii(fake, k, chunk, column_chunk))
    real_t, fake_t = _as_tensor(real), _as_tensor(fake)
    real_sq, fake_sq = _sq_norms(real_t), _sq_norms(fake_t)
    precise = torch.zeros(len(fake_t), dtype=torch.bool)
    dense = torch.zeros(len(fake_t), dtype=torch.int64)
    recalled = torch.zeros(len(real_t), dtype=torch.bool)
    nearest_fake = torch.full((len(real_t),), torch.inf, dtype=torch.float64)
    with torch.inference_mode():
        for fs, fe in spans(len(fake_t), chunk or ROW_BLOCK):
            for rs, re in spans(len(real_t), column_chunk or COLUMN_BLOCK):
                d = _partial_sq_distances(fake_t[fs:fe], real_t[rs:re], real_sq[rs:re])  # fakes x reals
                d.add_(fake_sq[fs:fe, None]).clamp_min_(0.0).sqrt_()
                inside = d < r_real[None, rs:re]
                precise[fs:fe] |= inside.any(dim=1)
                dense[fs:fe] += inside.sum(dim=1)
                recalled[rs:re] |= (d < r_fake[fs:fe, None]).any(dim=0)
                nearest_fake[rs:re] = torch.minimum(nearest_fake[rs:re], d.amin(dim=0))
    return {"precision": float(precise.double().mean()), "recall": float(recalled.double().mean()),
            "density": float(dense.double().mean() / k), "coverage": float((nearest_fake < r_real).double().mean())}


class PRDC(ClassifierFeatureMetric):
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
    uses_features = True

    def compute(self, evaluation: Evaluation) -> dict[str, Any]:
        k = evaluation.settings.prdc_k
        if min(evaluation.n, evaluation.reference_size) <= k:
            raise MetricSkipped(f"needs more than k = {k} samples")
        return {"k": k, **prdc(evaluation.reference_features, evaluation.features, k=k)}
