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
    """The nearest strictly decreasing sequence within [1, T] (moves duplicates down, then up).

    With u_i = t_i + i, "t_i <= t_{i-1} - 1" is "u_i <= u_{i-1}": the downward pass is a running
    minimum of u and the upward pass (from the end, t_S >= 1) a running maximum.
    """
    out = np.clip(np.asarray(ts, dtype=np.int64), 1, T)
    idx = np.arange(len(out))
    out = np.minimum.accumulate(out + idx) - idx
    out[-1] = max(out[-1], 1)
    out = np.maximum.accumulate((out + idx)[::-1])[::-1] - idx
    return [int(t) for t in out]


def log_sigma_table(schedule: NoiseSchedule) -> np.ndarray:
    """log sigma_t for t = 1..T (increasing)."""
    return np.log(schedule.sigma(torch.arange(1, schedule.T + 1)).numpy())


def nearest_timesteps(schedule: NoiseSchedule, log_sigmas: np.ndarray, table: np.ndarray | None = None) -> list[int]:
    """The t in 1..T whose log sigma_t is nearest to each target log sigma (ties go to the smaller t);
    ``table`` is :func:`log_sigma_table` when the caller has it."""
    table = log_sigma_table(schedule) if table is None else table
    log_sigmas = np.atleast_1d(np.asarray(log_sigmas, dtype=np.float64))
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
    table = log_sigma_table(schedule)
    lo, hi = float(table[0]), float(table[-1])
    k = np.linspace(0.0, 1.0, steps)
    if spacing == "karras":
        inv = 1.0 / KARRAS_RHO
        s_min, s_max = np.exp(lo), np.exp(hi)
        log_sigmas = KARRAS_RHO * np.log(s_max ** inv + k * (s_min ** inv - s_max ** inv))
    else:  # logsnr: uniform in log sigma, i.e. in log-SNR = -2 log sigma
        log_sigmas = hi + k * (lo - hi)
    ts = nearest_timesteps(schedule, log_sigmas, table)
    ts[0], ts[-1] = T, 1
    return strictly_decreasing(ts, T)
