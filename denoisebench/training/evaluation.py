"""The periodic quality check of ``denoisebench train``: sample with the EMA weights, score, log.

The sampler is any registered one (``--eval-sampler NAME``, ``--eval-sampler-option KEY=VALUE``;
default DDIM at ``--eval-steps``), built once from the catalogue the trainer was given (the plugin
registry) before training starts,
so a bad name or option is refused before any work. The samples are seeded by the run's seed
(the same set at every evaluation) and drawn under a forked RNG, so evaluating never changes the
training trajectory.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import torch

from ..diffusion.samplers import Sampler, make_sampler
from ..interfaces.catalogue import Catalogue
from ..diffusion.schedule import NoiseSchedule
from . import distributed as ddp
from .callbacks import Callback, TrainingRun, TrainLog
from .config import TrainConfig


def build_eval_sampler(config: TrainConfig, schedule: NoiseSchedule, catalogue: Catalogue | None = None) -> Sampler:
    """The evaluation's sampler, from ``catalogue`` (a one-line error for a bad name or option)."""
    return make_sampler(config.eval_sampler, schedule, config.eval_steps, config.eval_sampler_options,
                        catalogue=catalogue)


def quality_summary(metrics: dict[str, Any]) -> dict[str, float]:
    """The declared headline and summary columns of a harness result (FID/KID-proxy, class entropy,
    memorised share...), each with its real-data value as ``<key>_floor`` where there is one."""
    from ..runs.summary import key_values

    out: dict[str, float] = {}
    for _spec, column, value, ref in key_values(metrics):
        out[column.key] = value
        if ref is not None:
            out[f"{column.key}_floor"] = ref
    return out


def evaluate_model(provider_cls: type, model: torch.nn.Module, dataset: Any, config: TrainConfig,
                   sampler: Sampler, device: torch.device, catalogue: Catalogue | None = None) -> dict[str, Any]:
    """Sample a fixed, seeded set with ``sampler`` and score it with :func:`denoisebench.metrics.evaluate`."""
    from ..diffusion.loop import generate
    from ..interfaces.provider import ProviderContext

    context = ProviderContext(dataset=dataset, device=device, seed=config.seed)
    with torch.random.fork_rng(devices=[]):
        provider = provider_cls.from_model(copy.deepcopy(model).eval(), context)
        images = generate(provider, sampler, config.eval_samples, config.seed, config.eval_samples,
                          dataset.image_shape, device)
        from ..metrics import evaluate

        return evaluate(images, dataset, seed=config.seed, catalogue=catalogue) or {}


class EvalCallback(Callback):
    """Every ``eval_every`` steps, on rank 0: evaluate the EMA network and log the headline numbers."""

    def __init__(self, log: TrainLog, sampler: Sampler, catalogue: Catalogue | None = None) -> None:
        self.log, self.sampler, self.catalogue = log, sampler, catalogue

    def on_step(self, run: TrainingRun, loss: float, seconds: float) -> None:
        cfg = run.config
        if not cfg.eval_every or run.step % cfg.eval_every:
            return
        if run.dist.is_main:
            started = time.perf_counter()
            metrics = evaluate_model(run.provider_cls, run.ema.module, run.dataset, cfg, self.sampler,
                                     run.dist.device, self.catalogue)
            summary = quality_summary(metrics)
            text = " ".join(f"{k}={v:.4g}" for k, v in summary.items()) or "(the harness returned no KID/FID)"
            self.log.say(f"eval step {run.step} ({cfg.eval_samples} samples, {self.sampler.label()} "
                         f"{self.sampler.steps} steps, {time.perf_counter() - started:.0f} s): {text}")
            run.result.evals.append({"step": run.step, "sampler": self.sampler.label(), **summary})
            self.log.record({"step": run.step, "eval": summary, "sampler": self.sampler.label()})
        ddp.barrier(run.dist)
