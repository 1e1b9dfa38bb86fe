"""``denoisebench report``: load runs into pandas, build comparison tables, render them."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ..errors import DenoisebenchError
from ..fileio import write_text_atomic
from .export import render_csv, render_json
from .load import load_runs
from .plot import cost_plot, has_cost_series
from .render import render_html, render_markdown
from .table import Table, build_tables

FORMATS = ("markdown", "html", "csv", "json")

__all__ = ["FORMATS", "Table", "build_report", "build_tables", "load_runs", "write_text_atomic"]


def build_report(results_dir: Path | list[Path], fmt: str = "markdown", output: Path | None = None,
                 dataset: str | None = None, provider: str | None = None,
                 warn: Callable[[str], None] | None = None) -> str:
    """The report text of results dirs or run dirs; with ``output`` also writes it (and
    quality-vs-NFE plots beside it) atomically."""
    if fmt not in FORMATS:
        raise DenoisebenchError(f"unknown report format {fmt!r}: choose one of {', '.join(FORMATS)}")
    for root in [results_dir] if isinstance(results_dir, Path) else results_dir:
        if not root.is_dir():
            raise DenoisebenchError(f"results dir {root} does not exist: run 'denoisebench run' first "
                                    "or pass --results-dir")
    if output is not None:
        check_writable(output)
    warnings: list[str] = []

    def _warn(msg: str) -> None:
        warnings.append(msg)
        if warn is not None:
            warn(msg)

    tables = build_tables(load_runs(results_dir, _warn), dataset=dataset, provider=provider)
    plots: dict[int, Path] = {}
    if output is not None and fmt in ("markdown", "html"):
        for i, table in enumerate(tables):
            if has_cost_series(table):
                suffix = "" if len(tables) == 1 else f"-{i + 1}"
                plots[i] = cost_plot(table, output.with_name(f"{output.stem}-nfe{suffix}.png"))
    base = output.parent if output is not None else Path.cwd()
    if fmt == "markdown":
        text = render_markdown(tables, warnings, base, plots)
    elif fmt == "html":
        text = render_html(tables, warnings, base, plots)
    elif fmt == "csv":
        text = render_csv(tables)
    else:
        text = render_json(tables, warnings)
    if fmt in ("markdown", "html"):  # probe records: their own section (report/probes.py)
        text = _with_probes(text, results_dir, fmt, output, base, dataset, provider, _warn)
    if output is not None:
        write_text_atomic(output, text)
    return text


def _with_probes(text: str, results_dir: Path | list[Path], fmt: str, output: Path | None, base: Path,
                 dataset: str | None, provider: str | None, warn: Callable[[str], None]) -> str:
    """``text`` with the probe section (and, with ``output``, its plot beside it) when there are probes."""
    from .probes import load_probe_records, probe_plot, probe_section
    from .render import _md_text

    records = load_probe_records(results_dir, dataset, provider, warn)
    if not records:
        return text
    plot = probe_plot(records, output.with_name(f"{output.stem}-probes.png")) if output is not None else None
    section = probe_section(records, fmt, base, plot, _md_text)
    return text.replace("</body></html>", section + "</body></html>") if fmt == "html" else text + section


def check_writable(output: Path) -> None:
    """A one-line error, before any work, when the report cannot be written at ``output``."""
    if output.is_dir():
        raise DenoisebenchError(f"--output {output} is a directory: name a file, e.g. {output / 'report.md'}")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        if not os.access(output.parent, os.W_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        raise DenoisebenchError(f"cannot write the report to {output} ({exc.strerror or exc}): choose another "
                                "--output") from None
