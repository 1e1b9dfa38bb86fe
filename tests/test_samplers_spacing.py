"""Timestep spacings: valid integer sequences for every number of steps, and the noise levels they aim at."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from denoisebench.diffusion.samplers import SPACINGS, timestep_sequence
from denoisebench.diffusion.samplers.spacing import KARRAS_RHO, log_sigma_table, nearest_timesteps
from denoisebench.diffusion.schedule import NoiseSchedule, cosine_schedule, linear_schedule
from denoisebench.errors import DenoisebenchError


CASES = [(linear_schedule(1000), s) for s in SPACINGS] + [(linear_schedule(12), s) for s in SPACINGS] + [
    (cosine_schedule(1000), s) for s in ("karras", "logsnr")]  # only these two depend on the sigma curve


@pytest.mark.parametrize(("schedule", "spacing"), CASES, ids=[f"{s.name}-T{s.T}-{sp}" for s, sp in CASES])
def test_every_step_count_gives_a_strictly_decreasing_sequence_from_T(schedule: NoiseSchedule, spacing: str) -> None:
    T = schedule.T  # noqa: N806
    for steps in range(1, T + 1):
        seq = timestep_sequence(schedule, steps, spacing)
        assert all(type(t) is int for t in seq)
        arr = np.array(seq)
        assert len(arr) == steps and arr[0] == T and arr.min() >= 1
        assert np.all(np.diff(arr) < 0)  # no duplicates, decreasing
        if spacing != "trailing" and steps > 1:
            assert arr[-1] == 1
    assert timestep_sequence(schedule, T, spacing) == list(range(T, 0, -1))


def test_trailing_is_diffusers_trailing_shifted_to_one_based_t() -> None:
    for steps in (1, 3, 7, 10, 50):
        theirs = np.round(np.arange(1000, 0, -1000 / steps)).astype(int) - 1  # diffusers' 0-based t
        assert timestep_sequence(linear_schedule(1000), steps, "trailing") == [int(t) + 1 for t in theirs]


@pytest.mark.parametrize("steps", [5, 10, 20, 30])
def test_karras_and_logsnr_hit_the_grid_sigma_nearest_to_their_target(steps: int) -> None:
    schedule = linear_schedule(1000)
    table = log_sigma_table(schedule)
    lo, hi = table[0], table[-1]
    k = np.linspace(0, 1, steps)
    inv = 1 / KARRAS_RHO
    targets = {
        "karras": KARRAS_RHO * np.log(np.exp(hi) ** inv + k * (np.exp(lo) ** inv - np.exp(hi) ** inv)),
        "logsnr": hi + k * (lo - hi),
    }
    for spacing, target in targets.items():
        seq = timestep_sequence(schedule, steps, spacing)
        assert seq == nearest_timesteps(schedule, target)  # no collision had to be moved at these S
        got = table[np.array(seq) - 1]
        assert np.all(np.diff(got) < 0)  # monotone in sigma
        cell = np.abs(np.diff(table)).max()
        assert np.all(np.abs(got - target) <= cell)  # within one grid cell in log sigma
    # logsnr: log sigma ratios nearly constant; karras: steps shrink towards sigma_min
    logsnr = table[np.array(timestep_sequence(schedule, steps, "logsnr")) - 1]
    assert np.ptp(np.diff(logsnr)) < 0.1 * abs(np.diff(logsnr).mean()) + 2 * np.abs(np.diff(table)).max()
    karras = np.exp(table[np.array(timestep_sequence(schedule, steps, "karras")) - 1])
    assert np.all(np.diff(-np.diff(karras)) <= 1e-12)


def test_nearest_timesteps_and_errors() -> None:
    schedule = linear_schedule(1000)
    sigmas = schedule.sigma(torch.tensor([1, 10, 500, 1000])).log().numpy()
    assert nearest_timesteps(schedule, sigmas) == [1, 10, 500, 1000]
    assert nearest_timesteps(schedule, np.array([-50.0, 50.0])) == [1, 1000]
    with pytest.raises(DenoisebenchError, match="spacing"):
        timestep_sequence(schedule, 10, "quadratic")
    with pytest.raises(DenoisebenchError, match="schedule"):
        timestep_sequence(1000, 10, "karras")
    with pytest.raises(DenoisebenchError, match="steps"):
        timestep_sequence(schedule, 0, "logsnr")
