"""One progress display for a whole suite: cells done / total, the current cell, its share, the ETA.

On a terminal one line is redrawn in place (at most every 0.2 s); elsewhere (a log file, CI) a
line is written when a cell starts and when it ends. The ETA is the suite's own pace so far
(wall time per image-step, metrics included) times the image-steps left.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from .cells import Cell


def format_seconds(seconds: float | None) -> str:
    """'42s', '3m05s', '1h02m', or '?'."""
    if seconds is None:
        return "?"
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def cell_units(cell: Cell) -> int:
    """Image-steps of a cell: what the sampling loop reports through ``on_step``."""
    return cell.num_samples * cell.steps


class SuiteProgress:
    """Tracks and draws the progress of the cells still to run."""

    def __init__(self, total_cells: int, done_cells: int, pending: list[Cell], stream: TextIO | None = None,
                 interactive: bool | None = None, clock=time.monotonic) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self.clock = clock
        self.total_cells, self.done_cells = total_cells, done_cells
        self.units_left = sum(cell_units(c) for c in pending)
        self.units_done = 0
        self.started = clock()
        self.cell: Cell | None = None
        self.cell_units = self.cell_done = 0
        self.note = ""
        self._drawn = 0.0

    def eta(self) -> float | None:
        """Seconds left at the pace so far; None before any progress."""
        if self.units_done == 0:
            return None
        return (self.clock() - self.started) / self.units_done * self.units_left

    def line(self) -> str:
        share = f"{100 * self.cell_done / self.cell_units:.0f}%" if self.cell_units else "-"
        current = self.cell.title() if self.cell else "-"
        note = f" ({self.note})" if self.note else ""
        return (f"bench: {self.done_cells}/{self.total_cells} cells done | {current}: {share}{note} | "
                f"ETA {format_seconds(self.eta())}")

    def _draw(self, force: bool = False) -> None:
        now = self.clock()
        if self.interactive and (force or now - self._drawn >= 0.2):
            self.stream.write("\r\x1b[2K" + self.line())
            self.stream.flush()
            self._drawn = now

    def start_cell(self, cell: Cell) -> None:
        self.cell, self.cell_units, self.cell_done, self.note = cell, cell_units(cell), 0, ""
        if self.interactive:
            self._draw(force=True)
        else:
            self.stream.write(self.line() + "\n")

    def advance(self, units: int) -> None:
        """Called by the sampling loop with the images of each step."""
        step = min(units, self.cell_units - self.cell_done)
        self.cell_done += step
        self.units_done += step
        self.units_left -= step
        self._draw()

    def message(self, text: str) -> None:
        """A status note from the run (metrics: ...), shown beside the current cell."""
        self.note = text.strip()
        self._draw(force=True)

    def finish_cell(self, run_dir: object) -> None:
        self.units_left -= self.cell_units - self.cell_done
        self.done_cells += 1
        self.note = ""
        if self.interactive:
            self.stream.write("\r\x1b[2K")
        self.stream.write(f"bench: {self.done_cells}/{self.total_cells} done: {self.cell.title() if self.cell else ''}"
                          f" -> {run_dir}\n")
        self.stream.flush()
        self.cell = None

    def skip_cell(self, reason: str) -> None:
        """The current cell is not run here (another process runs or ran it)."""
        self.units_left -= self.cell_units - self.cell_done
        if self.interactive:
            self.stream.write("\r\x1b[2K")
        self.stream.write(f"bench: skipped {self.cell.title() if self.cell else ''}: {reason}\n")
        self.stream.flush()
        self.cell = None

    def close(self) -> None:
        if self.interactive:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
