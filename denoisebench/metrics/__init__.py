"""The evaluation harness: FID/KID-proxies, PRDC, classifier view, memorisation, the floor.

``evaluate(images, dataset, seed=...)`` is what ``denoisebench run`` records in run.json.
"""

from __future__ import annotations

from .evaluate import evaluate, feature_metrics

__all__ = ["evaluate", "feature_metrics"]

#: Registered by the builtin plugin, in this order (filled as the metrics move onto the hook).
BUILTIN_METRICS: tuple[type, ...] = ()
