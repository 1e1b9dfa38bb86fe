"""The Vendi score (Friedman & Dieng 2023): the effective number of distinct samples.

With K the n x n similarity matrix (k(x, x) = 1) and lambda the eigenvalues of K / n,
VS = exp(-sum_i lambda_i log lambda_i), between 1 (all alike) and n (all orthogonal). Here k is
the cosine similarity of the features (rows normalised to unit length), so K / n = X X^T / n has
the non-zero eigenvalues of X^T X / n, a d x d problem.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .classifier_metric import ClassifierFeatureMetric
from .base import Metric, MetricColumn, MetricSkipped

if TYPE_CHECKING:
    from .evaluation import Evaluation


def vendi_score(features: np.ndarray) -> float:
    """Vendi score of N x d features with the cosine-similarity kernel."""
    x = np.asarray(features, np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = x / np.where(norms > 0, norms, 1.0)
    small = x.T @ x if x.shape[1] < x.shape[0] else x @ x.T
    lam = np.clip(np.linalg.eigvalsh(small / len(x)), 0.0, None)
    lam = lam[lam > 0]
    return float(np.exp(-(lam * np.log(lam)).sum()))


class Vendi(ClassifierFeatureMetric):
    name = "vendi"
    description = "Vendi score (Friedman & Dieng 2023): effective number of distinct samples, cosine kernel"
    note = ("Vendi: exp of the entropy of the eigenvalues of K/n, K the cosine similarity of the features "
            "(Friedman & Dieng 2023): the effective number of distinct samples, at most N.")
    columns = (MetricColumn("vendi", "Vendi", "max", digits=1),)
    uses_features = True
    depends_on_n = True

    def compute(self, evaluation: Evaluation) -> dict[str, Any]:
        if evaluation.n < 2:
            raise MetricSkipped("needs at least 2 samples")
        return {"value": vendi_score(evaluation.features)}
