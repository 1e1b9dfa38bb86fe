"""Score any two image sets with any encoders and metrics: what ``denoisebench score`` computes.

The reference set plays the held-out split of a run's evaluation (and its train split, for
pixel-space metrics), so every metric runs its own ``compute`` on the same shared
:class:`~denoisebench.metrics.evaluation.Evaluation`: the same computation as ``run``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..datasets.base import ImageDataset
from ..errors import DenoisebenchError
from .base import Metric
from .evaluate import evaluate


def reference_dataset(reference: np.ndarray) -> ImageDataset:
    """The reference images as a dataset whose train and held-out splits are both the reference."""
    labels = np.zeros(len(reference), dtype=np.int64)
    return ImageDataset("reference", reference, labels, reference, labels)


def flat_values(result: dict[str, Any]) -> dict[str, float | None]:
    """Column key -> value of every declared column (raw units), e.g. {"fid_inception": 12.3, ...}."""
    out: dict[str, float | None] = {}
    for name, declared in (result.get("declared") or {}).items():
        for column in declared.get("columns", []):
            value: Any = result.get(name)
            for key in column["path"]:
                value = value.get(key) if isinstance(value, dict) else None
            out[column["key"]] = value if isinstance(value, (int, float)) or value is None else None
    return out


def score_sets(samples: np.ndarray, reference: np.ndarray, encoders: Sequence[Any],
               metrics: Sequence[type[Metric]], *, seed: int = 0,
               progress: Callable[[str], None] | None = None, **settings: Any) -> dict[str, Any]:
    """run.json-style metrics of ``samples`` against ``reference`` (no floor row)."""
    if len(samples) < 2 or len(reference) < 2:
        raise DenoisebenchError(f"score needs at least 2 images in each set, got {len(samples)} and {len(reference)}")
    same_shape = samples.shape[1:] == reference.shape[1:]
    pixel = [m for m in metrics if not m.uses_features]
    if pixel and not same_shape:
        names = ", ".join(m.name for m in pixel)
        raise DenoisebenchError(f"metric(s) {names} compare pixels, but the sets differ in shape "
                                f"({samples.shape[1:]} vs {reference.shape[1:]}): choose feature metrics")
    # sets of different sizes: feature metrics only (each encoder resizes to its own input)
    return evaluate(samples, reference_dataset(reference), seed=seed, progress=progress, with_floor=False,
                    metrics=list(metrics), encoders=list(encoders), same_shape=same_shape, **settings)
