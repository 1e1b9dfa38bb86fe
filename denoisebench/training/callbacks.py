"""What the training loop does besides optimising: each job a small callback.

The loop (:mod:`.trainer`) calls ``on_step`` after every optimiser step and ``on_end`` once when it
stops (steps done, time spent or Ctrl-C); callbacks run in the order given. Here: :class:`LogCallback`
(progress on stderr and in the JSON-lines log) and :class:`CheckpointCallback` (checkpoint and
training state); the periodic evaluation is :class:`~.evaluation.EvalCallback`. Under DDP the
callbacks run on every rank; only rank 0 writes, and collective waits keep the ranks in step.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import checkpoint as ckpt
from . import distributed as ddp
from .config import TrainConfig
from ..interfaces.recipe import TrainingRecipe
from .subset import subset_metadata_json

Logger = Callable[[str], None]


def stderr_logger(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass
class TrainResult:
    """What a (session of a) training run did."""

    output: Path
    step: int
    #: ``steps`` (done), ``minutes`` (time budget spent) or ``interrupt`` (Ctrl-C; saved).
    stopped_by: str
    losses: list[tuple[int, float]] = field(default_factory=list)
    evals: list[dict[str, Any]] = field(default_factory=list)
    elapsed_s: float = 0.0
    #: Whether this process is rank 0 (the one that wrote the files).
    main: bool = True
    #: The signal that interrupted the run (SIGINT for Ctrl-C, SIGTERM), None otherwise.
    signal: int | None = None

    @property
    def interrupted(self) -> bool:
        return self.stopped_by == "interrupt"


@dataclass
class TrainingRun:
    """What callbacks see of a run in progress; ``model`` and ``ema.module`` are bare networks, never DDP."""

    config: TrainConfig
    provider_cls: type
    recipe: TrainingRecipe
    model: nn.Module
    ema: Any  # timm ModelEmaV3: ``.module`` is the EMA network, ``.get_decay(step)`` its decay
    optimizer: torch.optim.Optimizer
    dataset: Any
    dist: ddp.Dist
    run_id: str
    result: TrainResult
    step: int = 0
    elapsed_before: float = 0.0
    started: float = field(default_factory=time.perf_counter)

    def elapsed(self) -> float:
        """Seconds this run has trained, all sessions together."""
        return self.elapsed_before + time.perf_counter() - self.started


class TrainLog:
    """Messages on stderr and records in ``*.log.jsonl``, both from rank 0 only.

    A fresh run starts a new log (removing one an ``--overwrite`` run replaces); a resumed run appends.
    """

    def __init__(self, path: Path, say: Logger, main: bool, append: bool) -> None:
        self.path, self._say, self.main = path, say, main
        if main and not append:
            path.unlink(missing_ok=True)

    def say(self, msg: str) -> None:
        if self.main:
            self._say(msg)

    def forget_after(self, step: int) -> None:
        """Drop the records of steps after ``step`` (logged, then lost by a kill before the next save),
        so that a resumed run does not log them twice."""
        if not self.main or not self.path.is_file():
            return
        from ..fileio import write_text_atomic

        kept = []
        for line in self.path.read_text().splitlines():
            try:
                entry_step = json.loads(line).get("step")
            except (ValueError, AttributeError):
                entry_step = None
            if not isinstance(entry_step, int) or entry_step <= step:
                kept.append(line)
        write_text_atomic(self.path, "".join(f"{line}\n" for line in kept))

    def record(self, entry: dict[str, Any]) -> None:
        if not self.main:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as fh:
            fh.write(json.dumps(entry) + "\n")


class Callback:
    """A job the loop runs after each step and at the end; override what you need."""

    def on_step(self, run: TrainingRun, loss: float, seconds: float) -> None:
        """After optimiser step ``run.step``: its mean loss over ranks and its compute time."""

    def on_end(self, run: TrainingRun) -> None:
        """Once, when the loop stops (``run.result.stopped_by`` says why)."""


class LogCallback(Callback):
    """Every ``log_every`` steps (and at the last): mean loss, LR, EMA decay, images/s, elapsed."""

    def __init__(self, log: TrainLog) -> None:
        self.log = log
        self._losses: list[float] = []
        self._seconds = 0.0

    def on_step(self, run: TrainingRun, loss: float, seconds: float) -> None:
        cfg = run.config
        self._losses.append(loss)
        self._seconds += seconds
        if run.step % cfg.log_every and run.step != cfg.steps:
            return
        entry = {"step": run.step, "loss": sum(self._losses) / len(self._losses),
                 "lr": run.optimizer.param_groups[0]["lr"], "ema_decay": run.ema.get_decay(run.step),
                 "images_per_s": len(self._losses) * cfg.batch_size / max(self._seconds, 1e-9),
                 "elapsed_s": run.elapsed()}
        total = f"/{cfg.steps}" if cfg.steps else ""
        self.log.say(f"step {run.step}{total} loss {entry['loss']:.4f} lr {entry['lr']:.2e} "
                     f"ema {entry['ema_decay']:.4f} {entry['images_per_s']:.0f} img/s "
                     f"elapsed {entry['elapsed_s'] / 60:.1f} min")
        self.log.record(entry)
        self._losses, self._seconds = [], 0.0


def checkpoint_metadata(run: TrainingRun) -> dict[str, str]:
    """The provenance written into both files at every save."""
    from .. import __version__
    from ..runs.environment import git_commit

    config = run.config
    return {
        "provider": config.provider,
        "model_config": ckpt.config_to_json(run.recipe.config),
        "train_config": json.dumps(config.to_json_dict(), sort_keys=True),
        **ckpt.metadata_for(run.dataset),  # dataset, dataset_hash, image_shape
        "schedule": json.dumps({"name": config.schedule, "T": config.T}),
        "step": str(run.step),
        "run_id": run.run_id,
        "elapsed_s": f"{run.elapsed():.1f}",
        "git_commit": git_commit() or "unknown",
        "code_version": __version__,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "weights": "ema",
        **subset_metadata_json(config, run.dataset),  # --train-size: the subset's indices and recipe
    }


class CheckpointCallback(Callback):
    """Every ``save_every`` steps and at the end: the training state, then the EMA checkpoint."""

    def __init__(self, log: TrainLog) -> None:
        self.log = log
        self._saved_at: int | None = None

    def save(self, run: TrainingRun) -> None:
        if run.dist.is_main:
            meta = checkpoint_metadata(run)
            ckpt.save_train_state(run.config.output, model=run.model, ema=run.ema.module,
                                  optimizer=run.optimizer, step=run.step, metadata=meta)
            ckpt.save_weights(run.config.output, run.ema.module, meta)
        ddp.barrier(run.dist)
        self._saved_at = run.step

    def on_step(self, run: TrainingRun, loss: float, seconds: float) -> None:
        if run.step % run.config.save_every == 0:
            self.save(run)

    def on_end(self, run: TrainingRun) -> None:
        if self._saved_at != run.step:
            self.save(run)
        output = run.config.output
        reason = {"steps": "done", "minutes": "time budget spent", "interrupt": "interrupted"}[run.result.stopped_by]
        self.log.say(f"{reason} at step {run.step}: wrote {output} and {ckpt.state_path(output)}"
                     + (" (resume with --resume)" if run.result.stopped_by != "steps" else ""))
