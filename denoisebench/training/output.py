"""What ``denoisebench train`` checks about its output before it trains a single step.

A run writes three files: the checkpoint ``-o PATH``, its training state (``*.state.safetensors``)
and its log (``*.log.jsonl``). Training refuses, in one line and before any work:

* an existing run's files without ``--resume`` (continue it) or ``--overwrite`` (replace it);
* a log or checkpoint without its training state (a run killed before its first save), with or
  without ``--resume``: the same message, pass ``--overwrite`` to start over;
* ``--resume`` with a training state of another run (:func:`~.checkpoint.check_state_belongs`);
* an output that cannot be written: under a regular file, a directory, a read-only place.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..errors import DenoisebenchError
from .checkpoint import check_state_belongs, state_path


def log_path(output: Path) -> Path:
    """Where the run's JSON-lines log goes: ``PATH`` without ``.safetensors``, plus ``.log.jsonl``."""
    output = Path(output)
    return output.with_name(output.name.removesuffix(".safetensors") + ".log.jsonl")


def run_files(output: Path) -> tuple[Path, Path, Path]:
    """The checkpoint, training state and log of the run writing to ``output``."""
    return Path(output), state_path(output), log_path(output)


def check_writable(output: Path) -> None:
    """Refuse an output that is a directory, lies under a regular file or on a read-only place."""
    output = Path(output)
    for path in run_files(output):
        if path.is_dir():
            raise DenoisebenchError(f"cannot write {path}: it is a directory; pass a file path to -o, "
                                    f"e.g. {path / 'model.safetensors'}")
    folder = output.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise DenoisebenchError(f"cannot write {output}: {folder} is a file, not a directory; choose another -o")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".denoisebench-probe-")
    except OSError as exc:
        raise DenoisebenchError(f"cannot write {output}: {folder} is not writable "
                                f"({exc.strerror or type(exc).__name__}); choose another -o") from None
    os.close(fd)
    os.unlink(probe)


def check_resumable_or_absent(output: Path) -> None:
    """Refuse a checkpoint or log without its training state (a run killed before its first save):
    ``train`` and ``train --resume`` say the same, that only ``--overwrite`` can go on."""
    checkpoint, state, log = run_files(output)
    if not state.exists() and (checkpoint.exists() or log.exists()):
        found = checkpoint if checkpoint.exists() else log
        raise DenoisebenchError(f"{found} exists but no training state {state.name} was saved beside it, so there "
                                "is nothing to resume: pass --overwrite to start over, or choose another -o")


def check_output(output: Path, *, resume: bool, overwrite: bool) -> None:
    """All the checks above; with ``resume`` the state must exist and belong to the checkpoint."""
    if resume and overwrite:
        raise DenoisebenchError("--resume continues a run and --overwrite replaces it: pass only one")
    check_writable(output)
    if not overwrite:
        check_resumable_or_absent(output)
    if resume:
        check_state_belongs(output)
        return
    existing = [p for p in run_files(output) if p.exists()]
    if existing and not overwrite:
        raise DenoisebenchError(f"{existing[0]} exists: pass --resume to continue that run or --overwrite "
                                "to replace it")

