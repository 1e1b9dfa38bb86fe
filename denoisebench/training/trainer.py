"""The generic training loop behind ``denoisebench train`` (any :class:`TrainableProvider`).

Determinism and exact resume: the data order of epoch e is a permutation seeded by (seed, e), and
all random inputs of step s come from a generator seeded by (seed, s). The batch and the noise of
a step therefore depend only on (seed, step), not on history, so resuming at step s with the
saved weights, EMA and optimiser state reproduces the uninterrupted run. Under DDP every rank
draws the same global batch and trains on its contiguous shard; gradients are averaged by DDP,
which equals the single-process gradient of the global batch.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import DenoisebenchError
from . import checkpoint as ckpt
from . import distributed as ddp
from .api import is_trainable
from .config import RESUMABLE, TrainConfig, build_model_config

Logger = Callable[[str], None]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass
class TrainResult:
    """What a (session of a) training run did."""

    output: Path
    step: int
    stopped_by: str
    losses: list[tuple[int, float]] = field(default_factory=list)
    evals: list[dict[str, Any]] = field(default_factory=list)
    elapsed_s: float = 0.0
    #: Whether this process is rank 0 (the one that wrote the files).
    main: bool = True


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


def resolve_config(given: dict[str, Any], resume: bool) -> TrainConfig:
    """The run's config: explicit options over the provider's defaults over the trainer's.

    With ``resume`` the interrupted run's stored config is authoritative; only options in
    :data:`RESUMABLE` may change, any other explicit option must equal the stored value.
    """
    from ..plugins.manager import get_registry

    provider_cls, _ = get_registry().provider(given["provider"])
    if not is_trainable(provider_cls):
        raise DenoisebenchError(f"provider {given['provider']!r} is not trainable: "
                                "'denoisebench train' needs a TrainableProvider")
    output = Path(given["output"])
    if not resume:
        names = {f.name for f in fields(TrainConfig)}
        defaults = {k: v for k, v in provider_cls.train_defaults.items() if k in names}
        config = TrainConfig(**{**defaults, **given})
        config.validate()
        return config
    meta = ckpt.read_metadata(ckpt.state_path(output)) if ckpt.state_path(output).is_file() else None
    if meta is None:
        raise DenoisebenchError(f"no training state {ckpt.state_path(output)} to resume: run without --resume")
    stored = json.loads(meta["train_config"])
    stored["output"] = output
    for key, value in given.items():
        if key in RESUMABLE or key == "output":
            stored[key] = value
        elif (str(value) if isinstance(value, Path) else value) != stored.get(key):
            raise DenoisebenchError(f"--{key.replace('_', '-')} {value} differs from the interrupted run's "
                                    f"{stored.get(key)}: drop it to resume, or start a new run")
    if stored.get("data_dir") is not None:
        stored["data_dir"] = Path(stored["data_dir"])
    config = TrainConfig(**stored)
    config.validate()
    return config


class _StopFlag:
    """Ctrl-C sets a flag (the loop saves and exits); a second Ctrl-C aborts at once."""

    def __init__(self) -> None:
        self.set = False
        self._previous: Any = None

    def __enter__(self) -> _StopFlag:
        try:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not in the main thread
            self._previous = None
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.set:
            raise KeyboardInterrupt
        self.set = True

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _metadata(config: TrainConfig, model_config: Any, dataset: Any, step: int, elapsed: float) -> dict[str, str]:
    from .. import __version__
    from ..runs.environment import git_commit

    return {
        "provider": config.provider,
        "model_config": ckpt.config_to_json(model_config),
        "train_config": json.dumps(config.to_json_dict(), sort_keys=True),
        "dataset": dataset.id,
        "dataset_hash": dataset.content_hash,
        "schedule": json.dumps({"name": config.schedule, "T": config.T}),
        "step": str(step),
        "elapsed_s": f"{elapsed:.1f}",
        "git_commit": git_commit() or "unknown",
        "code_version": __version__,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "weights": "ema",
    }


def quality_summary(metrics: dict[str, Any]) -> dict[str, float]:
    """The headline numbers of a harness result: FID/KID-proxy (and floor), entropy, ambiguity."""
    picks = {"fid": ("fid", "value"), "kid": ("kid", "value"), "fid_floor": ("floor", "fid", "value"),
             "kid_floor": ("floor", "kid", "value"), "class_entropy_bits": ("classifier", "entropy_bits"),
             "ambiguous_share": ("classifier", "ambiguous_share"),
             "memorised_share": ("nearest", "memorised_share")}
    out: dict[str, float] = {}
    for name, path in picks.items():
        value: Any = metrics
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = float(value)
    return out


def evaluate_model(provider_cls: type, model: torch.nn.Module, dataset: Any, config: TrainConfig,
                   device: torch.device) -> dict[str, Any]:
    """Sample a fixed set (seeded) with DDIM and score it with :func:`denoisebench.metrics.evaluate`."""
    from ..diffusion.loop import generate
    from ..providers.base import ProviderContext
    from ..diffusion.samplers import DDIMSampler
    from ..diffusion.schedule import make_schedule

    schedule = make_schedule(config.schedule, config.T)
    context = ProviderContext(dataset=dataset, device=device, seed=config.seed)
    with torch.random.fork_rng(devices=[]):
        provider = provider_cls.from_model(copy.deepcopy(model).eval(), context)
        images = generate(provider, DDIMSampler(schedule, config.eval_steps), config.eval_samples,
                          config.seed, config.eval_samples, dataset.image_shape, device)
        try:
            from ..metrics import evaluate
        except ImportError:
            return {}
        metrics = evaluate(images, dataset, seed=config.seed) or {}
    return metrics


def train(config: TrainConfig, *, resume: bool = False, log: Logger = _stderr,
          interrupt_after: int | None = None) -> TrainResult:
    """Train ``config.provider``; returns when steps or minutes are spent, or on Ctrl-C (saved)."""
    from timm.scheduler import CosineLRScheduler
    from timm.utils import ModelEmaV3

    from ..datasets.base import DatasetOptions
    from ..plugins.manager import get_registry
    from ..diffusion.schedule import make_schedule

    started = time.perf_counter()
    config.validate()
    d = ddp.setup(config.device)
    say: Logger = log if d.is_main else (lambda msg: None)
    try:
        if config.threads:
            torch.set_num_threads(config.threads)
        registry = get_registry()
        provider_cls, _ = registry.provider(config.provider)
        if not is_trainable(provider_cls):
            raise DenoisebenchError(f"provider {config.provider!r} is not trainable")
        if config.batch_size % d.world:
            raise DenoisebenchError(f"--batch-size {config.batch_size} must be divisible by the "
                                    f"{d.world} processes")
        dataset = registry.dataset(config.dataset).load(DatasetOptions(data_dir=config.data_dir))
        data = dataset.train_tensor("cpu")
        schedule = make_schedule(config.schedule, config.T)
        model_config = build_model_config(provider_cls.model_config_cls, config.model_options, config.provider)
        torch.manual_seed(config.seed)
        model = provider_cls.build_model(model_config).to(d.device)
        ema = ModelEmaV3(model, decay=config.ema_decay, use_warmup=True, warmup_power=config.ema_power)
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        step, elapsed_before = 0, 0.0
        if resume:
            meta = ckpt.load_train_state(config.output, model=model, ema=ema.module, optimizer=optimizer)
            step, elapsed_before = int(meta["step"]), float(meta.get("elapsed_s", 0.0))
            say(f"resuming {config.output} at step {step}")
        horizon = config.steps if config.steps is not None else 10 ** 9
        scheduler = CosineLRScheduler(optimizer, t_initial=horizon, lr_min=config.lr_min,
                                      warmup_t=config.warmup, warmup_lr_init=0.0, t_in_epochs=False)
        net: torch.nn.Module = model
        if d.active:
            from torch.nn.parallel import DistributedDataParallel

            net = DistributedDataParallel(model, device_ids=[d.device.index] if d.device.type == "cuda" else None)
        order = BatchOrder(len(data), config.seed)
        shard = config.batch_size // d.world
        lo, hi = d.rank * shard, (d.rank + 1) * shard
        nparams = sum(p.numel() for p in model.parameters())
        say(f"training {config.provider} ({nparams / 1e6:.2f}M parameters, {model_config}) on "
            f"{dataset.id} ({len(data)} images), batch {config.batch_size} over {d.world} process(es), "
            f"device {d.device}, threads {torch.get_num_threads()}")
        result = TrainResult(config.output, step, "steps", main=d.is_main)
        log_path = config.output.with_name(config.output.name.removesuffix(".safetensors") + ".log.jsonl")

        def save(at: int) -> None:
            if d.is_main:
                elapsed = elapsed_before + time.perf_counter() - started
                meta = _metadata(config, model_config, dataset, at, elapsed)
                ckpt.save_train_state(config.output, model=model, ema=ema.module, optimizer=optimizer,
                                      step=at, metadata=meta)
                ckpt.save_weights(config.output, ema.module, meta)
            ddp.barrier(d)

        def record(entry: dict[str, Any]) -> None:
            if d.is_main:
                log_path.parent.mkdir(parents=True, exist_ok=True)
                with log_path.open("a") as fh:
                    fh.write(json.dumps(entry) + "\n")

        window: list[float] = []
        t_window, n_window = time.perf_counter(), 0
        model.train()
        with _StopFlag() as stop:
            while True:
                done = config.steps is not None and step >= config.steps
                out_of_time = config.minutes is not None and (time.perf_counter() - started) >= 60 * config.minutes
                interrupted = stop.set or (interrupt_after is not None and step >= interrupt_after)
                if ddp.any_rank(d, done or out_of_time or interrupted):
                    result.stopped_by = ("steps" if done else "minutes" if out_of_time else "interrupt")
                    break
                x0 = data[order.indices(step, config.batch_size)]
                gen = torch.Generator().manual_seed(step_seed(config.seed, step, stream=2))
                batch = provider_cls.draw(x0, gen, schedule)
                batch = {k: v[lo:hi].to(d.device) for k, v in batch.items()}
                scheduler.step_update(step + 1)
                loss = provider_cls.training_loss(net, batch, schedule)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if config.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                optimizer.step()
                step += 1
                ema.update(model, step=step)
                value = float(ddp.mean_over_ranks(d, loss.detach()))
                if not math.isfinite(value):
                    raise DenoisebenchError(f"the loss became {value} at step {step}: lower --lr")
                result.losses.append((step, value))
                window.append(value)
                n_window += config.batch_size
                if step % config.log_every == 0 or (config.steps is not None and step == config.steps):
                    rate = n_window / max(time.perf_counter() - t_window, 1e-9)
                    entry = {"step": step, "loss": sum(window) / len(window),
                             "lr": optimizer.param_groups[0]["lr"], "ema_decay": ema.get_decay(step),
                             "images_per_s": rate, "elapsed_s": elapsed_before + time.perf_counter() - started}
                    total = f"/{config.steps}" if config.steps else ""
                    say(f"step {step}{total} loss {entry['loss']:.4f} lr {entry['lr']:.2e} "
                        f"ema {entry['ema_decay']:.4f} {rate:.0f} img/s elapsed {entry['elapsed_s'] / 60:.1f} min")
                    record(entry)
                    window, t_window, n_window = [], time.perf_counter(), 0
                if config.eval_every and step % config.eval_every == 0:
                    if d.is_main:
                        t_eval = time.perf_counter()
                        metrics = evaluate_model(provider_cls, ema.module, dataset, config, d.device)
                        summary = quality_summary(metrics)
                        text = " ".join(f"{k}={v:.4g}" for k, v in summary.items()) or \
                            "(the harness returned no KID/FID)"
                        say(f"eval step {step} ({config.eval_samples} samples, DDIM {config.eval_steps}, "
                            f"{time.perf_counter() - t_eval:.0f} s): {text}")
                        result.evals.append({"step": step, **summary})
                        record({"step": step, "eval": summary})
                    ddp.barrier(d)
                    t_window, n_window = time.perf_counter(), 0
                if step % config.save_every == 0:
                    save(step)
        save(step)
        result.step = step
        result.elapsed_s = elapsed_before + time.perf_counter() - started
        reason = {"steps": "done", "minutes": "time budget spent", "interrupt": "interrupted"}[result.stopped_by]
        say(f"{reason} at step {step}: wrote {config.output} and {ckpt.state_path(config.output)}"
            + (" (resume with --resume)" if result.stopped_by != "steps" else ""))
        return result
    finally:
        ddp.teardown(d)
