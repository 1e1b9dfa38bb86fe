"""The D(y) -> epsilon adapter of the core, against closed forms.

For data x ~ N(m, c^2 I) in [0, 1] units the MMSE denoiser of y = x + s n is
D(y) = m + c^2 / (c^2 + s^2) (y - m). In [-1, 1] units x0 = 2x - 1 ~ N(2m - 1, 4c^2) and
x_t = sqrt(abar) x0 + sqrt(1 - abar) eps, so the joint Gaussian gives the exact posterior mean

    E[eps | x_t] = sqrt(1 - abar) (x_t - sqrt(abar) (2m - 1)) / (4 abar c^2 + 1 - abar),

which the adapter in ``tweedie`` mode must reproduce (Tweedie's formula).
"""

from __future__ import annotations

from typing import ClassVar

import pytest
import torch

from denoisebench.datasets.base import ImageDataset
from denoisebench.providers.base import ProviderContext
from denoisebench.providers.kbnet.arch import KBNetConfig, KBNetS
from denoisebench.providers.kbnet.provider import KBNetProvider
from denoisebench.providers.restoration import NORMALISATION_MODES, RestorationProvider
from denoisebench.diffusion.schedule import cosine_schedule, linear_schedule

M, C = 0.3, 0.2


class GaussianMMSE(RestorationProvider):
    """The exact optimal denoiser of N(M, C^2 I); it needs the noise level."""

    name: ClassVar[str] = "gauss-mmse"
    description: ClassVar[str] = "test"
    blind: ClassVar[bool] = False

    def denoise(self, y: torch.Tensor, noise_std: torch.Tensor | None) -> torch.Tensor:
        assert noise_std is not None
        s2 = noise_std.to(y.dtype).view(-1, 1, 1, 1) ** 2
        return M + C ** 2 / (C ** 2 + s2) * (y - M)


class Recorder(RestorationProvider):
    """Shrinks towards grey and records what it is told."""

    name: ClassVar[str] = "recorder"
    description: ClassVar[str] = "test"
    noise_range: ClassVar[tuple[float, float]] = (0.01, 0.2)
    seen: list[object]

    def denoise(self, y: torch.Tensor, noise_std: torch.Tensor | None) -> torch.Tensor:
        self.seen.append(noise_std)
        return 0.5 + 0.5 * (y - 0.5)


def _provider(cls: type[RestorationProvider], dataset: ImageDataset, mode: str = "tweedie",
              blind: bool | None = None) -> RestorationProvider:
    klass = cls if blind is None else type(f"{cls.__name__}Blind{blind}", (cls,), {"blind": blind})
    p = klass(ProviderContext(dataset, options={"mode": mode}))
    p.seen = []
    return p


def exact_eps_posterior_mean(x_t: torch.Tensor, abar: torch.Tensor) -> torch.Tensor:
    ab = abar.view(-1, 1, 1, 1)
    return (1 - ab).sqrt() * (x_t - ab.sqrt() * (2 * M - 1)) / (4 * ab * C ** 2 + 1 - ab)


@pytest.mark.parametrize("schedule", [linear_schedule(), cosine_schedule()], ids=["linear", "cosine"])
def test_tweedie_mode_gives_the_exact_epsilon_posterior_mean(tiny_dataset: ImageDataset, schedule) -> None:
    provider = _provider(GaussianMMSE, tiny_dataset)
    t = torch.arange(1, schedule.T + 1)
    g = torch.Generator().manual_seed(0)
    x_t = torch.randn((t.numel(), 1, 4, 4), generator=g, dtype=torch.float64) * 1.5
    eps = provider.predict_eps(x_t, t, schedule)
    expected = exact_eps_posterior_mean(x_t, schedule.alpha_bars[t])
    assert torch.allclose(eps, expected, rtol=1e-9, atol=1e-9)


def test_tweedie_epsilon_is_unbiased_on_gaussian_data(tiny_dataset: ImageDataset) -> None:
    """Sanity of the closed form itself: on data drawn from the model, E[eps_hat - eps] = 0."""
    schedule = linear_schedule()
    provider = _provider(GaussianMMSE, tiny_dataset)
    g = torch.Generator().manual_seed(1)
    for t in (10, 300, 900):
        x0 = 2 * (M + C * torch.randn((4000, 1, 2, 2), generator=g, dtype=torch.float64)) - 1
        eps = torch.randn(x0.shape, generator=g, dtype=torch.float64)
        ab = schedule.alpha_bars[t]
        x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
        err = provider.predict_eps(x_t, torch.full((4000,), t), schedule) - eps
        assert abs(err.mean().item()) < 0.02


