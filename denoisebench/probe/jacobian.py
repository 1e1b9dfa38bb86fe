"""The trace of the denoiser's Jacobian per pixel: its effective degrees of freedom at a noise level.

The denoiser is D(y) = x0_hat with y = x_t / sqrt(abar_t) = x0 + sigma_t n (the noisy image in the
data's units), so tr(dD/dy) / n_pixels lies in [0, 1] for a shrinking linear denoiser; for the
Wiener filter it is sum_k lam_k / (lam_k + sigma^2) / n (eigenvalues in the same units as sigma).
Since dD/dy = sqrt(abar_t) dx0_hat/dx_t, the estimate is taken in x_t and rescaled.

Hutchinson: tr(J) = E[v^T J v] for Rademacher v. With autograd, v^T J v = v . grad_x (v . D(x));
otherwise central finite differences v . (D(y + h v) - D(y - h v)) / (2 h), h = 1e-2 sigma_t
(in y units; at least 1e-4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..diffusion.schedule import NoiseSchedule
from ..interfaces.provider import EpsilonProvider
from .estimates import x0_estimate

METHODS = ("auto", "autograd", "fd", "none")


@dataclass(frozen=True)
class JacobianPlan:
    """How the trace is estimated: ``method`` is autograd, fd or none (then ``reason`` says why)."""

    method: str
    reason: str = ""


def rademacher(shape: tuple[int, ...], seed: int, t: int, probe: int) -> torch.Tensor:
    """Random +-1 probes (float32) seeded by (seed, t, probe index)."""
    g = torch.Generator().manual_seed(int(np.random.SeedSequence([seed, 0x6A6163, t, probe]).generate_state(1)[0]))
    return torch.randint(0, 2, shape, generator=g).float() * 2 - 1


def plan(provider: EpsilonProvider, x_t: torch.Tensor, t: int, schedule: NoiseSchedule, requested: str,
         seed: int = 0) -> JacobianPlan:
    """Choose the method. A provider whose two calls on one input differ gets none (its randomness
    would be measured). ``auto`` takes autograd when one Hutchinson probe through autograd agrees
    with finite differences (a provider that detaches its network, e.g. under ``no_grad``, still
    yields a graph through x_t, but a wrong one), else finite differences."""
    if requested == "none":
        return JacobianPlan("none", "not requested (--jacobian none)")
    with torch.no_grad():
        a, b = x0_estimate(provider, x_t, t, schedule), x0_estimate(provider, x_t, t, schedule)
    if not torch.allclose(a, b, rtol=1e-4, atol=1e-5):  # not bit-exact: GPU kernels may reorder sums
        return JacobianPlan("none", "the provider is not deterministic (two calls on the same input differ), "
                                    "so the trace would measure its randomness")
    if requested == "fd":
        return JacobianPlan("fd")
    try:
        by_graph = trace_per_pixel(provider, x_t, t, schedule, "autograd", 1, seed)
    except RuntimeError as exc:  # no graph at all ("does not require grad")
        if requested == "autograd":
            return JacobianPlan("none", f"autograd failed ({str(exc).splitlines()[0]}): use --jacobian fd")
        return JacobianPlan("fd", "autograd failed, so finite differences")
    if requested == "autograd":
        return JacobianPlan("autograd")
    by_fd = trace_per_pixel(provider, x_t, t, schedule, "fd", 1, seed)
    if np.allclose(by_graph, by_fd, rtol=0.05, atol=0.01):
        return JacobianPlan("autograd")
    return JacobianPlan("fd", f"the autograd graph is incomplete (one probe: {by_graph.mean():.4f} by autograd, "
                              f"{by_fd.mean():.4f} by finite differences), so finite differences")


def trace_per_pixel(provider: EpsilonProvider, x_t: torch.Tensor, t: int, schedule: NoiseSchedule,
                    method: str, probes: int, seed: int) -> np.ndarray:
    """Per image: the Hutchinson estimate of tr(dD/dy) / n_pixels, averaged over ``probes`` probes."""
    ab = float(schedule.alpha_bars[t])
    sigma = ((1 - ab) / ab) ** 0.5
    n = x_t[0].numel()
    total = torch.zeros(x_t.shape[0], dtype=torch.float64)
    for k in range(probes):
        v = rademacher(tuple(x_t.shape), seed, t, k).to(x_t)
        if method == "autograd":
            x = x_t.detach().clone().requires_grad_(True)
            with torch.enable_grad():
                out = x0_estimate(provider, x, t, schedule)
                (grad,) = torch.autograd.grad((out * v).sum(), x)
            vjv = (grad * v).flatten(1).sum(dim=1).double() * ab ** 0.5  # dD/dy = sqrt(abar) dx0/dx_t
        else:
            h = max(1e-2 * sigma, 1e-4)  # in y units; x_t = sqrt(abar) y
            with torch.no_grad():
                step = (ab ** 0.5) * h * v
                diff = x0_estimate(provider, x_t + step, t, schedule) - x0_estimate(provider, x_t - step, t, schedule)
            vjv = (diff.double() * v.double()).flatten(1).sum(dim=1) / (2 * h)
        total += vjv.detach().cpu()
    return (total / probes / n).numpy()
