"""Check every entry of a suite before its first cell runs: each provider is built once, on the CPU,
with its options and checkpoint, exactly as its cells will build it.

:func:`~.cells.expand` already refuses unknown names, unknown option keys, missing checkpoint
files and bad sampler options without loading anything; an option *value* (``mode = "bogus"``)
or a checkpoint of the wrong architecture is only known to the provider once it is built. Building
it here turns a failure after hours of other cells into one line, before any cell, that names the
suite file, the entry and its line. An entry whose checkpoint a ``[[train]]`` makes is not built
(its weights do not exist yet); instead every pending train cell's subset is checked against the
train split (``train_size`` x (``train_subset`` + 1) images must fit).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from ..errors import DenoisebenchError
from .cells import Cell
from .spec import SuiteSpec
from .trains import TrainStatus, check_split


def check_entries(suite: SuiteSpec, cells: Iterable[Cell], progress: Callable[[str], None] | None = None,
                  trains: Sequence[TrainStatus] = ()) -> None:
    """Build the provider of every entry that has a cell in ``cells`` (but those a ``[[train]]``
    makes) and check the subsets of ``trains``; the first failure is a one-line
    :class:`DenoisebenchError` naming the suite file, the table and the key."""
    wanted = {c.entry for c in cells}
    entries = [e for e in suite.entries if e.label in wanted and e.trained is None]
    if trains:
        _check_trains(suite, trains)
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


def _check_trains(suite: SuiteSpec, trains: Sequence[TrainStatus]) -> None:
    """Each train cell's subset fits its dataset's train split (loaded once per dataset options)."""
    from ..datasets.base import DatasetOptions
    from ..interrupts import deferred_interrupt
    from ..plugins.manager import get_registry

    loaded: dict[tuple[tuple[str, str], ...], object] = {}
    for status in trains:
        config = status.cell.config
        if config.train_size is None:
            continue
        options = tuple(sorted(config.dataset_options.items()))
        if options not in loaded:
            try:
                with deferred_interrupt():
                    loaded[options] = get_registry().dataset(config.dataset).load(
                        DatasetOptions(data_dir=config.data_dir, params=dict(options)))
            except DenoisebenchError as exc:
                raise suite.error(str(exc), "train", status.cell.index, "dataset_options") from None
        check_split(suite, status.cell, loaded[options])
