"""The sampling loop: drive any sampler with any provider, batch by batch.

The loop owns what every sampler shares: the initial noise, the per-batch sampler state, the
provider call (checked for shape, counted as one network evaluation), progress, and the final
finiteness check. Sample i depends only on (seed, i), whatever the batch size.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ..datasets.base import to_uint8
from ..errors import DenoisebenchError, ProviderError, SamplerError
from ..interfaces.provider import EpsilonProvider
from .noise import SampleNoise
from .samplers import Sampler


class CountedModel:
    """The provider as the sampler sees it: ``model(x, t)`` -> eps_hat, every call checked and counted.

    The sums of each call's x_t and eps are kept on the device (a sum is NaN or inf exactly when
    some element is, barring overflow; no synchronisation per call) and read only when a chain ends
    in NaN, to tell whose fault it is (:func:`sample_batch`).
    """

    def __init__(self, provider: EpsilonProvider, sampler: Sampler) -> None:
        self.provider = provider
        self.schedule = sampler.schedule
        self.calls = 0
        self.in_provider = False  # True while predict_eps runs: an exception then is the provider's
        self.sums: list[tuple[int, torch.Tensor, torch.Tensor]] = []  # (t, sum of x_t, sum of eps) per call

    def __call__(self, x: torch.Tensor, t: int) -> torch.Tensor:
        t_vec = torch.full((x.shape[0],), int(t), dtype=torch.long, device=x.device)
        self.in_provider = True
        eps = self.provider.predict_eps(x, t_vec, self.schedule)
        self.in_provider = False
        if not isinstance(eps, torch.Tensor) or eps.shape != x.shape:
            got = tuple(eps.shape) if isinstance(eps, torch.Tensor) else type(eps).__name__
            raise ProviderError(f"provider {self.provider.name!r} returned eps of shape {got} for x_t of "
                                f"shape {tuple(x.shape)} at t={t}: predict_eps must keep the shape")
        self.calls += 1
        self.sums.append((int(t), x.sum(), eps.sum()))
        return eps.to(x.dtype)


def _step(sampler: Sampler, model: CountedModel, x: torch.Tensor, i: int, state: dict[str, Any],
          noise: SampleNoise) -> torch.Tensor:
    """One sampler step; a sampler's fault (an exception of its own, no StepOutput, the wrong
    shape) becomes a one-line :class:`SamplerError` naming it."""
    where = f"sampler {sampler.name!r} at step {i} (t = {sampler.timesteps[i]})"
    try:
        out = sampler.step(model, x, i, state, noise)
    except DenoisebenchError:
        raise
    except Exception as exc:
        if model.in_provider:  # raised inside predict_eps: the provider's own error
            raise
        line = (str(exc).splitlines() or [""])[0]
        raise SamplerError(f"{where} raised {type(exc).__name__}: {line}") from exc
    prev = getattr(out, "prev_sample", None)
    if not isinstance(prev, torch.Tensor):
        raise SamplerError(f"{where} returned {type(out).__name__}, not a denoisebench.StepOutput(prev_sample, "
                           "pred_original_sample): return StepOutput(...)")
    if prev.shape != x.shape:
        raise SamplerError(f"{where} returned prev_sample of shape {tuple(prev.shape)} for x of shape "
                           f"{tuple(x.shape)}: step must keep x's shape")
    return prev


def sample_batch(provider: EpsilonProvider, sampler: Sampler, noise: SampleNoise,
                 on_step: Callable[[int], None] | None = None,
                 model: CountedModel | None = None) -> torch.Tensor:
    """Run the reverse chain for one batch; returns x_0 in the model range (float)."""
    model = model or CountedModel(provider, sampler)
    x = noise.initial()
    batch = x.shape[0]
    state: dict[str, Any] = {}
    step_sums: list[torch.Tensor] = []
    for i in range(len(sampler.timesteps)):
        x = _step(sampler, model, x, i, state, noise)
        step_sums.append(x.sum())  # read only if the chain ends in NaN (cheaper than isfinite().all())
        if on_step is not None:
            on_step(batch)
    if not bool(torch.isfinite(x).all()):
        raise _blame_non_finite(provider, sampler, model, step_sums)
    return x


def _blame_non_finite(provider: EpsilonProvider, sampler: Sampler, model: CountedModel,
                      step_sums: list[torch.Tensor]) -> DenoisebenchError:
    """NaN or inf in the samples: the provider's when it turned a finite x_t into non-finite eps (the
    first such t), else the sampler's (the first step whose output was non-finite, from finite eps)."""
    def finite(total: torch.Tensor) -> bool:
        return math.isfinite(float(total))

    bad_t = next((t for t, x_sum, eps_sum in model.sums if finite(x_sum) and not finite(eps_sum)), None)
    if bad_t is not None:
        return ProviderError(f"provider {provider.name!r} returned non-finite eps (NaN or inf) at t = {bad_t}; "
                             "check its predict_eps there")
    i = next((k for k, total in enumerate(step_sums) if not finite(total)), len(step_sums) - 1)
    return SamplerError(f"sampler {sampler.name!r} produced non-finite values (NaN or inf) at step {i} "
                        f"(t = {sampler.timesteps[i]}) from finite eps; check its step (a division by a zero "
                        "sigma at the last step?)")


def generate(provider: EpsilonProvider, sampler: Sampler, num_samples: int, seed: int,
             batch_size: int, image_shape: tuple[int, ...], device: torch.device | str = "cpu",
             on_step: Callable[[int], None] | None = None, indices: range | None = None,
             counter: list[int] | None = None) -> np.ndarray:
    """Generate uint8 images for sample ``indices`` (default 0..num_samples-1) of ``image_shape``
    (C, H, W), in the record's layout: N x H x W for one channel, N x H x W x C otherwise.

    Sample i depends only on (seed, i), at any shape and batch size. ``counter``, when given, receives the network
    evaluations of one chain (the run's NFE, as measured).
    """
    indices = indices if indices is not None else range(num_samples)
    out: list[np.ndarray] = []
    with torch.inference_mode():
        for start in range(0, len(indices), batch_size):
            batch = indices[start:start + batch_size]
            noise = SampleNoise(seed, batch, image_shape, device)
            model = CountedModel(provider, sampler)
            out.append(to_uint8(sample_batch(provider, sampler, noise, on_step, model)))
            if counter is not None and not counter:
                counter.append(model.calls)
    if not out:
        return to_uint8(torch.zeros((0, *image_shape)))
    return np.concatenate(out, axis=0)
