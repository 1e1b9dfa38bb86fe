"""``dpmpp-2m``: DPM-Solver++(2M), the multistep second-order solver in data prediction
(Lu et al. 2022, "DPM-Solver++", Algorithm 2), written in sigma space.

With lambda = -log sigma and h_i = lambda_{i+1} - lambda_i, the exact solution of
dx~/dlambda = D - x~ is x~_{i+1} = e^{-h_i} x~_i + int e^{lambda - lambda_{i+1}} D dlambda; the
solver replaces D by its linear extrapolation through the last two evaluations:

    x~_{i+1} = (sigma_{i+1} / sigma_i) x~_i + (1 - e^{-h_i}) [(1 + 1 / (2 r_i)) D_i - D_{i-1} / (2 r_i)],
    r_i = h_{i-1} / h_i.

The first step is first order (D_{-1} unknown: DPM-Solver++(1) = DDIM), and so is the last,
to sigma = 0, where h = inf and x~ = D_S, as in diffusers with ``final_sigmas_type="zero"``.
One network evaluation per step; ``state`` keeps D_{i-1}.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import torch

from ..noise import SampleNoise
from ..schedule import NoiseSchedule
from .base import EpsModel
from .sigma_space import SigmaSpaceSampler, combine


class DPMPP2MSampler(SigmaSpaceSampler):
    """DPM-Solver++(2M): exponential integrator with a linear multistep data prediction."""

    name: ClassVar[str] = "dpmpp-2m"
    description: ClassVar[str] = "DPM-Solver++(2M), data prediction, multistep in log sigma (Lu et al. 2022)"
    #: Chosen by FID-proxy on the shipped U-Net (results/reference/nfe/README.md): linspace led at 10 and 20 NFE.
    default_spacing: ClassVar[str] = "linspace"

    def __init__(self, schedule: NoiseSchedule, steps: int, options: Mapping[str, str] | None = None,
                 **values: Any) -> None:
        super().__init__(schedule, steps, options, **values)
        #: per step: (coefficient of x~_i, of D_i, of D_{i-1})
        self.coefficients = [self._coefficients(i) for i in range(self.steps)]

    def _coefficients(self, i: int) -> tuple[float, float, float]:
        if self.sigmas[i + 1] == 0.0:
            return 0.0, 1.0, 0.0
        h = self.step_size(i)
        ratio, gain = self.sigmas[i + 1] / self.sigmas[i], -math.expm1(-h)
        if i == 0:
            return ratio, gain, 0.0
        half_inv_r = h / (2 * self.step_size(i - 1))
        return ratio, gain * (1 + half_inv_r), -gain * half_inv_r

    def advance(self, model: EpsModel, x_t: torch.Tensor, x_tilde: torch.Tensor, i: int,
                state: dict[str, Any], noise: SampleNoise | None) -> tuple[torch.Tensor, torch.Tensor]:
        denoised = self.denoise(model, x_tilde, self.timesteps[i], x_t)
        previous = state.get("denoised")
        state["denoised"] = denoised
        c_x, c_d, c_prev = self.coefficients[i]
        if self.sigmas[i + 1] == 0.0:
            return denoised, denoised
        if previous is None:  # no D_{i-1} (a chain started mid-way): first order
            return combine([(c_x, x_tilde), (-math.expm1(-self.step_size(i)), denoised)]), denoised
        return combine([(c_x, x_tilde), (c_d, denoised), (c_prev, previous)]), denoised
