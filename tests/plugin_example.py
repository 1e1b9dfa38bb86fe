"""A third-party plugin outside the core, written against the public API only: a sampler and two metrics.

Registered at run time by the tests (``denoisebench.plugins.register_plugin(plugin_example, name)``);
an installed plugin would point an entry point of group ``denoisebench`` at this module.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

import denoisebench
from denoisebench import Evaluation, Metric, MetricColumn, MetricSkipped


def ink(images: np.ndarray) -> np.ndarray:
    """Share of inked pixels (above mid-grey) of each image."""
    return (images > 127).reshape(len(images), -1).mean(axis=1)


class EulerAncestral(denoisebench.Sampler):
    name: ClassVar[str] = "euler-a"
    description: ClassVar[str] = "Euler ancestral: an Euler step down to sigma_down, then fresh noise up to sigma_next"
    options: ClassVar[dict[str, str]] = {**denoisebench.Sampler.options,
                                         "eta": "share of the step's noise that is fresh, in [0, 1] (default 1)"}
    evals_per_step: ClassVar[int] = 1

    def __init__(self, schedule, steps, options=None, **values: Any) -> None:
        super().__init__(schedule, steps, options, **values)  # parses spacing and clip_x0, sets timesteps
        self.eta = self.option_float("eta", 1.0, 0.0, 1.0)  # typed, range-checked, one-line errors

    @property
    def stochastic(self) -> bool:
        return self.eta > 0

    def step(self, model, x, i, state, noise) -> denoisebench.StepOutput:
        eps = model(x, self.timesteps[i])  # one network evaluation at the integer step t_i
        x0, eps = self.x0_and_eps(x, eps, i)  # x0_hat (clamped with -s clip_x0=1)
        sigma, sigma_next = self.sigma_at(i)  # sigma_t = sqrt((1 - abar_t) / abar_t); 0 after the last step
        up = min(sigma_next, self.eta * (sigma_next ** 2 * (sigma ** 2 - sigma_next ** 2) / sigma ** 2) ** 0.5)
        down = (sigma_next ** 2 - up ** 2) ** 0.5
        x_next = x0 + down * eps  # the Euler step of the probability-flow ODE, in x~ = x_t / sqrt(abar_t)
        if up > 0 and noise is not None:
            x_next = x_next + up * noise.step(i)  # sample i's own noise stream: the only randomness
        _, abar_next = self._ab[i]
        return denoisebench.StepOutput(x_next * abar_next ** 0.5, x0)


class MeanBrightness(Metric):
    """No better direction: brighter is not better, only different."""

    name = "brightness"
    description = "mean pixel brightness of the images, in [0, 1]"
    columns = (MetricColumn("brightness", "brightness", None, ("value",), digits=4),)

    def compute(self, evaluation: Evaluation) -> dict[str, Any]:
        return {"value": float(evaluation.images.mean() / 255.0)}


class InkGap(Metric):
    """A directed metric with an uncertainty and a display scale: how far the ink share is from real digits'."""

    name = "ink_gap"
    description = "absolute gap between the mean ink share of the images and of the held-out digits"
    note = "ink gap: |mean ink share - held-out mean ink share| × 100, ± its standard error."
    columns = (MetricColumn("ink_gap", "ink gap ×100", "min", ("value",), ("std",), digits=2, scale=100.0),)
    depends_on_n = True

    def compute(self, evaluation: Evaluation) -> dict[str, Any]:
        if evaluation.n < 2:
            raise MetricSkipped("needs at least 2 samples")
        mine = ink(evaluation.images)
        real = ink(evaluation.dataset.heldout_images)
        return {"value": float(abs(mine.mean() - real.mean())), "std": float(mine.std(ddof=1) / np.sqrt(len(mine)))}


@denoisebench.hookimpl
def register_samplers(register: Any) -> None:
    register(EulerAncestral)


@denoisebench.hookimpl
def register_metrics(register: Any) -> None:
    register(MeanBrightness)
    register(InkGap)
