"""A probe record on disk: ``probe.json`` (with provenance), ``probe.csv`` (one row per level) and
``probe.png`` (PSNR, gap and Jacobian trace against sigma), written in a staging dir and renamed
into place, so a probe directory appears complete or not at all."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from ..fileio import atomic_path, write_text_atomic
from ..runs.records import staged_run_dir

PROBE_FILE = "probe.json"
CSV_FILE = "probe.csv"
PLOT_FILE = "probe.png"
KIND = "probe"
SCHEMA_VERSION = 1
#: The columns every level has (the CSV's first columns, in this order).
LEVEL_COLUMNS = ("sigma", "t", "mse_train", "mse_heldout", "psnr_train", "psnr_heldout", "gap",
                 "gap_ci_low", "gap_ci_high", "jacobian_trace")


def _finite(value: Any) -> Any:
    """JSON has no inf/nan: they are written as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def record_json(record: dict[str, Any]) -> str:
    """The record as JSON text (non-finite numbers as null)."""
    return json.dumps(_finite(record), indent=2, default=str) + "\n"


def levels_csv(levels: list[dict[str, Any]]) -> str:
    """One row per level: the required columns first, then the rest in the record's order."""
    extra = [k for k in (levels[0] if levels else {}) if k not in LEVEL_COLUMNS]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=[*LEVEL_COLUMNS, *extra], lineterminator="\n")
    writer.writeheader()
    for row in levels:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buf.getvalue()


def plot_levels(path: Path, record: dict[str, Any]) -> None:
    """PSNR (train dashed, held-out solid), gap with its interval and the Jacobian trace, against sigma."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels = record["levels"]
    sig = [lv["sigma"] for lv in levels]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    axes[0].plot(sig, [lv["psnr_train"] for lv in levels], "C0--", marker="o", label="train")
    axes[0].plot(sig, [lv["psnr_heldout"] for lv in levels], "C0-", marker="o", label="held-out")
    axes[0].set_ylabel("PSNR of x0 estimate (dB)")
    axes[0].legend()
    axes[1].plot(sig, [lv["gap"] for lv in levels], "C1-", marker="o")
    axes[1].fill_between(sig, [_nan(lv["gap_ci_low"]) for lv in levels],
                         [_nan(lv["gap_ci_high"]) for lv in levels], color="C1", alpha=0.25)
    axes[1].axhline(0, color="grey", lw=0.5)
    axes[1].set_ylabel("gap (MSE_h - MSE_t) / MSE_h")
    axes[2].plot(sig, [_nan(lv["jacobian_trace"]) for lv in levels], "C2-", marker="o")
    axes[2].set_ylabel("tr(dD/dy) / pixels")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("sigma ([-1, 1] units)")
    fig.suptitle(f"probe: {record['provider']['label']} on {record['dataset']['id']} "
                 f"({record['images']['count_train']} train / {record['images']['count_heldout']} held-out images)")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def _nan(value: Any) -> float:
    return float("nan") if value is None else float(value)


def write_probe(results_dir: Path, probe_id: str, record: dict[str, Any]) -> Path:
    """Write the record's three files into ``results_dir/probe_id`` (a fresh name if taken); returns it."""
    with staged_run_dir(results_dir, probe_id) as (staging, final):
        write_text_atomic(staging / PROBE_FILE, record_json(record))
        write_text_atomic(staging / CSV_FILE, levels_csv(record["levels"]))
        plot_levels(staging / PLOT_FILE, json.loads(record_json(record)))
    return final[0]


def load_probe(path: Path) -> dict[str, Any] | None:
    """The parsed ``probe.json`` of a probe directory, or None when it is not one."""
    file = path / PROBE_FILE if path.is_dir() else path
    try:
        record = json.loads(file.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("kind") == KIND else None
