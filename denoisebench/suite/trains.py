"""Train cells: the ``[[train]]`` tables of a suite, each a ``denoisebench train`` run whose
checkpoint goes to ``RESULTS_DIR/checkpoints/<label>.safetensors``.

A train cell's identity is its training configuration (every :class:`~denoisebench.training.config.TrainConfig`
field that decides the weights: not the device, threads, logging or saving cadence). Its state is
read from the files: *complete* when the checkpoint's step is the declared steps, *partial* when a
training state was saved before that (the trainer's exact ``--resume`` continues it), *missing*
otherwise. A checkpoint at that path trained with another configuration is refused, never
overwritten. Entries refer to a train cell with ``checkpoint = "@label"``; their sample cells carry
the train cell's hash in their key (the checkpoint's bytes do not exist before it is trained).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DenoisebenchError
from .cells import key_hash
from .spec import SuiteSpec, TrainSpec

CHECKPOINT_DIR = "checkpoints"
COMPLETE, PARTIAL, MISSING = "complete", "partial", "missing"
#: TrainConfig fields that do not change the trained weights (as ``train --resume`` allows them to differ).
NOT_IDENTITY = ("output", "data_dir", "minutes", "device", "threads", "eval_every", "eval_samples", "eval_steps",
                "eval_sampler", "eval_sampler_options", "save_every", "log_every")


def checkpoint_path(results_dir: Path, label: str) -> Path:
    """Where the train cell ``label`` writes its checkpoint."""
    return Path(results_dir) / CHECKPOINT_DIR / f"{label}.safetensors"


def identity(config_json: dict[str, Any]) -> dict[str, Any]:
    """The fields of a training configuration (``TrainConfig.to_json_dict()``) that decide the weights."""
    return {k: v for k, v in sorted(config_json.items()) if k not in NOT_IDENTITY}


@dataclass(frozen=True)
class TrainCell:
    """One ``[[train]]`` of a suite, resolved against a results dir."""

    label: str
    index: int
    config: Any  # TrainConfig
    key: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", identity(self.config.to_json_dict()))

    @property
    def hash(self) -> str:
        return key_hash({"train": self.key})

    @property
    def output(self) -> Path:
        return Path(self.config.output)

    def title(self) -> str:
        size = f", N={self.config.train_size} subset {self.config.train_subset}" if self.config.train_size else ""
        return f"train {self.label} ({self.config.provider}, {self.config.steps} steps{size})"


@dataclass(frozen=True)
class TrainStatus:
    cell: TrainCell
    state: str
    step: int = 0


def build_train_cell(suite: SuiteSpec, spec: TrainSpec, results_dir: Path) -> TrainCell:
    """The train cell of ``spec``: its options over the provider's recipe defaults, validated like
    ``denoisebench train`` does; a bad value is a one-line error naming the suite file and line."""
    from ..training.config import resolve_config

    given: dict[str, Any] = {"provider": spec.provider, "output": checkpoint_path(results_dir, spec.label),
                             "dataset": suite.dataset, "data_dir": suite.data_dir, "steps": spec.steps,
                             "dataset_options": {**suite.dataset_options, **spec.dataset_options},
                             "device": suite.device, "schedule": suite.schedule,
                             "model_options": dict(spec.model_options), **spec.options}
    try:
        config = resolve_config(given, resume=False)
    except DenoisebenchError as exc:
        raise suite.error(str(exc), "train", spec.index, _key_named(str(exc), spec)) from None
    return TrainCell(spec.label, spec.index, config)


def _key_named(message: str, spec: TrainSpec) -> str | None:
    """The [[train]] key an error message is most likely about (for its line)."""
    for key in (*spec.options, "steps"):
        if f"--{key.replace('_', '-')}" in message:
            return key
    return "provider" if "provider" in message else None


def check_model(suite: SuiteSpec, cell: TrainCell) -> None:
    """The provider is trainable and its ``model`` options exist and parse (nothing is built)."""
    from ..plugins.manager import get_registry
    from ..training.config import build_model_config
    from ..training.recipe import recipe_of

    try:
        cls, _info = get_registry().provider(cell.config.provider)
    except DenoisebenchError as exc:
        raise suite.error(str(exc), "train", cell.index, "provider") from None
    recipe = recipe_of(cls)
    if recipe is None:
        raise suite.error(f"provider {cell.config.provider!r} is not trainable", "train", cell.index, "provider")
    try:
        build_model_config(recipe.model_config_cls, cell.config.model_options, cell.config.provider)
    except DenoisebenchError as exc:
        raise suite.error(str(exc), "train", cell.index, "model") from None


def check_split(suite: SuiteSpec, cell: TrainCell, dataset: Any) -> None:
    """``train_size`` x (``train_subset`` + 1) images fit the train split of the loaded ``dataset``."""
    from ..training.subset import subset_of

    try:
        subset_of(cell.config, dataset)
    except DenoisebenchError as exc:
        message = str(exc).replace("--train-size", "train_size").replace("--train-subset", "train_subset")
        raise suite.error(message, "train", cell.index, "train_size") from None


def train_state(suite: SuiteSpec, cell: TrainCell) -> TrainStatus:
    """Complete, partial or missing, from the checkpoint's metadata; a checkpoint of another
    configuration at the cell's path is a one-line error (it is never overwritten)."""
    from ..training.checkpoint import read_metadata, read_state_metadata, state_path

    ckpt, state = cell.output, state_path(cell.output)
    if not ckpt.exists():
        return TrainStatus(cell, MISSING)
    try:
        meta = read_metadata(ckpt)
        stored = identity(json.loads(meta["train_config"]))
        step = int(meta["step"])
    except (DenoisebenchError, KeyError, ValueError, TypeError) as exc:
        raise suite.error(f"{ckpt} exists but is not a checkpoint 'denoisebench train' wrote ({exc}): move it away",
                          "train", cell.index, "label") from None
    if stored != cell.key:
        differ = next(k for k in sorted(set(stored) | set(cell.key)) if stored.get(k) != cell.key.get(k))
        raise suite.error(f"{ckpt} was trained with {differ} = {stored.get(differ)!r}, not {cell.key.get(differ)!r}: "
                          "move it away or give this [[train]] another label", "train", cell.index, "label")
    if step >= (cell.config.steps or 0):
        return TrainStatus(cell, COMPLETE, step)
    if state.exists():
        try:
            step = int(read_state_metadata(state).get("step", step))
        except (DenoisebenchError, ValueError):
            pass
    return TrainStatus(cell, PARTIAL, step)


def run_train_cell(status: TrainStatus, log: Callable[[str], None]) -> Path:
    """Train (or resume) one cell to its steps; Ctrl-C or SIGTERM saves it and raises KeyboardInterrupt."""
    from ..training.checkpoint import state_path
    from ..training.output import log_path
    from ..training.trainer import train

    cell = status.cell
    resume = status.state == PARTIAL and state_path(cell.output).exists()
    # a log without a checkpoint (killed before its first save) holds nothing to resume: start over
    overwrite = not resume and not cell.output.exists() and log_path(cell.output).exists()
    result = train(cell.config, resume=resume, overwrite=overwrite,
                   log=lambda message: log(f"{cell.label}: {message}"))
    if result.interrupted:
        raise KeyboardInterrupt
    return cell.output
