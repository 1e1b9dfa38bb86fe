"""The sampling loop: drive any sampler with any provider, batch by batch.

The loop owns what every sampler shares: the initial noise, the per-batch sampler state, the
provider call (checked for shape, counted as one network evaluation), progress, and the final
finiteness check. Sample i depends only on (seed, i), whatever the batch size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ..datasets.base import to_uint8
from ..errors import ProviderError
from ..providers.base import EpsilonProvider
from .noise import SampleNoise
from .samplers import Sampler


class CountedModel:
    """The provider as the sampler sees it: ``model(x, t)`` -> eps_hat, every call checked and counted."""

    def __init__(self, provider: EpsilonProvider, sampler: Sampler) -> None:
        self.provider = provider
        self.schedule = sampler.schedule
        self.calls = 0

    def __call__(self, x: torch.Tensor, t: int) -> torch.Tensor:
        t_vec = torch.full((x.shape[0],), int(t), dtype=torch.long, device=x.device)
        eps = self.provider.predict_eps(x, t_vec, self.schedule)
        if not isinstance(eps, torch.Tensor) or eps.shape != x.shape:
            got = tuple(eps.shape) if isinstance(eps, torch.Tensor) else type(eps).__name__
            raise ProviderError(f"provider {self.provider.name!r} returned eps of shape {got} for x_t of "
                                f"shape {tuple(x.shape)} at t={t}: predict_eps must keep the shape")
        self.calls += 1
        return eps.to(x.dtype)


def sample_batch(provider: EpsilonProvider, sampler: Sampler, noise: SampleNoise,
                 on_step: Callable[[int], None] | None = None,
                 model: CountedModel | None = None) -> torch.Tensor:
    """Run the reverse chain for one batch; returns x_0 in the model range (float)."""
    model = model or CountedModel(provider, sampler)
    x = noise.initial()
    batch = x.shape[0]
    state: dict[str, Any] = {}
    for i in range(len(sampler.timesteps)):
        x = sampler.step(model, x, i, state, noise).prev_sample
        if on_step is not None:
            on_step(batch)
    if not bool(torch.isfinite(x).all()):
        raise ProviderError(f"provider {provider.name!r} produced non-finite values (NaN or inf); "
                            "check its predict_eps over all t")
    return x


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
