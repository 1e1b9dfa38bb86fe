"""The HTML of one setting: its entries ranked by the primary metric with shaded rank groups and the
floor, the verdict matrix, the other metrics' verdicts, and the entries' sample grids side by side.

Memorisation sits beside quality: each entry's memorised share (the mean over its runs) is a column,
and an entry that copies the training set (memorised share >= :data:`COPIES_AT`) is marked
``copies`` and listed after the generators, outside the ranking: a copy of the training set has a
near-perfect FID-proxy, and the page never presents it as the best generator."""

from __future__ import annotations

import base64
import math
from html import escape
from pathlib import Path

from ..compare import METRICS as SPECS
from ..compare import TIED, PairResult, SettingResult, Standing
from .bands import band_letters, rank_bands
from .gather import METRICS, PRIMARY, Board

#: An entry whose samples are memorised training images at least this often copies the training set.
COPIES_AT = 0.5

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


def across_mark(result: SettingResult, metric: str, a: str, b: str) -> str:
    """How the encoders decided (a, b) on ``metric``: 'robust (...)', 'split (...)', 'level (...)',
    'one encoder (...)' with the encoders named, or '' when it was not computed on encoders."""
    across = result.across
    found = across.get((result.setting, metric, a, b)) or across.get((result.setting, metric, b, a))
    return found.text() if found is not None else ""


def _interval(metric: str, low: float, high: float) -> str:
    return f"[{fmt(metric, low)}, {fmt(metric, high)}]"


def _value(metric: str, row: Standing | None) -> str:
    if row is None:
        return "–"
    spread = f" ± {fmt(metric, row.spread)}" if row.spread is not None else ""
    return f"{fmt(metric, row.value)}{spread}"


def memorised(board: Board | None, result: SettingResult, entry: str) -> float | None:
    """The entry's memorised share in this setting: the mean over its runs that measured it."""
    if board is None:
        return None
    values = [r.memorised for r in board.groups.get(result.setting, {}).get(entry, {}).values()
              if r.memorised is not None and math.isfinite(r.memorised)]
    return sum(values) / len(values) if values else None


def copies(board: Board | None, result: SettingResult, entry: str) -> bool:
    """Whether the entry copies the training set (memorised share >= :data:`COPIES_AT`)."""
    share = memorised(board, result, entry)
    return share is not None and share >= COPIES_AT


def ordered(result: SettingResult, board: Board | None = None) -> list[Standing]:
    """The primary metric's standings: the generators best value first, then the entries that copy."""
    sign = 1.0 if SPECS[PRIMARY].lower_is_better else -1.0
    return sorted(result.standings.get(PRIMARY, []),
                  key=lambda r: (copies(board, result, r.entry), sign * r.value, r.entry))


