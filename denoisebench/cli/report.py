"""``denoisebench report``: compare every complete run in a results dir."""

from __future__ import annotations

from pathlib import Path

import click

from . import cli


@cli.command("report")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--results-dir", type=click.Path(path_type=Path), default=None,
              help="Results dir to read [default: results, when no PATHS are given].")
@click.option("--format", "fmt", type=click.Choice(["markdown", "html", "csv", "json"]), default="markdown",
              show_default=True)
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None,
              help="Write here (atomically) instead of stdout; a quality-vs-NFE PNG is written beside it.")
@click.option("--dataset", default=None, help="Only runs on this dataset id.")
@click.option("--provider", default=None, help="Only runs of this provider (name, or 'name (mode)').")
def report_command(paths: tuple[Path, ...], results_dir: Path | None, fmt: str, output: Path | None, dataset: str | None,
                   provider: str | None) -> None:
    """Tables of every complete run: quality, novelty and cost, beside the real-vs-real floor.

    PATHS are results dirs or single run dirs (default: --results-dir, else ./results).
    """
    from ..report import build_report

    roots = list(paths) + ([results_dir] if results_dir is not None else [])
    text = build_report(roots or [Path("results")], fmt, output, dataset=dataset, provider=provider,
                        warn=lambda msg: click.echo(f"Warning: {msg}", err=True))
    if output is None:
        click.echo(text, nl=False)
    else:
        click.echo(str(output))
