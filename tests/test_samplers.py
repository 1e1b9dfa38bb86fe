"""Samplers against the seed's equations and the DDPM/DDIM equivalences."""

from __future__ import annotations

import math

import pytest
import torch

from denoisebench.datasets.base import ImageDataset
from denoisebench.errors import DenoisebenchError
from denoisebench.diffusion.noise import SampleNoise
from denoisebench.diffusion.loop import sample_batch
from denoisebench.providers.base import EpsilonProvider, ProviderContext
from denoisebench.diffusion.samplers import DDIMSampler, DDPMSampler, timestep_sequence
from denoisebench.diffusion.schedule import linear_schedule

SCHED = linear_schedule(1000)


class PointMass(EpsilonProvider):
    """The exact eps of data concentrated on one image x*."""

    name = "point-mass"
    description = "test"

    def __init__(self, target: torch.Tensor) -> None:
        self.target = target

    def predict_eps(self, x_t, t, schedule):
        ab = schedule.alpha_bars[t].to(x_t.dtype).view(-1, 1, 1, 1)
        return (x_t - ab.sqrt() * self.target) / (1 - ab).sqrt()


class Affine(EpsilonProvider):
    """A smooth, t-dependent, non-trivial eps to compare samplers with."""

    name = "affine"
    description = "test"

    def __init__(self) -> None:
        pass

    def predict_eps(self, x_t, t, schedule):
        ab = schedule.alpha_bars[t].to(x_t.dtype).view(-1, 1, 1, 1)
        return (1 - ab).sqrt() * x_t + 0.1 * torch.tanh(x_t)


def test_timestep_sequence_endpoints() -> None:
    for steps in (1, 2, 10, 50, 999, 1000):
        seq = timestep_sequence(1000, steps)
        assert len(seq) == steps and seq[0] == 1000
        assert all(a > b for a, b in zip(seq, seq[1:]))
        if steps > 1:
            assert seq[-1] == 1
    assert timestep_sequence(1000, 1000) == list(range(1000, 0, -1))
    for bad in (0, 1001):
        with pytest.raises(DenoisebenchError, match="steps"):
            timestep_sequence(1000, bad)


@pytest.mark.parametrize("variance", ["large", "small"])
@pytest.mark.parametrize("t", [1000, 500, 2])
def test_one_ancestral_step_with_true_eps_of_point_mass(variance: str, t: int) -> None:
    target = torch.linspace(-1, 1, 16, dtype=torch.float64).view(1, 1, 4, 4)
    sampler = DDPMSampler(SCHED, 1000, variance=variance)
    i = sampler.timesteps.index(t)
    g = torch.Generator().manual_seed(t)
    x_t = torch.randn((1, 1, 4, 4), generator=g, dtype=torch.float64)
    z = torch.randn((1, 1, 4, 4), generator=g, dtype=torch.float64)
    eps = PointMass(target).predict_eps(x_t, torch.tensor([t]), SCHED)
    out = sampler.update(x_t, eps, i, z)
    # seed eq. 2, written out by hand
    a, b, ab = SCHED.alphas[t].item(), SCHED.betas[t].item(), SCHED.alpha_bars[t].item()
    ab_p = SCHED.alpha_bars[t - 1].item()
    sigma2 = b if variance == "large" else (1 - ab_p) * b / (1 - ab)
    expect = (x_t - b / math.sqrt(1 - ab) * eps) / math.sqrt(a) + math.sqrt(sigma2) * z
    assert torch.allclose(out, expect, atol=1e-10)
    # with the true eps the mean is the true posterior mean of x_{t-1} given x_t and x*
    mean = (math.sqrt(ab_p) * b * target + math.sqrt(a) * (1 - ab_p) * x_t) / (1 - ab)
    assert torch.allclose(out - math.sqrt(sigma2) * z, mean, atol=1e-10)


def test_last_step_is_noise_free_and_lands_on_the_point_mass() -> None:
    target = torch.rand((2, 1, 4, 4), dtype=torch.float64) * 2 - 1
    for sampler in (DDPMSampler(SCHED, 1000), DDPMSampler(SCHED, 7, variance="small"),
                    DDIMSampler(SCHED, 5), DDIMSampler(SCHED, 1)):
        noise = SampleNoise(0, range(2), (1, 4, 4), dtype=torch.float64)
        out = sample_batch(PointMass(target), sampler, noise)
        assert torch.allclose(out, target, atol=1e-8)


def test_ddim_eta_one_on_full_sequence_equals_ancestral_with_posterior_variance() -> None:
    ddim = DDIMSampler(SCHED, 1000, eta=1.0)
    ddpm = DDPMSampler(SCHED, 1000, variance="small")
    outs = []
    for sampler in (ddim, ddpm):
        noise = SampleNoise(7, range(3), (1, 6, 6), dtype=torch.float64)
        outs.append(sample_batch(Affine(), sampler, noise))
    assert torch.allclose(outs[0], outs[1], atol=1e-8)
    # one step of each from the same state, for every t
    g = torch.Generator().manual_seed(1)
    x = torch.randn((2, 1, 3, 3), generator=g, dtype=torch.float64)
    z = torch.randn((2, 1, 3, 3), generator=g, dtype=torch.float64)
    for i in range(0, 1000, 37):
        t = torch.full((2,), ddim.timesteps[i])
        eps = Affine().predict_eps(x, t, SCHED)
        assert torch.allclose(ddim.update(x, eps, i, z), ddpm.update(x, eps, i, z), atol=1e-10)


def test_ddim_eta_zero_is_deterministic_and_ignores_noise() -> None:
    sampler = DDIMSampler(SCHED, 20)
    assert not sampler.stochastic
    a = sample_batch(Affine(), sampler, SampleNoise(3, range(2), (1, 5, 5), dtype=torch.float64))
    b = sample_batch(Affine(), sampler, SampleNoise(3, range(2), (1, 5, 5), dtype=torch.float64))
    assert torch.equal(a, b)


def test_clipping_keeps_x0_hat_in_range() -> None:
    sampler = DDIMSampler(SCHED, 10, clip_x0=True)
    x = torch.full((1, 1, 2, 2), 3.0, dtype=torch.float64)
    eps = torch.zeros_like(x)
    x0, eps_c = sampler.x0_and_eps(x, eps, 0)
    assert x0.max().item() <= 1.0
    ab = SCHED.alpha_bars[sampler.timesteps[0]].item()
    assert torch.allclose(x, math.sqrt(ab) * x0 + math.sqrt(1 - ab) * eps_c)


def test_sample_noise_depends_only_on_seed_and_index() -> None:
    big, small = SampleNoise(5, range(0, 6), (1, 3, 3)), SampleNoise(5, range(4, 6), (1, 3, 3))
    assert torch.equal(big.initial()[4:], small.initial())
    for k in range(130):  # consecutive steps, across block boundaries
        assert torch.equal(big.step(k)[4:], small.step(k))
    assert not torch.equal(SampleNoise(6, [4], (1, 3, 3)).initial(), small.initial()[:1])


def test_wrong_shape_from_provider_is_a_clear_error(tiny_dataset: ImageDataset) -> None:
    class Bad(EpsilonProvider):
        name, description = "bad", "test"

        def predict_eps(self, x_t, t, schedule):
            return x_t[:, :, :-1]

    with pytest.raises(DenoisebenchError, match="'bad' returned eps of shape"):
        sample_batch(Bad(ProviderContext(tiny_dataset)), DDIMSampler(SCHED, 3),
                     SampleNoise(0, range(2), (1, 28, 28)))
