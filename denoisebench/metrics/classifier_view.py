"""What the pinned classifier sees in a set of digits.

- ``histogram``: count of samples per predicted class (argmax), classes 0..9;
- ``entropy_bits``: entropy of that histogram's proportions, in bits (log2 10 = 3.32 is a
  perfectly even spread over the ten digits; low values mean missing modes);
- ``mean_confidence``: mean over samples of the top class probability;
- ``ambiguous_share``: share of samples whose top class probability is below 0.5, i.e. no digit
  gets a majority of the classifier's belief (the "mixed digits" the seed saw).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .base import MetricColumn
from .classifier_metric import ClassifierFeatureMetric

if TYPE_CHECKING:
    from .evaluation import Evaluation

AMBIGUOUS_BELOW = 0.5


def entropy_bits(counts: np.ndarray) -> float:
    """Shannon entropy of the proportions of ``counts``, in bits (0 log 0 = 0)."""
    p = np.asarray(counts, np.float64)
    p = p[p > 0] / p.sum()
    return float(-(p * np.log2(p)).sum()) + 0.0


def classifier_view(probs: np.ndarray, ambiguous_below: float = AMBIGUOUS_BELOW) -> dict[str, object]:
    """Class histogram, its entropy, mean confidence and ambiguous share from N x C probabilities."""
    top = probs.max(axis=1)
    hist = np.bincount(probs.argmax(axis=1), minlength=probs.shape[1])
    return {"histogram": [int(c) for c in hist], "entropy_bits": entropy_bits(hist),
            "max_entropy_bits": float(np.log2(probs.shape[1])), "mean_confidence": float(top.mean()),
            "ambiguous_share": float((top < ambiguous_below).mean()), "ambiguous_below": ambiguous_below}


class ClassifierView(ClassifierFeatureMetric):
    """Mode coverage and digit clarity as the pinned classifier sees them."""

    name = "classifier"
    description = "the pinned classifier's view: class histogram and entropy, confidence, ambiguous share"
    note = ("class entropy: of the predicted-class histogram in bits (maximum log2(10) = 3.32); confidence: mean "
            "top class probability; ambiguous: share with top probability < 0.5.")
    columns = (MetricColumn("entropy_bits", "class entropy (bits)", "max", ("entropy_bits",), summary=True),
               MetricColumn("confidence", "confidence", "max", ("mean_confidence",)),
               MetricColumn("ambiguous", "ambiguous", "min", ("ambiguous_share",)))

    def compute(self, evaluation: Evaluation) -> dict[str, Any]:
        return classifier_view(evaluation.probabilities)
