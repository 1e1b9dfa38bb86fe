"""Probe cells: the ``[[probe]]`` tables of a suite, one ``denoisebench probe`` per listed entry.

A probe cell's identity is what decides its numbers: the entry's provider, options and weights (the
checkpoint's sha256, or the hash of the train cell that makes it), the dataset and the probe's
options (images, levels, seed, Jacobian). The record written to ``RESULTS_DIR/probe-.../`` carries
it as ``probe.json["suite"]``; a later ``bench`` skips a cell whose record exists.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..fileio import sha256_file
from .cells import key_hash
from .spec import SuiteSpec

#: ProbeConfig fields that do not change a probe's numbers.
NOT_IDENTITY = ("results_dir", "data_dir", "batch_size", "device", "checkpoint", "against_checkpoint")


@dataclass(frozen=True)
class ProbeCell:
    """One entry probed by one ``[[probe]]`` table."""

    entry: str
    index: int  # of the [[probe]] table
    config: Any  # ProbeConfig
    weights: str | None  # sha256 of the checkpoint, or "train:<hash>" for a trained entry
    key: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        from dataclasses import asdict

        fields = {k: v for k, v in sorted(asdict(self.config).items()) if k not in NOT_IDENTITY}
        object.__setattr__(self, "key", {**fields, "weights": self.weights})

    @property
    def hash(self) -> str:
        return key_hash({"probe": self.key})

    def title(self) -> str:
        return f"probe {self.entry} (M={self.config.images}, {self.config.levels} levels, seed {self.config.seed})"


@dataclass(frozen=True)
class ProbeStatus:
    cell: ProbeCell
    complete: bool
    record_dir: Path | None = None


def probe_cells(suite: SuiteSpec, results_dir: Path, trained: dict[str, tuple[Path, str]]) -> list[ProbeCell]:
    """Every (``[[probe]]``, entry) pair; ``trained`` maps a train label to (checkpoint path, train cell hash)."""
    from ..probe.runner import ProbeConfig

    entries = {e.label: e for e in suite.entries}
    cells = []
    for probe in suite.probes:
        for label in probe.entries:
            e = entries[label]
            if e.trained is not None:
                checkpoint, weights = trained[e.trained][0], f"train:{trained[e.trained][1]}"
            else:
                checkpoint = e.checkpoint
                weights = sha256_file(e.checkpoint) if e.checkpoint is not None and e.checkpoint.is_file() else None
            config = ProbeConfig(provider=e.provider, options=dict(e.options), checkpoint=checkpoint,
                                 dataset=suite.dataset, data_dir=suite.data_dir,
                                 dataset_options={**suite.dataset_options, **e.dataset_options},
                                 schedule=suite.schedule, device=suite.device, results_dir=Path(results_dir),
                                 **probe.options)
            cells.append(ProbeCell(label, probe.index, config, weights))
    return cells


def probe_states(cells: list[ProbeCell], results_dir: Path) -> list[ProbeStatus]:
    """Complete when a readable probe record in ``results_dir`` carries the cell's hash."""
    from ..probe.record import PROBE_FILE, load_probe
    from ..runs.records import STAGING_PREFIX

    found: dict[str, Path] = {}
    root = Path(results_dir)
    if root.is_dir():
        for path in sorted(root.glob(f"*/{PROBE_FILE}")):
            if path.parent.name.startswith((".", STAGING_PREFIX)):
                continue
            record = load_probe(path)
            suite = record.get("suite") if record else None
            if isinstance(suite, dict) and isinstance(suite.get("cell_hash"), str) and isinstance(record.get("levels"), list):
                found[suite["cell_hash"]] = path.parent
    return [ProbeStatus(c, c.hash in found, found.get(c.hash)) for c in cells]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:60] or "entry"


def run_probe_cell(cell: ProbeCell, suite_name: str, log: Any = None) -> Path:
    """Probe the cell's entry and write its record (with the cell key) into the results dir."""
    from ..probe.record import write_probe
    from ..probe.runner import run_probe

    record, _ = run_probe(cell.config, log=log, write=False)
    record["suite"] = {"name": suite_name, "entry": cell.entry, "cell": cell.key, "cell_hash": cell.hash}
    now = dt.datetime.now(dt.timezone.utc)
    probe_id = f"probe-{now:%Y%m%d-%H%M%S}-{_slug(cell.entry)}-m{cell.config.images}-seed{cell.config.seed}"
    return write_probe(cell.config.results_dir, probe_id, record)
