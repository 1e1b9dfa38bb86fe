"""Feature metrics on any encoder: a copy of each feature metric per chosen encoder.

A metric with ``uses_features = True`` (FD, KD, PRDC, and any plugin's that reads
``evaluation.features``) is computed once per encoder. On the pinned MNIST classifier it keeps its
own name and columns (``fid``, ``kid``, ``precision``...: the historical numbers). On any other
encoder it is a derived metric class named ``<metric>_<encoder>`` (``fid_inception``,
``kid_dinov2_vitb14``) whose columns are ``<key>_<encoder>`` with the encoder in the header, so
every consumer (report, compare, leaderboard) sees an ordinary declared metric.
"""

from __future__ import annotations

import functools
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .base import Metric

if TYPE_CHECKING:
    from .evaluation import Evaluation

CLASSIFIER = "mnist-classifier"


def slug(encoder: str) -> str:
    """An identifier-safe form of an encoder name: ``dinov2-vitb14`` -> ``dinov2_vitb14``."""
    return re.sub(r"\W", "_", encoder)


def _plain(header: str) -> str:
    """'FID-proxy' names the pinned classifier's FD; on any other encoder it is an FD (likewise KD)."""
    return header.replace("FID-proxy", "FD").replace("KID-proxy", "KD")


@functools.lru_cache(maxsize=None)
def for_encoder(metric: type[Metric], encoder: str) -> type[Metric]:
    """``metric`` computed on ``encoder``'s features (the metric itself for the classifier)."""
    if encoder == CLASSIFIER or not metric.uses_features:
        return metric
    tag = slug(encoder)
    columns = tuple(replace(c, key=f"{c.key}_{tag}", header=f"{_plain(c.header)} [{encoder}]",
                            headline=False, summary=c.summary or c.headline) for c in metric.columns)
    note = f"{metric.note} Here on {encoder}'s features." if metric.note else ""

    def compute(self: Metric, evaluation: Evaluation) -> dict[str, Any] | None:
        return metric.compute(self, evaluation)

    attrs = {"name": f"{metric.name}_{tag}", "description": f"{metric.description} [on {encoder}'s features]",
             "columns": columns, "note": note, "encoder": encoder, "base_metric": metric.name,
             "compute": compute, "__module__": metric.__module__,
             "pairing": None,  # compare pairs on the classifier's per-sample features only
             "input_shape": None}  # the encoder, not the metric, decides which images it reads
    return type(f"{metric.__name__}_{tag}", (metric,), attrs)
