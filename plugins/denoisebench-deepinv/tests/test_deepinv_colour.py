"""denoisebench-deepinv on colour data: deepinv's colour weights by its own file names, DRUNet's
3 + 1 input channels, grey weights refused on colour images, training on colour data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from denoisebench import DenoisebenchError, ProviderContext
from denoisebench.datasets.base import ImageDataset
from denoisebench.diffusion.schedule import linear_schedule
from denoisebench_deepinv.drunet import DRUNetConfig, DRUNetRecipe
from denoisebench_deepinv.networks import (DnCNNProvider, DRUNetProvider, GSDRUNetProvider, RestormerProvider,
                                           SCUNetProvider, SwinIRProvider)


def colour_set(channels: int = 3, h: int = 12, w: int = 20) -> ImageDataset:
    rng = np.random.default_rng(0)
    shape = (h, w, channels) if channels == 3 else (h, w)
    train, held = (rng.integers(0, 256, (n, *shape), dtype=np.uint8) for n in (6, 4))
    return ImageDataset(f"tiny-{channels}c", train, np.zeros(6), held, np.zeros(4))


@pytest.mark.parametrize("cls,grey,colour", [
    (DRUNetProvider, "drunet_deepinv_gray_finetune_26k.pth", "drunet_deepinv_color_finetune_22k.pth"),
    (DnCNNProvider, "dncnn_sigma2_gray.pth", "dncnn_sigma2_color.pth"),
    (GSDRUNetProvider, "GSDRUNet_grayscale_torch.ckpt", "GSDRUNet_torch.ckpt"),
    (RestormerProvider, "gaussian_gray_denoising_blind.pth", "gaussian_color_denoising_blind.pth"),
    (SwinIRProvider, "004_grayDN_DFWB_s128w8_SwinIR-M_noise15.pth", "005_colorDN_DFWB_s128w8_SwinIR-M_noise15.pth"),
    (SCUNetProvider, "scunet_color_real_psnr.pth", "scunet_color_real_psnr.pth"),
])
def test_the_weights_file_is_deepinvs_for_the_datasets_channels(cls: type, grey: str, colour: str) -> None:
    for data, name in ((colour_set(1), grey), (colour_set(3), colour)):
        with pytest.raises(DenoisebenchError, match=f"put {name} in"):
            cls.from_context(ProviderContext(dataset=data))


def test_swinir_colour_level_names_deepinvs_file() -> None:
    with pytest.raises(DenoisebenchError, match="put 005_colorDN_DFWB_s128w8_SwinIR-M_noise25.pth in"):
        SwinIRProvider.from_context(ProviderContext(dataset=colour_set(3), options={"level": "25"}))


def test_colour_drunet_takes_three_plus_one_channels_and_denoises_colour(tmp_path: Path) -> None:
    from deepinv.models import DRUNet

    torch.manual_seed(0)
    net = DRUNet(in_channels=3, out_channels=3, nc=(4, 8, 8, 8), nb=1, pretrained=None)
    assert net.m_head.weight.shape[1] == 4  # the image's 3 channels and the noise-level map
    path = tmp_path / "drunet_deepinv_color_finetune_22k.pth"
    torch.save(net.state_dict(), path)  # a bare state dict, as deepinv's file is
    data = colour_set(3)
    provider = DRUNetProvider.from_context(ProviderContext(dataset=data, checkpoint=path))
    assert provider.channels == 3 and provider.net.config.channels == 3
    y = torch.rand(2, 3, 12, 20)
    out = provider.denoise(y, torch.tensor([0.1, 0.2]))
    assert out.shape == y.shape and torch.isfinite(out).all()
    eps = provider.predict_eps(torch.randn(2, 3, 12, 20), torch.tensor([5, 900]), linear_schedule(1000))
    assert eps.shape == (2, 3, 12, 20)


def test_grey_weights_on_colour_data_are_a_one_line_error(tmp_path: Path) -> None:
    from deepinv.models import DnCNN

    path = tmp_path / "dncnn_sigma2_gray.pth"
    torch.save(DnCNN(in_channels=1, out_channels=1, depth=3, nf=8, pretrained=None).state_dict(), path)
    with pytest.raises(DenoisebenchError) as err:
        DnCNNProvider.from_context(ProviderContext(dataset=colour_set(3), checkpoint=path))
    msg = str(err.value)
    assert "\n" not in msg and "are for 1-channel images; dataset tiny-3c has 3 x 12 x 20" in msg
    assert "dncnn_sigma2_color.pth" in msg


def test_colour_dncnn_from_deepinvs_cache_denoises_colour(empty_torch_hub: Path) -> None:
    from deepinv.models import DnCNN

    (empty_torch_hub / "checkpoints").mkdir()
    net = DnCNN(in_channels=3, out_channels=3, depth=3, nf=8, pretrained=None)
    torch.save(net.state_dict(), empty_torch_hub / "checkpoints" / "dncnn_sigma2_color.pth")
    provider = DnCNNProvider.from_context(ProviderContext(dataset=colour_set(3, 9, 13)))
    y = torch.rand(2, 3, 9, 13)
    with torch.no_grad():
        assert torch.allclose(provider.denoise(y, None), provider.net(y, None))
    assert provider.info()["weights_found_in"] == "deepinv cache"


def test_drunet_training_takes_its_channels_from_the_data() -> None:
    cfg = DRUNetRecipe.config_for_data(DRUNetConfig(nc=(4, 8, 8, 8)), (3, 12, 20), set())
    net = DRUNetRecipe(cfg).build_model()
    assert cfg.channels == 3 and net.m_head.weight.shape[1] == 4
    with pytest.raises(DenoisebenchError, match="-m channels=1 contradicts the dataset's 3-channel images"):
        DRUNetRecipe.config_for_data(DRUNetConfig(channels=1), (3, 12, 20), {"channels"})
