"""The evaluation harness: metrics are plugins (``register_metrics``), scored on one shared evaluation.

``evaluate(images, dataset, seed=...)`` is what ``denoisebench run`` records in run.json. The
builtin metrics below register through the same hook as a third-party plugin's.
"""

from __future__ import annotations

from .authpct import AuthPct
from .base import Metric, MetricColumn, MetricSkipped
from .classifier_view import ClassifierView
from .ct import DataCopyingCT
from .evaluate import evaluate
from .evaluation import Evaluation, EvaluationSettings
from .frechet import FIDProxy
from .kid import KIDProxy
from .nearest import NearestNeighbours
from .prdc import PRDC
from .vendi import Vendi

#: Registered by the builtin plugin, in this order (the report's column order).
BUILTIN_METRICS: tuple[type[Metric], ...] = (FIDProxy, KIDProxy, PRDC, ClassifierView, NearestNeighbours, AuthPct,
                                             DataCopyingCT, Vendi)

__all__ = ["AuthPct", "BUILTIN_METRICS", "DataCopyingCT", "Vendi", "ClassifierView", "Evaluation", "EvaluationSettings", "FIDProxy", "KIDProxy",
           "Metric", "MetricColumn", "MetricSkipped", "NearestNeighbours", "PRDC", "evaluate"]
