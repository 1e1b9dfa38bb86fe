"""``euler``: Euler's method on the probability-flow ODE in sigma space (Karras et al. 2022, Alg. 1
without its correction).

    d_i = (x~_i - D(x~_i; sigma_i)) / sigma_i,     x~_{i+1} = x~_i + (sigma_{i+1} - sigma_i) d_i,

and x~ = D at sigma = 0. Since x~_i - sigma_i d_i = x0_hat, this is x_{t'} = sqrt(abar_t') x0_hat +
sqrt(1 - abar_t') eps_hat: DDIM with eta = 0 (Song et al. 2021, eq. 13) on the same timesteps,
up to rounding (tested). First order: the global error halves with the step.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from ..noise import SampleNoise
from .base import EpsModel
from .sigma_space import SigmaSpaceSampler


class EulerSampler(SigmaSpaceSampler):
    """First-order ODE solver; equals DDIM (eta = 0) on the same timesteps."""

    name: ClassVar[str] = "euler"
    description: ClassVar[str] = "Euler on the probability-flow ODE in sigma (= DDIM eta = 0; Karras et al. 2022)"

    def advance(self, model: EpsModel, x_t: torch.Tensor, x_tilde: torch.Tensor, i: int,
                state: dict[str, Any], noise: SampleNoise | None) -> tuple[torch.Tensor, torch.Tensor]:
        denoised = self.denoise(model, x_tilde, self.timesteps[i], x_t)
        sigma, sigma_next = self.sigmas[i], self.sigmas[i + 1]
        if sigma_next == 0.0:
            return denoised, denoised
        slope = (x_tilde - denoised) / sigma
        return x_tilde + slope * (sigma_next - sigma), denoised
