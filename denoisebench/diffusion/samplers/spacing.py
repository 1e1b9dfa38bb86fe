"""Which integer timesteps a sampler visits: T >= t_1 > ... > t_S >= 1, then it lands on t = 0.

Every spacing returns S distinct integers, so providers keep receiving the schedule's own
discrete t:

- ``linspace``: round(linspace(T, 1, S)) (T first, 1 last; S = 1 gives [T]);
- ``trailing``: round(T - k T / S) for k = 0..S-1 (T first, about T / S last; diffusers' name);
- ``karras``: sigma_k = (sigma_max^(1/rho) + k / (S - 1) (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho
  with rho = 7 (Karras et al. 2022, eq. 5) between sigma(T) and sigma(1), each mapped to the t
  of the nearest log-sigma;
- ``logsnr``: uniform in log-SNR = -2 log sigma between t = T and t = 1, mapped the same way.

Mapped sequences are made strictly decreasing by moving a repeated t to the nearest free one.
"""

from __future__ import annotations

import numpy as np
import torch

from ...errors import DenoisebenchError
from ..schedule import NoiseSchedule

SPACINGS = ("linspace", "trailing", "karras", "logsnr")
KARRAS_RHO = 7.0


def strictly_decreasing(ts: list[int], T: int) -> list[int]:  # noqa: N803
    """The nearest strictly decreasing sequence within [1, T] (moves duplicates down, then up)."""
    out = [min(max(int(t), 1), T) for t in ts]
    for i in range(1, len(out)):
        out[i] = min(out[i], out[i - 1] - 1)
    out[-1] = max(out[-1], 1)
    for i in range(len(out) - 2, -1, -1):
        out[i] = max(out[i], out[i + 1] + 1)
    return out


def _log_sigmas(schedule: NoiseSchedule) -> np.ndarray:
    """log sigma_t for t = 1..T (increasing)."""
    return np.log(schedule.sigma(torch.arange(1, schedule.T + 1)).numpy())


def _nearest_t(schedule: NoiseSchedule, log_sigmas: np.ndarray) -> list[int]:
    """The t in 1..T whose log sigma_t is nearest to each target log sigma."""
    table = _log_sigmas(schedule)
    hi = np.clip(np.searchsorted(table, log_sigmas), 1, len(table) - 1)
    lo = hi - 1
    pick = np.where(np.abs(table[lo] - log_sigmas) <= np.abs(table[hi] - log_sigmas), lo, hi)
    return [int(p) + 1 for p in pick]


def timestep_sequence(schedule: NoiseSchedule | int, steps: int, spacing: str = "linspace") -> list[int]:
    """The descending timesteps of a sampler with ``steps`` steps (an int schedule means T, linspace)."""
    T = schedule if isinstance(schedule, int) else schedule.T  # noqa: N806
    if not 1 <= steps <= T:
        raise DenoisebenchError(f"--steps must be between 1 and T = {T}, got {steps}")
    if spacing not in SPACINGS:
        raise DenoisebenchError(f"unknown spacing {spacing!r}: choose one of {', '.join(SPACINGS)}")
    if steps == 1:
        return [T]
    if spacing == "linspace":
        return [int(v) for v in np.round(np.linspace(T, 1, steps))]
    if spacing == "trailing":
        return strictly_decreasing([int(v) for v in np.round(T - np.arange(steps) * T / steps)], T)
    if isinstance(schedule, int):
        raise DenoisebenchError(f"spacing {spacing!r} needs the noise schedule, not only T")
    table = _log_sigmas(schedule)
    lo, hi = float(table[0]), float(table[-1])
    k = np.linspace(0.0, 1.0, steps)
    if spacing == "karras":
        inv = 1.0 / KARRAS_RHO
        s_min, s_max = np.exp(lo), np.exp(hi)
        log_sigmas = KARRAS_RHO * np.log(s_max ** inv + k * (s_min ** inv - s_max ** inv))
    else:  # logsnr: uniform in log sigma, i.e. in log-SNR = -2 log sigma
        log_sigmas = hi + k * (lo - hi)
    ts = _nearest_t(schedule, log_sigmas)
    ts[0], ts[-1] = T, 1
    return strictly_decreasing(ts, T)