def _share(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def headline(result: SettingResult, board: Board | None = None) -> str:
    """One sentence: which generator is best on the primary metric, and by how much (or with whom it
    is tied); entries that copy the training set are named as such, never as the best."""
    everyone = ordered(result, board)
    rows = [r for r in everyone if not copies(board, result, r.entry)]
    copying = [r for r in everyone if copies(board, result, r.entry)]
    title = SPECS[PRIMARY].title
    note = ""
    if copying:
        names = ", ".join(f"{escape(r.entry)} ({_share(memorised(board, result, r.entry))} memorised)"
                          for r in copying)
        note = f" Not ranked, because it copies the training set: {names}."
    if len(rows) < 2:
        if len(rows) == 1 and copying:
            return (f"<b>{escape(rows[0].entry)}</b> is the only entry that does not copy the training set "
                    f"({title} {fmt(PRIMARY, rows[0].value)}).{note}")
        return "No verdict on the primary metric." + note
    best = rows[0]
    text = f"<b>{escape(best.entry)}</b> has the best {title} ({fmt(PRIMARY, best.value)})"
    if copying:
        text += " of the entries that do not copy the training set"
    if not result.paired:
        return (text + f", as recorded in run.json; {escape(rows[1].entry)} follows with "
                f"{fmt(PRIMARY, rows[1].value)}. No paired verdict: the runs' samples.npz were not kept." + note)
    tied = [r.entry for r in rows if r.entry in best.tied_with]
    if tied:
        more = f" and {len(tied) - 3} more" if len(tied) > 3 else ""
        return (text + f"; the paired comparison cannot separate it from {escape(', '.join(tied[:3]))}{more} "
                "(the 95% interval of the difference contains 0)." + note)
    runner = rows[1].entry
    diff = pair_of(result, PRIMARY, runner, best.entry)
    gap = "" if diff is None else (f", ahead of {escape(runner)} by {fmt(PRIMARY, diff[0])} "
                                   f"{_interval(PRIMARY, diff[1], diff[2])}")
    return text + gap + "." + note


def ranking(board: Board, result: SettingResult) -> str:
    """The generators best first, shaded by rank group, with the other metrics, the memorised share,
    the cost and the floor; then the entries that copy the training set, marked and unranked."""
    rows = ordered(result, board)
    generators = [r for r in rows if not copies(board, result, r.entry)]
    order = [r.entry for r in generators]
    tied = {(r.entry, o) for r in rows for o in r.tied_with}
    bands = rank_bands(order, lambda a, b: (a, b) in tied)
    beaten = {r.entry: {o for o in order if o != r.entry and (pair_of(result, PRIMARY, r.entry, o) or (0, 0, 0, ""))[3]
                        == "worse"} for r in generators}
    by_metric = {m: {r.entry: r for r in result.standings.get(m, [])} for m in METRICS}
    head = ["group", "rank", "entry", *(SPECS[m].title + (" ↓" if SPECS[m].lower_is_better else " ↑") for m in METRICS),
            "memorised ↓", "Δ to best [95% interval]", "NFE", "ms / image", "seeds"]
    out = ["<table class='rank'><thead><tr>", *(f"<th>{h}</th>" for h in head), "</tr></thead><tbody>"]
    for row in rows:
        copying = row.entry not in bands
        if copying:
            shade, group, rank = "#f3f3f3", "<span class='copies'>copies</span>", "–"
        elif not result.paired:
            shade, group, rank = "#fff", "–", "–"
        else:
            shade = SHADES[bands[row.entry][0] % len(SHADES)] if bands[row.entry] else "#fff"
            group, rank = f"<span class='band'>{band_letters(bands[row.entry])}</span>", str(1 + len(beaten[row.entry]))
        delta = pair_of(result, PRIMARY, row.entry, order[0]) if order and row.entry != order[0] else None
        gap = "–" if delta is None else f"{fmt(PRIMARY, delta[0])} {_interval(PRIMARY, delta[1], delta[2])}"
        if not result.paired and order and row.entry != order[0]:
            gap = f"{fmt(PRIMARY, row.value - generators[0].value)} (unpaired)"
        refs = board.groups.get(result.setting, {}).get(row.entry, {})
        nfe = next((r.nfe for r in refs.values() if r.nfe is not None), None)
        ms = result.ms_per_image.get(row.entry)
        share = _share(memorised(board, result, row.entry))
        cells = [group, rank, f"<b>{escape(row.entry)}</b>", *(_value(m, by_metric[m].get(row.entry)) for m in METRICS),
                 f"<span class='copies'>{share}</span>" if copying else share, gap,
                 "–" if nfe is None else str(nfe), "–" if ms is None else f"{ms:.2f}",
                 escape(", ".join(map(str, row.seeds)))]
        cls = " class='copying'" if copying else ""
        out.append(f"<tr{cls} style='background:{shade}'>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    floors = [board.floor(result.setting, m) for m in METRICS]
    if any(f is not None for f in floors):
        values = ["–" if f is None else f"{fmt(m, f[0])}" + (f" ± {fmt(m, f[1])}" if math.isfinite(f[1]) else "")
                  for m, f in zip(METRICS, floors)]
        cells = ["", "", f"real digits (floor, N = {result.setting.n})", *values, "", "", "", "", ""]
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
            mark = across_mark(result, metric, a, b)
            mark = f"<br><small class='across'>{escape(mark)}</small>" if mark else ""
            out.append(f"<td class='{side}'>{fmt(metric, diff)}<br><small>{_interval(metric, low, high)}</small>"
                       f"<br><small>{'row ' + side if side != 'tied' else 'tied'}</small>{mark}</td>")
        out.append("</tr>")
    return "".join(out) + "</tbody></table></div>"


def pair_list(pairs: list[PairResult], result: SettingResult | None = None) -> str:
    """Every pair of one metric as rows: a, b, a − b, interval, verdict (on the primary encoder) and,
    with ``result``, how every encoder decided it."""
    rows = "".join(f"<tr><td>{escape(p.a)}</td><td>{escape(p.b)}</td><td>{fmt(p.metric, p.diff)}</td>"
                   f"<td>{_interval(p.metric, p.ci_low, p.ci_high)}</td><td class='v'>{escape(p.verdict)}</td>"
                   + (f"<td>{escape(across_mark(result, p.metric, p.a, p.b))}</td>" if result is not None else "")
                   + "</tr>" for p in pairs)
    extra = "<th>across encoders</th>" if result is not None else ""
    return ("<table class='pairs'><thead><tr><th>a</th><th>b</th><th>a − b</th><th>95% interval</th>"
            f"<th>verdict</th>{extra}</tr></thead><tbody>{rows}</tbody></table>")


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
    order = [r.entry for r in ordered(result, board)] or list(result.entries)
    others = [m for m in METRICS if m != PRIMARY and any(p.metric == m for p in result.pairs)]
    parts = [f"<section id='{anchor}'><h2>{escape(result.setting.title())}</h2>",
             f"<p class='lead'>{headline(result, board)}</p>", ranking(board, result)]
    if result.paired:
        on = f" (on {result.encoders[0]}; each cell also says how every encoder decided it)" if result.encoders else ""
        parts += [f"<h3>Paired verdicts, {SPECS[PRIMARY].title}{escape(on)}</h3>", matrix(result, PRIMARY, order)]
    else:
        parts.append("<p class='meta'>Values recorded in each run's run.json (mean ± seed sd); the samples were not "
                     "kept, so there are no paired intervals, verdicts or rank groups here.</p>")
    for metric in others:
        parts.append(f"<details><summary>Paired verdicts, {SPECS[metric].title}</summary>"
                     f"{pair_list([p for p in result.pairs if p.metric == metric], result)}</details>")
    parts += ["<h3>Samples (seed 0)</h3>", grids(board, result, order), "</section>"]
    return "".join(parts)
