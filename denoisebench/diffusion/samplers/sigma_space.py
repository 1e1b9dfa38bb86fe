"""The common ground of the ODE/SDE solvers: sigma space (Karras et al. 2022, eqs. 1-4).

With sigma_t = sqrt((1 - abar_t) / abar_t) the scaled sample x~ = x_t / sqrt(abar_t) = x_0 + sigma_t n
is a variance-exploding process. An eps model at integer t is a denoiser there,

    D(x~; sigma_t) = x~ - sigma_t eps_hat(sqrt(abar_t) x~, t),

and the probability-flow ODE reads dx~/dsigma = (x~ - D) / sigma = eps_hat, or, in
lambda = -log sigma (half the log-SNR), dx~/dlambda = D - x~, whose linear part the exponential
integrators (DPM-Solver++, UniPC) solve exactly. Every solver here visits the sampler's integer
timesteps (sigma_1 > ... > sigma_S), then lands on sigma = 0 with x~ = x_0 = D, like DDIM.

:class:`SigmaSpaceSampler` converts the loop's x_t to x~ and back, and evaluates D at integer t
only, so providers keep receiving the schedule's own timesteps.

Their default spacing is ``trailing`` (uniform in t, from T down to about T / S): on the shipped
U-Net it left the smallest integration error (RMS distance to a 1,999-NFE Heun solution of the same
ODE) for heun, dpmpp-2m and unipc at 10 and 20 NFE, and tied with ``linspace`` for euler, while
``karras`` (rho = 7 spends its steps at tiny sigma) was the worst or close to it
(``benchmarks/bench_samplers.py --accuracy``).
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch

from ..noise import SampleNoise
from ..schedule import NoiseSchedule
from .base import EpsModel, Sampler, StepOutput


def combine(terms: Sequence[tuple[float, torch.Tensor]]) -> torch.Tensor:
    """sum_k c_k v_k for float coefficients (zero coefficients skipped), one element-wise op at a time."""
    live = [(c, v) for c, v in terms if c != 0.0]
    out = live[0][1] * live[0][0]
    for c, v in live[1:]:
        out = out + v * c
    return out


class SigmaSpaceSampler(Sampler):
    """A sampler that integrates in x~ = x_t / sqrt(abar_t); subclasses implement :meth:`advance`.

    ``sigmas[i]`` is sigma at ``timesteps[i]`` and ``sigmas[S] = 0``; ``lambdas[i] = -log sigmas[i]``
    (``inf`` at the end).
    """

    #: Heun and Euler keep trailing (best FID-proxy at 5-10 NFE on the shipped U-Net); the multistep
    #: solvers choose linspace (results/reference/nfe/README.md).
    default_spacing: ClassVar[str] = "trailing"

    def __init__(self, schedule: NoiseSchedule, steps: int, options: Mapping[str, str] | None = None,
                 **values: Any) -> None:
        super().__init__(schedule, steps, options, **values)
        self.sigmas = [self.sigma_of(t) for t in self.timesteps] + [0.0]
        self.lambdas = [-math.log(s) if s > 0 else math.inf for s in self.sigmas]
        self._scales = [float(schedule.alpha_bars[t]) ** 0.5 for t in self.timesteps] + [1.0]

    def sigma_of(self, t: int) -> float:
        """sigma_t = sqrt((1 - abar_t) / abar_t) in float64 (0 at t = 0)."""
        ab = float(self.schedule.alpha_bars[t])
        return ((1 - ab) / ab) ** 0.5

    def step_size(self, i: int) -> float:
        """h_i = lambda_{i+1} - lambda_i = log(sigma_i / sigma_{i+1}) (inf for the last step)."""
        return self.lambdas[i + 1] - self.lambdas[i]

    def denoise(self, model: EpsModel, x_tilde: torch.Tensor, t: int,
                x_t: torch.Tensor | None = None) -> torch.Tensor:
        """D(x~; sigma_t) from one network call; ``x_t`` (= sqrt(abar_t) x~) is passed when known.

        With ``clip_x0`` D is clamped to [-1, 1] (the implied eps is (x~ - D) / sigma_t).
        """
        if x_t is None:
            x_t = x_tilde * float(self.schedule.alpha_bars[t]) ** 0.5
        denoised = x_tilde - model(x_t, t) * self.sigma_of(t)
        return denoised.clamp(-1.0, 1.0) if self.clip_x0 else denoised

    def step(self, model: EpsModel, x: torch.Tensor, i: int, state: dict[str, Any],
             noise: SampleNoise | None) -> StepOutput:
        x_next, denoised = self.advance(model, x, x / self._scales[i], i, state, noise)
        scale = self._scales[i + 1]
        return StepOutput(x_next if scale == 1.0 else x_next * scale, denoised)

    @abstractmethod
    def advance(self, model: EpsModel, x_t: torch.Tensor, x_tilde: torch.Tensor, i: int,
                state: dict[str, Any], noise: SampleNoise | None) -> tuple[torch.Tensor, torch.Tensor]:
        """(x~ at step i + 1, the x0 estimate) from x~ at step i (``x_t`` is the same sample unscaled)."""
