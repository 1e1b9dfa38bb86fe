"""Fill a suite: run every cell the results dir does not hold complete, through the run runner.

Each cell is an ordinary ``denoisebench run`` (:func:`denoisebench.runs.runner.prepare` and
``execute``) whose record carries the cell key, so a run dir appears complete or not at all;
Ctrl-C loses at most the cell in progress, and running the suite again resumes.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from .cells import Cell, expand
from .lock import cell_lock, holder_of
from .progress import SuiteProgress, format_seconds
from .spec import SuiteSpec
from .status import COMPLETE, CellStatus, StoredRun, cell_states, estimated_seconds, scan_results

DEFAULT_RESULTS_DIR = Path("results")


@dataclass(frozen=True)
class SuitePlan:
    """A suite's cells with their states against a results dir."""

    suite: SuiteSpec
    results_dir: Path
    statuses: list[CellStatus]
    runs: list[StoredRun]
    warnings: list[str]

    @property
    def pending(self) -> list[Cell]:
        return [s.cell for s in self.statuses if s.state != COMPLETE]

    @property
    def complete(self) -> int:
        return sum(s.state == COMPLETE for s in self.statuses)

    def estimate(self, cell: Cell) -> float | None:
        return estimated_seconds(cell, self.runs)


def results_dir_for(suite: SuiteSpec, override: Path | None = None) -> Path:
    """``--results-dir``, else the suite's ``results_dir``, else ./results."""
    return override or suite.results_dir or DEFAULT_RESULTS_DIR


def plan_suite(suite: SuiteSpec, results_dir: Path | None = None, check_device: bool = True) -> SuitePlan:
    """Validate the suite against the plugins and find which cells are complete."""
    cells = expand(suite, check_device=check_device)
    directory = results_dir_for(suite, results_dir)
    runs, warnings = scan_results(directory)
    return SuitePlan(suite, directory, cell_states(cells, runs), runs, warnings)


def dry_run_table(plan: SuitePlan) -> str:
    """The cells with their state and estimated sampling cost, as a fixed-width text table."""
    header = ("state", "entry", "sampler", "steps", "seed", "N", "NFE", "est. cost", "run dir / reason")
    rows = []
    total, unknown = 0.0, 0
    for status in plan.statuses:
        c = status.cell
        cost = "-"
        if status.state != COMPLETE:
            seconds = plan.estimate(c)
            cost = format_seconds(seconds) if seconds is not None else "unknown"
            total += seconds or 0.0
            unknown += seconds is None
        detail = status.run_dir.name if status.state == COMPLETE and status.run_dir else status.reason
        if status.reason and status.run_dir:
            detail = f"{status.run_dir.name}: {status.reason}"
        state = "to run" if status.state != COMPLETE else "complete"
        if status.state == "incomplete":
            state = "re-run"
        rows.append((state, c.entry, c.sampler_label, str(c.steps), str(c.seed), str(c.num_samples), str(c.nfe),
                     cost, detail))
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
    pending = len(plan.pending)
    summary = (f"suite {plan.suite.name}: {len(plan.statuses)} cells, {plan.complete} complete, {pending} to run"
               f" in {plan.results_dir}; estimated sampling cost {format_seconds(total)}")
    if unknown:
        summary += f" plus {unknown} cell(s) of unknown cost (no earlier run of their provider)"
    return "\n".join([summary, *lines])


def run_plan(plan: SuitePlan, progress: SuiteProgress) -> list[Path]:
    """Run the pending cells in order; returns their run dirs. Ctrl-C propagates after the cell's
    staging dir is removed by the run runner; the cells finished before it stay complete."""
    return run_cells(plan.pending, plan.results_dir, plan.suite.name, progress, lock=True)


def claim(cell: Cell, results_dir: Path) -> str | None:
    """Why this process must not run ``cell`` now that it holds its lock (another process completed
    it meanwhile), else None."""
    runs, _warnings = scan_results(results_dir)
    status = cell_states([cell], runs)[0]
    return f"completed meanwhile by another process ({status.run_dir})" if status.state == COMPLETE else None


def run_cells(cells: list[Cell], results_dir: Path, suite_name: str, progress: SuiteProgress | None = None,
              world_size: int = 1, lock: bool = False) -> list[Path]:
    """Run ``cells`` in order, each an ordinary run; returns their run dirs.

    With ``lock`` each cell is run under its lock file (:mod:`.lock`): a cell another live process
    is running, or has completed since the plan was made, is skipped with a note. Under torchrun
    every rank calls this with the same cells (rank 0's plan, broadcast) and each cell is a sharded
    run; only rank 0 passes a ``progress``, which counts its own share of the image-steps
    ``world_size`` times.
    """
    from ..runs.runner import execute, prepare

    written = []
    for cell in cells:
        if progress is not None:
            progress.start_cell(cell)
        with cell_lock(results_dir, cell) if lock else nullcontext(True) as held:
            skip = (None if held else f"being run by process {holder_of(results_dir, cell) or '?'}") if lock else None
            if lock and held:
                skip = claim(cell, results_dir)
            if skip is not None:
                if progress is not None:
                    progress.skip_cell(skip)
                continue
            prepared = prepare(cell.run_config(results_dir, suite_name))
            if progress is None:
                run_dir = execute(prepared)
            else:
                run_dir = execute(prepared, on_step=lambda k: progress.advance(k * world_size), log=progress.message)
                progress.finish_cell(run_dir)
        written.append(run_dir)
    if progress is not None:
        progress.close()
    return written


def _run_cell(cell: Cell, results_dir: Path, suite_name: str, threads: int) -> Path | str:
    """One cell in a worker process (spawned: no state shared with the parent), under its lock;
    returns the run dir, or why it was skipped."""
    import torch

    from ..runs.runner import execute, prepare

    with cell_lock(results_dir, cell) as held:
        if not held:
            return f"being run by process {holder_of(results_dir, cell) or '?'}"
        skip = claim(cell, results_dir)
        if skip is not None:
            return skip
        torch.set_num_threads(threads)
        return execute(prepare(cell.run_config(results_dir, suite_name)))


def run_plan_parallel(plan: SuitePlan, progress: SuiteProgress, workers: int, threads: int = 1) -> list[Path]:
    """Run the pending cells in ``workers`` processes of ``threads`` torch threads each.

    Each cell is still one ordinary run with its own noise streams, so its samples do not depend
    on the number of workers. Progress moves cell by cell; Ctrl-C stops the pool, and the cells
    finished before it stay complete.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    written = []
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = {pool.submit(_run_cell, cell, plan.results_dir, plan.suite.name, threads): cell
                   for cell in plan.pending}
        for future in as_completed(futures):
            progress.start_cell(futures[future])
            run_dir = future.result()
            if isinstance(run_dir, str):
                progress.skip_cell(run_dir)
                continue
            written.append(run_dir)
            progress.advance(progress.cell_units)
            progress.finish_cell(run_dir)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    progress.close()
    return written
