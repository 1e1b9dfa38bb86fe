"""Samplers against closed forms for Gaussian data x_0 ~ N(mu, s^2 I) (float64).

The exact eps is E[eps | x_t] = sqrt(1 - abar)(x_t - sqrt(abar) mu) / (abar s^2 + 1 - abar), and in
sigma space the probability-flow ODE is linear per pixel: x~(sigma) - mu = (x~(sigma_T) - mu)
sqrt(s^2 + sigma^2) / sqrt(s^2 + sigma_T^2). ODE samplers must converge to it at their order;
stochastic samplers must reproduce the data's mean and variance at t = 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pytest
import torch

from denoisebench.diffusion.loop import sample_batch
from denoisebench.diffusion.noise import SampleNoise
from denoisebench.diffusion.samplers import Sampler
from denoisebench.diffusion.schedule import NoiseSchedule, linear_schedule
from denoisebench.plugins import get_registry
from denoisebench.providers.base import EpsilonProvider

MU, S2 = 0.3, 0.25


class GaussianData(EpsilonProvider):
    """The exact eps of data N(mu, s^2 I)."""

    name = "gaussian-data"
    description = "test"

    def __init__(self, mu: float = MU, s2: float = S2) -> None:
        self.mu, self.s2 = mu, s2

    def predict_eps(self, x_t: torch.Tensor, t: torch.Tensor, schedule: NoiseSchedule) -> torch.Tensor:
        ab = schedule.alpha_bars[t.cpu()].to(x_t.dtype).view(-1, 1, 1, 1)
        return (1 - ab).sqrt() * (x_t - ab.sqrt() * self.mu) / (ab * self.s2 + 1 - ab)

    def model(self, schedule: NoiseSchedule):
        """The same eps as the sampler's ``model(x, t)``."""
        return lambda x, t: self.predict_eps(x, torch.full((x.shape[0],), t), schedule)


def geometric_schedule(T: int, sigma_min: float, sigma_max: float) -> NoiseSchedule:  # noqa: N803
    """A schedule whose sigma_t is geometric in t, so 'linspace' steps are uniform in log sigma."""
    t = torch.arange(1, T + 1, dtype=torch.float64)
    sigma = sigma_min * (sigma_max / sigma_min) ** ((t - 1) / (T - 1))
    ab = torch.cat([torch.ones(1, dtype=torch.float64), 1 / (1 + sigma ** 2)])
    betas = torch.zeros(T + 1, dtype=torch.float64)
    betas[1:] = 1 - ab[1:] / ab[:-1]
    return NoiseSchedule("geometric", betas)


def sampler(name: str, schedule: NoiseSchedule, steps: int, options: Mapping[str, str]) -> Sampler:
    cls, _ = get_registry().sampler(name)
    return cls(schedule, steps, dict(options))


def ode_error(name: str, steps: int, options: Mapping[str, str], schedule: NoiseSchedule) -> float:
    """Max error of x~ at the last grid sigma (before the jump to 0) against the exact ODE solution."""
    smp = sampler(name, schedule, steps, {"spacing": "linspace", **options})
    x_T = torch.randn((4, 1, 4, 4), generator=torch.Generator().manual_seed(0), dtype=torch.float64)  # noqa: N806
    x, state, model = x_T, {}, GaussianData().model(schedule)
    for i in range(steps - 1):
        x = smp.step(model, x, i, state, None).prev_sample
    sigma_T, sigma_end = smp.sigma_at(0)[0], smp.sigma_at(steps - 1)[0]  # noqa: N806
    ab_T, ab_end = (float(schedule.alpha_bars[smp.timesteps[k]]) for k in (0, -1))  # noqa: N806
    exact = MU + (x_T / ab_T ** 0.5 - MU) * math.sqrt((S2 + sigma_end ** 2) / (S2 + sigma_T ** 2))
    return (x / ab_end ** 0.5 - exact).abs().max().item()


#: name, options, the lowest acceptable observed order (theory: 1, 2 or, for UniPC-2 with UniC, 3)
ODE_SAMPLERS = [
    ("ddim", {}, 0.9),
    ("euler", {}, 0.9),
    ("heun", {}, 1.8),
    ("dpmpp-2m", {}, 1.8),
    ("dpmpp-2m-sde", {"eta": "0"}, 1.8),
    ("unipc", {"corrector": "0"}, 1.8),
    ("unipc", {}, 2.7),
]


