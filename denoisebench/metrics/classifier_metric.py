"""What the metrics built on the pinned MNIST classifier's features declare: its input shape.

FID-proxy, KID-proxy, PRDC and the classifier's view read 1 x 28 x 28 images only; on a dataset of
another shape each is skipped with that reason (:meth:`Metric.skip_reason`), never run.
"""

from __future__ import annotations

from .base import Metric
from .features.model import IMAGE_SIZE

#: (C, H, W) of the images the pinned classifier reads.
CLASSIFIER_INPUT_SHAPE = (1, IMAGE_SIZE, IMAGE_SIZE)


class ClassifierFeatureMetric(Metric):
    """Base of the metrics computed from the pinned MNIST classifier (its features or class probabilities)."""

    input_shape = CLASSIFIER_INPUT_SHAPE
    input_requirement = "the pinned MNIST classifier's features"
