"""Comparison tables: one per (dataset, dataset hash, feature network), a row per configuration.

The metric columns of a table are those its runs declared (:mod:`.columns`), newest declaration
first; the cost columns come from the runner. Best values are marked per directed column, only
between runs of equal N where the metric depends on N.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .columns import COST_COLUMNS, MetricSpec, ReportColumn, builtins_first
from .load import CORE_FIELDS, _num

#: A row is one configuration (``config``, :func:`.load.configuration_ids`); the rest orders and names it.
KEY = ("label", "sampler", "steps", "n", "config")


@dataclass
class Table:
    """One comparison table and what the reader needs to know about it."""

    dataset: str
    dataset_hash: str
    feature_sha256: str
    rows: pd.DataFrame  # runs first, then floor rows; column "kind" is "run" or "floor"
    specs: list[MetricSpec] = field(default_factory=list)
    columns: list[ReportColumn] = field(default_factory=list)  # every column, shown or not
    best: dict[str, set[int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        feat = "no metrics" if self.feature_sha256 == "none" else f"feature network {self.feature_sha256[:12]}"
        return f"{self.dataset} (data {self.dataset_hash[:12]}, {feat})"

    @property
    def shown(self) -> list[ReportColumn]:
        """The columns of the markdown and HTML tables, in order: a column no run of the table has a
        value in (e.g. the MNIST classifier's view on colour data) is left out."""
        runs = self.runs()
        return [c for c in self.columns if c.shown and (runs.empty or _has_values(runs, c.key))]

    @property
    def headline(self) -> list[ReportColumn]:
        """The columns plotted against the number of network evaluations."""
        return [c for c in self.columns if c.headline and c.shown]

    def runs(self) -> pd.DataFrame:
        return self.rows[self.rows["kind"] == "run"]

    def floors(self) -> pd.DataFrame:
        return self.rows[self.rows["kind"] == "floor"]


def table_specs(runs: pd.DataFrame) -> list[MetricSpec]:
    """Every metric the runs hold, once, the newest run's declaration of a name winning: the builtin
    metrics first in their order, then the others as they first appear from the newest run back."""
    specs: dict[str, MetricSpec] = {}
    for run_specs in runs.sort_values(["created", "run_id"], ascending=False)["metric_specs"]:
        for spec in run_specs:
            specs.setdefault(spec.name, spec)
    return builtins_first(list(specs.values()))


def table_columns(specs: list[MetricSpec]) -> tuple[list[ReportColumn], list[str]]:
    """The metric columns then the cost columns; a key that clashes is dropped with a note."""
    columns: list[ReportColumn] = []
    taken: dict[str, str] = {}
    notes = []
    for spec in specs:
        for col in spec.columns:
            if col.key in CORE_FIELDS or col.key in taken:
                owner = taken.get(col.key, "the report")
                notes.append(f"column {col.key!r} of metric {spec.name!r} is not shown: its key is taken by {owner}")
                continue
            taken[col.key] = f"metric {spec.name!r}"
            columns.append(ReportColumn.of_metric(spec, col))
    return columns + list(COST_COLUMNS), notes


def _floor_rows(kept: pd.DataFrame, columns: list[ReportColumn]) -> list[dict[str, Any]]:
    rows = []
    with_floor = kept[kept["floor"].notna()]
    for n, group in with_floor.groupby("floor_n", sort=True):
        newest = group.sort_values("created").iloc[-1]
        values = {c.key: newest["floor"].get(c.key, math.nan) for c in columns if c.metric is not None}
        values.update({c.std_key: newest["floor"].get(c.std_key, math.nan) for c in columns if c.std_key})
        rows.append({"kind": "floor", "label": f"real images (floor, N={int(n)})", "sampler": "", "steps": None,
                     "nfe": None, "n": int(n), "runs": None, "run_id": "", "run_dir": "",
                     "created": newest["created"], **values, "has_grid": False, "has_nearest": False})
    return rows


def _best(runs: pd.DataFrame, columns: list[ReportColumn]) -> dict[str, set[int]]:
    """Row indices holding the best value of each directed column (ties all marked; nothing is
    marked where fewer than two runs compete or all are equal)."""
    best: dict[str, set[int]] = {}
    for col in columns:
        if col.better is None or not col.shown or col.key not in runs:
            continue
        groups = runs.groupby("n") if col.per_n else [(None, runs)]
        for _, group in groups:
            values = group[col.key].astype(float)
            if col.better == "zero":  # closest to zero is best
                values = values.abs()
            if values.notna().sum() < 2 or values.min() == values.max():
                continue
            target = values.max() if col.better == "max" else values.min()
            best.setdefault(col.key, set()).update(group.index[values == target])
    return best


def aggregate_seeds(group: pd.DataFrame, columns: list[ReportColumn]) -> pd.DataFrame:
    """One row per configuration: the newest run of each seed, and where there are several seeds,
    each metric's mean over seeds with the seed-to-seed standard deviation as its ± (``seeds`` > 1).

    A configuration run once keeps its own ± (the run's bootstrap or subset std). A seed without a
    value in a column (NaN: not computed, or a metric that failed) is left out of that mean, and
    ``partial`` says so ('FID-proxy: 1 of 2 seeds (no value at seed 1)'), never silently.
    """
    rows = []
    for _, runs in group.groupby(list(KEY), sort=False):
        per_seed = runs.drop_duplicates("seed", keep="last")
        row = per_seed.iloc[-1].copy()
        row["runs"], row["seeds"] = len(runs), len(per_seed)
        partial = []
        if len(per_seed) > 1:
            for col in columns:
                if col.key in per_seed:
                    values = per_seed[col.key].astype(float)
                    missing = sorted(int(s) for s, v in zip(per_seed["seed"], values) if math.isnan(v))
                    if missing and len(missing) < len(values) and col.metric is not None and col.shown:
                        partial.append(f"{col.header}: mean of {len(values) - len(missing)} of {len(values)} seeds "
                                       f"(no value at seed {', '.join(map(str, missing))})")
                    row[col.key] = values.mean()
                    if col.std_key:
                        row[col.std_key] = values.std(ddof=1) if values.notna().sum() > 1 else math.nan
        row["partial"] = "; ".join(partial)
        rows.append(row)
    return pd.DataFrame(rows)


def distinct_labels(group: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """``group`` with each label naming one provider configuration: a label two configurations
    share gets each one's description in brackets ('m [empirical]'); one note per shared label."""
    from ..runs.identity import disambiguate

    if "entry_config" not in group:
        return group, []
    keys = group["entry_config"].fillna("").astype(str) + "|" + group["label"].astype(str)
    names, notes = disambiguate(dict(zip(keys, group["label"].astype(str))),
                                dict(zip(keys, group["entry_description"].fillna("").astype(str))), "entry")
    group = group.copy()
    group["label"] = [names[k] for k in keys]
    return group, notes


def build_tables(frame: pd.DataFrame, dataset: str | None = None, provider: str | None = None) -> list[Table]:
    """Group runs into tables that never mix datasets or feature networks; one row per configuration
    (the newest run of each seed; several seeds are averaged, :func:`aggregate_seeds`)."""
    if frame.empty:
        return []
    df = frame
    if dataset is not None:
        df = df[df["dataset"] == dataset]
    if provider is not None:
        df = df[(df["provider"] == provider) | (df["label"] == provider)]
    tables = []
    for (ds, ds_hash, feat), group in df.groupby(["dataset", "dataset_hash", "feature_sha256"], sort=True):
        group, label_notes = distinct_labels(group.sort_values(["created", "run_id"]))
        specs = table_specs(group)
        columns, clash_notes = table_columns(specs)
        for col in columns:  # a run without some metric shows "–" there
            if col.key not in group:
                group[col.key] = math.nan
        kept = aggregate_seeds(group, columns)
        kept["kind"] = "run"
        kept = kept.sort_values(list(KEY))
        notes = [f"{r.label} {r.sampler} {r.steps} steps: newest of {r.runs} runs shown ({r.run_id})"
                 for r in kept.itertuples() if r.runs > 1 and r.seeds == 1]
        notes += [f"{r.label} {r.sampler} {r.steps} steps: {r.partial}" for r in kept.itertuples() if r.partial]
        if (kept["seeds"] > 1).any():
            notes.append("Rows of several seeds (runs > 1, different seeds) show the mean over seeds, and ± is the "
                         "seed-to-seed standard deviation (the newest run of each seed counts).")
        floors = _floor_rows(kept, columns)
        rows = pd.concat([kept, pd.DataFrame(floors)], ignore_index=True) if floors else kept.reset_index(drop=True)
        table = Table(str(ds), str(ds_hash), str(feat), rows, specs, columns,
                      notes=label_notes + notes + clash_notes)
        table.best = _best(table.runs(), columns)
        tables.append(table)
    return tables


def cell_value(row: pd.Series, col: ReportColumn) -> tuple[float, float]:
    """(value, std) of a cell in display units (NaN where absent)."""
    value = _num(row.get(col.key)) * col.scale
    std = _num(row.get(col.std_key)) * col.scale if col.std_key else math.nan
    return value, std


def format_cell(row: pd.Series, col: ReportColumn) -> str:
    value, std = cell_value(row, col)
    if math.isnan(value):
        return "–"
    text = f"{value:.{col.digits}f}"
    if not math.isnan(std):
        text += f" ± {std:.{col.digits}f}"
    return text


def _has_values(runs: pd.DataFrame, key: str) -> bool:
    """Whether column ``key`` holds at least one number among ``runs``."""
    if key not in runs:
        return False
    values = pd.to_numeric(runs[key], errors="coerce")
    return bool(values.notna().any())
