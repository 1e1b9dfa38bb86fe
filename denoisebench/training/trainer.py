"""The training loop behind ``denoisebench train``: optimise a provider's recipe, run the callbacks.

Determinism and exact resume: the data order of epoch e is a permutation seeded by (seed, e), and
all random inputs of step s come from a generator seeded by (seed, s). The batch and the noise of
a step therefore depend only on (seed, step), not on history, so resuming at step s with the
saved weights, EMA and optimiser state reproduces the uninterrupted run. Under DDP every rank
draws the same global batch and trains on its contiguous shard; gradients are averaged by DDP,
which equals the single-process gradient of the global batch. The loop unwraps nothing: the
recipe gets the DDP wrapper only as the function to call, callbacks get the bare networks.

Everything else is a callback (:mod:`.callbacks`, :mod:`.evaluation`): logging, evaluation,
checkpoints. Before any of it, :mod:`.output` checks that the run may write where it was told.
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..errors import DenoisebenchError
from ..interfaces.catalogue import Catalogue, default_catalogue
from . import checkpoint as ckpt
from . import distributed as ddp
from .callbacks import (Callback, CheckpointCallback, LogCallback, Logger, TrainingRun, TrainLog, TrainResult,
                        stderr_logger)
from .config import TrainConfig, build_model_config
from .evaluation import EvalCallback, build_eval_sampler
from .output import check_output, log_path
from ..interfaces.recipe import recipe_of
from .subset import subset_of

if TYPE_CHECKING:
    from ..diffusion.schedule import NoiseSchedule

__all__ = ["BatchOrder", "StopFlag", "TrainResult", "step_seed", "train"]


def step_seed(seed: int, step: int, stream: int) -> int:
    """A 63-bit seed for (run seed, step, stream) via numpy's SeedSequence."""
    return int(np.random.SeedSequence([seed, stream, step]).generate_state(1, np.uint64)[0] >> np.uint64(1))


class BatchOrder:
    """Epoch-wise shuffled indices: epoch e's permutation is seeded by (seed, e)."""

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed = n, seed
        self._epoch, self._perm = -1, torch.empty(0, dtype=torch.long)

    def _permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(step_seed(self.seed, epoch, stream=1))
            self._epoch, self._perm = epoch, torch.randperm(self.n, generator=g)
        return self._perm

    def indices(self, step: int, batch: int) -> torch.Tensor:
        start, parts = step * batch, []
        while batch > 0:
            epoch, pos = divmod(start, self.n)
            take = self._permutation(epoch)[pos:pos + batch]
            parts.append(take)
            start, batch = start + len(take), batch - len(take)
        return torch.cat(parts)


class StopFlag:
    """Ctrl-C (SIGINT) or SIGTERM (sent by ``timeout``, SLURM, docker stop) sets a flag: the loop
    saves and stops, and ``signum`` says which came. A second signal aborts at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.set = False
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopFlag:
        for signum in self.SIGNALS:
            try:
                self._previous[signum] = signal.signal(signum, self._handle)
            except ValueError:  # not in the main thread
                break
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.set:
            raise KeyboardInterrupt
        self.set, self.signum = True, signum

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous = {}


def _stop_reason(run: TrainingRun, stop: StopFlag, interrupt_after: int | None) -> str | None:
    cfg = run.config
    if cfg.steps is not None and run.step >= cfg.steps:
        return "steps"
    if cfg.minutes is not None and time.perf_counter() - run.started >= 60 * cfg.minutes:
        return "minutes"
    if stop.set or (interrupt_after is not None and run.step >= interrupt_after):
        return "interrupt"
    return None


def _loop(run: TrainingRun, data: torch.Tensor, schedule: NoiseSchedule, callbacks: Sequence[Callback],
          interrupt_after: int | None) -> None:
    """Optimise until a stop reason holds on any rank; then the callbacks' ``on_end``."""
    from timm.scheduler import CosineLRScheduler

    cfg, d, model = run.config, run.dist, run.model
    scheduler = CosineLRScheduler(run.optimizer, t_initial=cfg.steps if cfg.steps is not None else 10 ** 9,
                                  lr_min=cfg.lr_min, warmup_t=cfg.warmup, warmup_lr_init=0.0, t_in_epochs=False)
    forward: torch.nn.Module = model
    if d.active:
        from torch.nn.parallel import DistributedDataParallel

        forward = DistributedDataParallel(model, device_ids=[d.device.index] if d.device.type == "cuda" else None)
    order = BatchOrder(len(data), cfg.seed)
    shard = cfg.batch_size // d.world
    lo, hi = d.rank * shard, (d.rank + 1) * shard
    model.train()
    with StopFlag() as stop:
        while True:
            reason = _stop_reason(run, stop, interrupt_after)
            if ddp.any_rank(d, reason is not None):
                run.result.stopped_by = reason or "interrupt"  # another rank's reason
                run.result.signal = stop.signum if stop.set else (signal.SIGINT if run.result.interrupted else None)
                break
            started = time.perf_counter()
            x0 = data[order.indices(run.step, cfg.batch_size)]
            gen = torch.Generator().manual_seed(step_seed(cfg.seed, run.step, stream=2))
            batch = {k: v[lo:hi].to(d.device) for k, v in run.recipe.draw(x0, gen, schedule).items()}
            scheduler.step_update(run.step + 1)
            loss = run.recipe.training_loss(forward, batch, schedule)
            run.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            run.optimizer.step()
            run.step += 1
            run.ema.update(model, step=run.step)
            value = float(ddp.mean_over_ranks(d, loss.detach()))
            if not math.isfinite(value):
                raise DenoisebenchError(f"the loss became {value} at step {run.step}: lower --lr")
            run.result.losses.append((run.step, value))
            seconds = time.perf_counter() - started
            for callback in callbacks:
                callback.on_step(run, value, seconds)
        for callback in callbacks:  # still under the flag: a first Ctrl-C does not break the final save
            callback.on_end(run)


