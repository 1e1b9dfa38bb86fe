"""Render comparison tables as markdown, HTML, CSV or JSON.

Every string that came from a run.json (provider names, modes, run ids, paths) is escaped: HTML
with ``html.escape``, markdown cells additionally with ``|`` escaped and newlines removed.
"""

from __future__ import annotations

import html
import io
import json
import math
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from .table import COLUMNS, SCALE, Table, format_cell

BEST_NOTE = "Best value among the runs in bold; ↓ lower is better, ↑ higher is better."


def legend(table: Table) -> list[str]:
    """The sentences under every table: what the numbers mean (fixed text, not escaped)."""
    runs = table.runs()
    boot = sorted({int(v) for v in runs.get("fid_bootstrap", pd.Series(dtype=float)).dropna()})
    lines = [
        BEST_NOTE + " FID, KID and precision/recall/density/coverage depend on N: they are compared only "
        "between runs of equal N, and each against the floor of its N.",
        "FID-/KID-proxy: features from the pinned MNIST classifier (penultimate layer), generated vs the "
        "held-out split. ± is the bootstrap std of the FID"
        + (f" ({', '.join(map(str, boot))} resamples)" if boot else "")
        + " and the std of the unbiased KID over 100 random subsets (each half the smaller set, at most "
        "1000 vectors); the KID can be slightly negative when the sets match.",
        "Floor: real train digits (an N-image subset) scored exactly like a provider; its NN distance and "
        "memorised share are those of held-out real digits against the train split.",
        "NN distance: median RMS pixel distance ([0, 1] units) to the nearest training image; memorised: "
        "share with d1/d2 < 1/3. Ambiguous: top class probability < 0.5. Class entropy maximum log2(10) = 3.32.",
    ]
    return lines


def run_notes(table: Table) -> list[str]:
    """Sentences built from run.json strings (devices, provider labels): renderers escape them."""
    runs = table.runs()
    devices = sorted({str(d) for d in runs.get("device", pd.Series(dtype=str)).dropna() if str(d)})
    lines = ["images/s: sampling throughput measured on " + "; ".join(devices) + "."] if devices else []
    return lines + table.notes


def _md_text(value: Any) -> str:
    text = " ".join(str(value).split())
    text = html.escape(text, quote=False)
    for ch in "\\|*_[]`":
        text = text.replace(ch, "\\" + ch)
    return text


def _rel_url(path: Path, base: Path) -> str:
    return quote(Path(os.path.relpath(path, base)).as_posix())


def _row_cells(row: pd.Series, table: Table, idx: int, bold: tuple[str, str], esc) -> list[str]:  # type: ignore[no-untyped-def]
    label = row["label"] if row["kind"] == "run" else row["label"]
    steps = "" if row["kind"] == "floor" or row["steps"] is None or pd.isna(row["steps"]) else str(int(row["steps"]))
    runs = row.get("runs")
    cells = [esc(label), esc(row["sampler"]), steps, str(int(row["n"])) if not pd.isna(row["n"]) else "",
             "" if runs is None or pd.isna(runs) else str(int(runs))]
    for col in COLUMNS:
        text = format_cell(row, col)
        if idx in table.best.get(col.key, set()):
            text = f"{bold[0]}{text}{bold[1]}"
        cells.append(text)
    return cells


HEAD = ["provider", "sampler", "steps", "N", "runs"]


def render_markdown(tables: list[Table], warnings: list[str], base: Path, plots: dict[int, Path]) -> str:
    out = ["# denoisebench report", ""]
    if not tables:
        out += ["No complete runs found.", ""]
    for t_i, table in enumerate(tables):
        out += [f"## {_md_text(table.title)}", ""]
        heads = HEAD + [c.header + c.arrow for c in COLUMNS]
        out.append("| " + " | ".join(heads) + " |")
        out.append("|" + "|".join(["---"] * 2 + ["---:"] * (len(heads) - 2)) + "|")
        for idx, row in table.rows.iterrows():
            cells = _row_cells(row, table, int(idx), ("**", "**"), _md_text)  # type: ignore[arg-type]
            if row["kind"] == "floor":
                cells[0] = f"*{cells[0]}*"
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
        out += [f"- {line}" for line in legend(table)]
        out += [f"- {_md_text(line)}" for line in run_notes(table)] + [""]
        if t_i in plots:
            out += [f"![quality against steps]({_rel_url(plots[t_i], base)})", ""]
        figs = [r for _, r in table.runs().iterrows() if r["has_grid"] or r["has_nearest"]]
        if figs:
            out += ["### Samples and their nearest training digits", ""]
            for r in figs:
                name = _md_text(f"{r['label']}, {r['sampler']}, {int(r['steps'])} steps")
                links = [f"![{name} samples]({_rel_url(Path(r['run_dir']) / 'grid.png', base)})"] if r["has_grid"] else []
                if r["has_nearest"]:
                    links.append(f"![{name} nearest]({_rel_url(Path(r['run_dir']) / 'nearest.png', base)})")
                out += [f"**{name}** ({_md_text(r['run_id'])})", "", " ".join(links), ""]
    if warnings:
        out += ["## Skipped", ""] + [f"- {_md_text(w)}" for w in warnings] + [""]
    return "\n".join(out)


