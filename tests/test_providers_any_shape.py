"""Every built-in provider at any C x H x W: colour and non-square images against closed forms and
brute force (empirical, wiener, els, the restoration adapters), kbnet's official colour layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from colour_kit import colour_dataset
from denoisebench import ProviderContext
from denoisebench.datasets.base import ImageDataset
from denoisebench.diffusion.schedule import linear_schedule
from denoisebench.errors import DenoisebenchError
from denoisebench.providers.els import ELSProvider
from denoisebench.providers.empirical import EmpiricalProvider
from denoisebench.providers.per_image import PerImageRestorationProvider
from denoisebench.providers.wiener import WienerProvider

SHAPES = [(3, 12, 20), (1, 12, 20), (3, 9, 8)]


@pytest.fixture(scope="module", params=SHAPES, ids=lambda s: "x".join(map(str, s)))
def data(request: pytest.FixtureRequest) -> ImageDataset:
    c, h, w = request.param
    return colour_dataset(h=h, w=w, channels=c, n=10)


def brute_empirical_x0(x_t: torch.Tensor, abar: float, train: torch.Tensor) -> torch.Tensor:
    """sum_j softmax_j(-||x_t - sqrt(a) x_j||^2 / (2 (1 - a))) x_j, float64, whole tensors."""
    d2 = ((x_t[:, None] - abar ** 0.5 * train[None]) ** 2).flatten(2).sum(-1)
    w = torch.softmax(-d2 / (2 * (1 - abar)), dim=1)
    return torch.einsum("bn,nchw->bchw", w, train)


def test_empirical_is_the_posterior_mean_at_any_shape(data: ImageDataset) -> None:
    provider = EmpiricalProvider(ProviderContext(data, options={"chunk": "3"}))
    train = data.train_tensor().double()
    x = torch.randn(3, *data.image_shape, generator=torch.Generator().manual_seed(0))
    sched = linear_schedule(1000)
    for step in (20, 300):
        t = torch.full((3,), step)
        a = float(sched.alpha_bars[step])
        got = provider.predict_eps(x, t, sched).double()
        x0 = brute_empirical_x0(x.double(), a, train)
        want = (x.double() - a ** 0.5 * x0) / (1 - a) ** 0.5
        assert torch.allclose(got, want, atol=2e-3), step


def test_empirical_reproduces_a_colour_training_image_at_low_noise() -> None:
    data = colour_dataset(n=10)
    provider = EmpiricalProvider(ProviderContext(data))
    sched = linear_schedule(1000)
    train = data.train_tensor()
    a = sched.alpha_bars[5].float()
    x_t = a.sqrt() * train[4:5] + (1 - a).sqrt() * 0.3 * torch.randn(1, 3, 12, 20)
    eps = provider.predict_eps(x_t, torch.tensor([5]), sched)
    x0 = (x_t - (1 - a).sqrt() * eps) / a.sqrt()
    assert torch.allclose(x0, train[4:5], atol=1e-4)


def test_wiener_is_the_gaussian_posterior_mean_in_the_tensors_pixel_order(data: ImageDataset) -> None:
    """D(y, s) = m + C (C + s^2 I)^-1 (y - m), with m and C of the train tensors flattened as C x H x W:
    a record flattened as H x W x C would pair the wrong pixels and fail for colour."""
    provider = WienerProvider(ProviderContext(data))
    x01 = ((data.train_tensor().double() + 1) / 2).flatten(1)
    m = x01.mean(0)
    cov = (x01 - m).T @ (x01 - m) / len(x01)
    y = torch.rand(2, *data.image_shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    s = torch.tensor([0.05, 0.4], dtype=torch.float64)
    got = provider.denoise(y, s).flatten(1)
    eye = torch.eye(len(m), dtype=torch.float64)
    for k in range(2):
        want = m + cov @ torch.linalg.solve(cov + s[k] ** 2 * eye, y[k].flatten() - m)
        assert torch.allclose(got[k], want, atol=1e-8)
    assert provider.info()["covariance_rank"] <= len(x01) - 1


def brute_els_colour(x_t: np.ndarray, abar: float, images: np.ndarray, size: int) -> np.ndarray:
    """The circular ELS posterior mean by definition for C x H x W images, float64: per pixel, a
    softmax over all C x P x P training patches at all positions, the mean of their C centre values."""
    phi_all = np.moveaxis(images, 3, 1).astype(np.float64) / 127.5 - 1.0  # N x C x H x W
    _, c, h, w = phi_all.shape
    d = size // 2
    offs = np.arange(-d, d + 1)

    def patch(img: np.ndarray, i: int, j: int) -> np.ndarray:
        return img[:, (i + offs)[:, None] % h, (j + offs)[None, :] % w]

    train_patches = np.array([patch(img, r, q) for img in phi_all for r in range(h) for q in range(w)])
    centres = train_patches[:, :, d, d]
    out = np.zeros((c, h, w))
    for i in range(h):
        for j in range(w):
            q = patch(x_t, i, j)
            logw = -((q[None] - np.sqrt(abar) * train_patches) ** 2).reshape(len(train_patches), -1).sum(1) / (2 * (1 - abar))
            wts = np.exp(logw - logw.max())
            out[:, i, j] = (wts[:, None] * centres).sum(0) / wts.sum()
    return out


def test_els_colour_patches_match_brute_force() -> None:
    data = colour_dataset(h=8, w=9, n=3)
    provider = ELSProvider(ProviderContext(data, options={"patch": "3", "patches": "all", "padding": "circular",
                                                          "chunk": "7"}))
    sched = linear_schedule(1000)
    x = torch.randn(2, 3, 8, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    t = torch.tensor([50, 400])
    got = provider.predict_x0(x, t, sched)
    for k in range(2):
        want = brute_els_colour(x[k].numpy(), float(sched.alpha_bars[t[k]]), data.train_images, 3)
        assert np.allclose(got[k].numpy(), want, atol=1e-10)


def test_els_whole_image_size_is_the_empirical_denoiser_in_colour() -> None:
    """zeros padding, P = 2 max(H, W) - 1: through the class-by-class machine and the provider's shortcut."""
    from denoisebench.providers.els.machine import els_x0
    from denoisebench.providers.els.patches import build_banks

    data = colour_dataset(h=8, w=9, n=5)
    sched = linear_schedule(1000)
    x = torch.randn(2, 3, 8, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    t = torch.tensor([30, 700])
    want = torch.stack([brute_empirical_x0(x[k:k + 1], float(sched.alpha_bars[t[k]]), data.train_tensor().double())[0]
                        for k in range(2)])
    provider = ELSProvider(ProviderContext(data, options={"patch": "17", "patches": "all"}))
    assert torch.allclose(provider.predict_x0(x, t, sched), want, atol=1e-9)
    banks = [(torch.from_numpy(b.pixels(9)), *b.tensors(torch.float64)) for b in build_banks(data.train_images, 17)]
    assert torch.allclose(els_x0(x, sched.alpha_bars[t], 17, "zeros", banks, chunk=2), want, atol=1e-9)


def test_els_default_schedule_fits_any_image() -> None:
    """The calibrated schedule's whole-image entries (55 for 28 x 28) become the image's own whole
    size; other entries are capped by it; 28 x 28 with zeros keeps the calibrated schedule."""
    from denoisebench.providers.els.provider import DEFAULT_SCHEDULE, default_schedule_for

    assert default_schedule_for(28, 28, "zeros") == DEFAULT_SCHEDULE
    colour = ELSProvider(ProviderContext(colour_dataset(h=32, w=32)))
    assert colour.schedule.sizes() == [1, 3, 5, 11, 63] and colour.whole == 63
    small = ELSProvider(ProviderContext(colour_dataset(h=8, w=9), options={"padding": "circular"}))
    assert small.schedule.sizes() == [1, 3, 5, 7]
    x = torch.randn(1, 3, 8, 9)
    assert small.predict_eps(x, torch.tensor([600]), linear_schedule(1000)).shape == x.shape
    with pytest.raises(DenoisebenchError, match="exceeds the 8 x 8 image"):
        ELSProvider(ProviderContext(colour_dataset(h=8, w=8), options={"padding": "circular", "patch": "9"}))


class ChannelSwap(PerImageRestorationProvider):
    """A 'denoiser' that reverses the colour channels and halves: shows which axis is which."""

    name = "channel-swap"
    description = "test"
    blind = False

    def denoise_image(self, y: np.ndarray, s: float | None) -> np.ndarray:
        assert y.ndim == 3 and y.shape[2] == 3, y.shape  # H x W x C, scikit-image's channel_axis=-1
        return y[..., ::-1] * 0.5 + s


def test_the_per_image_adapter_hands_colour_images_channel_last() -> None:
    data = colour_dataset()
    provider = ChannelSwap(ProviderContext(data))
    y = torch.rand(3, 3, 12, 20)
    s = torch.tensor([0.1, 0.2, 0.3])
    assert torch.allclose(provider.denoise(y, s), y.flip(1) * 0.5 + s.view(-1, 1, 1, 1))


# --- kbnet: the official colour layout ------------------------------------------------------


def official_colour_state_dict(width: int = 8) -> dict[str, torch.Tensor]:
    """Random tensors under the official ``KBNet_s`` names and shapes of ``gau_color_*.pth``
    (Denoising/Options/gau_color_*.yml: ``network_g: type: KBNet_s`` with the class defaults, RGB:
    img_channel 3, 12 middle blocks, encoders (2, 2, 4, 8), decoders (2, 2, 2, 2)) at a small width
    (the official 64 is 142 M parameters); the names and shapes are written out from the official
    module definitions in test_kbnet_arch, not taken from our network."""
    from test_kbnet_arch import official_kbnet_s_shapes

    g = torch.Generator().manual_seed(0)
    return {k: 0.05 * torch.randn(shape, generator=g) for k, shape in
            official_kbnet_s_shapes(img_channel=3, width=width).items()}


def test_official_colour_kbnet_loads_strictly_and_denoises_colour(tmp_path: Path) -> None:
    from denoisebench.providers.kbnet.provider import KBNetProvider

    sd = official_colour_state_dict()
    path = tmp_path / "gau_color_25.pth"
    torch.save({"net": {"module." + k: v for k, v in sd.items()}}, path)  # as the official code saves
    data = colour_dataset()
    provider = KBNetProvider.from_context(ProviderContext(data, checkpoint=path))
    assert provider.net.config.img_channel == 3 and provider.noise_range == (25 / 255, 25 / 255)
    own = provider.net.state_dict()
    assert own.keys() == sd.keys() and all(torch.equal(own[k], sd[k]) for k in sd)
    y = torch.rand(2, 3, 12, 20)
    out = provider.denoise(y, None)
    assert out.shape == y.shape and torch.isfinite(out).all()
    eps = provider.predict_eps(torch.randn(2, 3, 12, 20), torch.tensor([10, 900]), linear_schedule(1000))
    assert eps.shape == (2, 3, 12, 20)
    with pytest.raises(DenoisebenchError, match=r"KBNet_s for 3-channel images; dataset tiny-grey has 1 x 12 x 20"):
        KBNetProvider.from_context(ProviderContext(colour_dataset("tiny-grey", channels=1), checkpoint=path))


def test_the_shipped_grey_kbnet_on_colour_data_is_a_one_line_error() -> None:
    from denoisebench.providers.kbnet.provider import KBNetProvider

    with pytest.raises(DenoisebenchError) as err:
        KBNetProvider.from_context(ProviderContext(colour_dataset()))
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith("checkpoint kbnet-mnist-5k.safetensors was trained on 1 x 28 x 28 images (mnist-5k)")
    assert "dataset tiny-colour has 3 x 12 x 20" in msg and "--provider kbnet --dataset tiny-colour" in msg


def test_kbnet_training_takes_its_channels_from_the_data() -> None:
    from denoisebench.providers.kbnet.config import KBNetConfig
    from denoisebench.providers.kbnet.training import KBNetRecipe

    cfg = KBNetRecipe.config_for_data(KBNetConfig(), (3, 12, 20), set())
    net = KBNetRecipe(cfg).build_model()
    assert cfg.img_channel == 3 and net(torch.rand(1, 3, 12, 20)).shape == (1, 3, 12, 20)
    with pytest.raises(DenoisebenchError, match="-m img_channel=1 contradicts the dataset's 3-channel images"):
        KBNetRecipe.config_for_data(KBNetConfig(img_channel=1), (3, 12, 20), {"img_channel"})
