"""Providers whose answer is known exactly: data x_0 ~ N(mu, s2) per pixel (in the model's [-1, 1] units).

With such data E[eps | x_t] = sqrt(1 - abar)(x_t - sqrt(abar) mu) / (abar s2 + 1 - abar), and in sigma
space (x~ = x_t / sqrt(abar) = x_0 + sigma n) the probability-flow ODE is linear per pixel:
x~(sigma) - mu = (x~(sigma') - mu) sqrt(s2 + sigma^2) / sqrt(s2 + sigma'^2). The sampler kit drives
samplers with both kinds of provider: an epsilon provider and a restoration provider (the exact
posterior mean in [0, 1] units, through the core's adapter).
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch

from ..diffusion.schedule import NoiseSchedule
from ..interfaces.provider import EpsilonProvider, ProviderContext
from ..interfaces.restoration import RestorationProvider

MU, S2 = 0.3, 0.25


class GaussianEps(EpsilonProvider):
    """The exact eps of data N(mu, s2) (an epsilon provider)."""

    name: ClassVar[str] = "kit-gaussian-eps"
    description: ClassVar[str] = "exact posterior-mean noise of Gaussian data (denoisebench.testing)"
    accepts_checkpoint: ClassVar[bool | None] = False

    def __init__(self, context: ProviderContext, mu: float = MU, s2: float = S2) -> None:
        super().__init__(context)
        self.mu, self.s2 = mu, s2

    def predict_eps(self, x_t: torch.Tensor, t: torch.Tensor, schedule: NoiseSchedule) -> torch.Tensor:
        ab = schedule.alpha_bars[t.cpu()].to(x_t.dtype).to(x_t.device).view(-1, 1, 1, 1)
        return (1 - ab).sqrt() * (x_t - ab.sqrt() * self.mu) / (ab * self.s2 + 1 - ab)


class GaussianDenoiser(RestorationProvider):
    """The exact E[u | y] of u = (x_0 + 1) / 2 ~ N((mu + 1) / 2, s2 / 4) seen in noise of std s (a
    restoration provider, non-blind)."""

    name: ClassVar[str] = "kit-gaussian-denoiser"
    description: ClassVar[str] = "exact posterior mean of Gaussian images in [0, 1] units (denoisebench.testing)"
    blind: ClassVar[bool] = False
    accepts_checkpoint: ClassVar[bool | None] = False

    def __init__(self, context: ProviderContext, mu: float = MU, s2: float = S2) -> None:
        super().__init__(context)
        self.m, self.v = (mu + 1) / 2, s2 / 4

    def denoise(self, y: torch.Tensor, noise_std: torch.Tensor | None) -> torch.Tensor:
        assert noise_std is not None
        s2 = noise_std.to(y.dtype).view(-1, 1, 1, 1) ** 2
        return self.m + self.v / (self.v + s2) * (y - self.m)


def exact_ode(x_from: torch.Tensor, sigma_from: float, sigma_to: float, mu: float = MU, s2: float = S2
              ) -> torch.Tensor:
    """x~ at ``sigma_to`` on the probability-flow ODE through ``x_from`` (x~) at ``sigma_from``."""
    return mu + (x_from - mu) * math.sqrt((s2 + sigma_to ** 2) / (s2 + sigma_from ** 2))


def geometric_schedule(T: int = 1000, sigma_min: float = 0.01, sigma_max: float = 80.0) -> NoiseSchedule:  # noqa: N803
    """A schedule whose sigma_t is geometric in t, so 'linspace' steps are uniform in log sigma."""
    t = torch.arange(1, T + 1, dtype=torch.float64)
    sigma = sigma_min * (sigma_max / sigma_min) ** ((t - 1) / (T - 1))
    ab = torch.cat([torch.ones(1, dtype=torch.float64), 1 / (1 + sigma ** 2)])
    betas = torch.zeros(T + 1, dtype=torch.float64)
    betas[1:] = 1 - ab[1:] / ab[:-1]
    return NoiseSchedule("geometric", betas)
