"""``denoisebench report``: compare every complete run in a results dir."""

from __future__ import annotations

from pathlib import Path

import click

from . import cli


@cli.command("report")
@click.option("--results-dir", type=click.Path(path_type=Path), default=Path("results"), show_default=True)
@click.option("--format", "fmt", type=click.Choice(["markdown", "html", "csv", "json"]), default="markdown",
              show_default=True)
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None,
              help="Write here (atomically) instead of stdout; a quality-vs-NFE PNG is written beside it.")
@click.option("--dataset", default=None, help="Only runs on this dataset id.")
@click.option("--provider", default=None, help="Only runs of this provider (name, or 'name (mode)').")
def report_command(results_dir: Path, fmt: str, output: Path | None, dataset: str | None,
                   provider: str | None) -> None:
    """Tables of every complete run: quality, novelty and cost, beside the real-vs-real floor."""
    from ..report import build_report

    text = build_report(results_dir, fmt, output, dataset=dataset, provider=provider,
                        warn=lambda msg: click.echo(f"Warning: {msg}", err=True))
    if output is None:
        click.echo(text, nl=False)
    else:
        click.echo(str(output))
