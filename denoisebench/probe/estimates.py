"""A provider's x0 estimate from noisy inputs: x0 = (x_t - sqrt(1 - abar) eps) / sqrt(abar)."""

from __future__ import annotations

import torch

from ..diffusion.forward import q_sample, x0_from_eps
from ..diffusion.schedule import NoiseSchedule
from ..errors import ProviderError
from ..interfaces.provider import EpsilonProvider


def noisy(x0: torch.Tensor, noise: torch.Tensor, t: int, schedule: NoiseSchedule) -> torch.Tensor:
    """x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise."""
    return q_sample(x0, torch.full((x0.shape[0],), t, dtype=torch.long), schedule, noise.to(x0))


def x0_estimate(provider: EpsilonProvider, x_t: torch.Tensor, t: int, schedule: NoiseSchedule) -> torch.Tensor:
    """The provider's x0 estimate (B x C x H x W, [-1, 1] units) at step t, with autograd as the caller sets it."""
    t_vec = torch.full((x_t.shape[0],), t, dtype=torch.long, device=x_t.device)
    eps = provider.predict_eps(x_t, t_vec, schedule)
    if not isinstance(eps, torch.Tensor) or eps.shape != x_t.shape:
        got = tuple(eps.shape) if isinstance(eps, torch.Tensor) else type(eps).__name__
        raise ProviderError(f"provider {provider.name!r} returned eps of shape {got} for x_t of shape "
                            f"{tuple(x_t.shape)} at t={t}: predict_eps must keep the shape")
    return x0_from_eps(x_t, eps.to(x_t.dtype), t_vec, schedule)


def batched_x0(provider: EpsilonProvider, x_t: torch.Tensor, t: int, schedule: NoiseSchedule,
               batch_size: int, device: torch.device) -> torch.Tensor:
    """x0 estimates of many inputs in batches, without autograd; returned on the CPU."""
    out = []
    with torch.no_grad():
        for start in range(0, x_t.shape[0], batch_size):
            x = x_t[start:start + batch_size].to(device)
            out.append(x0_estimate(provider, x, t, schedule).float().cpu())
    x0 = torch.cat(out) if out else x_t.new_zeros((0, *x_t.shape[1:]))
    if not bool(torch.isfinite(x0).all()):
        raise ProviderError(f"provider {provider.name!r} produced non-finite x0 estimates at t={t}")
    return x0
