"""``unipc``: UniPC-2 with B(h) = e^{-h} - 1 ("bh2"), data prediction (Zhao et al. 2023, "UniPC",
section 3: the corrector UniC-p and predictor UniP-p in their multistep data-prediction form),
written in sigma space.

Write lambda = -log sigma, h = lambda_{i+1} - lambda_i, m_i = D(x~_i; sigma_i), hphi_1 = B = e^{-h} - 1
and b_k = k! g_k / B with g_1 = hphi_1 / (-h) - 1, g_{k+1} = g_k / (-h) - 1 / (k + 1)! (the
paper's phi-function weights, here for B(h) = bh2).

- UniP-2 (predictor, from x~_i, first step order 1):
  x~_{i+1} = (sigma_{i+1} / sigma_i) x~_i - hphi_1 m_i - B rho (m_{i-1} - m_i) / r,
  r = (lambda_{i-1} - lambda_i) / h, rho = 1/2 (the paper's choice for order 2). With bh2 this is
  DPM-Solver++(2M) exactly.
- UniC-p (corrector, no extra evaluation): once m_{i+1} is evaluated at the predicted x~_{i+1},
  the same update is redone from x~_i with m_{i+1} as one more node:
  x~c_{i+1} = (sigma_{i+1} / sigma_i) x~_i - hphi_1 m_i - B [sum_k rho_k (m_{i-k} - m_i) / r_k
  + rho_c (m_{i+1} - m_i)], with (rho_k, rho_c) solving R rho = b, R_jk = r_k^(j-1) (r_c = 1);
  p = 1 (rho_c = 1/2, the trapezoid rule) after the first step, p = 2 afterwards. The next
  predictor starts from x~c_{i+1} but reuses m_{i+1}, which was evaluated at the uncorrected point.

The corrector is not applied after the final step (it would cost an extra evaluation), and the
last step, to sigma = 0, is x~ = m_S, as in diffusers' ``UniPCMultistepScheduler`` with
``final_sigmas_type="zero"``. One network evaluation per step; ``state`` keeps x~c_i, m_i, m_{i-1}.
``corrector=0`` leaves UniP alone (= ``dpmpp-2m``, tested).
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
from .sigma_space import SigmaSpaceSampler, combine


def bh2_weights(h: float, order: int) -> list[float]:
    """b_1..b_order of UniPC with B(h) = e^{-h} - 1, data prediction (hh = -h)."""
    hh = -h
    hphi_1 = math.expm1(hh)
    g, factorial, out = hphi_1 / hh - 1, 1, []
    for k in range(1, order + 1):
        out.append(g * factorial / hphi_1)
        factorial *= k + 1
        g = g / hh - 1 / factorial
    return out


class UniPCSampler(SigmaSpaceSampler):
    """UniPC-2 (bh2): multistep predictor UniP-2 and corrector UniC at no extra evaluation."""

    name: ClassVar[str] = "unipc"
    description: ClassVar[str] = "UniPC-2, B(h) = bh2, data prediction, with the UniC corrector (Zhao et al. 2023)"
    #: Chosen by FID-proxy on the shipped U-Net (results/reference/nfe/README.md): linspace led at 10 and 20 NFE.
    default_spacing: ClassVar[str] = "linspace"
    options: ClassVar[dict[str, str]] = {
        **Sampler.options,
        "corrector": "apply UniC after each predictor step: 1 or 0 (default 1)",
    }

    def __init__(self, schedule: NoiseSchedule, steps: int, options: Mapping[str, str] | None = None,
                 **values: Any) -> None:
        super().__init__(schedule, steps, options, **values)
        self.corrector = self.option_bool("corrector", True)
        #: per step i: (coefficients of x~_i, m_i, m_{i-1}) of the predictor to x~_{i+1}
        self.predictor = [self._predictor(i) for i in range(self.steps)]
        #: per step i >= 1: (coefficients of x~c_{i-1}, m_{i-1}, m_{i-2}, m_i) of the corrected x~c_i
        self.corrections = [None] + [self._corrector(i) for i in range(1, self.steps)]

    def _predictor(self, i: int) -> tuple[float, float, float]:
        if self.sigmas[i + 1] == 0.0:
            return 0.0, 1.0, 0.0
        h = self.step_size(i)
        ratio, big_b = self.sigmas[i + 1] / self.sigmas[i], math.expm1(-h)
        if i == 0:
            return ratio, -big_b, 0.0
        r = (self.lambdas[i - 1] - self.lambdas[i]) / h
        rho = 0.5
        return ratio, -big_b + big_b * rho / r, -big_b * rho / r

    def _corrector(self, i: int) -> tuple[float, float, float, float]:
        """Correct x~_i using the step from i - 1 (order of that step's predictor: 1 if i = 1, else 2)."""
        h = self.step_size(i - 1)
        ratio, big_b = self.sigmas[i] / self.sigmas[i - 1], math.expm1(-h)
        if i == 1:
            rho_c = 0.5
            return ratio, -big_b + big_b * rho_c, 0.0, -big_b * rho_c
        r = (self.lambdas[i - 2] - self.lambdas[i - 1]) / h
        rho_k, rho_c = np.linalg.solve(np.array([[1.0, 1.0], [r, 1.0]]), np.array(bh2_weights(h, 2)))
        c_older = -big_b * rho_k / r
        return ratio, -big_b - c_older + big_b * rho_c, float(c_older), float(-big_b * rho_c)

    def advance(self, model: EpsModel, x_t: torch.Tensor, x_tilde: torch.Tensor, i: int,
                state: dict[str, Any], noise: SampleNoise | None) -> tuple[torch.Tensor, torch.Tensor]:
        denoised = self.denoise(model, x_tilde, self.timesteps[i], x_t)
        previous, older = state.get("denoised"), state.get("denoised_prev")
        final = self.sigmas[i + 1] == 0.0
        if self.corrector and not final and previous is not None:
            x_tilde = self._correct(state["x_tilde"], previous, older, denoised, i)
        state.update(x_tilde=x_tilde, denoised=denoised, denoised_prev=previous)
        if final:
            return denoised, denoised
        c_x, c_d, c_prev = self.predictor[i]
        if previous is None:  # no m_{i-1} (a chain started mid-way): first order
            return combine([(c_x, x_tilde), (-math.expm1(-self.step_size(i)), denoised)]), denoised
        return combine([(c_x, x_tilde), (c_d, denoised), (c_prev, previous)]), denoised

    def _correct(self, x_last: torch.Tensor, previous: torch.Tensor, older: torch.Tensor | None,
                 denoised: torch.Tensor, i: int) -> torch.Tensor:
        """UniC: x~c_i from x~c_{i-1}, m_{i-1}, m_{i-2} (order 2 only) and m_i."""
        c_x, c_prev, c_older, c_now = self.corrections[i]
        terms = [(c_x, x_last), (c_prev, previous), (c_now, denoised)]
        if c_older != 0.0 and older is not None:
            terms.append((c_older, older))
        return combine(terms)

    def option_defaults(self) -> dict[str, str]:
        return {**super().option_defaults(), "corrector": "1"}

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "corrector": self.corrector, "solver_type": "bh2", "order": 2}
