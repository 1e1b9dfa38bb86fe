"""Check every entry of a suite before its first cell runs: each provider is built once, on the CPU,
with its options and checkpoint, exactly as its cells will build it.

:func:`~.cells.expand` already refuses unknown names, unknown option keys, missing checkpoint
files and bad sampler options without loading anything; an option *value* (``mode = "bogus"``)
or a checkpoint of the wrong architecture is only known to the provider once it is built. Building
it here turns a failure after hours of other cells into one line, before any cell, that names the
suite file, the entry and its line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..errors import DenoisebenchError
from .cells import Cell
from .spec import SuiteSpec


def check_entries(suite: SuiteSpec, cells: Iterable[Cell], progress: Callable[[str], None] | None = None) -> None:
    """Build the provider of every entry that has a cell in ``cells``; the first failure is a
    one-line :class:`DenoisebenchError` naming the suite file, the entry and the key."""
    wanted = {c.entry for c in cells}
    entries = [e for e in suite.entries if e.label in wanted]
    if not entries:
        return
    import torch

    from ..datasets.base import DatasetOptions
    from ..plugins.manager import get_registry
    from ..interfaces.provider import ProviderContext

    from ..interrupts import deferred_interrupt

    registry = get_registry()
    try:
        with deferred_interrupt():
            data = registry.dataset(suite.dataset).load(DatasetOptions(data_dir=suite.data_dir))
    except DenoisebenchError as exc:
        raise suite.error(str(exc), "suite", None, "dataset") from None
    for entry in entries:
        if progress is not None:
            progress(f"checking entry {entry.label!r} ({entry.provider})")
        cls, _info = registry.provider(entry.provider)
        if entry.checkpoint is not None and not cls.takes_checkpoint():
            raise suite.error(f"provider {entry.provider!r} loads no weights, so its checkpoint would be ignored: "
                              "drop it", "entry", entry.index, "checkpoint")
        context = ProviderContext(dataset=data, device=torch.device("cpu"), checkpoint=entry.checkpoint,
                                  options=dict(entry.options), seed=0)
        try:
            cls.from_context(context)
        except DenoisebenchError as exc:
            key = "checkpoint" if entry.checkpoint is not None and "checkpoint" in str(exc) else "options"
            raise suite.error(f"entry {entry.label!r}: {exc}", "entry", entry.index, key) from None
