"""``heun``: Heun's second-order method in sigma space, with optional churn (Karras et al. 2022,
Algorithms 1 and 2).

Step i, from sigma_i to sigma_{i+1}:

1. churn (Alg. 2): gamma_i = min(s_churn / S, sqrt(2) - 1) if s_tmin <= sigma_i <= s_tmax, else 0;
   sigma^ = sigma_i (1 + gamma_i); x~^ = x~_i + sqrt(sigma^2 - sigma_i^2) s_noise z, z = ``noise.step(i)``.
   Providers only accept integer t, so sigma^ is rounded to the schedule's grid: t^ is the t in
   [t_i, T] whose log sigma_t is nearest to log sigma^, and sigma^ = sigma_{t^} exactly, so the
   added variance matches the level the network is told. When t^ = t_i there is no churn.
2. Euler: d = (x~^ - D(x~^; sigma^)) / sigma^, x~' = x~^ + (sigma_{i+1} - sigma^) d.
3. Correction, except on the last step to sigma = 0 (where d' is undefined):
   d' = (x~' - D(x~'; sigma_{i+1})) / sigma_{i+1}, x~_{i+1} = x~^ + (sigma_{i+1} - sigma^) (d + d') / 2.

S steps cost 2 S - 1 network evaluations. Without churn this is a deterministic ODE solver of
order 2; with churn it samples the same marginals (Alg. 2's Langevin-like noise injection).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import torch

from ..noise import SampleNoise
from ..schedule import NoiseSchedule
from .base import EpsModel, Sampler
from .sigma_space import SigmaSpaceSampler
from .spacing import log_sigma_table, nearest_timesteps


class HeunSampler(SigmaSpaceSampler):
    """EDM's Heun sampler: 2nd-order ODE steps, optional churn on the schedule's grid."""

    name: ClassVar[str] = "heun"
    description: ClassVar[str] = "Heun 2nd order in sigma, optional churn (Karras et al. 2022, Alg. 1/2); NFE = 2S - 1"
    options: ClassVar[dict[str, str]] = {
        **Sampler.options,
        "s_churn": "EDM's S_churn >= 0: noise re-injected per step is min(S_churn / S, sqrt 2 - 1) (default 0)",
        "s_tmin": "churn only where sigma >= s_tmin (default 0)",
        "s_tmax": "churn only where sigma <= s_tmax (default inf)",
        "s_noise": "scale of the re-injected noise (default 1)",
    }
    evals_per_step: ClassVar[int] = 2

    def __init__(self, schedule: NoiseSchedule, steps: int, options: Mapping[str, str] | None = None,
                 **values: Any) -> None:
        super().__init__(schedule, steps, options, **values)
        self.s_churn = self.option_float("s_churn", 0.0, 0.0)
        self.s_tmin = self.option_float("s_tmin", 0.0, 0.0)
        self.s_tmax = self.option_float("s_tmax", math.inf, 0.0)
        self.s_noise = self.option_float("s_noise", 1.0, 0.0)
        self.churn_timesteps = self._churn_timesteps()

    def _churn_timesteps(self) -> list[int]:
        """t^ for every step: the grid point nearest to sigma_i (1 + gamma_i), never below t_i."""
        gamma = min(self.s_churn / self.steps, 2 ** 0.5 - 1)
        sigmas = np.array(self.sigmas[:-1])
        churned = (gamma > 0) & (self.s_tmin <= sigmas) & (sigmas <= self.s_tmax)
        if not churned.any():
            return list(self.timesteps)
        raised = nearest_timesteps(self.schedule, np.log(sigmas * (1 + gamma)), log_sigma_table(self.schedule))
        return [max(t, r) if c else t for t, r, c in zip(self.timesteps, raised, churned)]

    @property
    def stochastic(self) -> bool:
        return self.s_noise > 0 and self.churn_timesteps != self.timesteps

    @property
    def nfe(self) -> int:
        return 2 * self.steps - 1

    def advance(self, model: EpsModel, x_t: torch.Tensor, x_tilde: torch.Tensor, i: int,
                state: dict[str, Any], noise: SampleNoise | None) -> tuple[torch.Tensor, torch.Tensor]:
        t, t_hat = self.timesteps[i], self.churn_timesteps[i]
        sigma, sigma_next = self.sigmas[i], self.sigmas[i + 1]
        sigma_hat, x_in = sigma, x_t
        if t_hat != t and noise is not None and self.s_noise > 0:
            sigma_hat, x_in = self.sigma_of(t_hat), None
            x_tilde = x_tilde + noise.step(i) * ((sigma_hat ** 2 - sigma ** 2) ** 0.5 * self.s_noise)
        else:
            t_hat = t
        denoised = self.denoise(model, x_tilde, t_hat, x_in)
        if sigma_next == 0.0:
            return denoised, denoised
        slope = (x_tilde - denoised) / sigma_hat
        x_euler = x_tilde + slope * (sigma_next - sigma_hat)
        slope_next = (x_euler - self.denoise(model, x_euler, self.timesteps[i + 1])) / sigma_next
        return x_tilde + (slope + slope_next) * (0.5 * (sigma_next - sigma_hat)), denoised

    def option_defaults(self) -> dict[str, str]:
        return {**super().option_defaults(), "s_churn": "0", "s_tmin": "0", "s_tmax": "inf", "s_noise": "1"}

    def describe(self) -> dict[str, object]:
        # s_tmax = inf is written as null (strict JSON has no infinity)
        return {**super().describe(), "s_churn": self.s_churn, "s_tmin": self.s_tmin,
                "s_tmax": self.s_tmax if math.isfinite(self.s_tmax) else None, "s_noise": self.s_noise,
                "churn_timesteps": list(self.churn_timesteps)}
