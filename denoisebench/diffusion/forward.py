"""The forward (noising) process and its Gaussian posterior."""

from __future__ import annotations

import torch

from .schedule import NoiseSchedule


def _col(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Reshape per-sample scalars to broadcast over an image batch, in the batch's dtype."""
    return values.to(device=like.device, dtype=like.dtype).reshape(-1, *([1] * (like.ndim - 1)))


def q_step(x_prev: torch.Tensor, t: torch.Tensor, schedule: NoiseSchedule,
           noise: torch.Tensor | None = None) -> torch.Tensor:
    """One forward step (seed eq. 1): x_t = sqrt(alpha_t) x_{t-1} + sqrt(1 - alpha_t) eps."""
    noise = torch.randn_like(x_prev) if noise is None else noise
    a = _col(schedule.alphas[t.cpu()], x_prev)
    return a.sqrt() * x_prev + (1 - a).sqrt() * noise


def q_sample(x0: torch.Tensor, t: torch.Tensor, schedule: NoiseSchedule,
             noise: torch.Tensor | None = None) -> torch.Tensor:
    """Closed form q(x_t | x_0): x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps."""
    noise = torch.randn_like(x0) if noise is None else noise
    ab = _col(schedule.alpha_bars[t.cpu()], x0)
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise


def posterior(x0: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor, schedule: NoiseSchedule,
              t_prev: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance of q(x_{t_prev} | x_t, x_0); t_prev defaults to t - 1.

    With t_prev < t - 1 this is the posterior of the respaced chain whose one-step signal factor
    is abar_t / abar_{t_prev}, which is what samplers on a timestep sub-sequence use.
    """
    t_prev = t - 1 if t_prev is None else t_prev
    ab_t = schedule.alpha_bars[t.cpu()]
    ab_p = schedule.alpha_bars[t_prev.cpu()]
    beta = 1 - ab_t / ab_p
    c0 = ab_p.sqrt() * beta / (1 - ab_t)
    ct = (ab_t / ab_p).sqrt() * (1 - ab_p) / (1 - ab_t)
    var = (1 - ab_p) * beta / (1 - ab_t)
    mean = _col(c0, x0) * x0 + _col(ct, x_t) * x_t
    return mean, _col(var, x_t).expand_as(x_t)


def x0_from_eps(x_t: torch.Tensor, eps: torch.Tensor, t: torch.Tensor, schedule: NoiseSchedule) -> torch.Tensor:
    """x0_hat = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)."""
    ab = _col(schedule.alpha_bars[t.cpu()], x_t)
    return (x_t - (1 - ab).sqrt() * eps) / ab.sqrt()


def eps_from_x0(x_t: torch.Tensor, x0: torch.Tensor, t: torch.Tensor, schedule: NoiseSchedule) -> torch.Tensor:
    """eps_hat = (x_t - sqrt(abar_t) x0_hat) / sqrt(1 - abar_t)."""
    ab = _col(schedule.alpha_bars[t.cpu()], x_t)
    return (x_t - ab.sqrt() * x0) / (1 - ab).sqrt()