def train(config: TrainConfig, *, resume: bool = False, overwrite: bool = False,
          interrupt_after: int | None = None, log: Logger = stderr_logger,
          callbacks: Sequence[Callback] = (), catalogue: Catalogue | None = None) -> TrainResult:
    """Train (or with ``resume`` continue) ``config.provider``'s network; see the module docstring.

    Refused before any work, in one line: bad options, an output that exists (without ``resume``
    or ``overwrite``) or cannot be written, a training state of another run, a bad evaluation
    sampler. Returns when the steps or minutes are spent, or on Ctrl-C or SIGTERM (after saving;
    then ``result.interrupted`` and ``result.signal``). ``callbacks`` run after the builtin log, evaluation and checkpoint ones.
    The provider, dataset, evaluation sampler and metrics are looked up in ``catalogue`` (the
    caller's registry; default: the plugin registry, :mod:`denoisebench.interfaces.catalogue`).
    """
    from timm.utils import ModelEmaV3

    from ..datasets.base import DatasetOptions
    from ..diffusion.schedule import make_schedule
    config.validate()
    check_output(config.output, resume=resume, overwrite=overwrite)
    registry = catalogue or default_catalogue()
    provider_cls, _ = registry.provider(config.provider)
    recipe_cls = recipe_of(provider_cls)
    if recipe_cls is None:
        raise DenoisebenchError(f"provider {config.provider!r} is not trainable")
    schedule = make_schedule(config.schedule, config.T)
    sampler = build_eval_sampler(config, schedule, registry)
    recipe = recipe_cls(build_model_config(recipe_cls.model_config_cls, config.model_options, config.provider))
    d = ddp.setup(config.device)
    try:
        if config.threads:
            torch.set_num_threads(config.threads)
        if config.batch_size % d.world:
            raise DenoisebenchError(f"--batch-size {config.batch_size} must be divisible by the "
                                    f"{d.world} processes")
        dataset = registry.dataset(config.dataset).open(
            DatasetOptions(data_dir=config.data_dir, params=dict(config.dataset_options)))
        data = dataset.train_tensor("cpu")
        subset = subset_of(config, dataset)  # --train-size/--train-subset: part of the train split
        if subset is not None:
            data = data[torch.from_numpy(subset)]
        recipe = recipe_cls(recipe_cls.config_for_data(recipe.config, dataset.image_shape, set(config.model_options)))
        torch.manual_seed(config.seed)
        model = recipe.build_model().to(d.device)
        ema = ModelEmaV3(model, decay=config.ema_decay, use_warmup=True, warmup_power=config.ema_power)
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        run = TrainingRun(config, provider_cls, recipe, model, ema, optimizer, dataset, d, ckpt.new_run_id(),
                          TrainResult(config.output, 0, "steps", main=d.is_main))
        train_log = TrainLog(log_path(config.output), log, d.is_main, append=resume)
        if resume:
            meta = ckpt.load_train_state(config.output, model=model, ema=ema.module, optimizer=optimizer)
            run.step, run.elapsed_before = int(meta["step"]), float(meta.get("elapsed_s", 0.0))
            run.run_id = meta.get("run_id") or run.run_id
            train_log.forget_after(run.step)  # steps logged after the last save (a kill) are trained again
            train_log.say(f"resuming {config.output} at step {run.step}")
        nparams = sum(p.numel() for p in model.parameters())
        train_log.say(f"training {config.provider} ({nparams / 1e6:.2f}M parameters, {recipe.config}) on "
                      f"{dataset.id} ({len(data)} images), batch {config.batch_size} over {d.world} "
                      f"process(es), device {d.device}, threads {torch.get_num_threads()}")
        builtin = [LogCallback(train_log), EvalCallback(train_log, sampler, registry), CheckpointCallback(train_log)]
        _loop(run, data, schedule, [*builtin, *callbacks], interrupt_after)
        run.result.step, run.result.elapsed_s = run.step, run.elapsed()
        return run.result
    finally:
        ddp.teardown(d)
