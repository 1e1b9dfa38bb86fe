"""The sampler interface: a reverse process over the schedule's integer timesteps.

A sampler is built once per run from the schedule, the number of steps and its string options.
The loop (:mod:`denoisebench.diffusion.loop`) calls :meth:`Sampler.step` once per step with

- ``model(x, t)``: the provider's eps_hat at integer step ``t`` for the whole batch (each call
  is one network evaluation, counted as NFE); a step may call it more than once (Heun);
- ``state``: a dict that lives for one batch's chain, for what multistep solvers remember;
- ``noise``: the batch's per-sample noise streams; a stochastic sampler draws step ``i``'s noise
  with ``noise.step(i)`` (never the global RNG), so sample k depends only on (seed, k).

It returns the next sample and the x0 estimate (diffusers' ``prev_sample`` and
``pred_original_sample``). Sigma space: x~ = x_t / sqrt(abar_t) = x_0 + sigma_t n with
sigma_t = sqrt((1 - abar_t) / abar_t); the denoised estimate is x~ - sigma_t eps_hat.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from ...options import Configurable, canonical_value
from ..noise import SampleNoise
from ..schedule import NoiseSchedule
from .spacing import SPACINGS, timestep_sequence

EpsModel = Callable[[torch.Tensor, int], torch.Tensor]


@dataclass
class StepOutput:
    """What one step returns: the sample at the next timestep and the current x0 estimate."""

    prev_sample: torch.Tensor
    pred_original_sample: torch.Tensor


class Sampler(Configurable, ABC):
    """Subclasses set ``name``, ``description``, ``options`` and ``evals_per_step``; implement :meth:`step`."""

    kind: ClassVar[str] = "sampler"
    name: ClassVar[str]
    description: ClassVar[str]
    options: ClassVar[dict[str, str]] = {
        "spacing": f"timesteps visited: {', '.join(SPACINGS)}",
        "clip_x0": "clamp x0_hat to [-1, 1] at each evaluation: 1 or 0 (default 0)",
    }
    #: Network evaluations per step (Heun: 2); :attr:`nfe` gives the total of a chain.
    evals_per_step: ClassVar[int] = 1
    #: The spacing used when the user gives none.
    default_spacing: ClassVar[str] = "linspace"

    def __init__(self, schedule: NoiseSchedule, steps: int, options: Mapping[str, str] | None = None,
                 **values: Any) -> None:
        given = dict(options or {})
        given.update({k: (str(int(v)) if isinstance(v, bool) else str(v)) for k, v in values.items()})
        self.check_options(given)
        self.schedule = schedule
        self.steps = steps
        self.spacing = self.option_choice("spacing", self.default_spacing, SPACINGS)
        self.clip_x0 = self.option_bool("clip_x0", False)
        self.timesteps = timestep_sequence(schedule, steps, self.spacing)
        self.prev_timesteps = self.timesteps[1:] + [0]
        ab = schedule.alpha_bars
        # per-step float64 scalars: abar at t and at t_prev (abar_0 = 1)
        self._ab = [(float(ab[t]), float(ab[p])) for t, p in zip(self.timesteps, self.prev_timesteps)]

    @property
    def stochastic(self) -> bool:
        """Whether a step draws fresh noise."""
        return False

    @property
    def nfe(self) -> int:
        """Network evaluations of one chain."""
        return self.steps * self.evals_per_step

    def alpha_bar_at(self, i: int) -> tuple[float, float]:
        """(abar at step i's t, abar at its t_prev) as float64 scalars; the latter is 1 at the last step."""
        return self._ab[i]

    def sigma_at(self, i: int) -> tuple[float, float]:
        """(sigma at step i's t, sigma at its t_prev); the latter is 0 at the last step."""
        ab_t, ab_p = self._ab[i]
        return ((1 - ab_t) / ab_t) ** 0.5, ((1 - ab_p) / ab_p) ** 0.5

    def x0_and_eps(self, x_t: torch.Tensor, eps: torch.Tensor, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """x0_hat from eps at step ``i``; with clipping, x0_hat is clamped and eps made consistent."""
        ab_t, _ = self._ab[i]
        x0 = (x_t - (1 - ab_t) ** 0.5 * eps) / ab_t ** 0.5
        if self.clip_x0:
            x0 = x0.clamp(-1.0, 1.0)
            eps = (x_t - ab_t ** 0.5 * x0) / (1 - ab_t) ** 0.5
        return x0, eps

    @abstractmethod
    def step(self, model: EpsModel, x: torch.Tensor, i: int, state: dict[str, Any],
             noise: SampleNoise | None) -> StepOutput:
        """x at ``prev_timesteps[i]`` from x at ``timesteps[i]``, calling ``model`` as needed."""

    def option_defaults(self) -> dict[str, str]:
        """The value each option has when not given (labels leave those out)."""
        return {"spacing": self.default_spacing, "clip_x0": "0"}

    def label(self) -> str:
        """How reports name this sampler: its name and the non-default options given ('ddim eta=0.5')."""
        defaults = self.option_defaults()

        def same(key: str, value: str) -> bool:
            if key not in defaults:
                return False
            try:
                return float(value) == float(defaults[key])
            except ValueError:
                return value == defaults[key]

        given = getattr(self, "given_options", {})
        extra = [f"{k}={canonical_value(v)}" for k, v in sorted(given.items()) if k != "clip_x0" and not same(k, v)]
        return " ".join([self.name, *extra] + (["clip"] if self.clip_x0 else []))

    def describe(self) -> dict[str, object]:
        """The sampler's entry in run.json."""
        return {"name": self.name, "label": self.label(), "steps": self.steps, "nfe": self.nfe,
                "spacing": self.spacing, "clip_x0": self.clip_x0,
                "options": dict(getattr(self, "given_options", {})), "schedule": self.schedule.describe(),
                "timesteps": list(self.timesteps)}