@pytest.mark.parametrize(("name", "options", "min_order"), ODE_SAMPLERS)
def test_ode_samplers_converge_to_the_exact_flow_at_their_order(name: str, options: dict[str, str],
                                                               min_order: float) -> None:
    # sigma from 80 to 0.05 geometric in t with T - 1 = 640: S - 1 = 20, 40, 80 steps nest exactly
    schedule = geometric_schedule(641, 0.05, 80.0)
    errors = [ode_error(name, steps, options, schedule) for steps in (21, 41, 81)]
    orders = [math.log2(a / b) for a, b in zip(errors, errors[1:])]
    print(f"{name} {options}: errors {['%.2e' % e for e in errors]}, observed orders {['%.2f' % p for p in orders]}")
    assert errors[-1] < 0.05
    assert all(p > min_order for p in orders)
    if min_order < 1:  # first order: not more
        assert all(p < 1.3 for p in orders)


def test_one_step_samplers_land_on_the_posterior_mean() -> None:
    """S = 1: every sampler returns D(x_T; sigma_T) = mu + s^2 / (s^2 + sigma_T^2) (x~_T - mu)."""
    schedule = linear_schedule(1000)
    x_T = torch.randn((2, 1, 3, 3), generator=torch.Generator().manual_seed(3), dtype=torch.float64)  # noqa: N806
    ab = float(schedule.alpha_bars[1000])
    sigma2 = (1 - ab) / ab
    expect = MU + S2 / (S2 + sigma2) * (x_T / ab ** 0.5 - MU)
    for name in get_registry().samplers:
        out = sampler(name, schedule, 1, {}).step(GaussianData().model(schedule), x_T, 0, {}, None)
        assert torch.allclose(out.prev_sample, expect, atol=1e-12), name


#: stochastic samplers with enough steps that their discretisation bias is below the sampling error, and
#: the data variance. DDPM's Gaussian reverse kernel is exact only for unit-variance data with
#: sigma_t^2 = beta_t ('large'); with beta~ ('small', = DDIM eta = 1 on all steps) it under-disperses
#: Gaussian data at T = 1000 (-1.6 % in variance for s^2 = 0.25, more for smaller s), so it is not listed.
STOCHASTIC = [
    ("ddpm", 1000, {"variance": "large"}, 1.0),
    ("heun", 200, {"s_churn": "80"}, S2),
    ("dpmpp-2m-sde", 200, {"spacing": "karras"}, S2),
    ("dpmpp-2m-sde", 200, {"solver": "heun", "spacing": "logsnr"}, S2),
    ("dpmpp-2m-sde", 200, {"eta": "0.5"}, S2),
]


@pytest.mark.parametrize(("name", "steps", "options", "s2"), STOCHASTIC)
def test_stochastic_samplers_have_the_data_marginal_at_t0(name: str, steps: int, options: dict[str, str],
                                                          s2: float) -> None:
    schedule = linear_schedule(1000)
    smp = sampler(name, schedule, steps, options)
    assert smp.stochastic
    n = 128 * 16 * 16  # independent pixels
    x = sample_batch(GaussianData(MU, s2), smp, SampleNoise(0, range(128), (1, 16, 16), dtype=torch.float64))
    mean, var = x.mean().item(), x.var().item()
    se_mean, se_var = math.sqrt(s2 / n), s2 * math.sqrt(2 / (n - 1))
    print(f"{name} {steps} {options}: mean - mu = {mean - MU:+.4f} (se {se_mean:.4f}), "
          f"var - s^2 = {var - s2:+.4f} (se {se_var:.4f})")
    assert abs(mean - MU) < 4 * se_mean
    assert abs(var - s2) < 4 * se_var


def test_the_marginal_check_detects_a_wrong_noise_scale() -> None:
    """The test above has power: dpmpp-2m-sde with half its noise misses the variance by > 10 se."""
    schedule = linear_schedule(1000)
    n = 128 * 16 * 16
    weak = sampler("dpmpp-2m-sde", schedule, 200, {"eta": "1"})
    weak.coefficients = [(c_x, c_d, c_p, 0.5 * c_z) for c_x, c_d, c_p, c_z in weak.coefficients]
    x = sample_batch(GaussianData(), weak, SampleNoise(0, range(128), (1, 16, 16), dtype=torch.float64))
    assert abs(x.var().item() - S2) > 10 * S2 * math.sqrt(2 / (n - 1))
