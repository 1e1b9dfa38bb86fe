"""Noise levels for training a restoration network: uniform draws mapped to noise stds.

A recipe draws one u in [0, 1) per image in ``draw`` (so the randomness stays in the trainer's
generator) and maps it here in its loss, in [0, 1] units (s of y = x + s n, x in [0, 1]).
"""

from __future__ import annotations

import math

import torch

from ..diffusion.schedule import NoiseSchedule
from ..errors import DenoisebenchError

#: The distributions :func:`noise_std_from_unit` knows.
NOISE_DISTS = ("schedule", "loguniform", "lognormal", "uniform")


def noise_std_from_unit(u: torch.Tensor, dist: str, lo: float, hi: float, schedule: NoiseSchedule | None = None,
                        mean: float = 0.0, std: float = 1.0) -> torch.Tensor:
    """Map uniform draws ``u`` to noise stds of ``dist``, clamped to [``lo``, ``hi``].

    ``schedule``: s = s_t of the training schedule at t = 1 + floor(u T), the noise levels a sampler
    visits (needs ``schedule``); ``loguniform`` on [lo, hi]; ``lognormal``: exp(mean + std z);
    ``uniform`` on [lo, hi].
    """
    if dist == "loguniform":
        s = torch.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
    elif dist == "lognormal":
        z = torch.special.ndtri(u.to(torch.float64).clamp(1e-12, 1 - 1e-12))
        s = torch.exp(mean + std * z).to(u.dtype)
    elif dist == "schedule":
        if schedule is None:
            raise DenoisebenchError("sigma_dist 'schedule' needs the training schedule")
        t = (u.to(torch.float64) * schedule.T).long().clamp(0, schedule.T - 1) + 1
        s = (schedule.sigma(t.cpu()) / 2).to(device=u.device, dtype=u.dtype)
    else:
        s = lo + u * (hi - lo)
    return s.clamp(lo, hi)
