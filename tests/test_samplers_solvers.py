"""The few-step samplers: their identities with each other and DDIM, a hand-written DPM-Solver++(2M)
in the paper's VP form, NFE, churn on the grid, options, and batch-independent determinism."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from denoisebench.diffusion.loop import CountedModel, generate, sample_batch
from denoisebench.diffusion.noise import SampleNoise
from denoisebench.diffusion.samplers import (DDIMSampler, DPMPP2MSampler, DPMPP2MSDESampler, EulerSampler,
                                             HeunSampler, SigmaSpaceSampler, UniPCSampler)
from denoisebench.diffusion.schedule import linear_schedule
from denoisebench.errors import DenoisebenchError
from denoisebench.plugins import get_registry
from denoisebench.providers.base import EpsilonProvider

SCHED = linear_schedule(1000)


class Smooth(EpsilonProvider):
    """A smooth, t-dependent, nonlinear eps made of + - * / only (exactly rounded, batch-independent)."""

    name, description = "smooth", "test"

    def __init__(self) -> None:
        pass

    def predict_eps(self, x_t, t, schedule):
        ab = schedule.alpha_bars[t.cpu()].to(x_t.dtype).view(-1, 1, 1, 1)
        return (1 - ab).sqrt() * x_t + 0.2 * x_t / (1 + x_t * x_t)


class PointMass(EpsilonProvider):
    name, description = "point-mass", "test"

    def __init__(self, target: torch.Tensor) -> None:
        self.target = target

    def predict_eps(self, x_t, t, schedule):
        ab = schedule.alpha_bars[t.cpu()].to(x_t.dtype).view(-1, 1, 1, 1)
        return (x_t - ab.sqrt() * self.target) / (1 - ab).sqrt()


def run(sampler, seed: int = 0, count: int = 3, provider: EpsilonProvider | None = None) -> torch.Tensor:
    noise = SampleNoise(seed, range(count), (1, 5, 5), dtype=torch.float64)
    return sample_batch(provider or Smooth(), sampler, noise)


@pytest.mark.parametrize("spacing", ["linspace", "trailing", "karras", "logsnr"])
@pytest.mark.parametrize("steps", [1, 2, 7, 50])
def test_euler_is_ddim_with_eta_zero_on_the_same_timesteps(spacing: str, steps: int) -> None:
    euler, ddim = EulerSampler(SCHED, steps, spacing=spacing), DDIMSampler(SCHED, steps, spacing=spacing)
    assert euler.timesteps == ddim.timesteps
    assert torch.allclose(run(euler), run(ddim), rtol=0, atol=1e-12)
    # and step by step, x0 estimates included
    x = torch.randn((2, 1, 3, 3), generator=torch.Generator().manual_seed(2), dtype=torch.float64) * 2
    for i in range(steps):
        a = euler.step(lambda x, t: Smooth().predict_eps(x, torch.tensor([t]), SCHED), x, i, {}, None)
        b = ddim.step(lambda x, t: Smooth().predict_eps(x, torch.tensor([t]), SCHED), x, i, {}, None)
        assert torch.allclose(a.prev_sample, b.prev_sample, rtol=0, atol=1e-12)
        assert torch.allclose(a.pred_original_sample, b.pred_original_sample, rtol=0, atol=1e-12)


@pytest.mark.parametrize("steps", [1, 2, 3, 10, 25])
def test_multistep_variants_reduce_to_dpmpp_2m(steps: int) -> None:
    reference = run(DPMPP2MSampler(SCHED, steps, spacing="karras"))
    sde = DPMPP2MSDESampler(SCHED, steps, spacing="karras", eta=0, solver="midpoint")
    assert not sde.stochastic
    assert torch.allclose(run(sde), reference, rtol=0, atol=1e-12)
    predictor_only = UniPCSampler(SCHED, steps, spacing="karras", corrector=False)
    assert torch.allclose(run(predictor_only), reference, rtol=0, atol=1e-12)
    if steps >= 3:  # the corrector changes the result
        assert not torch.allclose(run(UniPCSampler(SCHED, steps, spacing="karras")), reference, atol=1e-6)


def dpmpp_2m_vp_form(x_T: torch.Tensor, timesteps: list[int]) -> torch.Tensor:  # noqa: N803
    """DPM-Solver++(2M) exactly as Lu et al. 2022 write Algorithm 2, with alpha_t = sqrt(abar_t),
    sigma_t = sqrt(1 - abar_t), lambda_t = log(alpha_t / sigma_t); last step to t = 0 is x0_hat."""
    ab = [float(SCHED.alpha_bars[t]) for t in timesteps]
    alpha, sigma = [a ** 0.5 for a in ab], [(1 - a) ** 0.5 for a in ab]
    lam = [math.log(a / s) for a, s in zip(alpha, sigma)]
    x, previous = x_T, None
    for i, t in enumerate(timesteps):
        eps = Smooth().predict_eps(x, torch.tensor([t]), SCHED)
        x0 = (x - sigma[i] * eps) / alpha[i]
        if i == len(timesteps) - 1:
            return x0
        h = lam[i + 1] - lam[i]
        d = x0
        if previous is not None:
            r = (lam[i] - lam[i - 1]) / h
            d = (1 + 1 / (2 * r)) * x0 - 1 / (2 * r) * previous
        x = sigma[i + 1] / sigma[i] * x - alpha[i + 1] * math.expm1(-h) * d
        previous = x0
    return x


@pytest.mark.parametrize("spacing", ["linspace", "logsnr"])
def test_dpmpp_2m_matches_the_papers_vp_form(spacing: str) -> None:
    sampler = DPMPP2MSampler(SCHED, 8, spacing=spacing)
    x_T = SampleNoise(0, range(3), (1, 5, 5), dtype=torch.float64).initial()  # noqa: N806
    assert torch.allclose(run(sampler), dpmpp_2m_vp_form(x_T, sampler.timesteps), rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", ["euler", "heun", "dpmpp-2m", "dpmpp-2m-sde", "unipc"])
def test_every_solver_lands_on_the_point_mass(name: str) -> None:
    target = torch.rand((2, 1, 5, 5), generator=torch.Generator().manual_seed(4), dtype=torch.float64) * 2 - 1
    cls, _ = get_registry().sampler(name)
    for steps in (1, 2, 9):
        assert torch.allclose(run(cls(SCHED, steps), count=2, provider=PointMass(target)), target, atol=1e-8)


def test_nfe_is_what_the_loop_counts_for_every_sampler() -> None:
    for name, (cls, _) in get_registry().samplers.items():
        for steps in (1, 2, 6):
            sampler = cls(SCHED, steps)
            model = CountedModel(Smooth(), sampler)
            sample_batch(Smooth(), sampler, SampleNoise(0, range(2), (1, 3, 3)), model=model)
            assert model.calls == sampler.nfe, (name, steps)
    assert HeunSampler(SCHED, 10).nfe == 19 and HeunSampler(SCHED, 10).describe()["nfe"] == 19


class Recorder(EpsilonProvider):
    name, description = "recorder", "test"

    def __init__(self) -> None:
        self.calls: list[int] = []

    def predict_eps(self, x_t, t, schedule):
        self.calls.append(int(t[0]))
        return Smooth().predict_eps(x_t, t, schedule)


def test_heun_churn_raises_sigma_to_a_grid_timestep() -> None:
    plain, churned = HeunSampler(SCHED, 10), HeunSampler(SCHED, 10, s_churn=4, s_tmin=0.05, s_tmax=50)
    assert not plain.stochastic and churned.stochastic and plain.churn_timesteps == plain.timesteps
    table = SCHED.sigma(torch.arange(1, 1001)).log().numpy()
    gamma = min(4 / 10, 2 ** 0.5 - 1)
    for t, t_hat, sigma in zip(churned.timesteps, churned.churn_timesteps, churned.sigmas):
        assert isinstance(t_hat, int) and t <= t_hat <= 1000
        if not 0.05 <= sigma <= 50:
            assert t_hat == t
        elif t_hat < 1000:  # the grid sigma nearest to sigma (1 + gamma) in log, among t >= t_i
            target = math.log(sigma * (1 + gamma))
            assert abs(table[t_hat - 1] - target) <= np.abs(table[t - 1:] - target).min() + 1e-12
    assert churned.churn_timesteps != churned.timesteps
    recorder = Recorder()
    out = run(churned, provider=recorder)
    allowed = set(churned.timesteps) | set(churned.churn_timesteps)
    assert set(recorder.calls) <= allowed and len(recorder.calls) == churned.nfe
    assert not torch.allclose(out, run(plain))
    # no raised level on the grid, no noise: equals the plain sampler
    assert torch.equal(run(HeunSampler(SCHED, 10, s_churn=4, s_tmin=1e9)), run(plain))


#: every registered sampler with its defaults, plus the stochastic variants
def _variants() -> list[tuple[str, dict[str, str]]]:
    out = [(name, {}) for name in sorted(get_registry().samplers)]
    return out + [("ddim", {"eta": "1"}), ("heun", {"s_churn": "10"}), ("dpmpp-2m-sde", {"solver": "heun"})]


def test_samples_are_byte_identical_whatever_the_batch_size() -> None:
    provider = Smooth()
    for name, options in _variants():
        cls, _ = get_registry().sampler(name)
        sampler = cls(SCHED, 6, options)
        outs = [generate(provider, sampler, 7, seed=5, batch_size=b, image_shape=(1, 6, 6)) for b in (1, 3, 7)]
        assert outs[0].dtype == np.uint8 and outs[0].shape == (7, 6, 6)
        assert all(np.array_equal(outs[0], o) for o in outs[1:]), (name, options)
        # float samples too, not only after quantisation
        whole = sample_batch(provider, sampler, SampleNoise(5, range(7), (1, 6, 6)))
        parts = torch.cat([sample_batch(provider, sampler, SampleNoise(5, r, (1, 6, 6)))
                           for r in (range(0, 1), range(1, 4), range(4, 7))])
        assert torch.equal(whole, parts), (name, options)


def test_clipping_keeps_every_solvers_x0_estimate_in_range() -> None:
    for cls in (EulerSampler, HeunSampler, DPMPP2MSampler, DPMPP2MSDESampler, UniPCSampler):
        sampler = cls(SCHED, 4, clip_x0=True)
        assert issubclass(cls, SigmaSpaceSampler)
        x = torch.full((1, 1, 2, 2), 3.0, dtype=torch.float64)
        out = sampler.step(lambda x, t: torch.zeros_like(x), x, 1, {}, None)
        assert out.pred_original_sample.abs().max().item() <= 1.0


def test_options_defaults_labels_and_refusals() -> None:
    assert EulerSampler(SCHED, 10).label() == "euler"
    assert EulerSampler(SCHED, 10, spacing="linspace").label() == "euler spacing=linspace"
    assert DPMPP2MSDESampler(SCHED, 10, eta=1).label() == "dpmpp-2m-sde"
    assert DPMPP2MSDESampler(SCHED, 10, eta=0.5).label() == "dpmpp-2m-sde eta=0.5"
    assert UniPCSampler(SCHED, 10, corrector=False).label() == "unipc corrector=0"
    assert HeunSampler(SCHED, 10, s_tmax="inf").label() == "heun"
    for cls in (EulerSampler, HeunSampler, DPMPP2MSampler, DPMPP2MSDESampler, UniPCSampler):
        sampler = cls(SCHED, 5)
        assert set(sampler.option_defaults()) == set(cls.options)
        assert sampler.spacing == cls.default_spacing
        json.dumps(sampler.describe(), allow_nan=False)  # strict JSON (s_tmax = inf is written as null)
    with pytest.raises(DenoisebenchError, match="sampler 'euler' has no option 'eta'"):
        EulerSampler(SCHED, 10, eta=0.5)
    with pytest.raises(DenoisebenchError, match="eta"):
        DPMPP2MSDESampler(SCHED, 10, eta=1.5)
    with pytest.raises(DenoisebenchError, match="solver"):
        DPMPP2MSDESampler(SCHED, 10, solver="rk4")
    with pytest.raises(DenoisebenchError, match="s_churn"):
        HeunSampler(SCHED, 10, s_churn=-1)
