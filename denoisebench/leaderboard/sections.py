"""The HTML of one setting: its entries ranked by the primary metric with shaded rank groups and the
floor, the verdict matrix, the other metrics' verdicts, and the entries' sample grids side by side."""

from __future__ import annotations

import base64
import math
from html import escape
from pathlib import Path

from ..compare import METRICS as SPECS
from ..compare import TIED, PairResult, SettingResult, Standing
from .bands import band_letters, rank_bands
from .gather import METRICS, PRIMARY, Board

SHADES = ("#d9f0d3", "#dbe6f6", "#fce3c7", "#eadcf2", "#f7d9df", "#d9f1f0", "#f2efc9", "#e4e4e4")


def data_uri(path: Path) -> str:
    """A PNG file as a data URI."""
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def fmt(metric: str, value: float | None) -> str:
    return "–" if value is None or not math.isfinite(value) else SPECS[metric].fmt.format(value)


def pair_of(result: SettingResult, metric: str, a: str, b: str) -> tuple[float, float, float, str] | None:
    """(a − b, low, high, verdict from a's side: 'better', 'worse' or 'tied'), whichever order it was computed in."""
    for p in result.pairs:
        if p.metric != metric or {p.a, p.b} != {a, b}:
            continue
        if p.verdict == TIED:
            side = "tied"
        else:
            side = "better" if (p.verdict == "a better") == (p.a == a) else "worse"
        return (p.diff, p.ci_low, p.ci_high, side) if p.a == a else (-p.diff, -p.ci_high, -p.ci_low, side)
    return None


def _interval(metric: str, low: float, high: float) -> str:
    return f"[{fmt(metric, low)}, {fmt(metric, high)}]"


def _value(metric: str, row: Standing | None) -> str:
    if row is None:
        return "–"
    spread = f" ± {fmt(metric, row.spread)}" if row.spread is not None else ""
    return f"{fmt(metric, row.value)}{spread}"


def ordered(result: SettingResult) -> list[Standing]:
    """The primary metric's standings, best value first."""
    sign = 1.0 if SPECS[PRIMARY].lower_is_better else -1.0
    return sorted(result.standings.get(PRIMARY, []), key=lambda r: (sign * r.value, r.entry))


def headline(result: SettingResult) -> str:
    """One sentence: who is best on the primary metric, and by how much (or with whom it is tied)."""
    rows = ordered(result)
    if len(rows) < 2:
        return "No verdict on the primary metric."
    title = SPECS[PRIMARY].title
    best = rows[0]
    text = f"<b>{escape(best.entry)}</b> has the best {title} ({fmt(PRIMARY, best.value)})"
    if best.tied_with:
        names = [r.entry for r in rows if r.entry in best.tied_with]
        more = f" and {len(names) - 3} more" if len(names) > 3 else ""
        return (text + f"; the paired comparison cannot separate it from {escape(', '.join(names[:3]))}{more} "
                "(the 95% interval of the difference contains 0).")
    runner = rows[1].entry
    diff = pair_of(result, PRIMARY, runner, best.entry)
    gap = "" if diff is None else (f", ahead of {escape(runner)} by {fmt(PRIMARY, diff[0])} "
                                   f"{_interval(PRIMARY, diff[1], diff[2])}")
    return text + gap + "."


