"""A third-party metric plugin, outside the core, written against the public API only.

Registered at run time by the tests (``denoisebench.plugins.register_plugin(plugin_metrics, name)``);
an installed plugin would point an entry point of group ``denoisebench`` at this module.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import denoisebench
from denoisebench import Evaluation, Metric, MetricColumn, MetricSkipped


def ink(images: np.ndarray) -> np.ndarray:
    """Share of inked pixels (above mid-grey) of each image."""
    return (images > 127).reshape(len(images), -1).mean(axis=1)


class MeanBrightness(Metric):
    """No better direction: brighter is not better, only different."""

    name = "brightness"
    description = "mean pixel brightness of the images, in [0, 1]"
    columns = (MetricColumn("brightness", "brightness", None, ("value",), digits=4),)

    def compute(self, evaluation: Evaluation) -> dict[str, Any]:
        return {"value": float(evaluation.images.mean() / 255.0)}


class InkGap(Metric):
    """A directed metric with an uncertainty and a display scale: how far the ink share is from real digits'."""

    name = "ink_gap"
    description = "absolute gap between the mean ink share of the images and of the held-out digits"
    note = "ink gap: |mean ink share - held-out mean ink share| × 100, ± its standard error."
    columns = (MetricColumn("ink_gap", "ink gap ×100", "min", ("value",), ("std",), digits=2, scale=100.0),)
    depends_on_n = True

    def compute(self, evaluation: Evaluation) -> dict[str, Any]:
        if evaluation.n < 2:
            raise MetricSkipped("needs at least 2 samples")
        mine = ink(evaluation.images)
        real = ink(evaluation.dataset.heldout_images)
        return {"value": float(abs(mine.mean() - real.mean())), "std": float(mine.std(ddof=1) / np.sqrt(len(mine)))}


@denoisebench.hookimpl
def register_metrics(register: Any) -> None:
    register(MeanBrightness)
    register(InkGap)
