"""A comparison as markdown, a single static HTML page, CSV or JSON.

JSON and CSV hold one record per (pair, metric, encoder, setting) with the keys ``a``, ``b``,
``metric``, ``encoder`` (whose features; null for a metric not computed on features),
``diff`` (a - b), ``ci_low``, ``ci_high``, ``verdict``, the setting, ``seeds`` and ``n_bootstrap``,
and the cross-encoder summary of its (pair, metric): ``across`` (robust, split, level, one
encoder), ``across_detail`` (e.g. 'split (a better on X; level on Y)'), ``a_better_on``,
``b_better_on``, ``level_on`` (:mod:`.across`). Markdown and HTML add each setting's ranking (on
the primary encoder: an entry's rank is 1 + the number of entries that beat it, and it is listed
with the entries it cannot be separated from) and the across-encoders table.
"""

from __future__ import annotations

from typing import Any

import csv
import html
import io
import json

from .bootstrap import METRICS
from .across import ONE_ENCODER
from .engine import Comparison, SettingResult
from .paired import PairResult, Standing

FORMATS = ("markdown", "html", "csv", "json")


def _fmt(metric: str, value: float | None) -> str:
    return "–" if value is None else METRICS[metric].fmt.format(value)


def _interval(p: PairResult) -> str:
    return f"[{_fmt(p.metric, p.ci_low)}, {_fmt(p.metric, p.ci_high)}]"


def _direction(metric: str) -> str:
    if METRICS[metric].closer_to_zero:
        return "closer to zero is better"
    return "lower is better" if METRICS[metric].lower_is_better else "higher is better"


def _seeds_line(result: SettingResult) -> str:
    groups: dict[tuple[int, ...], list[str]] = {}
    for entry in result.entries:
        groups.setdefault(result.seeds[entry], []).append(entry)
    return "; ".join(f"{', '.join(entries)}: {', '.join(map(str, seeds))}" for seeds, entries in groups.items())


def _cost(result: SettingResult, entry: str) -> str:
    ms = result.ms_per_image.get(entry)
    return "–" if ms is None else f"{ms:.2f}"


def _standing_cells(result: SettingResult, metric: str, row: Standing) -> list[str]:
    return [str(row.rank), row.entry, _fmt(metric, row.value), _fmt(metric, row.spread),
            ", ".join(row.tied_with) or "–", _cost(result, row.entry)]


STANDING_HEADER = ["rank", "entry", "mean over seeds", "seed sd", "tied with", "ms / image"]
PAIR_HEADER = ["a", "b", "encoder", "a − b", "95% interval", "verdict", "seeds"]
ACROSS_HEADER = ["metric", "a", "b", "across encoders"]


def _pair_cells(p: PairResult) -> list[str]:
    return [p.a, p.b, p.encoder or "–", _fmt(p.metric, p.diff), _interval(p), p.verdict, " ".join(map(str, p.seeds))]


def _metric_pairs(result: SettingResult, metric: str) -> list[PairResult]:
    """Every encoder's pairs of ``metric``, pair by pair (the encoders in their order within a pair)."""
    pairs = [p for p in result.all_pairs if p.metric == metric]
    first = {}
    for i, p in enumerate(pairs):
        first.setdefault((p.a, p.b), i)
    return sorted(pairs, key=lambda p: first[(p.a, p.b)])


def _across_rows(result: SettingResult) -> list[list[str]]:
    """One row per (metric, a, b) scored on two or more encoders."""
    return [[METRICS[a.metric].title, a.a, a.b, a.text()] for a in result.across.values() if a.kind != ONE_ENCODER]


def _encoders_line(result: SettingResult) -> str:
    if not result.encoders:
        return ""
    return (f"Encoders: {', '.join(result.encoders)} (rankings on {result.encoders[0]}; each feature metric's "
            "verdict per encoder below, and whether they agree).")


def _method(comparison: Comparison) -> str:
    reference = ("the held-out reference resampled once per replicate" if comparison.resample_reference
                 else "the held-out reference held fixed (intervals cover generation noise only)")
    return (f"Paired bootstrap over sample indices within each seed ({comparison.n_bootstrap} replicates), "
            f"{reference}, seeds averaged; 95% percentile intervals.")


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    esc = [[c.replace("|", "\\|") for c in r] for r in rows]
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in esc)]


def _title(result: Any, metric: str) -> str:
    """The metric's title, named by the encoder its ranking was decided on when that is not the pinned
    classifier (whose FD and KD are the FID- and KID-proxy)."""
    title = METRICS[metric].title
    encoders = sorted({p.encoder for p in result.pairs if p.metric == metric and getattr(p, "encoder", None)})
    if encoders and encoders != ["mnist-classifier"]:
        title = title.replace("FID-proxy", "FD").replace("KID-proxy", "KD") + f" on {', '.join(encoders)}"
    return title


