"""Noise schedules: beta_t for t = 1..T, with the derived alpha and alpha-bar tables.

Tables are indexed by t directly: index 0 is the clean image (alpha_bar_0 = 1, beta_0 = 0), so
``alpha_bar[t]`` is the seed's abar_t for t in 1..T.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

SCHEDULES = ("linear", "cosine")


@dataclass(frozen=True)
class NoiseSchedule:
    """A discrete DDPM schedule with T steps. All tables are float64 tensors of length T + 1."""

    name: str
    betas: torch.Tensor
    alphas: torch.Tensor = field(init=False)
    alpha_bars: torch.Tensor = field(init=False)

    def __post_init__(self) -> None:
        betas = self.betas.to(torch.float64)
        if betas.ndim != 1 or betas[0] != 0 or not bool(((betas[1:] > 0) & (betas[1:] < 1)).all()):
            raise ValueError("betas must be a 1-D table with betas[0] = 0 and 0 < beta_t < 1")
        object.__setattr__(self, "betas", betas)
        object.__setattr__(self, "alphas", 1.0 - betas)
        object.__setattr__(self, "alpha_bars", torch.cumprod(1.0 - betas, dim=0))

    @property
    def T(self) -> int:  # noqa: N802 - the paper's symbol
        return self.betas.numel() - 1

    def posterior_variance(self) -> torch.Tensor:
        """beta~_t = (1 - abar_{t-1}) beta_t / (1 - abar_t) for t = 1..T (index 0 is 0)."""
        out = torch.zeros_like(self.betas)
        ab = self.alpha_bars
        out[1:] = (1 - ab[:-1]) * self.betas[1:] / (1 - ab[1:])
        return out

    def sigma(self, t: torch.Tensor) -> torch.Tensor:
        """Noise-to-signal ratio sqrt((1 - abar_t) / abar_t) of x_t / sqrt(abar_t), [-1, 1] units."""
        ab = self.alpha_bars[t]
        return torch.sqrt((1 - ab) / ab)

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "T": self.T}


def linear_schedule(T: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> NoiseSchedule:  # noqa: N803
    """The seed's (and Ho et al.'s) linear schedule."""
    betas = torch.cat([torch.zeros(1, dtype=torch.float64),
                       torch.linspace(beta_start, beta_end, T, dtype=torch.float64)])
    return NoiseSchedule("linear", betas)


def cosine_schedule(T: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> NoiseSchedule:  # noqa: N803
    """Nichol & Dhariwal's cosine schedule: abar_t = f(t) / f(0), f(t) = cos^2(((t/T + s)/(1 + s)) pi/2)."""
    steps = torch.arange(T + 1, dtype=torch.float64)
    f = torch.cos(((steps / T + s) / (1 + s)) * math.pi / 2) ** 2
    abar = f / f[0]
    betas = torch.zeros(T + 1, dtype=torch.float64)
    betas[1:] = torch.clamp(1 - abar[1:] / abar[:-1], max=max_beta)
    return NoiseSchedule("cosine", betas)


def make_schedule(name: str = "linear", T: int = 1000) -> NoiseSchedule:  # noqa: N803
    """Build a schedule by name ('linear' or 'cosine')."""
    if name == "linear":
        return linear_schedule(T)
    if name == "cosine":
        return cosine_schedule(T)
    from ..errors import DenoisebenchError

    raise DenoisebenchError(f"unknown schedule {name!r}: choose one of {', '.join(SCHEDULES)}")
