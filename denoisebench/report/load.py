"""Read every complete ``*/run.json`` under a results dir into one pandas DataFrame (a row per run)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from ..runs.records import RUN_FILE, STAGING_PREFIX


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _num(value: Any) -> float:
    """A finite float, or NaN for anything else (missing, None, a string, inf)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan
    return float(value) if math.isfinite(value) else math.nan


def metric_columns(m: Any) -> dict[str, Any]:
    """The flat metric columns of a metrics object (a run's, or its floor's)."""
    return {
        "fid": _num(_get(m, "fid", "value")), "fid_std": _num(_get(m, "fid", "std")),
        "fid_bootstrap": _get(m, "fid", "n_bootstrap"),
        "kid": _num(_get(m, "kid", "value")), "kid_std": _num(_get(m, "kid", "std")),
        "kid_subsets": _get(m, "kid", "subsets"), "kid_subset_size": _get(m, "kid", "subset_size"),
        "precision": _num(_get(m, "prdc", "precision")), "recall": _num(_get(m, "prdc", "recall")),
        "density": _num(_get(m, "prdc", "density")), "coverage": _num(_get(m, "prdc", "coverage")),
        "entropy_bits": _num(_get(m, "classifier", "entropy_bits")),
        "confidence": _num(_get(m, "classifier", "mean_confidence")),
        "ambiguous": _num(_get(m, "classifier", "ambiguous_share")),
    }


def sampler_label(sampler: dict[str, Any]) -> str:
    """'ddim', 'ddim eta=0.5', 'ddpm large' or 'ddpm small' (+ ' clip'): runs differing in these are different rows."""
    name = str(sampler.get("name") or "?")
    label = name
    if name == "ddpm" and sampler.get("variance"):
        label += f" {sampler['variance']}"
    if name == "ddim" and sampler.get("eta"):
        label += f" eta={float(sampler['eta']):g}"
    if sampler.get("clip_x0"):
        label += " clip"
    return label


def run_label(name: str, mode: Any, checkpoint: Any) -> str:
    """'kbnet (tweedie)'; a run given ``--checkpoint`` adds the file's stem: 'kbnet (tweedie) [my-weights]'."""
    label = name if mode is None else f"{name} ({mode})"
    if isinstance(checkpoint, str) and checkpoint:
        label += f" [{Path(checkpoint).stem}]"
    return label


def run_row(record: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """One DataFrame row from a parsed run.json."""
    provider = record["provider"]
    sampler = record["sampler"]
    dataset = record["dataset"]
    if not isinstance(provider, dict) or not isinstance(sampler, dict) or not isinstance(dataset, dict):
        raise ValueError("provider, sampler and dataset must be objects")
    name = str(provider.get("name") or "?")
    mode = _get(provider, "options", "mode") or _get(provider, "info", "mode")
    m = record.get("metrics") or {}
    row: dict[str, Any] = {
        "run_id": run_dir.name, "run_dir": str(run_dir), "created": str(record.get("created") or ""),
        "provider": name, "mode": None if mode is None else str(mode),
        "label": run_label(name, mode, provider.get("checkpoint")),
        "sampler": sampler_label(sampler), "steps": int(sampler.get("steps") or 0),
        "dataset": str(dataset.get("id") or "?"), "dataset_hash": str(dataset.get("hash") or ""),
        "feature_sha256": str(_get(m, "feature_network_sha256") or "none"),
        "n": int(record.get("num_samples") or _get(m, "n") or 0),
        "images_per_s": _num(_get(record, "timing", "images_per_s")),
        "device": str(_get(record, "environment", "device_name") or _get(record, "environment", "device") or ""),
        **metric_columns(m),
        "d1_median": _num(_get(m, "nearest", "d1_median")),
        "memorised": _num(_get(m, "nearest", "memorised_share")),
        "heldout_d1_median": _num(_get(m, "nearest_heldout", "d1_median")),
        "heldout_memorised": _num(_get(m, "nearest_heldout", "memorised_share")),
        "floor_n": _get(m, "floor", "n"),
        "has_grid": (run_dir / "grid.png").is_file(), "has_nearest": (run_dir / "nearest.png").is_file(),
    }
    floor = _get(m, "floor")
    row["floor"] = metric_columns(floor) if isinstance(floor, dict) else None
    return row


def load_runs(results_dir: Path, warn: Callable[[str], None]) -> pd.DataFrame:
    """A row per readable run; unreadable ones are skipped with ``warn("... <file> ...")``."""
    rows = []
    if not results_dir.is_dir():
        return pd.DataFrame(rows)
    for path in sorted(results_dir.glob(f"*/{RUN_FILE}")):
        if path.parent.name.startswith((".", STAGING_PREFIX)):
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            rows.append(run_row(record, path.parent))
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if isinstance(exc, KeyError):
                reason = f"missing key {exc}"
            warn(f"skipping {path}: unreadable or incomplete run.json ({reason})")
    return pd.DataFrame(rows)