CSS = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
       "padding:3px 6px;text-align:right}td:first-child,td:nth-child(2),th{text-align:left}tr.floor{"
       "background:#f3f3f3;font-style:italic}figure{display:inline-block;margin:0 1em 1em 0}img{max-width:480px}")


def render_html(tables: list[Table], warnings: list[str], base: Path, plots: dict[int, Path]) -> str:
    esc = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8"><title>denoisebench report</title>',
           f"<style>{CSS}</style></head><body>", "<h1>denoisebench report</h1>"]
    if not tables:
        out.append("<p>No complete runs found.</p>")
    for t_i, table in enumerate(tables):
        out.append(f"<h2>{esc(table.title)}</h2>")
        heads = HEAD + [c.header + c.arrow for c in COLUMNS]
        out.append("<table><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in heads) + "</tr></thead><tbody>")
        for idx, row in table.rows.iterrows():
            cells = _row_cells(row, table, int(idx), ("<strong>", "</strong>"), esc)  # type: ignore[arg-type]
            cls = ' class="floor"' if row["kind"] == "floor" else ""
            out.append(f"<tr{cls}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        out.append("</tbody></table><ul>" + "".join(f"<li>{esc(line)}</li>" for line in legend(table) + run_notes(table))
                   + "</ul>")
        if t_i in plots:
            out.append(f'<figure><img src="{esc(_rel_url(plots[t_i], base))}" alt="quality against steps">'
                       "<figcaption>quality against steps</figcaption></figure>")
        for _, r in table.runs().iterrows():
            name = esc(f"{r['label']} {r['sampler']}{int(r['steps'])} ({r['run_id']})")
            for flag, file, what in (("has_grid", "grid.png", "samples"), ("has_nearest", "nearest.png", "nearest")):
                if r[flag]:
                    src = esc(_rel_url(Path(r["run_dir"]) / file, base))
                    out.append(f'<figure><img src="{src}" alt="{name} {what}"><figcaption>{name}: {what}'
                               "</figcaption></figure>")
    if warnings:
        out.append("<h2>Skipped</h2><ul>" + "".join(f"<li>{esc(w)}</li>" for w in warnings) + "</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


FLAT = ["kind", "label", "provider", "mode", "sampler", "steps", "n", "runs", "run_id", "created", "fid", "fid_std",
        "kid", "kid_std", "kid_subset_size", "precision", "recall", "density", "coverage", "entropy_bits",
        "confidence", "ambiguous", "d1_median", "memorised", "images_per_s", "device", "run_dir"]


def flat_frame(tables: list[Table]) -> pd.DataFrame:
    """All tables stacked, with the dataset and feature network on every row (raw units)."""
    parts = []
    for table in tables:
        df = table.rows.reindex(columns=FLAT).copy()
        df.insert(0, "feature_sha256", table.feature_sha256)
        df.insert(0, "dataset_hash", table.dataset_hash)
        df.insert(0, "dataset", table.dataset)
        parts.append(df)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["dataset", "dataset_hash",
                                                                                   "feature_sha256", *FLAT])


def render_csv(tables: list[Table]) -> str:
    buf = io.StringIO()
    flat_frame(tables).to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return _clean(value.item())
    return value


def _int_or_none(value: Any) -> int | None:
    value = _clean(value)
    return None if value is None else int(value)


def render_json(tables: list[Table], warnings: list[str]) -> str:
    payload = {"tables": [], "skipped": warnings, "units": {k: f"x{v:g} in markdown/html" for k, v in SCALE.items()}}
    for table in tables:
        rows = [{k: _int_or_none(v) if k in ("steps", "n", "runs") else _clean(v) for k, v in r.items()}
                for r in table.rows.reindex(columns=FLAT).to_dict("records")]
        best = {k: sorted(f"{rows[i]['label']} {rows[i]['sampler']} {rows[i]['steps']}" for i in v)
                for k, v in table.best.items()}
        payload["tables"].append({"dataset": table.dataset, "dataset_hash": table.dataset_hash,  # type: ignore[union-attr]
                                  "feature_sha256": table.feature_sha256, "rows": rows, "best": best,
                                  "better": {c.key: c.better for c in COLUMNS}, "notes": table.notes})
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
