"""Which cells of a suite the results dir already holds, and what the others will cost.

A cell is complete when some run dir holds a readable run.json whose ``suite`` key is the cell's
(same hash, and the hash of the stored key matches it), whose own fields agree with the cell,
with metrics when the suite asks for them, and a readable ``samples.npz`` of N images. Anything
less is incomplete and the cell is run again (the broken dir is left alone, never deleted).
"""

from __future__ import annotations

import json
import statistics
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..runs.records import RUN_FILE, STAGING_PREFIX, load_samples, record_field as _get
from .cells import Cell, key_hash

COMPLETE, MISSING, INCOMPLETE = "complete", "missing", "incomplete"


@dataclass(frozen=True)
class StoredRun:
    """A run dir with a readable run.json."""

    run_dir: Path
    record: dict[str, Any]

    @property
    def cell_hash(self) -> str | None:
        suite = self.record.get("suite")
        return suite.get("cell_hash") if isinstance(suite, dict) else None


@dataclass(frozen=True)
class CellStatus:
    """A cell, its state, and the run dir that completes it (or the broken one found)."""

    cell: Cell
    state: str
    run_dir: Path | None = None
    reason: str = ""


def scan_results(results_dir: Path) -> tuple[list[StoredRun], list[str]]:
    """Every run dir with a readable run.json (sorted by name), and one warning per unreadable one."""
    runs: list[StoredRun] = []
    warnings: list[str] = []
    if not results_dir.is_dir():
        return runs, warnings
    for path in sorted(results_dir.glob(f"*/{RUN_FILE}")):
        if path.parent.name.startswith((".", STAGING_PREFIX)):
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            warnings.append(f"ignoring {path}: unreadable run.json ({str(exc).splitlines()[0]})")
            continue
        runs.append(StoredRun(path.parent, record))
    return runs, warnings


def why_incomplete(cell: Cell, run: StoredRun) -> str | None:
    """Why ``run`` (whose cell hash is ``cell``'s) does not complete the cell; None when it does."""
    stored = _get(run.record, "suite", "cell")
    if not isinstance(stored, dict) or key_hash(stored) != cell.hash:
        return "its stored cell key does not match its hash"
    r = run.record
    agree = (_get(r, "provider", "name") == cell.provider and _get(r, "sampler", "name") == cell.sampler
             and _get(r, "sampler", "steps") == cell.steps and r.get("num_samples") == cell.num_samples
             and r.get("seed") == cell.seed and _get(r, "dataset", "id") == cell.dataset)
    if not agree:
        return "run.json disagrees with its cell key"
    if cell.metrics and not (isinstance(r.get("metrics"), dict) and r["metrics"]):
        return "run.json has no metrics"
    try:
        images = load_samples(run.run_dir)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        return f"samples.npz is missing or unreadable ({type(exc).__name__})"
    return samples_problem(images, r, cell.num_samples)


def expected_image_shapes(record: dict[str, Any]) -> list[tuple[int, ...]] | None:
    """The shapes one sample may have in samples.npz, from the run's recorded dataset shape
    ``[C, H, W]``: H x W x C, or H x W for grey; None when the run recorded no shape (older runs)."""
    shape = _get(record, "dataset", "shape")
    if not (isinstance(shape, list) and len(shape) == 3 and all(isinstance(v, int) and v > 0 for v in shape)):
        return None
    c, h, w = shape
    return [(h, w, c), (h, w)] if c == 1 else [(h, w, c)]


def samples_problem(images: Any, record: dict[str, Any], n: int) -> str | None:
    """Why ``images`` are not the complete samples of the run ``record`` of N = ``n`` (uint8, N of
    them, each of the recorded image shape); None when they are."""
    if not isinstance(images, np.ndarray):
        return "samples.npz holds no array"
    if images.dtype != np.uint8:
        return f"samples.npz holds {images.dtype} images, expected uint8"
    shapes = expected_image_shapes(record)
    fits = (tuple(images.shape[1:]) in shapes if shapes is not None
            else images.ndim == 3 or (images.ndim == 4 and images.shape[-1] in (1, 3)))
    if images.ndim < 3 or len(images) != n or not fits:
        want = f"{n} x " + (" x ".join(map(str, shapes[0])) if shapes else "H x W [x C]")
        return f"samples.npz holds {' x '.join(map(str, images.shape))}, expected {want}"
    return None


def record_key(record: dict[str, Any]) -> dict[str, Any] | None:
    """The cell key a run without a ``suite`` key would have (a plain ``run`` or a sweep script's):
    its configuration read back from run.json; None when the record lacks a field. Runs given a
    ``--checkpoint`` are never adopted (the key needs the file's hash)."""
    try:
        provider, sampler = record["provider"], record["sampler"]
        if provider.get("checkpoint"):
            return None
        return {"provider": provider["name"], "options": dict(sorted(provider.get("options", {}).items())),
                "checkpoint_sha256": None, "sampler": sampler["name"],
                "sampler_options": dict(sorted(sampler.get("options", {}).items())), "steps": sampler["steps"],
                "num_samples": record["num_samples"], "seed": record["seed"], "dataset": record["dataset"]["id"],
                "schedule": sampler["schedule"]["name"], "T": sampler["schedule"]["T"],
                "metrics": bool(record.get("metrics"))}
    except (KeyError, TypeError, AttributeError):
        return None


def cell_states(cells: list[Cell], runs: list[StoredRun]) -> list[CellStatus]:
    """The state of every cell given the stored runs (the newest complete run wins).

    A run made outside the suite (no ``suite`` key) whose configuration is the cell's counts too:
    the same configuration and seed give the same samples, whoever ran them.
    """
    by_hash: dict[str, list[StoredRun]] = {}
    for run in runs:
        if isinstance(run.cell_hash, str):
            by_hash.setdefault(run.cell_hash, []).append(run)
        elif run.record.get("suite") is None and (key := record_key(run.record)) is not None:
            adopted = StoredRun(run.run_dir, {**run.record, "suite": {"cell": key, "cell_hash": key_hash(key)}})
            by_hash.setdefault(key_hash(key), []).append(adopted)
    out = []
    for cell in cells:
        candidates = sorted(by_hash.get(cell.hash, []), key=lambda r: str(r.record.get("created", "")),
                            reverse=True)
        status = CellStatus(cell, MISSING)
        for run in candidates:
            reason = why_incomplete(cell, run)
            if reason is None:
                status = CellStatus(cell, COMPLETE, run.run_dir)
                break
            if status.state == MISSING:
                status = CellStatus(cell, INCOMPLETE, run.run_dir, reason)
        out.append(status)
    return out


def ms_per_nfe(runs: list[StoredRun], provider: str, device: str) -> float | None:
    """Median ms per image per network evaluation over earlier runs of ``provider`` (same device first)."""
    def times(same_device: bool) -> list[float]:
        out = []
        for run in runs:
            r = run.record
            if _get(r, "provider", "name") != provider:
                continue
            if same_device and _get(r, "config", "device") != device:
                continue
            value = _get(r, "timing", "ms_per_image_nfe") or _get(r, "timing", "ms_per_image_step")
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
                out.append(float(value))
        return out

    found = times(True) or times(False)
    return statistics.median(found) if found else None


def estimated_seconds(cell: Cell, runs: list[StoredRun]) -> float | None:
    """NFE x N x ms per NFE of earlier runs of the same provider; None when there are none."""
    ms = ms_per_nfe(runs, cell.provider, cell.device)
    return None if ms is None else cell.nfe * cell.num_samples * ms / 1000.0
