"""The diffusion math against closed forms (DESIGN.md, 'The mathematics')."""

from __future__ import annotations

import math

import pytest
import torch

from denoisebench.diffusion.forward import eps_from_x0, posterior, q_sample, q_step, x0_from_eps
from denoisebench.diffusion.schedule import cosine_schedule, linear_schedule


@pytest.fixture(scope="module")
def sched():
    return linear_schedule(1000)


def test_linear_schedule_endpoints_and_products(sched) -> None:
    assert sched.T == 1000
    assert sched.betas[1].item() == pytest.approx(1e-4)
    assert sched.betas[1000].item() == pytest.approx(0.02)
    # abar_t is the running product of (1 - beta_s), computed here independently
    prod = 1.0
    for t in range(1, 301):
        prod *= 1 - (1e-4 + (0.02 - 1e-4) * (t - 1) / 999)
    assert sched.alpha_bars[300].item() == pytest.approx(prod, rel=1e-12)
    assert sched.alpha_bars[0].item() == 1.0


def test_cosine_schedule_matches_its_definition() -> None:
    s = cosine_schedule(1000)
    f = lambda t: math.cos((t / 1000 + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    for t in (1, 10, 500, 900):
        assert s.alpha_bars[t].item() == pytest.approx(f(t) / f(0), rel=1e-9)


@pytest.mark.parametrize("t", [1, 50, 400, 1000])
def test_q_sample_marginal_mean_and_variance(sched, t: int) -> None:
    g = torch.Generator().manual_seed(t)
    x0 = torch.full((200_000, 1), 0.6, dtype=torch.float64)
    noise = torch.randn(x0.shape, generator=g, dtype=torch.float64)
    xt = q_sample(x0, torch.full((x0.shape[0],), t), sched, noise)
    ab = sched.alpha_bars[t].item()
    se = math.sqrt((1 - ab) / x0.shape[0])
    assert xt.mean().item() == pytest.approx(math.sqrt(ab) * 0.6, abs=5 * se)
    assert xt.var().item() == pytest.approx(1 - ab, rel=0.02)


def test_iterated_one_step_chain_matches_closed_form(sched) -> None:
    torch.manual_seed(0)
    x = torch.full((100_000, 1), -0.8, dtype=torch.float64)
    t_end = 300
    for t in range(1, t_end + 1):
        x = q_step(x, torch.full((x.shape[0],), t), sched)
    ab = sched.alpha_bars[t_end].item()
    assert x.mean().item() == pytest.approx(math.sqrt(ab) * -0.8, abs=5 * math.sqrt((1 - ab) / 1e5))
    assert x.var().item() == pytest.approx(1 - ab, rel=0.02)


@pytest.mark.parametrize("t", [2, 10, 500, 1000])
def test_posterior_matches_bayes_rule(sched, t: int) -> None:
    """q(x_{t-1} | x_t, x_0) from prior N(sqrt(abar_{t-1}) x0, 1 - abar_{t-1}) and likelihood
    N(x_t; sqrt(alpha_t) x_{t-1}, beta_t): precisions add, means weight by precision."""
    x0 = torch.tensor([[0.3], [-0.9]], dtype=torch.float64)
    xt = torch.tensor([[1.2], [0.1]], dtype=torch.float64)
    mean, var = posterior(x0, xt, torch.tensor([t, t]), sched)
    ab_p = sched.alpha_bars[t - 1].item()
    a, b = sched.alphas[t].item(), sched.betas[t].item()
    precision = 1 / (1 - ab_p) + a / b
    expect_var = 1 / precision
    expect_mean = expect_var * (math.sqrt(ab_p) * x0 / (1 - ab_p) + math.sqrt(a) * xt / b)
    assert torch.allclose(var, torch.full_like(var, expect_var), rtol=1e-10)
    assert torch.allclose(mean, expect_mean, rtol=1e-10)
    # and the design guide's beta~_t
    assert sched.posterior_variance()[t].item() == pytest.approx(expect_var, rel=1e-10)


def test_x0_eps_conversions_invert_each_other(sched) -> None:
    g = torch.Generator().manual_seed(3)
    x0 = torch.rand((4, 1, 5, 5), generator=g, dtype=torch.float64) * 2 - 1
    eps = torch.randn(x0.shape, generator=g, dtype=torch.float64)
    t = torch.tensor([1, 20, 600, 1000])
    xt = q_sample(x0, t, sched, eps)
    assert torch.allclose(x0_from_eps(xt, eps, t, sched), x0, atol=1e-9)
    assert torch.allclose(eps_from_x0(xt, x0, t, sched), eps, atol=1e-9)
