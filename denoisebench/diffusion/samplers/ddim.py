"""``ddim``: DDIM (Song et al. 2021, eq. 12) on any timestep sub-sequence.

x_{t'} = sqrt(abar_t') x0_hat + sqrt(1 - abar_t' - sigma^2) eps_hat + sigma z with
sigma = eta sqrt((1 - abar_t') / (1 - abar_t) (1 - abar_t / abar_t')). eta = 0 is deterministic
(Euler's method on the probability-flow ODE in sigma space); eta = 1 on all T steps is ancestral
sampling with beta~ (tested).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch

from ..noise import SampleNoise
from ..schedule import NoiseSchedule
from .base import EpsModel, Sampler, StepOutput


class DDIMSampler(Sampler):
    """DDIM; eta = 0 is deterministic, eta = 1 on all T steps is DDPM with beta~."""

    name: ClassVar[str] = "ddim"
    description: ClassVar[str] = "DDIM (Song et al. 2021): deterministic at eta = 0, stochastic up to eta = 1"
    options: ClassVar[dict[str, str]] = {
        **Sampler.options,
        "eta": "stochasticity in [0, 1] (default 0: deterministic)",
    }

    def __init__(self, schedule: NoiseSchedule, steps: int, options: Mapping[str, str] | None = None,
                 **values: Any) -> None:
        super().__init__(schedule, steps, options, **values)
        self.eta = self.option_float("eta", 0.0, 0.0, 1.0)
        self._coef = []
        for ab_t, ab_p in self._ab:
            sigma = self.eta * ((1 - ab_p) / (1 - ab_t) * (1 - ab_t / ab_p)) ** 0.5
            self._coef.append((ab_p ** 0.5, max(1 - ab_p - sigma ** 2, 0.0) ** 0.5, sigma))

    @property
    def stochastic(self) -> bool:
        return self.eta > 0

    def update(self, x_t: torch.Tensor, eps: torch.Tensor, i: int, z: torch.Tensor | None) -> torch.Tensor:
        """One DDIM step from x_t and eps_hat; ``z`` is the step's standard normal draw (eta > 0)."""
        x0, eps = self.x0_and_eps(x_t, eps, i)
        c0, ce, sigma = self._coef[i]
        out = c0 * x0 + ce * eps
        if sigma > 0.0 and z is not None:
            out = out + sigma * z
        return out

    def step(self, model: EpsModel, x: torch.Tensor, i: int, state: dict[str, Any],
             noise: SampleNoise | None) -> StepOutput:
        eps = model(x, self.timesteps[i])
        z = noise.step(i) if (noise is not None and self.stochastic) else None
        return StepOutput(self.update(x, eps, i, z), self.x0_and_eps(x, eps, i)[0])

    def option_defaults(self) -> dict[str, str]:
        return {**super().option_defaults(), "eta": "0"}

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "eta": self.eta}
