"""One lock file per cell, so that two ``bench`` of one suite at once do not run a cell twice.

A process about to run a cell creates ``<results_dir>/.lock-<cell hash>`` exclusively, with its pid
inside, and removes it when the cell is done (or failed). Another process that finds the lock of
a live pid skips the cell; a lock whose pid is gone (a killed ``bench``) is stale and taken over.
After taking a lock the results dir is read again: a cell that another process completed in the
meantime is not run again.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .cells import Cell

LOCK_PREFIX = ".lock-"
#: A lock file without a readable pid younger than this may still be being written.
FRESH_S = 10.0


def lock_path(results_dir: Path, cell: Cell) -> Path:
    return Path(results_dir) / f"{LOCK_PREFIX}{cell.hash[:32]}"


def _holder_alive(path: Path) -> bool:
    """Whether the process named in the lock file may still be running its cell."""
    try:
        text = path.read_text().strip()
        made = path.stat().st_mtime
    except OSError:
        return False  # gone in the meantime: free
    if not text.isdigit():
        return time.time() - made < FRESH_S
    pid = int(text)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a pid reused by a process started after the lock was made is not the holder
        return Path(f"/proc/{pid}").stat().st_ctime <= made + 1.0
    except OSError:
        return True


def _try_create(path: Path) -> bool:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as fh:
        fh.write(f"{os.getpid()}\n")
    return True


def holder_of(results_dir: Path, cell: Cell) -> str | None:
    """The pid (as text) of the live process holding ``cell``'s lock, else None."""
    path = lock_path(results_dir, cell)
    if path.exists() and _holder_alive(path):
        try:
            return path.read_text().strip() or "?"
        except OSError:
            return None
    return None


@contextmanager
def cell_lock(results_dir: Path, cell: Cell) -> Iterator[bool]:
    """Yield True while this process holds ``cell``'s lock, False when a live process holds it."""
    path = lock_path(results_dir, cell)
    held = _try_create(path)
    if not held and not _holder_alive(path):
        path.unlink(missing_ok=True)  # stale: its bench was killed
        held = _try_create(path)
    try:
        yield held
    finally:
        if held:
            path.unlink(missing_ok=True)
