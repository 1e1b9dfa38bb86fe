"""The sentences under a table, built from the columns and the metrics' declared notes."""

from __future__ import annotations

import pandas as pd

from .columns import BUILTIN_PLUGIN, MetricSpec
from .table import Table

ARROWS_NOTE = "↓ lower is better, ↑ higher is better."
BEST_NOTE = "Best value among the runs in bold; " + ARROWS_NOTE


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _metric_note(spec: MetricSpec, headers: list[str]) -> str:
    text = spec.note or f"{', '.join(headers)}: {spec.description.rstrip('.')}."
    if spec.plugin != BUILTIN_PLUGIN:
        text += f" (from plugin {spec.plugin})"
    return text


def legend(table: Table) -> list[str]:
    """What the marks, the metrics and the floor row mean (text of the metrics' declarations:
    renderers escape it)."""
    shown = table.shown
    lines = []
    if table.best:
        lines.append(BEST_NOTE)
    elif any(c.arrow for c in shown):
        lines.append(ARROWS_NOTE)
    per_n = [c.header for c in shown if c.per_n and c.metric is not None]
    if per_n:
        lines.append(f"{_join(per_n)} depend on N: they are compared only between runs of equal N, and each "
                     "against the floor of its N.")
    for spec in table.specs:
        headers = [c.header for c in shown if c.metric == spec.name]
        if headers:
            lines.append(_metric_note(spec, headers))
    if len(table.floors()):
        heldout = [c.header for c in shown if c.metric in _floor_kind(table, "held-out")]
        line = "Floor (real images): an N-image subset of the train split, scored exactly like a provider"
        if heldout:
            line += f"; for {_join(heldout)}, the held-out images against the train split"
        lines.append(line + ".")
    lines.append("NFE: network evaluations per image (the steps, for runs recorded before NFE was); ms/image: "
                 "sampling wall time per image.")
    return lines


def _floor_kind(table: Table, kind: str) -> set[str]:
    return {s.name for s in table.specs if s.floor == kind}


def run_notes(table: Table) -> list[str]:
    """Sentences built from run.json strings (devices, provider labels): renderers escape them."""
    runs = table.runs()
    devices = sorted({str(d) for d in runs.get("device", pd.Series(dtype=str)).dropna() if str(d)})
    lines = ["ms/image: measured on " + "; ".join(devices) + "."] if devices else []
    return lines + table.notes
