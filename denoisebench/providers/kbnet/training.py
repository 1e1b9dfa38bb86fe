"""How KBNet is trained: as a restoration network, blind, for the posterior mean.

Clean x in [0, 1], a noisy copy y = x + s n with one noise std s per image drawn from the model
config's ``sigma_dist`` (default ``schedule``: s = s_t of the training schedule at a uniform t, the
noise levels a sampler visits, 0.005 to 79 for the linear schedule), no timestep input, and a loss
between D(y) and x: by default a noise-weighted squared error (``-m loss=l2``), whose minimiser is
the posterior mean E[x | y] that Tweedie's formula turns into the optimal epsilon. ``-m loss=l1``,
the usual restoration loss, trains the posterior median instead (the shipped
``kbnet-mnist-5k-l1`` ablation). Both defaults were chosen by measurement
(``results/reference/kbnet-recipe/``).
"""

from __future__ import annotations

import dataclasses

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import nn

from ...diffusion.schedule import NoiseSchedule
from ...training.noise_levels import noise_std_from_unit
from ...interfaces.recipe import Forward, TrainingRecipe
from .arch import KBNetS
from .config import KBNetConfig, official_gray_config
from .shapes import describe_config, infer_config

#: Scale of the l2 loss weight, about the pixel std of MNIST digits in [0, 1] units.
SIGMA_DATA = 0.25


def sigma_from_unit(u: torch.Tensor, config: KBNetConfig, schedule: NoiseSchedule | None = None) -> torch.Tensor:
    """Map uniform draws u in [0, 1) to noise stds (in [0, 1] units) of the config's ``sigma_dist``,
    clamped to [``sigma_min``, ``sigma_max``] (:func:`~denoisebench.training.noise_levels.noise_std_from_unit`)."""
    return noise_std_from_unit(u, config.sigma_dist, config.sigma_min, config.sigma_max, schedule,
                               config.sigma_mean, config.sigma_std)


class KBNetRecipe(TrainingRecipe):
    """Restoration training of ``KBNet_s``; also reads official checkpoints' architecture."""

    model_config_cls: ClassVar[type] = KBNetConfig
    train_defaults: ClassVar[dict[str, Any]] = {"lr": 2e-3, "batch_size": 128, "warmup": 200}
    config: KBNetConfig

    def build_model(self) -> nn.Module:
        return KBNetS(self.config)

    def draw(self, x0: torch.Tensor, generator: torch.Generator,
             schedule: NoiseSchedule) -> dict[str, torch.Tensor]:
        """Clean [0, 1] images, unit noise and one uniform draw per image (mapped to s in the loss)."""
        return {"clean": (x0 + 1) / 2,
                "noise": torch.randn(x0.shape, generator=generator),
                "u": torch.rand(x0.shape[0], generator=generator)}

    def training_loss(self, forward: Forward, batch: dict[str, torch.Tensor],
                      schedule: NoiseSchedule) -> torch.Tensor:
        """The restoration loss between D(x + s n) and x, s drawn from the config's noise range.

        ``loss=l1``: mean absolute error, the usual restoration loss; its minimiser is the
        posterior *median*. ``loss=l2``: squared error weighted per image by a function of s only,
        which keeps the minimiser at the posterior *mean* (what Tweedie's formula needs):
        ``loss_weight=x0`` (default) uses SIGMA_DATA^2 / (s^2 + SIGMA_DATA^2), the image-space error
        at low noise, damped at high noise so the s ~ 80 images (squared errors ~10^5 times larger)
        do not swamp the rest; ``loss_weight=edm`` uses 1 + SIGMA_DATA^2 / s^2 (Karras et al.'s EDM
        weighting: the epsilon-space error (D - x)^2 / s^2 at low noise). The edm weighting lets the
        nearly clean images dominate; it measured worse with every noise draw tried.
        """
        config = self.config
        s = sigma_from_unit(batch["u"], config, schedule).view(-1, 1, 1, 1)
        noisy = batch["clean"] + s * batch["noise"]
        err = forward(noisy) - batch["clean"]
        if config.loss == "l2":
            if config.loss_weight == "edm":
                weight = 1 + SIGMA_DATA ** 2 / s.square()
            else:
                weight = SIGMA_DATA ** 2 / (s.square() + SIGMA_DATA ** 2)
            return (weight * err.square()).mean()
        return err.abs().mean()

    @classmethod
    def config_from_dict(cls, data: Mapping[str, Any]) -> KBNetConfig:
        """A stored config; fields added since are filled with what older files were trained with.

        Before ``loss`` existed, networks were trained with L1; before ``loss_weight``, ``l2`` meant
        the ``x0`` weighting; before ``precond``, networks had none (the official form) and noise
        was drawn log-uniformly.
        """
        data = dict(data)
        data.setdefault("loss", "l1")
        data.setdefault("loss_weight", "x0" if data["loss"] == "l2" else "edm")
        data.setdefault("precond", "none")
        data.setdefault("sigma_dist", "loguniform")
        return super().config_from_dict(data)

    @classmethod
    def config_for_data(cls, config: KBNetConfig, image_shape: tuple[int, int, int], explicit: set[str]
                        ) -> KBNetConfig:
        """``img_channel`` from the data (a contradicting ``-m img_channel`` is a one-line error); the
        network is fully convolutional, so the image size needs no field."""
        from ...errors import DenoisebenchError

        channels = image_shape[0]
        if "img_channel" in explicit and config.img_channel != channels:
            raise DenoisebenchError(f"-m img_channel={config.img_channel} contradicts the dataset's {channels}-channel "
                                    "images: drop it (kbnet takes its channels from the data)")
        return dataclasses.replace(config, img_channel=channels)

    @classmethod
    def infer_config(cls, state_dict: Mapping[str, torch.Tensor]) -> KBNetConfig:
        """The official gray architecture, with what the tensor shapes say (:func:`.shapes.infer_config`)."""
        return infer_config(state_dict, official_gray_config())

    @classmethod
    def describe(cls, config: Any) -> str:
        return describe_config(config) if isinstance(config, KBNetConfig) else repr(config)

