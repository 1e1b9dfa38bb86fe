"""denoisebench-skimage on colour images: each image reaches scikit-image channel-last with
``channel_axis=-1`` (a colour image, not a 3-D volume), at any H x W."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.restoration import cycle_spin, denoise_nl_means, denoise_tv_chambolle, denoise_wavelet

from denoisebench import ProviderContext
from denoisebench.datasets.base import ImageDataset
from denoisebench_skimage.providers import _SERIAL as SERIAL
from denoisebench_skimage.providers import NLMeansProvider, TVProvider, WaveletProvider


def colour_set(h: int, w: int) -> ImageDataset:
    rng = np.random.default_rng(0)
    train, held = (rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8) for n in (4, 2))
    return ImageDataset("tiny-colour", train, np.zeros(4), held, np.zeros(2))


WAVELET_KW = {"wavelet": "db1", "wavelet_levels": 3, "mode": "soft", "method": "BayesShrink", "rescale_sigma": True}


@pytest.mark.parametrize(("cls", "reference"), [
    (TVProvider, lambda y, s, axis: denoise_tv_chambolle(y, weight=0.7 * s, channel_axis=axis)),
    (WaveletProvider, lambda y, s, axis: cycle_spin(y, denoise_wavelet, max_shifts=1, channel_axis=axis, func_kw={
        "sigma": s, "channel_axis": axis, **WAVELET_KW}, **SERIAL)),
    (NLMeansProvider, lambda y, s, axis: denoise_nl_means(y, patch_size=5, patch_distance=4, h=0.8 * s, sigma=s,
                                                          fast_mode=True, channel_axis=axis)),
])
@pytest.mark.parametrize("size", [(12, 20), (9, 8)])
def test_colour_images_are_denoised_with_channel_axis(cls: type, reference, size: tuple[int, int]) -> None:  # noqa: ANN001
    h, w = size
    provider = cls(ProviderContext(dataset=colour_set(h, w)))
    g = torch.Generator().manual_seed(1)
    y = (0.5 + 0.2 * torch.randn(2, 3, h, w, generator=g)).float()
    stds = torch.tensor([0.1, 0.3])
    out = provider.denoise(y, stds)
    assert out.shape == y.shape
    for i, s in enumerate(stds.tolist()):
        image = np.ascontiguousarray(y[i].permute(1, 2, 0).numpy())  # H x W x C
        want = np.clip(reference(image, s, -1), 0, 1)
        np.testing.assert_allclose(out[i].permute(1, 2, 0).numpy(), want, atol=1e-5)
        as_volume = np.clip(reference(image, s, None), 0, 1)  # what forgetting channel_axis would give
        assert not np.allclose(out[i].permute(1, 2, 0).numpy(), as_volume, atol=1e-3)
