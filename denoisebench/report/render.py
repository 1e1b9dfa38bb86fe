"""Render comparison tables as markdown or HTML (CSV and JSON: :mod:`.export`).

Every string that came from a run.json (provider names, labels, run ids, paths, a metric's
declared headers and notes) is escaped: HTML with ``html.escape``, markdown cells additionally
with ``|`` escaped and newlines removed.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from .legend import legend, run_notes
from .table import Table, format_cell

PLOT_ALT = "quality against network evaluations"


def _md_text(value: Any) -> str:
    text = " ".join(str(value).split())
    text = html.escape(text, quote=False)
    for ch in "\\|*_[]`":
        text = text.replace(ch, "\\" + ch)
    return text


def _rel_url(path: Path, base: Path) -> str:
    return quote(Path(os.path.relpath(path, base)).as_posix())


def _int_text(value: Any) -> str:
    return "" if value is None or pd.isna(value) else str(int(value))


def _row_cells(row: pd.Series, table: Table, idx: int, bold: tuple[str, str],
               esc: Callable[[str], str]) -> list[str]:
    floor = row["kind"] == "floor"
    cells = [esc(row["label"]), esc(row["sampler"]), "" if floor else _int_text(row["steps"]),
             "" if floor else _int_text(row.get("nfe")), _int_text(row["n"]), _int_text(row.get("runs"))]
    for col in table.shown:
        text = format_cell(row, col)
        if idx in table.best.get(col.key, set()):
            text = f"{bold[0]}{text}{bold[1]}"
        cells.append(text)
    return cells


HEAD = ["provider", "sampler", "steps", "NFE", "N", "runs"]


def _heads(table: Table) -> list[str]:
    return HEAD + [c.header + c.arrow for c in table.shown]


def render_markdown(tables: list[Table], warnings: list[str], base: Path, plots: dict[int, Path]) -> str:
    out = ["# denoisebench report", ""]
    if not tables:
        out += ["No complete runs found.", ""]
    for t_i, table in enumerate(tables):
        out += [f"## {_md_text(table.title)}", ""]
        heads = [_md_text(h) for h in _heads(table)]
        out.append("| " + " | ".join(heads) + " |")
        out.append("|" + "|".join(["---"] * 2 + ["---:"] * (len(heads) - 2)) + "|")
        for idx, row in table.rows.iterrows():
            cells = _row_cells(row, table, int(idx), ("**", "**"), _md_text)
            if row["kind"] == "floor":
                cells[0] = f"*{cells[0]}*"
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
        out += [f"- {_md_text(line)}" for line in legend(table) + run_notes(table)] + [""]
        if t_i in plots:
            out += [f"![{PLOT_ALT}]({_rel_url(plots[t_i], base)})", ""]
        figs = [r for _, r in table.runs().iterrows() if r["has_grid"] or r["has_nearest"]]
        if figs:
            out += ["### Samples and their nearest training images", ""]
            for r in figs:
                name = _md_text(f"{r['label']}, {r['sampler']}, {int(r['steps'])} steps")
                links = []
                if r["has_grid"]:
                    links.append(f"![{name} samples]({_rel_url(Path(r['run_dir']) / 'grid.png', base)})")
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
        heads = _heads(table)
        out.append("<table><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in heads) + "</tr></thead><tbody>")
        for idx, row in table.rows.iterrows():
            cells = _row_cells(row, table, int(idx), ("<strong>", "</strong>"), esc)
            cls = ' class="floor"' if row["kind"] == "floor" else ""
            out.append(f"<tr{cls}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        lines = legend(table) + run_notes(table)
        out.append("</tbody></table><ul>" + "".join(f"<li>{esc(line)}</li>" for line in lines) + "</ul>")
        if t_i in plots:
            out.append(f'<figure><img src="{esc(_rel_url(plots[t_i], base))}" alt="{PLOT_ALT}">'
                       f"<figcaption>{PLOT_ALT}</figcaption></figure>")
        for _, r in table.runs().iterrows():
            name = esc(f"{r['label']} {r['sampler']} {int(r['steps'])} ({r['run_id']})")
            for flag, file, what in (("has_grid", "grid.png", "samples"), ("has_nearest", "nearest.png", "nearest")):
                if r[flag]:
                    src = esc(_rel_url(Path(r["run_dir"]) / file, base))
                    out.append(f'<figure><img src="{src}" alt="{name} {what}"><figcaption>{name}: {what}'
                               "</figcaption></figure>")
    if warnings:
        out.append("<h2>Skipped</h2><ul>" + "".join(f"<li>{esc(w)}</li>" for w in warnings) + "</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