@pytest.mark.parametrize("blind", [True, False])
def test_blind_denoisers_get_none_and_others_get_s_t(tiny_dataset: ImageDataset, blind: bool) -> None:
    schedule = linear_schedule()
    provider = _provider(Recorder, tiny_dataset, blind=blind)
    t = torch.tensor([1, 250, 1000])
    provider.predict_eps(torch.zeros(3, 1, 4, 4), t, schedule)
    (told,) = provider.seen
    if blind:
        assert told is None
    else:
        ab = schedule.alpha_bars[t]
        assert torch.allclose(told.double(), ((1 - ab) / ab).sqrt() / 2, rtol=1e-6)


def test_scaled_mode_keeps_the_noise_inside_the_trained_range(tiny_dataset: ImageDataset) -> None:
    schedule = linear_schedule()
    provider = _provider(Recorder, tiny_dataset, mode="scaled", blind=False)
    t = torch.arange(1, schedule.T + 1)
    provider.predict_eps(torch.zeros(t.numel(), 1, 4, 4), t, schedule)
    (told,) = provider.seen
    s_min, s_max = Recorder.noise_range
    assert float(told.min()) == pytest.approx(s_min) and float(told.max()) == pytest.approx(s_max)


def test_scaled_mode_equals_tweedie_with_clamped_output_inside_the_range(tiny_dataset: ImageDataset) -> None:
    schedule = linear_schedule()
    ab_all = schedule.alpha_bars
    s_all = ((1 - ab_all[1:]) / ab_all[1:]).sqrt() / 2
    lo, hi = Recorder.noise_range
    t = torch.nonzero((s_all >= lo) & (s_all <= hi)).view(-1) + 1
    x_t = torch.randn((t.numel(), 1, 4, 4), generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    scaled = _provider(Recorder, tiny_dataset, mode="scaled").predict_eps(x_t, t, schedule)
    ab = ab_all[t].view(-1, 1, 1, 1)
    u = (x_t / ab.sqrt() + 1) / 2
    x0 = 2 * torch.clamp(0.5 + 0.5 * (u - 0.5), 0, 1) - 1
    assert torch.allclose(scaled, (x_t - ab.sqrt() * x0) / (1 - ab).sqrt())


def test_seed_mode_is_the_seeds_unit_std_residual(tiny_dataset: ImageDataset) -> None:
    schedule = linear_schedule()
    x_t = torch.randn((3, 1, 8, 8), generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    eps = _provider(Recorder, tiny_dataset, mode="seed").predict_eps(x_t, torch.tensor([5, 50, 500]), schedule)
    y = (x_t + 1) / 2
    r = y - (0.5 + 0.5 * (y - 0.5))
    assert torch.allclose(eps, r / r.flatten(1).std(dim=1).view(-1, 1, 1, 1))


def test_seed_mode_tells_a_non_blind_denoiser_the_noise_std_of_its_input(tiny_dataset: ImageDataset) -> None:
    """y = (x_t + 1) / 2 carries noise sqrt(1 - abar) eps / 2."""
    schedule = linear_schedule()
    provider = _provider(Recorder, tiny_dataset, mode="seed", blind=False)
    t = torch.tensor([1, 250, 1000])
    provider.predict_eps(torch.zeros(3, 1, 4, 4), t, schedule)
    assert torch.allclose(provider.seen[0].double(), (1 - schedule.alpha_bars[t]).sqrt() / 2, rtol=1e-6)


def _tiny_kbnet(dataset: ImageDataset, mode: str, precond: str = "none") -> KBNetProvider:
    torch.manual_seed(0)
    cfg = KBNetConfig(width=4, middle_blk_num=1, enc_blk_nums=(1,), dec_blk_nums=(1,), nset=2,
                      sigma_min=0.01, sigma_max=0.5, sigma_dist="uniform", precond=precond)
    return KBNetProvider.from_model(KBNetS(cfg), ProviderContext(dataset, options={"mode": mode}))


@pytest.mark.parametrize("mode", NORMALISATION_MODES)
@pytest.mark.parametrize("which", ["kbnet", "kbnet-edm", "toy"])
def test_every_mode_is_finite_for_every_t(tiny_dataset: ImageDataset, mode: str, which: str) -> None:
    schedule = linear_schedule()
    if which == "toy":
        provider = _provider(Recorder, tiny_dataset, mode)
    else:
        provider = _tiny_kbnet(tiny_dataset, mode, precond="edm" if which == "kbnet-edm" else "none")
    t = torch.arange(1, schedule.T + 1)
    x_t = torch.randn((t.numel(), 1, 12, 12), generator=torch.Generator().manual_seed(4))
    with torch.inference_mode():
        eps = provider.predict_eps(x_t, t, schedule)
    assert eps.shape == x_t.shape and bool(torch.isfinite(eps).all())
