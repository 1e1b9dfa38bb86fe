"""``dpmpp-2m-sde``: the stochastic DPM-Solver++(2M) (Lu et al. 2022, "DPM-Solver++", its SDE variant in
data prediction; k-diffusion's ``sample_dpmpp_2m_sde``, diffusers' ``sde-dpmsolver++``), in sigma space.

The reverse SDE with noise scale eta (eta = 1: the reverse-time SDE; eta = 0: the ODE) solved by
an exponential integrator in lambda = -log sigma, h_i = lambda_{i+1} - lambda_i:

    x~_{i+1} = (sigma_{i+1} / sigma_i) e^{-eta h} x~_i + (1 - e^{-(1 + eta) h}) D_i
               + c_i (D_i - D_{i-1}) / r_i + sigma_{i+1} sqrt(1 - e^{-2 eta h}) z_i,     r_i = h_{i-1} / h_i,

with the second-order correction c_i = (1 - e^{-(1 + eta) h}) / 2 for ``solver=midpoint`` (the
default, as in k-diffusion and diffusers) or c_i = 1 - (1 - e^{-(1 + eta) h}) / ((1 + eta) h) for
``solver=heun``; none on the first step. z_i = ``noise.step(i)``; the last step, to sigma = 0,
is x~ = D_S with no noise. At eta = 0 with the midpoint correction this is ``dpmpp-2m`` (tested).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import torch

from ..noise import SampleNoise
from ..schedule import NoiseSchedule
from .base import EpsModel, Sampler
from .sigma_space import SigmaSpaceSampler, combine

SOLVERS = ("midpoint", "heun")


class DPMPP2MSDESampler(SigmaSpaceSampler):
    """SDE-DPM-Solver++(2M): exponential integrator of the reverse SDE, one noise draw per step."""

    name: ClassVar[str] = "dpmpp-2m-sde"
    description: ClassVar[str] = "stochastic DPM-Solver++(2M) (Lu et al. 2022): eta = 1 reverse SDE, 0 the ODE"
    #: Chosen by FID-proxy on the shipped U-Net (results/reference/nfe/README.md): linspace led at 10 and 20 NFE.
    default_spacing: ClassVar[str] = "linspace"
    options: ClassVar[dict[str, str]] = {
        **Sampler.options,
        "eta": "noise scale in [0, 1] (default 1: the reverse SDE; 0: deterministic)",
        "solver": f"second-order correction: {' or '.join(SOLVERS)} (default midpoint)",
    }

    def __init__(self, schedule: NoiseSchedule, steps: int, options: Mapping[str, str] | None = None,
                 **values: Any) -> None:
        super().__init__(schedule, steps, options, **values)
        self.eta = self.option_float("eta", 1.0, 0.0, 1.0)
        self.solver = self.option_choice("solver", "midpoint", SOLVERS)
        #: per step: (coefficient of x~_i, of D_i, of D_{i-1}, of z_i)
        self.coefficients = [self._coefficients(i) for i in range(self.steps)]

    def _coefficients(self, i: int) -> tuple[float, float, float, float]:
        if self.sigmas[i + 1] == 0.0:
            return 0.0, 1.0, 0.0, 0.0
        h = self.step_size(i)
        decay = h * (1 + self.eta)
        gain = -math.expm1(-decay)
        c_x = self.sigmas[i + 1] / self.sigmas[i] * math.exp(-self.eta * h)
        c_z = self.sigmas[i + 1] * (-math.expm1(-2 * self.eta * h)) ** 0.5
        if i == 0:
            return c_x, gain, 0.0, c_z
        inv_r = h / self.step_size(i - 1)
        corr = 0.5 * gain if self.solver == "midpoint" else 1 - gain / decay
        return c_x, gain + corr * inv_r, -corr * inv_r, c_z

    @property
    def stochastic(self) -> bool:
        return self.eta > 0

    def advance(self, model: EpsModel, x_t: torch.Tensor, x_tilde: torch.Tensor, i: int,
                state: dict[str, Any], noise: SampleNoise | None) -> tuple[torch.Tensor, torch.Tensor]:
        denoised = self.denoise(model, x_tilde, self.timesteps[i], x_t)
        previous = state.get("denoised")
        state["denoised"] = denoised
        c_x, c_d, c_prev, c_z = self.coefficients[i]
        if self.sigmas[i + 1] == 0.0:
            return denoised, denoised
        if previous is None:  # no D_{i-1} (a chain started mid-way): first order
            c_d, c_prev, previous = -math.expm1(-self.step_size(i) * (1 + self.eta)), 0.0, denoised
        terms = [(c_x, x_tilde), (c_d, denoised), (c_prev, previous)]
        if c_z > 0.0 and noise is not None:
            terms.append((c_z, noise.step(i)))
        return combine(terms), denoised

    def option_defaults(self) -> dict[str, str]:
        return {**super().option_defaults(), "eta": "1", "solver": "midpoint"}

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "eta": self.eta, "solver": self.solver}
