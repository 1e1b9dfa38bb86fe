"""``denoisebench bench SUITE.toml``: run every cell of a suite that the results dir lacks."""

from __future__ import annotations

import sys
from collections.abc import Callable
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

    Ctrl-C keeps every finished cell; the same command resumes. Under torchrun every cell is a
    sharded run across the ranks; rank 0 decides which cells are pending.
    """
    from ..errors import DenoisebenchError
    from ..runs import distributed

    with distributed.quiet_other_ranks():
        launch = distributed.launch_from_env()
        if workers > 1 and launch is not None:
            raise DenoisebenchError(f"--workers {workers} cannot be used under torchrun (WORLD_SIZE="
                                    f"{launch.world_size}): each cell is already shared by the ranks; drop --workers")
    with distributed.cli_session() as session:
        if session is not None:
            _bench_sharded(session, suite_file, results_dir, dry_run, device)
            return
        plan = _plan(suite_file, results_dir, dry_run, device)
        if dry_run:
            from ..suite import dry_run_table

            click.echo(dry_run_table(plan))
            return
        _run(plan, lambda progress: _run_pending(plan, progress, workers, threads))


def _plan(suite_file: Path, results_dir: Path | None, dry_run: bool, device: str | None,  # noqa: ANN202
          sharded: bool = False):
    """Load the suite, apply --device and find the pending cells; prints the scan's warnings."""
    from ..api import plan_bench
    from ..errors import DenoisebenchError

    plan = plan_bench(suite_file, results_dir, device, check_device=not dry_run,
                      warn=lambda message: click.echo(f"warning: {message}", err=True))
    from ..suite.validate import check_entries

    check_entries(plan.suite, plan.pending, trains=plan.pending_trains)  # before the first cell runs
    if sharded and not dry_run and (plan.pending_trains or plan.pending_probes):
        raise DenoisebenchError(f"{suite_file}: its [[train]] and [[probe]] cells run without torchrun: run "
                                "'denoisebench bench' once without it, then under torchrun for the samples")
    return plan


def _run_pending(plan, progress, workers: int, threads: int | None) -> list[Path]:  # noqa: ANN001
    import os

    from ..suite import run_plan

    if workers > 1:
        from ..suite.runner import run_plan_parallel

        return run_plan_parallel(plan, progress, workers, threads or max(1, (os.cpu_count() or 1) // workers))
    return run_plan(plan, progress)


def _run(plan, run: Callable[[object], list[Path]]) -> None:  # noqa: ANN001
    """Announce the suite, run its pending cells with one progress display, print the run dirs."""
    from ..suite.progress import SuiteProgress

    pending = plan.pending
    click.echo(f"suite {plan.suite.name}: {len(plan.statuses)} cells, {plan.complete} complete, {len(pending)} to run "
               f"in {plan.results_dir}", err=True)
    progress = SuiteProgress(len(plan.statuses), plan.complete, pending)
    try:
        written = run(progress)
    except KeyboardInterrupt:
        progress.close()
        click.echo(f"Interrupted: {progress.done_cells} of {len(plan.statuses)} cells are complete and kept"
                   + ("; a training keeps its saved steps" if plan.trains else "")
                   + "; run the same command again to resume.", err=True)
        sys.exit(130)
    for run_dir in written:
        click.echo(str(run_dir))


def _bench_sharded(session, suite_file: Path, results_dir: Path | None, dry_run: bool,  # noqa: ANN001
                   device: str | None) -> None:
    """Every rank walks rank 0's pending cells in the same order; each cell is a sharded run."""
    from ..suite.runner import run_cells

    plan = session.phase("plan", (lambda: _plan(suite_file, results_dir, dry_run, device, sharded=True))
                         if session.is_main else None)
    if dry_run:
        if session.is_main:
            from ..suite import dry_run_table

            click.echo(dry_run_table(plan))
        return
    cells, directory, name = session.broadcast((plan.pending, plan.results_dir, plan.suite.name)
                                               if session.is_main else None)
    if not session.is_main:
        run_cells(cells, directory, name)
        return
    _run(plan, lambda progress: run_cells(cells, directory, name, progress, session.world_size))
