"""The few lines ``denoisebench run`` prints at the end: the key metrics beside the real-vs-real floor."""

from __future__ import annotations

import math
from typing import Any

from .records import record_field

#: (label, path into run.json's metrics, display scale, format)
KEY_METRICS: tuple[tuple[str, tuple[str, ...], float, str], ...] = (
    ("FID-proxy", ("fid", "value"), 1.0, "{:.2f}"),
    ("KID-proxy x1000", ("kid", "value"), 1000.0, "{:.2f}"),
    ("class entropy (bits)", ("classifier", "entropy_bits"), 1.0, "{:.3f}"),
    ("memorised", ("nearest", "memorised_share"), 1.0, "{:.1%}"),
)


def _get(obj: Any, path: tuple[str, ...]) -> float | None:
    value = record_field(obj, *path)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) else None


def summary_lines(record: dict[str, Any]) -> list[str]:
    """'FID-proxy 3.10 (floor 0.94)' and so on, plus speed; empty metrics give only the speed."""
    metrics = record.get("metrics") or {}
    floor = metrics.get("floor") or {}
    heldout = {"nearest": metrics.get("nearest_heldout") or {}}
    parts = []
    for label, path, scale, fmt in KEY_METRICS:
        value = _get(metrics, path)
        if value is None:
            continue
        ref = _get(heldout if path[0] == "nearest" else floor, path)
        text = f"{label} {fmt.format(value * scale)}"
        if ref is not None:
            text += f" ({'held-out real' if path[0] == 'nearest' else 'floor'} {fmt.format(ref * scale)})"
        parts.append(text)
    timing = record.get("timing") or {}
    sampler = record.get("sampler") or {}
    speed = [f"{timing['images_per_s']:.1f} images/s" if timing.get("images_per_s") else "",
             f"{sampler['nfe']} network calls per image" if sampler.get("nfe") else ""]
    lines = ["; ".join(parts)] if parts else []
    lines += skipped_lines(metrics)
    speed_text = ", ".join(s for s in speed if s)
    return lines + ([speed_text] if speed_text else [])


def skipped_lines(metrics: dict[str, Any]) -> list[str]:
    """'not measured: fid, kid (reads 1x28x28 images only ...)': the skipped metrics, grouped by reason."""
    by_reason: dict[str, list[str]] = {}
    for entry in metrics.get("skipped") or []:
        name, _, reason = str(entry).partition(": ")
        by_reason.setdefault(reason, []).append(name)
    return [f"not measured: {', '.join(names)} ({reason})" for reason, names in by_reason.items()]