def ranking(board: Board, result: SettingResult) -> str:
    """The entries best first, shaded by rank group, with the other metrics, the cost and the floor."""
    rows = ordered(result)
    order = [r.entry for r in rows]
    tied = {(r.entry, o) for r in rows for o in r.tied_with}
    bands = rank_bands(order, lambda a, b: (a, b) in tied)
    by_metric = {m: {r.entry: r for r in result.standings.get(m, [])} for m in METRICS}
    head = ["group", "rank", "entry", *(SPECS[m].title + (" ↓" if SPECS[m].lower_is_better else " ↑") for m in METRICS), "Δ to best [95% interval]",
            "NFE", "ms / image", "seeds"]
    out = ["<table class='rank'><thead><tr>", *(f"<th>{h}</th>" for h in head), "</tr></thead><tbody>"]
    for row in rows:
        shade = SHADES[bands[row.entry][0] % len(SHADES)] if bands[row.entry] else "#fff"
        delta = pair_of(result, PRIMARY, row.entry, order[0]) if row.entry != order[0] else None
        gap = "–" if delta is None else f"{fmt(PRIMARY, delta[0])} {_interval(PRIMARY, delta[1], delta[2])}"
        refs = board.groups.get(result.setting, {}).get(row.entry, {})
        nfe = next((r.nfe for r in refs.values() if r.nfe is not None), None)
        ms = result.ms_per_image.get(row.entry)
        cells = [f"<span class='band'>{band_letters(bands[row.entry])}</span>", str(row.rank),
                 f"<b>{escape(row.entry)}</b>", *(_value(m, by_metric[m].get(row.entry)) for m in METRICS), gap,
                 "–" if nfe is None else str(nfe), "–" if ms is None else f"{ms:.2f}",
                 escape(", ".join(map(str, row.seeds)))]
        out.append(f"<tr style='background:{shade}'>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    floors = [board.floor(result.setting, m) for m in METRICS]
    if any(f is not None for f in floors):
        values = ["–" if f is None else f"{fmt(m, f[0])}" + (f" ± {fmt(m, f[1])}" if math.isfinite(f[1]) else "")
                  for m, f in zip(METRICS, floors)]
        cells = ["", "", f"real digits (floor, N = {result.setting.n})", *values, "", "", "", ""]
        out.append("<tr class='floor'>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return "".join(out) + "</tbody></table>"


def matrix(result: SettingResult, metric: str, order: list[str]) -> str:
    """Row − column differences with their 95% intervals, coloured by the row entry's verdict."""
    out = ["<div class='scroll'><table class='matrix'><thead><tr><th>row − column</th>",
           *(f"<th>{escape(e)}</th>" for e in order), "</tr></thead><tbody>"]
    for a in order:
        out.append(f"<tr><th>{escape(a)}</th>")
        for b in order:
            pair = pair_of(result, metric, a, b) if a != b else None
            if pair is None:
                out.append("<td class='self'></td>")
                continue
            diff, low, high, side = pair
            out.append(f"<td class='{side}'>{fmt(metric, diff)}<br><small>{_interval(metric, low, high)}</small>"
                       f"<br><small>{'row ' + side if side != 'tied' else 'tied'}</small></td>")
        out.append("</tr>")
    return "".join(out) + "</tbody></table></div>"


def pair_list(pairs: list[PairResult]) -> str:
    """Every pair of one metric as rows: a, b, a − b, interval, verdict."""
    rows = "".join(f"<tr><td>{escape(p.a)}</td><td>{escape(p.b)}</td><td>{fmt(p.metric, p.diff)}</td>"
                   f"<td>{_interval(p.metric, p.ci_low, p.ci_high)}</td><td class='v'>{escape(p.verdict)}</td></tr>"
                   for p in pairs)
    return ("<table class='pairs'><thead><tr><th>a</th><th>b</th><th>a − b</th><th>95% interval</th>"
            f"<th>verdict</th></tr></thead><tbody>{rows}</tbody></table>")


def grids(board: Board, result: SettingResult, order: list[str]) -> str:
    """Each entry's sample grid (seed 0), in ranking order."""
    figures = []
    for entry in order:
        path = board.grid(result.setting, entry)
        image = (f"<img alt='samples of {escape(entry)}' src='{data_uri(path)}'>" if path is not None
                 else "<div class='nogrid'>no grid.png</div>")
        figures.append(f"<figure>{image}<figcaption>{escape(entry)}</figcaption></figure>")
    return "<div class='grids'>" + "".join(figures) + "</div>"


def section(board: Board, result: SettingResult, anchor: str) -> str:
    """The whole section of one setting."""
    order = [r.entry for r in ordered(result)] or list(result.entries)
    others = [m for m in METRICS if m != PRIMARY and any(p.metric == m for p in result.pairs)]
    parts = [f"<section id='{anchor}'><h2>{escape(result.setting.title())}</h2>", f"<p class='lead'>{headline(result)}</p>",
             ranking(board, result), f"<h3>Paired verdicts, {SPECS[PRIMARY].title}</h3>",
             matrix(result, PRIMARY, order)]
    for metric in others:
        parts.append(f"<details><summary>Paired verdicts, {SPECS[metric].title}</summary>"
                     f"{pair_list([p for p in result.pairs if p.metric == metric])}</details>")
    parts += ["<h3>Samples (seed 0)</h3>", grids(board, result, order), "</section>"]
    return "".join(parts)
