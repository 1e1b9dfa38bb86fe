"""Fill a suite: run every cell the results dir does not hold complete, through the run runner.

Each cell is an ordinary ``denoisebench run`` (:func:`denoisebench.runs.runner.prepare` and
``execute``) whose record carries the cell key, so a run dir appears complete or not at all;
Ctrl-C loses at most the cell in progress, and running the suite again resumes.

A suite with ``[[train]]`` tables first trains their checkpoints (:mod:`.trains`; a partial one is
resumed), then samples, then probes (:mod:`.probes`); every kind of cell runs under its lock.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from .cells import Cell, expand
from .lock import cell_lock, holder_of
from .probes import ProbeCell, ProbeStatus, probe_cells, probe_states, run_probe_cell
from .progress import SuiteProgress, format_seconds
from .spec import SuiteSpec
from .status import COMPLETE, CellStatus, StoredRun, cell_states, estimated_seconds, scan_results
from .trains import COMPLETE as TRAINED, TrainStatus, build_train_cell, check_model, run_train_cell, train_state

DEFAULT_RESULTS_DIR = Path("results")


@dataclass(frozen=True)
class SuitePlan:
    """A suite's cells with their states against a results dir."""

    suite: SuiteSpec
    results_dir: Path
    statuses: list[CellStatus]
    runs: list[StoredRun]
    warnings: list[str]
    trains: list[TrainStatus] = field(default_factory=list)
    probes: list[ProbeStatus] = field(default_factory=list)

    @property
    def pending(self) -> list[Cell]:
        """The sample cells to run."""
        return [s.cell for s in self.statuses if s.state != COMPLETE]

    @property
    def pending_trains(self) -> list[TrainStatus]:
        return [t for t in self.trains if t.state != TRAINED]

    @property
    def pending_probes(self) -> list[ProbeCell]:
        return [p.cell for p in self.probes if not p.complete]

    @property
    def has_work(self) -> bool:
        """Whether any train, sample or probe cell is to run."""
        return bool(self.pending or self.pending_trains or self.pending_probes)

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
    directory = results_dir_for(suite, results_dir)
    train_cells = [build_train_cell(suite, t, directory) for t in suite.trains]
    for cell in train_cells:
        check_model(suite, cell)
    trained = {c.label: (c.output, c.hash) for c in train_cells}
    cells = expand(suite, check_device=check_device, trained=trained)
    runs, warnings = scan_results(directory)
    probes = probe_states(probe_cells(suite, directory, trained), directory)
    return SuitePlan(suite, directory, cell_states(cells, runs), runs, warnings,
                     [train_state(suite, c) for c in train_cells], probes)


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(), "  ".join("-" * w for w in widths)]
    return lines + ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]


def train_table(plan: SuitePlan) -> list[str]:
    """The train cells (run first) as text lines; none without ``[[train]]`` tables."""
    if not plan.trains:
        return []
    rows = []
    for t in plan.trains:
        c = t.cell.config
        state = {"complete": "complete", "partial": f"resume at {t.step}", "missing": "to train"}[t.state]
        rows.append((state, t.cell.label, c.provider, str(c.steps), str(c.batch_size),
                     "all" if c.train_size is None else str(c.train_size),
                     "-" if c.train_size is None else str(c.train_subset), str(c.seed), str(t.cell.output)))
    pending = len(plan.pending_trains)
    return [f"train cells (run first): {len(plan.trains)}, {len(plan.trains) - pending} complete, {pending} to train",
            *_table(("state", "label", "provider", "steps", "batch", "N", "subset", "seed", "checkpoint"), rows), ""]


def probe_table(plan: SuitePlan) -> list[str]:
    """The probe cells (run last) as text lines; none without ``[[probe]]`` tables."""
    if not plan.probes:
        return []
    rows = [("complete" if p.complete else "to run", p.cell.entry, str(p.cell.config.images), str(p.cell.config.levels),
             str(p.cell.config.seed), p.cell.config.jacobian, p.record_dir.name if p.record_dir else "")
            for p in plan.probes]
    pending = len(plan.pending_probes)
    return ["", f"probe cells (run last): {len(plan.probes)}, {len(plan.probes) - pending} complete, {pending} to run",
            *_table(("state", "entry", "images", "levels", "seed", "jacobian", "record"), rows)]


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
    lines = _table(header, rows)
    pending = len(plan.pending)
    summary = (f"suite {plan.suite.name}: {len(plan.statuses)} cells, {plan.complete} complete, {pending} to run"
               f" in {plan.results_dir}; estimated sampling cost {format_seconds(total)}")
    if unknown:
        summary += f" plus {unknown} cell(s) of unknown cost (no earlier run of their provider)"
    return "\n".join([*train_table(plan), summary, *lines, *probe_table(plan)])


def _say(progress: SuiteProgress | None) -> Callable[[str], None]:
    import sys

    stream = progress.stream if progress is not None else sys.stderr

    def say(message: str) -> None:
        if progress is not None and progress.interactive:
            stream.write("\r\x1b[2K")
        stream.write(f"bench: {message}\n")
        stream.flush()

    return say


def run_trains(plan: SuitePlan, progress: SuiteProgress | None = None, poll_s: float = 2.0) -> list[Path]:
    """Train (or resume) the pending train cells in order, each under its lock; returns their checkpoints.

    A cell another live process is training is waited for (the sample cells that follow need its
    checkpoint); one completed meanwhile is skipped with a note."""
    import time

    say = _say(progress)
    written = []
    for status in plan.pending_trains:
        cell = status.cell
        waiting = False
        while True:
            with cell_lock(plan.results_dir, cell) as held:  # type: ignore[arg-type]
                if held:
                    status = train_state(plan.suite, cell)  # again, under the lock
                    if status.state == TRAINED:
                        say(f"skipped {cell.title()}: completed meanwhile by another process")
                        break
                    say(f"{cell.title()}" + (f": resuming at step {status.step}" if status.step else ""))
                    written.append(run_train_cell(status, say))
                    say(f"trained {cell.label} -> {cell.output}")
                    break
            if not waiting:
                say(f"waiting for process {holder_of(plan.results_dir, cell) or '?'} to train {cell.label}")  # type: ignore[arg-type]
                waiting = True
            time.sleep(poll_s)
    return written


def run_probes(plan: SuitePlan, progress: SuiteProgress | None = None) -> list[Path]:
    """Probe the pending probe cells in order, each under its lock; returns their record dirs."""
    say = _say(progress)
    written = []
    for cell in plan.pending_probes:
        with cell_lock(plan.results_dir, cell) as held:  # type: ignore[arg-type]
            if not held or probe_states([cell], plan.results_dir)[0].complete:
                say(f"skipped {cell.title()}: " + ("completed meanwhile" if held else "being run by another process"))
                continue
            say(cell.title())
            path = run_probe_cell(cell, plan.suite.name, log=lambda _m: None)
            written.append(path)
            say(f"probed {cell.entry} -> {path}")
    return written


def run_plan(plan: SuitePlan, progress: SuiteProgress) -> list[Path]:
    """Train, then run the pending sample cells in order, then probe; returns the checkpoints, run
    dirs and probe dirs written. Ctrl-C propagates after the cell's staging dir is removed by the
    run runner (a training saves first); the cells finished before it stay complete."""
    trained = run_trains(plan, progress)
    runs = run_cells(plan.pending, plan.results_dir, plan.suite.name, progress, lock=True)
    return [*trained, *runs, *run_probes(plan, progress)]


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

    written = run_trains(plan, progress)  # the sample cells of trained entries need their checkpoints
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
    return [*written, *run_probes(plan, progress)]
