"""Comparison tables: one per (dataset, dataset hash, feature network), a row per configuration."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .load import _num


@dataclass(frozen=True)
class Column:
    """A metric column: its key, header, better direction ('min', 'max' or None) and format."""

    key: str
    header: str
    better: str | None
    digits: int
    std_key: str | None = None

    @property
    def arrow(self) -> str:
        return {"min": " ↓", "max": " ↑"}.get(self.better or "", "")


COLUMNS: tuple[Column, ...] = (
    Column("fid", "FID-proxy", "min", 2, "fid_std"),
    Column("kid", "KID-proxy ×1000", "min", 2, "kid_std"),
    Column("precision", "precision", "max", 3),
    Column("recall", "recall", "max", 3),
    Column("density", "density (1 = real)", None, 3),
    Column("coverage", "coverage", "max", 3),
    Column("entropy_bits", "class entropy (bits)", "max", 3),
    Column("confidence", "confidence", "max", 3),
    Column("ambiguous", "ambiguous", "min", 3),
    Column("d1_median", "NN distance", None, 3),
    Column("memorised", "memorised", "min", 3),
    Column("images_per_s", "images/s", "max", 1),
)
SCALE = {"kid": 1000.0, "kid_std": 1000.0}
KEY = ("label", "sampler", "steps")


@dataclass
class Table:
    """One comparison table and what the reader needs to know about it."""

    dataset: str
    dataset_hash: str
    feature_sha256: str
    rows: pd.DataFrame  # runs first, then floor rows; column "kind" is "run" or "floor"
    best: dict[str, set[int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        feat = "no metrics" if self.feature_sha256 == "none" else f"feature network {self.feature_sha256[:12]}"
        return f"{self.dataset} (data {self.dataset_hash[:12]}, {feat})"

    def runs(self) -> pd.DataFrame:
        return self.rows[self.rows["kind"] == "run"]


def _floor_rows(kept: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    with_floor = kept[kept["floor"].notna()]
    for n, group in with_floor.groupby("floor_n", sort=True):
        newest = group.sort_values("created").iloc[-1]
        rows.append({"kind": "floor", "label": f"real digits (floor, N={int(n)})", "sampler": "", "steps": None,
                     "n": int(n), "runs": None, "run_id": "", "run_dir": "", "created": newest["created"],
                     **newest["floor"], "images_per_s": math.nan,
                     "d1_median": newest["heldout_d1_median"], "memorised": newest["heldout_memorised"],
                     "has_grid": False, "has_nearest": False})
    return rows


# Set metrics whose value depends on N (bias of FID, ball radii of PRDC): compared only at equal N.
PER_N = {"fid", "kid", "precision", "recall", "density", "coverage"}


def _best(runs: pd.DataFrame) -> dict[str, set[int]]:
    """Row indices holding the best value of each directed column (ties all marked; nothing is
    marked where fewer than two runs compete or all are equal)."""
    best: dict[str, set[int]] = {}
    for col in COLUMNS:
        if col.better is None or col.key not in runs:
            continue
        groups = runs.groupby("n") if col.key in PER_N else [(None, runs)]
        for _, group in groups:
            values = group[col.key].astype(float)
            if values.notna().sum() < 2 or values.min() == values.max():
                continue
            target = values.min() if col.better == "min" else values.max()
            best.setdefault(col.key, set()).update(group.index[values == target])
    return best


def build_tables(frame: pd.DataFrame, dataset: str | None = None, provider: str | None = None) -> list[Table]:
    """Group runs into tables that never mix datasets or feature networks; newest run per key."""
    if frame.empty:
        return []
    df = frame
    if dataset is not None:
        df = df[df["dataset"] == dataset]
    if provider is not None:
        df = df[(df["provider"] == provider) | (df["label"] == provider)]
    tables = []
    for (ds, ds_hash, feat), group in df.groupby(["dataset", "dataset_hash", "feature_sha256"], sort=True):
        group = group.sort_values(["created", "run_id"])
        counts = group.groupby(list(KEY), sort=False).size()
        kept = group.drop_duplicates(list(KEY), keep="last").copy()
        kept["runs"] = [int(counts[tuple(r[k] for k in KEY)]) for _, r in kept.iterrows()]
        kept["kind"] = "run"
        kept = kept.sort_values(list(KEY))
        notes = [f"{r.label} {r.sampler} {r.steps} steps: newest of {r.runs} runs shown ({r.run_id})"
                 for r in kept.itertuples() if r.runs > 1]
        rows = pd.concat([kept, pd.DataFrame(_floor_rows(kept))], ignore_index=True) \
            if kept["floor"].notna().any() else kept.reset_index(drop=True)
        table = Table(str(ds), str(ds_hash), str(feat), rows, notes=notes)
        table.best = _best(table.runs())
        tables.append(table)
    return tables


def cell_value(row: pd.Series, col: Column) -> tuple[float, float]:
    """(value, std) of a cell in display units (NaN where absent)."""
    scale = SCALE.get(col.key, 1.0)
    value = _num(row.get(col.key)) * scale
    std = _num(row.get(col.std_key)) * scale if col.std_key else math.nan
    return value, std


def format_cell(row: pd.Series, col: Column) -> str:
    value, std = cell_value(row, col)
    if math.isnan(value):
        return "–"
    text = f"{value:.{col.digits}f}"
    if not math.isnan(std):
        text += f" ± {std:.{col.digits}f}"
    return text
