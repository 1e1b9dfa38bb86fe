"""How the U-Net is trained: epsilon, v or x0 targets with min-SNR-gamma weighting.

Parameterisations (abar = alpha_bar_t, x_t = sqrt(abar) x0 + sqrt(1 - abar) eps): eps;
v = sqrt(abar) eps - sqrt(1 - abar) x0 (Salimans & Ho 2022); x0. Min-SNR-gamma weighting (Hang et
al. 2023), SNR = abar / (1 - abar), expressed on each target's own MSE: eps: min(SNR, g) / SNR;
v: min(SNR, g) / (SNR + 1); x0: min(SNR, g).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import torch
from torch import nn

from ...diffusion.schedule import NoiseSchedule
from ...interfaces.recipe import Forward, TrainingRecipe
from .model import UNet, UNetConfig


def snr_weight(ab: torch.Tensor, parameterisation: str, gamma: float) -> torch.Tensor:
    """The min-SNR-gamma weight of each sample's MSE on its parameterisation's target."""
    snr = ab / (1 - ab)
    clipped = torch.clamp(snr, max=gamma) if gamma > 0 else snr
    if parameterisation == "eps":
        return clipped / snr
    if parameterisation == "v":
        return clipped / (snr + 1)
    return clipped


class UNetRecipe(TrainingRecipe):
    """A uniform timestep and Gaussian noise per image; the weighted MSE of the configured target."""

    model_config_cls: ClassVar[type] = UNetConfig
    train_defaults: ClassVar[dict[str, Any]] = {"lr": 2e-3, "batch_size": 128, "warmup": 200,
                                                "ema_decay": 0.999}
    config: UNetConfig

    @classmethod
    def config_for_data(cls, config: UNetConfig, image_shape: tuple[int, int, int], explicit: set[str]
                        ) -> UNetConfig:
        """``in_channels``, ``image_size`` (height) and ``image_width`` from the data; a ``-m`` value
        that contradicts the data is a one-line error."""
        from ...errors import DenoisebenchError

        c, h, w = image_shape
        fields = {"in_channels": c, "image_size": h, "image_width": w}
        for key, value in fields.items():
            if key in explicit and getattr(config, key) != value and not (key == "image_width"
                                                                        and getattr(config, key) == 0 and w == h):
                raise DenoisebenchError(f"-m {key}={getattr(config, key)} contradicts the dataset's "
                                        f"{c} x {h} x {w} images: drop it (the U-Net takes its shape from the data)")
        adapted = dataclasses.replace(config, **fields)
        adapted.validate()
        return adapted

    def build_model(self) -> nn.Module:
        # channels-last weights: about 2x faster convolutions on CPU here (benchmarks/bench_unet.py)
        return UNet(self.config).to(memory_format=torch.channels_last)

    def draw(self, x0: torch.Tensor, generator: torch.Generator,
             schedule: NoiseSchedule) -> dict[str, torch.Tensor]:
        t = torch.randint(1, schedule.T + 1, (x0.shape[0],), generator=generator)
        noise = torch.randn(x0.shape, generator=generator)
        return {"x0": x0, "t": t, "noise": noise}

    def training_loss(self, forward: Forward, batch: dict[str, torch.Tensor],
                      schedule: NoiseSchedule) -> torch.Tensor:
        cfg = self.config
        x0, t, noise = batch["x0"], batch["t"], batch["noise"]
        ab = schedule.alpha_bars[t.cpu()].to(device=x0.device, dtype=x0.dtype)
        a, s = ab.sqrt().view(-1, 1, 1, 1), (1 - ab).sqrt().view(-1, 1, 1, 1)
        x_t = a * x0 + s * noise
        out = forward(x_t, t)
        target = {"eps": noise, "v": a * noise - s * x0, "x0": x0}[cfg.parameterisation]
        mse = (out - target).pow(2).flatten(1).mean(dim=1)
        return (snr_weight(ab, cfg.parameterisation, cfg.min_snr_gamma) * mse).mean()
