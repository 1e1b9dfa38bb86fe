"""The leaderboard page: a header saying what the numbers mean, a summary of each setting's
winner, the quality-vs-cost plots, then one section per setting. One static file: the CSS is
inline and every image a data URI, so it opens offline."""

from __future__ import annotations

import base64
from collections.abc import Callable
from html import escape
from pathlib import Path

from ..compare import METRICS as SPECS
from ..fileio import write_text_atomic
from ..report.legend import ARROWS_NOTE, BEST_NOTE, legend
from .gather import PRIMARY, Board, gather
from .plots import cost_figure
from .probes import probes_html
from .sections import COPIES_AT, headline, section

CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1320px;color:#1d1d1f;
padding:0 16px}
h1{margin:0 0 4px}h2{margin:36px 0 6px;border-bottom:1px solid #ddd;padding-bottom:4px}h3{margin:18px 0 6px}
.meta,.legend{color:#555;font-size:13px}.legend li{margin:2px 0}
table{border-collapse:collapse;margin:8px 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid #d6d6d6;padding:4px 9px;text-align:left;vertical-align:top}th{background:#f4f4f6}
table.rank td:nth-child(n+4){text-align:right;white-space:nowrap}.band{font-weight:700;letter-spacing:1px}
tr.floor td{background:#f7f7f7;color:#555;font-style:italic}
table.matrix td{text-align:center;font-size:12.5px;min-width:120px}table.matrix td.self{background:#eee}
td.better{background:#d9f0d3}td.worse{background:#f7d9df}td.tied{background:#f4f4f4}
.lead{font-size:15px}.plot img{max-width:100%;border:1px solid #eee}
.grids{display:flex;flex-wrap:wrap;gap:14px}.grids figure{margin:0;text-align:center}
.grids img{width:260px;image-rendering:pixelated;border:1px solid #ccc}.grids figcaption{font-size:12px}
.nogrid{width:260px;height:260px;background:#f4f4f4;display:flex;align-items:center;justify-content:center;color:#888}
.copies{color:#fff;background:#b3261e;border-radius:3px;padding:0 5px;font-weight:600;font-size:12px}
tr.copying td{color:#666}
.warn{color:#8a5300;font-size:12px}details{margin:8px 0}.scroll{overflow-x:auto;max-width:100%}
"""


def _legend(board: Board) -> list[str]:
    """How to read the page, then the report's lines about the metrics, the floor and the cost."""
    comparison = board.comparison
    reference = "the held-out reference resampled too" if comparison.resample_reference else "reference fixed"
    lines = [
        f"Each section is one setting (dataset, sampler, steps, N); its entries are sorted by {SPECS[PRIMARY].title} "
        "(lower is better), the mean over seeds ± the seed-to-seed standard deviation.",
        "Group letters and shading: entries that share a letter cannot be separated by the paired comparison "
        "(the 95% interval of their difference contains 0). Rank = 1 + the number of entries that beat it.",
        f"memorised: the share of an entry's samples that are copies of a training image (the nearest training "
        f"image is 3 times closer than the second nearest), the mean over its runs. An entry with {COPIES_AT:.0%} or "
        "more copies the training set: it is marked copies and listed after the generators, unranked, however "
        "good its FID-proxy (a copy of the training set scores near the real-digit floor).",
        f"Δ and verdicts: paired differences (sample i of every entry starts from the same noise), a bootstrap of "
        f"{comparison.n_bootstrap} replicates over sample indices within each seed, {reference}, seeds averaged; "
        "95% percentile intervals.",
        "Across encoders: each paired verdict is decided again on every encoder compared on (the classifier, the "
        "encoders the runs recorded, pixels); robust = every encoder gives the same significant direction, level = "
        "every encoder ties them, split = they disagree (which entry each encoder favours, encoders named).",
    ]
    seen = set(lines)
    for table in board.tables:
        for line in legend(table):
            if line not in seen and line not in (BEST_NOTE, ARROWS_NOTE):
                seen.add(line)
                lines.append(line)
    return lines


def _plots(board: Board) -> str:
    parts = []
    for table in board.tables:
        png = cost_figure(table)
        if png is None:
            continue
        uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        parts.append(f"<div class='plot'><h3>{escape(table.title)}</h3>"
                     f"<img alt='quality against cost, {escape(table.title)}' src='{uri}'></div>")
    if not parts:
        return ""
    return ("<h2>Quality against cost, every run</h2><p class='meta'>Every configuration (seeds averaged); dashed: "
            "the Pareto front, runs no other run beats on both quality and cost; hollow markers, labelled (copies): runs "
            "that copy the training set, never on the front; dotted: the real-digit floor.</p>"
            + "".join(parts))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def render_page(board: Board, probes: str = "") -> str:
    """The whole leaderboard as one HTML document."""
    settings = board.comparison.settings
    runs = sum(len(t.runs()) for t in board.tables)
    summary = "".join(f"<li><a href='#s{i}'>{escape(r.setting.title())}</a>: {headline(r, board)}</li>"
                      for i, r in enumerate(settings))
    body = [
        "<h1>Denoiser leaderboard</h1>",
        f"<p class='meta'>{_count(runs, 'configuration')} (seeds averaged); {_count(len(settings), 'setting')} "
        "with two entries or more ranked below (a setting with one entry is only in the plot).</p>",
        "<ul class='legend'>" + "".join(f"<li>{escape(line)}</li>" for line in _legend(board)) + "</ul>",
        f"<h2>Best per setting</h2><ul>{summary}</ul>" if settings else
        "<p>No setting has two entries with samples to compare.</p>",
        _plots(board),
        *(section(board, r, f"s{i}") for i, r in enumerate(settings)),
        probes,  # the probe records' section (leaderboard.probes), after the settings
    ]
    if board.warnings:
        body.append("<details class='warn'><summary>Warnings</summary><ul>"
                    + "".join(f"<li>{escape(w)}</li>" for w in board.warnings) + "</ul></details>")
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>denoisebench leaderboard</title>"
            f"<style>{CSS}</style></head><body>" + "".join(body) + "</body></html>\n")


def build_leaderboard(paths: list[Path], output: Path, n_bootstrap: int = 100, seed: int = 0,
                      data_dir: Path | None = None, warn: Callable[[str], None] | None = None,
                      progress: Callable[[str], None] | None = None, encoders: list[str] | None = None) -> Path:
    """Gather, compare and write the page to ``output`` atomically (checked writable before any work)."""
    from ..report import check_writable

    check_writable(output)
    board = gather(paths, n_bootstrap, seed, data_dir, warn, progress, encoders)
    write_text_atomic(output, render_page(board, probes_html(paths, warn)))
    return output
