"""Samplers: objects separate from providers that turn eps predictions into a reverse chain.

Timestep sub-sequence. For S steps the sampler visits tau_S = T, ..., tau_1 = 1 with
tau = round(linspace(T, 1, S)) (for S = 1 only T), then lands on t = 0, the clean image. Each
transition tau_i -> tau_{i-1} is one step of the respaced chain whose signal factor is
abar_{tau_i} / abar_{tau_{i-1}} (abar_0 = 1); with S = T it is exactly the seed's chain.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
import torch

from .errors import DenoisebenchError
from .schedule import NoiseSchedule

SAMPLERS = ("ddpm", "ddim")
VARIANCES = ("large", "small")


def timestep_sequence(T: int, steps: int) -> list[int]:  # noqa: N803
    """The descending timesteps a sampler with ``steps`` steps visits: T first, 1 last."""
    if not 1 <= steps <= T:
        raise DenoisebenchError(f"--steps must be between 1 and T = {T}, got {steps}")
    if steps == 1:
        return [T]
    return [int(v) for v in np.round(np.linspace(T, 1, steps))]


class Sampler(ABC):
    """A reverse process over a timestep sub-sequence; ``step`` maps x_t to x_{t_prev}."""

    name: ClassVar[str]

    def __init__(self, schedule: NoiseSchedule, steps: int, clip_x0: bool = False) -> None:
        self.schedule = schedule
        self.steps = steps
        self.clip_x0 = clip_x0
        self.timesteps = timestep_sequence(schedule.T, steps)
        self.prev_timesteps = self.timesteps[1:] + [0]
        ab = schedule.alpha_bars
        # per-step float64 scalars: abar at t and at t_prev
        self._ab = [(float(ab[t]), float(ab[p])) for t, p in zip(self.timesteps, self.prev_timesteps)]

    @property
    @abstractmethod
    def stochastic(self) -> bool:
        """Whether a step draws fresh noise."""

    def x0_and_eps(self, x_t: torch.Tensor, eps: torch.Tensor, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """x0_hat from eps at step ``i``; with clipping, x0_hat is clamped and eps made consistent."""
        ab_t, _ = self._ab[i]
        x0 = (x_t - (1 - ab_t) ** 0.5 * eps) / ab_t ** 0.5
        if self.clip_x0:
            x0 = x0.clamp(-1.0, 1.0)
            eps = (x_t - ab_t ** 0.5 * x0) / (1 - ab_t) ** 0.5
        return x0, eps

    @abstractmethod
    def step(self, x_t: torch.Tensor, eps: torch.Tensor, i: int, noise: torch.Tensor | None) -> torch.Tensor:
        """x at ``prev_timesteps[i]`` from x at ``timesteps[i]`` and the predicted noise."""

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "steps": self.steps, "clip_x0": self.clip_x0,
                "schedule": self.schedule.describe(), "timesteps": "round(linspace(T, 1, steps))"}


class DDPMSampler(Sampler):
    """Ancestral sampling (seed eq. 2): posterior mean plus sigma z, sigma^2 = beta or beta~."""

    name = "ddpm"

    def __init__(self, schedule: NoiseSchedule, steps: int, variance: str = "large", clip_x0: bool = False) -> None:
        if variance not in VARIANCES:
            raise DenoisebenchError(f"unknown variance {variance!r}: choose 'large' (beta) or 'small' (beta~)")
        super().__init__(schedule, steps, clip_x0)
        self.variance = variance
        self._coef = []
        for ab_t, ab_p in self._ab:
            beta = 1 - ab_t / ab_p
            c0 = ab_p ** 0.5 * beta / (1 - ab_t)
            ct = (1 - beta) ** 0.5 * (1 - ab_p) / (1 - ab_t)
            var = beta if variance == "large" else (1 - ab_p) * beta / (1 - ab_t)
            self._coef.append((c0, ct, var ** 0.5 if ab_p < 1 else 0.0))

    @property
    def stochastic(self) -> bool:
        return True

    def step(self, x_t: torch.Tensor, eps: torch.Tensor, i: int, noise: torch.Tensor | None) -> torch.Tensor:
        x0, _ = self.x0_and_eps(x_t, eps, i)
        c0, ct, sigma = self._coef[i]
        mean = c0 * x0 + ct * x_t
        if sigma == 0.0 or noise is None:
            return mean
        return mean + sigma * noise

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "variance": self.variance}


class DDIMSampler(Sampler):
    """DDIM (Song et al. 2021); eta = 0 is deterministic, eta = 1 on all T steps is DDPM with beta~."""

    name = "ddim"

    def __init__(self, schedule: NoiseSchedule, steps: int, eta: float = 0.0, clip_x0: bool = False) -> None:
        if not 0.0 <= eta <= 1.0:
            raise DenoisebenchError(f"--eta must lie in [0, 1], got {eta}")
        super().__init__(schedule, steps, clip_x0)
        self.eta = eta
        self._coef = []
        for ab_t, ab_p in self._ab:
            sigma = eta * ((1 - ab_p) / (1 - ab_t) * (1 - ab_t / ab_p)) ** 0.5
            self._coef.append((ab_p ** 0.5, max(1 - ab_p - sigma ** 2, 0.0) ** 0.5, sigma))

    @property
    def stochastic(self) -> bool:
        return self.eta > 0

    def step(self, x_t: torch.Tensor, eps: torch.Tensor, i: int, noise: torch.Tensor | None) -> torch.Tensor:
        x0, eps = self.x0_and_eps(x_t, eps, i)
        c0, ce, sigma = self._coef[i]
        out = c0 * x0 + ce * eps
        if sigma > 0.0 and noise is not None:
            out = out + sigma * noise
        return out

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "eta": self.eta}


def make_sampler(name: str, schedule: NoiseSchedule, steps: int, *, variance: str = "large",
                 eta: float = 0.0, clip_x0: bool = False) -> Sampler:
    """Build a sampler by name ('ddpm' or 'ddim')."""
    if name == "ddpm":
        return DDPMSampler(schedule, steps, variance=variance, clip_x0=clip_x0)
    if name == "ddim":
        return DDIMSampler(schedule, steps, eta=eta, clip_x0=clip_x0)
    raise DenoisebenchError(f"unknown sampler {name!r}: choose one of {', '.join(SAMPLERS)}")