def to_markdown(comparison: Comparison) -> str:
    lines = ["# Paired comparisons", "",
             f"{_method(comparison)} `tied`: the interval contains 0. Rank = 1 + the number of entries that beat it."]
    if not comparison.settings:
        lines += ["", "No setting has two entries with samples to compare."]
    for result in comparison.settings:
        lines += ["", f"## {result.setting.title()}", "", f"Seeds: {_seeds_line(result)}."]
        if _encoders_line(result):
            lines += ["", _encoders_line(result)]
        for metric, rows in result.standings.items():
            pairs = _metric_pairs(result, metric)
            lines += ["", f"### {_title(result, metric)} ({_direction(metric)})", ""]
            lines += _md_table(STANDING_HEADER, [_standing_cells(result, metric, r) for r in rows])
            lines += [""] + _md_table(PAIR_HEADER, [_pair_cells(p) for p in pairs])
        across = _across_rows(result)
        if across:
            lines += ["", "### Across encoders", "",
                      "robust: every encoder gives the same significant direction; level: every encoder ties "
                      "them; split: otherwise (which entry each encoder favours).", ""]
            lines += _md_table(ACROSS_HEADER, across)
    return "\n".join(lines) + "\n"


_CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:72em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{padding:.25em .7em;border-bottom:1px solid #ddd;text-align:left}
th{background:#f3f3f3}.num{text-align:right;font-variant-numeric:tabular-nums}
.tied{color:#666}.win{color:#0a6b2d;font-weight:600}.g0{background:#eef5ff}.g1{background:#fff}
h2{margin-top:2em;border-bottom:2px solid #ccc}p.note{color:#555}"""


def _html_table(header: list[str], rows: list[list[str]], classes: list[str] | None = None,
                numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes and classes[i] else ""
        cells = "".join(f'<td class="num">{html.escape(c)}</td>' if j in numeric else f"<td>{html.escape(c)}</td>"
                        for j, c in enumerate(row))
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def to_html(comparison: Comparison) -> str:
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>denoisebench: paired comparisons</title>",
             f"<style>{_CSS}</style></head><body><h1>Paired comparisons</h1>",
             f"<p class='note'>{html.escape(_method(comparison))} <em>tied</em>: the interval contains 0. "
             "Rank = 1 + the number of entries that beat it; rows of one rank share a shade.</p>"]
    if not comparison.settings:
        parts.append("<p>No setting has two entries with samples to compare.</p>")
    for result in comparison.settings:
        parts.append(f"<h2>{html.escape(result.setting.title())}</h2>"
                     f"<p class='note'>Seeds: {html.escape(_seeds_line(result))}. "
                     f"{html.escape(_encoders_line(result))}</p>")
        for metric, rows in result.standings.items():
            pairs = _metric_pairs(result, metric)
            parts.append(f"<h3>{html.escape(_title(result, metric))} ({_direction(metric)})</h3>")
            shades, shade, last = [], 1, None
            for r in rows:
                if r.rank != last:
                    shade, last = 1 - shade, r.rank
                shades.append(f"g{shade}")
            parts.append(_html_table(STANDING_HEADER, [_standing_cells(result, metric, r) for r in rows], shades,
                                     {0, 2, 3, 5}))
            parts.append(_html_table(PAIR_HEADER, [_pair_cells(p) for p in pairs],
                                     ["tied" if p.verdict == "tied" else "win" for p in pairs], {3, 4}))
        across = _across_rows(result)
        if across:
            parts.append("<h3>Across encoders</h3><p class='note'>robust: every encoder gives the same significant "
                         "direction; level: every encoder ties them; split: otherwise.</p>")
            parts.append(_html_table(ACROSS_HEADER, across))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def to_records(comparison: Comparison) -> list[dict[str, object]]:
    """One record per (setting, metric, encoder, a, b), with its (setting, metric, a, b)'s summary across encoders."""
    out = []
    for result in comparison.settings:
        across = result.across
        for p in result.all_pairs:
            summary = across.get((p.setting, p.metric, p.a, p.b)) if p.encoder is not None else None
            out.append({**p.as_dict(), **(summary.as_dict() if summary is not None else
                                          {"across": None, "across_detail": None, "a_better_on": [],
                                           "b_better_on": [], "level_on": []})})
    return out


def to_json(comparison: Comparison) -> str:
    return json.dumps(to_records(comparison), indent=2) + "\n"


def to_csv(comparison: Comparison) -> str:
    records = to_records(comparison)
    buf = io.StringIO()
    if records:
        writer = csv.DictWriter(buf, fieldnames=list(records[0]), lineterminator="\n")
        writer.writeheader()
        for r in records:
            writer.writerow({**r, **{k: " ".join(map(str, r[k]))  # type: ignore[call-overload]
                                     for k in ("seeds", "a_better_on", "b_better_on", "level_on")}})
    return buf.getvalue()


def render(comparison: Comparison, fmt: str) -> str:
    """The comparison in one of :data:`FORMATS`."""
    return {"markdown": to_markdown, "html": to_html, "csv": to_csv, "json": to_json}[fmt](comparison)
