"""The probe's noise levels: K log-spaced sigmas over the schedule's range, mapped to distinct steps t."""

from __future__ import annotations

import numpy as np

from ..diffusion.schedule import NoiseSchedule
from ..errors import DenoisebenchError

DEFAULT_LEVELS = 12


def schedule_sigmas(schedule: NoiseSchedule) -> np.ndarray:
    """sigma_t = sqrt((1 - abar_t) / abar_t) for t = 1..T (index 0 is t = 1), [-1, 1] units."""
    ab = schedule.alpha_bars[1:].numpy()
    return np.sqrt((1 - ab) / ab)


def choose_levels(schedule: NoiseSchedule, count: int = DEFAULT_LEVELS) -> list[tuple[int, float]]:
    """``count`` steps (t, sigma_t), increasing, whose sigmas are nearest (in log sigma) to ``count``
    log-spaced targets from sigma_1 to sigma_T; a target that would repeat a step takes the nearest
    unused one, so the steps are distinct."""
    if count < 1:
        raise DenoisebenchError(f"--levels must be at least 1, got {count}")
    sig = schedule_sigmas(schedule)
    if count > len(sig):
        raise DenoisebenchError(f"--levels {count} exceeds the schedule's {len(sig)} steps: give at most {len(sig)}")
    logs = np.log(sig)
    targets = np.linspace(logs[0], logs[-1], count) if count > 1 else np.array([logs[0]])
    used: set[int] = set()
    steps = []
    for target in targets:
        order = np.argsort(np.abs(logs - target), kind="stable")
        k = next(int(i) for i in order if int(i) not in used)
        used.add(k)
        steps.append(k + 1)
    steps.sort()
    return [(t, float(sig[t - 1])) for t in steps]
