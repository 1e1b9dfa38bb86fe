"""``ddpm``: ancestral sampling (Ho et al. 2020; the seed's eq. 2) on any timestep sub-sequence.

x_{t'} = c0 x0_hat + ct x_t + sigma z with the posterior coefficients of the respaced chain
(signal factor abar_t / abar_t'): c0 = sqrt(abar_t') beta / (1 - abar_t),
ct = sqrt(1 - beta) (1 - abar_t') / (1 - abar_t), beta = 1 - abar_t / abar_t', and
sigma^2 = beta ("large", the seed's) or beta~ = (1 - abar_t') beta / (1 - abar_t) ("small");
no noise at the last step. With all T steps this is exactly the seed's chain.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch

from ..noise import SampleNoise
from ..schedule import NoiseSchedule
from .base import EpsModel, Sampler, StepOutput

VARIANCES = ("large", "small")


class DDPMSampler(Sampler):
    """Ancestral sampling: posterior mean plus sigma z, sigma^2 = beta or beta~."""

    name: ClassVar[str] = "ddpm"
    description: ClassVar[str] = "ancestral DDPM (Ho et al. 2020): sigma^2 = beta (large) or beta~ (small)"
    options: ClassVar[dict[str, str]] = {
        **Sampler.options,
        "variance": "sigma_t^2: 'large' = beta_t (the seed's, default) or 'small' = beta~_t",
    }

    def __init__(self, schedule: NoiseSchedule, steps: int, options: Mapping[str, str] | None = None,
                 **values: Any) -> None:
        super().__init__(schedule, steps, options, **values)
        self.variance = self.option_choice("variance", "large", VARIANCES)
        self._coef = []
        for ab_t, ab_p in self._ab:
            beta = 1 - ab_t / ab_p
            c0 = ab_p ** 0.5 * beta / (1 - ab_t)
            ct = (1 - beta) ** 0.5 * (1 - ab_p) / (1 - ab_t)
            var = beta if self.variance == "large" else (1 - ab_p) * beta / (1 - ab_t)
            self._coef.append((c0, ct, var ** 0.5 if ab_p < 1 else 0.0))

    @property
    def stochastic(self) -> bool:
        return True

    def update(self, x_t: torch.Tensor, eps: torch.Tensor, i: int, z: torch.Tensor | None) -> torch.Tensor:
        """One ancestral step from x_t and eps_hat; ``z`` is the step's standard normal draw."""
        x0, _ = self.x0_and_eps(x_t, eps, i)
        c0, ct, sigma = self._coef[i]
        mean = c0 * x0 + ct * x_t
        if sigma == 0.0 or z is None:
            return mean
        return mean + sigma * z

    def step(self, model: EpsModel, x: torch.Tensor, i: int, state: dict[str, Any],
             noise: SampleNoise | None) -> StepOutput:
        eps = model(x, self.timesteps[i])
        z = noise.step(i) if noise is not None else None
        return StepOutput(self.update(x, eps, i, z), self.x0_and_eps(x, eps, i)[0])

    def option_defaults(self) -> dict[str, str]:
        return {**super().option_defaults(), "variance": "large"}

    def label(self) -> str:
        base = super().label().split(" ")
        base = [p for p in base if not p.startswith("variance=")]
        return " ".join([base[0], self.variance, *base[1:]])

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "variance": self.variance}
