"""``denoisebench bench SUITE.toml``: run every cell of a suite that the results dir lacks."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import click

from . import cli


@cli.command("bench")
@click.argument("suite_file", metavar="SUITE.toml", type=click.Path(path_type=Path))
@click.option("--results-dir", type=click.Path(path_type=Path), default=None,
              help="Where the runs go (default: the suite's results_dir, else ./results).")
@click.option("--dry-run", is_flag=True, help="List the cells, their state and estimated cost; run nothing.")
@click.option("--device", default=None, help="Override the suite's device (not part of a cell's identity).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Cells run at once, each in its own process (samples do not depend on it).")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="torch threads per worker [default: cores / workers].")
def bench_command(suite_file: Path, results_dir: Path | None, dry_run: bool, device: str | None, workers: int,
                  threads: int | None) -> None:
    """Fill the matrix a suite declares: complete cells are skipped, missing or broken ones run.

    Ctrl-C keeps every finished cell; the same command resumes.
    """
    from ..suite import dry_run_table, load_suite, plan_suite, run_plan
    from ..suite.progress import SuiteProgress

    suite = load_suite(suite_file)
    if device is not None:
        from ..runs.environment import parse_device

        parse_device(device)
        suite = dataclasses.replace(suite, device=device)
    plan = plan_suite(suite, results_dir, check_device=not dry_run)
    for warning in plan.warnings:
        click.echo(f"warning: {warning}", err=True)
    if dry_run:
        click.echo(dry_run_table(plan))
        return
    pending = plan.pending
    click.echo(f"suite {suite.name}: {len(plan.statuses)} cells, {plan.complete} complete, {len(pending)} to run "
               f"in {plan.results_dir}", err=True)
    progress = SuiteProgress(len(plan.statuses), plan.complete, pending)
    try:
        if workers > 1:
            import os

            from ..suite.runner import run_plan_parallel

            written = run_plan_parallel(plan, progress, workers, threads or max(1, (os.cpu_count() or 1) // workers))
        else:
            written = run_plan(plan, progress)
    except KeyboardInterrupt:
        progress.close()
        click.echo(f"Interrupted: {progress.done_cells} of {len(plan.statuses)} cells are complete and kept; "
                   "run the same command again to resume.", err=True)
        sys.exit(130)
    for run_dir in written:
        click.echo(str(run_dir))
