"""``--against``: how closely another provider's x0 estimate matches the probed one.

r^2 per image is 1 - ||b - a||^2 / ||a - mean(a)||^2 with ``a`` the probed provider's estimate
(the target) and ``b`` the other's (the predictor), the statistic Kamb & Ganguli and Niedoba et
al. report; the record keeps its median over images and the MSE between the two ([0, 1] units).
Two settings: the probe's own noisy inputs (per level, same images and noise), and the states
the probed provider visits along its own sampling trajectory (per network call).
"""

from __future__ import annotations

import numpy as np
import torch

from ..diffusion.forward import x0_from_eps
from ..diffusion.loop import sample_batch
from ..diffusion.noise import SampleNoise
from ..diffusion.samplers import Sampler
from ..diffusion.schedule import NoiseSchedule
from ..interfaces.provider import EpsilonProvider
from .estimates import batched_x0


def r_squared(pred: torch.Tensor, target: torch.Tensor) -> np.ndarray:
    """Per image 1 - SS_res / SS_tot of ``pred`` as a predictor of ``target``."""
    p, y = pred.flatten(1).double(), target.flatten(1).double()
    ss_tot = ((y - y.mean(dim=1, keepdim=True)) ** 2).sum(dim=1).clamp_min(1e-12)
    return (1 - ((p - y) ** 2).sum(dim=1) / ss_tot).numpy()


def pair_summary(a: torch.Tensor, b: torch.Tensor) -> dict[str, float]:
    """Median r^2 of b against a and their MSE in [0, 1] units."""
    return {"r2_median": float(np.median(r_squared(b, a))),
            "mse": float((((a.double() - b.double()) / 2) ** 2).mean())}


class _Recorder(EpsilonProvider):
    """Passes calls to ``inner`` and keeps every (x_t, t, eps)."""

    name = "probe-recorder"
    description = "records the calls of another provider"

    def __init__(self, inner: EpsilonProvider) -> None:  # noqa: D107 - no context: a wrapper
        self.inner, self.calls = inner, []

    def predict_eps(self, x_t: torch.Tensor, t: torch.Tensor, schedule: NoiseSchedule) -> torch.Tensor:
        eps = self.inner.predict_eps(x_t, t, schedule)
        self.calls.append((x_t.detach().cpu().clone(), int(t[0]), eps.detach().cpu().clone()))
        return eps


def trajectory_agreement(first: EpsilonProvider, other: EpsilonProvider, sampler: Sampler, chains: int,
                         seed: int, image_shape: tuple[int, ...], batch_size: int,
                         device: torch.device) -> list[dict[str, float]]:
    """Per network call of ``first``'s chains (sample noise of (seed, i), i < chains): t, sigma,
    median r^2 and MSE of ``other``'s x0 against ``first``'s on the same x_t."""
    recorder = _Recorder(first)
    with torch.no_grad():
        sample_batch(recorder, sampler, SampleNoise(seed, range(chains), image_shape, device))
    schedule = sampler.schedule
    rows = []
    for x_t, t, eps in recorder.calls:
        t_vec = torch.full((x_t.shape[0],), t, dtype=torch.long)
        a = x0_from_eps(x_t, eps.to(x_t.dtype), t_vec, schedule)
        b = batched_x0(other, x_t, t, schedule, batch_size, device)
        ab = float(schedule.alpha_bars[t])
        rows.append({"t": t, "sigma": ((1 - ab) / ab) ** 0.5, **pair_summary(a, b)})
    return rows
