"""``dpmpp-2m``, ``dpmpp-2m-sde`` and ``unipc`` against diffusers' schedulers on the same timesteps
(a test-only dependency: skipped without diffusers).

diffusers is driven with our timesteps (its t = ours - 1, its ``alphas_cumprod[k]`` is our abar_{k+1})
and our float64 sigmas, ``final_sigmas_type="zero"`` (land on x0_hat, as every sampler here does)
and ``lower_order_final`` (its default). DPMSolverMultistepScheduler casts the sample to float32
inside ``step``, hence the looser tolerance there; UniPC stays in float64.
"""

from __future__ import annotations

import pytest
import torch

from denoisebench.diffusion.noise import SampleNoise
from denoisebench.diffusion.samplers import DDIMSampler, DPMPP2MSampler, DPMPP2MSDESampler, UniPCSampler
from denoisebench.diffusion.schedule import linear_schedule

diffusers = pytest.importorskip("diffusers")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # diffusers' own numpy 2 warnings

SCHED = linear_schedule(1000)
SHAPE = (2, 1, 4, 4)


def eps_model(x: torch.Tensor, t: int) -> torch.Tensor:
    """The exact eps of N(0.3, 0.25 I) data plus a nonlinear term."""
    ab = float(SCHED.alpha_bars[t])
    return (1 - ab) ** 0.5 * (x - ab ** 0.5 * 0.3) / (ab * 0.25 + 1 - ab) + 0.05 * torch.tanh(x)


def ours(sampler, x_T: torch.Tensor, noise: SampleNoise | None = None) -> torch.Tensor:  # noqa: N803
    x, state = x_T, {}
    for i in range(len(sampler.timesteps)):
        x = sampler.step(eps_model, x, i, state, noise).prev_sample
    return x


def theirs(scheduler, sampler, x_T: torch.Tensor, noise: SampleNoise | None = None) -> torch.Tensor:  # noqa: N803
    scheduler.set_timesteps(len(sampler.timesteps))
    scheduler.timesteps = torch.tensor([t - 1 for t in sampler.timesteps], dtype=torch.int64)
    scheduler.sigmas = torch.tensor(sampler.sigmas, dtype=torch.float64)
    x = x_T
    for i, t in enumerate(sampler.timesteps):
        kwargs = {"variance_noise": noise.step(i)} if noise is not None else {}
        x = scheduler.step(eps_model(x, t), scheduler.timesteps[i], x, **kwargs).prev_sample.to(torch.float64)
    return x


def config(**kw: object) -> dict[str, object]:
    return dict(num_train_timesteps=1000, beta_start=1e-4, beta_end=0.02, beta_schedule="linear",
                prediction_type="epsilon", final_sigmas_type="zero", **kw)


def x_T() -> torch.Tensor:  # noqa: N802
    return torch.randn(SHAPE, generator=torch.Generator().manual_seed(1), dtype=torch.float64)


@pytest.mark.parametrize("steps", [3, 10, 20])
@pytest.mark.parametrize("spacing", ["linspace", "karras", "logsnr"])
def test_dpmpp_2m_matches_diffusers_dpmsolver_plus_plus(steps: int, spacing: str) -> None:
    sampler = DPMPP2MSampler(SCHED, steps, spacing=spacing)
    scheduler = diffusers.DPMSolverMultistepScheduler(**config(algorithm_type="dpmsolver++", solver_order=2))
    got, want = ours(sampler, x_T()), theirs(scheduler, sampler, x_T())
    assert torch.allclose(got, want, rtol=0, atol=2e-6)
    # the tolerance separates methods: first order (DDIM) on the same steps is far off
    assert (ours(DDIMSampler(SCHED, steps, spacing=spacing), x_T()) - want).abs().max() > 100 * 2e-6


@pytest.mark.parametrize("steps", [3, 10, 20])
def test_dpmpp_2m_sde_matches_diffusers_sde_dpmsolver_plus_plus(steps: int) -> None:
    sampler = DPMPP2MSDESampler(SCHED, steps, eta=1, solver="midpoint")
    scheduler = diffusers.DPMSolverMultistepScheduler(**config(algorithm_type="sde-dpmsolver++", solver_order=2))
    got = ours(sampler, x_T(), SampleNoise(3, range(2), SHAPE[1:], dtype=torch.float64))
    want = theirs(scheduler, sampler, x_T(), SampleNoise(3, range(2), SHAPE[1:], dtype=torch.float64))
    assert torch.allclose(got, want, rtol=0, atol=2e-6)


@pytest.mark.parametrize("steps", [2, 3, 10, 20])
@pytest.mark.parametrize("spacing", ["linspace", "karras", "logsnr"])
def test_unipc_matches_diffusers_unipc_bh2(steps: int, spacing: str) -> None:
    sampler = UniPCSampler(SCHED, steps, spacing=spacing)
    scheduler = diffusers.UniPCMultistepScheduler(**config(solver_order=2, solver_type="bh2", predict_x0=True))
    got, want = ours(sampler, x_T()), theirs(scheduler, sampler, x_T())
    assert torch.allclose(got, want, rtol=0, atol=1e-10)
