"""The sampling loop: drive any sampler with any provider, batch by batch."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from .datasets.base import to_uint8
from .errors import ProviderError
from .noise import SampleNoise
from .providers.base import EpsilonProvider
from .samplers import Sampler


def sample_batch(provider: EpsilonProvider, sampler: Sampler, noise: SampleNoise,
                 on_step: Callable[[int], None] | None = None) -> torch.Tensor:
    """Run the reverse chain for one batch; returns x_0 in the model range (float)."""
    x = noise.initial()
    batch = x.shape[0]
    for i, t in enumerate(sampler.timesteps):
        t_vec = torch.full((batch,), t, dtype=torch.long, device=x.device)
        eps = provider.predict_eps(x, t_vec, sampler.schedule)
        if not isinstance(eps, torch.Tensor) or eps.shape != x.shape:
            got = tuple(eps.shape) if isinstance(eps, torch.Tensor) else type(eps).__name__
            raise ProviderError(f"provider {provider.name!r} returned eps of shape {got} for x_t of "
                                f"shape {tuple(x.shape)} at t={t}: predict_eps must keep the shape")
        x = sampler.step(x, eps.to(x.dtype), i, noise.step(i) if sampler.stochastic else None)
        if on_step is not None:
            on_step(batch)
    if not bool(torch.isfinite(x).all()):
        raise ProviderError(f"provider {provider.name!r} produced non-finite values (NaN or inf); "
                            "check its predict_eps over all t")
    return x


def generate(provider: EpsilonProvider, sampler: Sampler, num_samples: int, seed: int,
             batch_size: int, image_shape: tuple[int, ...], device: torch.device | str = "cpu",
             on_step: Callable[[int], None] | None = None) -> np.ndarray:
    """Generate ``num_samples`` uint8 images (N x H x W); sample i depends only on (seed, i)."""
    out: list[np.ndarray] = []
    with torch.inference_mode():
        for start in range(0, num_samples, batch_size):
            indices = range(start, min(num_samples, start + batch_size))
            noise = SampleNoise(seed, indices, image_shape, device)
            out.append(to_uint8(sample_batch(provider, sampler, noise, on_step)))
    return np.concatenate(out, axis=0)
