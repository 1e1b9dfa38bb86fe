"""The empirical (memorising) provider against a direct float64 computation."""

from __future__ import annotations

import torch

from denoisebench.datasets.base import ImageDataset
from denoisebench.providers.base import ProviderContext
from denoisebench.providers.empirical import EmpiricalProvider
from denoisebench.diffusion.schedule import linear_schedule


def direct_x0(x_t: torch.Tensor, t: int, train: torch.Tensor, sched) -> torch.Tensor:
    """softmax_j(-||x_t - sqrt(abar) x_j||^2 / (2 (1 - abar))) weighted mean, in float64."""
    ab = sched.alpha_bars[t].item()
    d2 = ((x_t.flatten(1)[:, None, :] - ab ** 0.5 * train.flatten(1)[None]) ** 2).sum(-1)
    w = torch.softmax(-d2 / (2 * (1 - ab)), dim=1)
    return (w @ train.flatten(1)).view_as(x_t)


def test_x0_hat_matches_direct_softmax(tiny_dataset: ImageDataset) -> None:
    sched = linear_schedule()
    train = tiny_dataset.train_tensor().double()
    g = torch.Generator().manual_seed(0)
    for chunk in ("7", "4096"):
        provider = EmpiricalProvider(ProviderContext(tiny_dataset, options={"chunk": chunk}))
        for t in (5, 100, 400, 1000):
            x_t = torch.randn((3, 1, 28, 28), generator=g)
            eps = provider.predict_eps(x_t, torch.full((3,), t), sched)
            ab = sched.alpha_bars[t].item()
            x0 = (x_t.double() - (1 - ab) ** 0.5 * eps.double()) / ab ** 0.5
            assert torch.allclose(x0, direct_x0(x_t.double(), t, train, sched), atol=2e-4)


def test_small_t_recovers_the_nearest_training_image(tiny_dataset: ImageDataset) -> None:
    sched = linear_schedule()
    provider = EmpiricalProvider(ProviderContext(tiny_dataset))
    train = tiny_dataset.train_tensor()
    t = 20
    ab = sched.alpha_bars[t].item()
    x_t = ab ** 0.5 * train[5:6] + (1 - ab) ** 0.5 * torch.randn((1, 1, 28, 28))
    eps = provider.predict_eps(x_t, torch.tensor([t]), sched)
    x0 = (x_t - (1 - ab) ** 0.5 * eps) / ab ** 0.5
    assert torch.allclose(x0, train[5:6], atol=1e-3)
