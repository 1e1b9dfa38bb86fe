"""Comparison tables as CSV or JSON, in raw units, with every declared column (shown or not)."""

from __future__ import annotations

import io
import json
import math
from typing import Any

import pandas as pd

from .legend import legend
from .table import Table

HEAD = ["kind", "label", "provider", "sampler", "steps", "nfe", "n", "runs", "run_id", "created"]
TAIL = ["images_per_s", "device", "run_dir"]
INTEGER = {"steps", "nfe", "n", "runs"}


def flat_columns(table: Table) -> list[str]:
    """The table's fields in order: identity, metric values (``key``, ``key_std``), cost, provenance."""
    values = []
    for col in table.columns:
        values.append(col.key)
        if col.std_key:
            values.append(col.std_key)
    return HEAD + values + TAIL


def flat_frame(tables: list[Table]) -> pd.DataFrame:
    """All tables stacked, with the dataset and feature network on every row (raw units)."""
    parts = []
    for table in tables:
        df = table.rows.reindex(columns=flat_columns(table)).copy()
        df.insert(0, "feature_sha256", table.feature_sha256)
        df.insert(0, "dataset_hash", table.dataset_hash)
        df.insert(0, "dataset", table.dataset)
        for key in INTEGER:
            df[key] = df[key].astype("Int64")
        parts.append(df)
    if not parts:
        return pd.DataFrame(columns=["dataset", "dataset_hash", "feature_sha256", *HEAD, *TAIL])
    return pd.concat(parts, ignore_index=True)


def render_csv(tables: list[Table]) -> str:
    buf = io.StringIO()
    flat_frame(tables).to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


def _clean(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return _clean(value.item())
    return value


def _int_or_none(value: Any) -> int | None:
    value = _clean(value)
    return None if value is None else int(value)


def _column_entry(col: Any) -> dict[str, Any]:
    return {"key": col.key, "header": col.header, "better": col.better, "std_key": col.std_key,
            "digits": col.digits, "scale": col.scale, "depends_on_n": col.per_n, "shown": col.shown,
            "metric": col.metric, "plugin": col.plugin if col.metric else None}


def render_json(tables: list[Table], warnings: list[str]) -> str:
    payload: dict[str, Any] = {"tables": [], "skipped": warnings}
    for table in tables:
        fields = flat_columns(table)
        rows = [{k: _int_or_none(v) if k in INTEGER else _clean(v) for k, v in r.items()}
                for r in table.rows.reindex(columns=fields).to_dict("records")]
        best = {k: sorted(f"{rows[i]['label']} {rows[i]['sampler']} {rows[i]['steps']}" for i in v)
                for k, v in table.best.items()}
        payload["tables"].append({
            "dataset": table.dataset, "dataset_hash": table.dataset_hash, "feature_sha256": table.feature_sha256,
            "columns": [_column_entry(c) for c in table.columns], "rows": rows, "best": best,
            "better": {c.key: c.better for c in table.columns if c.shown},
            "units": {c.key: f"x{c.scale:g} in markdown/html" for c in table.columns if c.scale != 1.0},
            "legend": legend(table), "notes": table.notes})
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
