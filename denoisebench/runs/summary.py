"""The few lines ``denoisebench run`` prints at the end: the key metrics beside the real-vs-real floor.

Which numbers, their labels and digits are read from the metrics' declarations (``headline`` and
``summary`` columns), so a plugin's metric is summarised like a builtin one.
"""

from __future__ import annotations

import math
from typing import Any


def _number(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def _at(result: Any, path: tuple[str, ...]) -> float | None:
    for key in path:
        result = result.get(key) if isinstance(result, dict) else None
    return _number(result)


def key_values(metrics: dict[str, Any]) -> list[tuple[Any, Any, float, float | None]]:
    """(metric spec, column, value, real-data reference value) of every headline / summary column."""
    from ..report.columns import builtin_specs, record_specs, registered_specs

    out = []
    for spec in record_specs(metrics, registered_specs(), builtin_specs()):
        for column in spec.columns:
            if not (column.headline or column.summary):
                continue
            value = _at(spec.result(metrics), column.path)
            if value is not None:
                out.append((spec, column, value, _at(spec.floor_result(metrics), column.path)))
    return out


def summary_lines(record: dict[str, Any]) -> list[str]:
    """'FID-proxy 3.10 (floor 0.94)' and so on, plus speed; empty metrics give only the speed."""
    parts = []
    for spec, column, value, ref in key_values(record.get("metrics") or {}):
        text = f"{column.header} {value * column.scale:.{column.digits}f}"
        if ref is not None:
            where = "held-out real" if spec.floor == "held-out" else "floor"
            text += f" ({where} {ref * column.scale:.{column.digits}f})"
        parts.append(text)
    timing = record.get("timing") or {}
    sampler = record.get("sampler") or {}
    speed = [f"{timing['images_per_s']:.1f} images/s" if timing.get("images_per_s") else "",
             f"{sampler['nfe']} network calls per image" if sampler.get("nfe") else ""]
    lines = ["; ".join(parts)] if parts else []
    lines += skipped_lines(record.get("metrics") or {})
    speed_text = ", ".join(s for s in speed if s)
    return lines + ([speed_text] if speed_text else [])


def skipped_lines(metrics: dict[str, Any]) -> list[str]:
    """'not measured: fid, kid (reads 1x28x28 images only ...)': the skipped metrics, grouped by reason."""
    by_reason: dict[str, list[str]] = {}
    encoders: list[str] = []
    for entry in metrics.get("skipped") or []:
        name, _, reason = str(entry).partition(": ")
        if name.startswith("encoder ") and name.endswith(" (a default) skipped"):
            encoders.append(name.removeprefix("encoder ").removesuffix(" (a default) skipped"))
            continue  # its reason (the missing weights file) was printed as a warning already
        by_reason.setdefault(reason, []).append(name)
    lines = [f"not measured: {', '.join(names)} ({reason})" for reason, names in by_reason.items()]
    if encoders:
        lines.append(f"not measured on {', '.join(encoders)}: their weights are missing (see the warnings above)")
    return lines
