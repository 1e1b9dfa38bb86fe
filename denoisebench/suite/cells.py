"""Cells: one run of a suite (entry x sampler x steps x seed), its identity and its RunConfig.

A cell's identity is the canonical configuration that decides its samples: provider, its options
and the sha256 of its weights, sampler, its options and steps, N, seed, dataset, schedule, T and
whether metrics are computed. Labels, batch size and device are not part of it (samples do not
depend on the batch; renaming an entry must not re-run it). The identity and its hash go into
run.json as ``record["suite"]``, which is how a later ``bench`` recognises a complete cell.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DenoisebenchError
from ..fileio import sha256_file
from .spec import SuiteSpec

T_STEPS = 1000
#: More cells than this is refused before any is made: each cell is a whole run, so such a matrix
#: is a mistake (a seeds list of range(10**6)), and listing it alone would take minutes and GBs.
MAX_CELLS = 100_000


@dataclass(frozen=True)
class Cell:
    """One run of the suite."""

    entry: str  # the entry's label
    sampler_label: str
    provider: str
    options: dict[str, str]
    checkpoint: Path | None
    checkpoint_sha256: str | None
    sampler: str
    sampler_options: dict[str, str]
    steps: int
    seed: int
    dataset: str
    schedule: str
    num_samples: int
    metrics: bool
    nfe: int
    batch_size: int = 256
    device: str = "cpu"
    data_dir: Path | None = None
    T: int = T_STEPS  # noqa: N815
    dataset_options: dict[str, str] = field(default_factory=dict)
    #: The hash of the train cell whose checkpoint this cell samples (``checkpoint = "@label"``).
    trained: str | None = None
    key: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", {
            "provider": self.provider, "options": dict(sorted(self.options.items())),
            "checkpoint_sha256": self.checkpoint_sha256, "sampler": self.sampler,
            "sampler_options": dict(sorted(self.sampler_options.items())), "steps": self.steps,
            "num_samples": self.num_samples, "seed": self.seed, "dataset": self.dataset,
            "schedule": self.schedule, "T": self.T, "metrics": self.metrics})
        if self.dataset_options:  # only when given, so that existing cells keep their hashes
            self.key["dataset_options"] = dict(sorted(self.dataset_options.items()))
        if self.trained:  # the checkpoint does not exist before its train cell: its configuration stands for it
            self.key["trained"] = self.trained

    @property
    def hash(self) -> str:
        return key_hash(self.key)

    def title(self) -> str:
        """'kbnet mode=tweedie | ddim 50 | n1000 seed 1'."""
        return f"{self.entry} | {self.sampler_label} {self.steps} | n{self.num_samples} seed {self.seed}"

    def record_extra(self, suite_name: str) -> dict[str, Any]:
        """What the run writes as ``run.json["suite"]``."""
        return {"name": suite_name, "entry": self.entry, "sampler_label": self.sampler_label,
                "cell": self.key, "cell_hash": self.hash}

    def run_config(self, results_dir: Path, suite_name: str) -> Any:
        """The :class:`~denoisebench.runs.runner.RunConfig` that runs this cell."""
        from ..runs.runner import RunConfig

        return RunConfig(provider=self.provider, dataset=self.dataset, sampler=self.sampler, steps=self.steps,
                         num_samples=self.num_samples, batch_size=self.batch_size, seed=self.seed,
                         device=self.device, results_dir=results_dir, schedule=self.schedule, T=self.T,
                         sampler_options=dict(self.sampler_options), checkpoint=self.checkpoint,
                         options=dict(self.options), data_dir=self.data_dir, metrics=self.metrics,
                         dataset_options=dict(self.dataset_options), extra=self.record_extra(suite_name))


def key_hash(key: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a cell key."""
    return hashlib.sha256(json.dumps(key, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def expand(suite: SuiteSpec, check_device: bool = True,
           trained: dict[str, tuple[Path, str]] | None = None) -> list[Cell]:
    """Every cell of the suite, checked against the installed plugins; nothing is loaded or run.

    ``trained`` maps a ``[[train]]`` label to its checkpoint path and train cell hash (default:
    those of the suite's own results dir). Order: sampler, steps, seed, entry, so that the pairs a
    comparison needs complete together.
    """
    if trained is None and suite.trains:
        from .runner import results_dir_for
        from .trains import build_train_cell

        cells = [build_train_cell(suite, t, results_dir_for(suite)) for t in suite.trains]
        trained = {c.label: (c.output, c.hash) for c in cells}
    trained = trained or {}
    from ..diffusion.schedule import make_schedule
    from ..plugins.manager import get_registry
    from ..runs.environment import parse_device

    count = len(suite.entries) * len(suite.seeds) * sum(len(s.steps) for s in suite.samplers)
    if count > MAX_CELLS:
        raise DenoisebenchError(
            f"{suite.path}: the suite declares {count:,} cells ({len(suite.entries)} entr"
            f"{'y' if len(suite.entries) == 1 else 'ies'} x {sum(len(s.steps) for s in suite.samplers)} sampler steps x "
            f"{len(suite.seeds):,} seeds), more than "
            f"{MAX_CELLS:,}: split it into smaller suites")
    registry = get_registry()
    if check_device:
        try:
            parse_device(suite.device)
        except DenoisebenchError as exc:
            raise suite.error(str(exc), "suite", None, "device") from None
    try:
        dataset_spec = registry.dataset(suite.dataset)
    except DenoisebenchError as exc:
        raise suite.error(str(exc), "suite", None, "dataset") from None
    try:
        dataset_spec.check_options(suite.dataset_options)
    except DenoisebenchError as exc:
        raise suite.error(str(exc), "suite", None, "dataset_options") from None
    schedule = make_schedule(suite.schedule, T_STEPS)
    nfe: dict[tuple[int, int], int] = {}
    for s in suite.samplers:
        try:
            cls, _info = registry.sampler(s.name)
        except DenoisebenchError as exc:
            raise suite.error(str(exc), "sampler", s.index, "name") from None
        for steps in s.steps:
            if steps > T_STEPS:
                raise suite.error(f"steps must be between 1 and T = {T_STEPS}, got {steps}", "sampler", s.index,
                                  "steps")
            try:
                nfe[(s.index, steps)] = cls(schedule, steps, s.options).nfe
            except DenoisebenchError as exc:
                raise suite.error(str(exc), "sampler", s.index, "options") from None
    checkpoints: dict[int, str | None] = {}
    for e in suite.entries:
        try:
            cls, _info = registry.provider(e.provider)
        except DenoisebenchError as exc:
            raise suite.error(str(exc), "entry", e.index, "provider") from None
        unknown = sorted(set(e.options) - set(cls.options))
        if unknown:
            known = ", ".join(sorted(cls.options)) or "none"
            raise suite.error(f"provider {e.provider!r} has no option {unknown[0]!r}: its options are {known}",
                              "entry", e.index, "options")
        try:
            dataset_spec.check_options(e.dataset_options)
        except DenoisebenchError as exc:
            raise suite.error(str(exc), "entry", e.index, "dataset_options") from None
        if e.trained is not None:
            checkpoints[e.index] = None
            continue
        if e.checkpoint is not None and not e.checkpoint.is_file():
            raise suite.error(f"checkpoint {e.checkpoint} does not exist: give a file (relative to the suite "
                              "file)", "entry", e.index, "checkpoint")
        checkpoints[e.index] = sha256_file(e.checkpoint) if e.checkpoint is not None else None
    return [Cell(entry=e.label, sampler_label=s.label, provider=e.provider, options=dict(e.options),
                 checkpoint=trained[e.trained][0] if e.trained else e.checkpoint,
                 trained=trained[e.trained][1] if e.trained else None,
                 checkpoint_sha256=checkpoints[e.index], sampler=s.name,
                 sampler_options=dict(s.options), steps=steps, seed=seed, dataset=suite.dataset,
                 schedule=suite.schedule, num_samples=suite.num_samples, metrics=suite.metrics,
                 nfe=nfe[(s.index, steps)], batch_size=e.batch_size or suite.batch_size, device=suite.device,
                 data_dir=suite.data_dir, dataset_options={**suite.dataset_options, **e.dataset_options})
            for s in suite.samplers for steps in s.steps for seed in suite.seeds for e in suite.entries]
