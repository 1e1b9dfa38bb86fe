"""DRUNet for the benchmark: deepinv's ``DRUNet`` with padding, an optional EDM preconditioning,
and the training recipe behind ``denoisebench train --provider deepinv-drunet``.

:class:`BenchDRUNet` *is* a ``deepinv.models.DRUNet`` (same parameter names, so deepinv's official
``drunet_deepinv_gray_finetune_26k.pth`` loads into it) whose ``forward(y, s)`` pads y to the
sizes DRUNet needs (multiples of 8, at least 32) by reflection and crops the output back.

``precond``: ``none`` is deepinv's form, D(y, s) = DRUNet(y, s) with the noise-level map s. ``edm``
(the default for networks trained here) is Karras et al.'s preconditioning about mid-grey, with
the known s: D(y, s) = 0.5 + c_skip (y - 0.5) + c_out DRUNet(c_in (y - 0.5), c_in s), c_in =
1 / sqrt(s^2 + d^2), c_skip = d^2 c_in^2, c_out = s d c_in, d = 0.5. The network then always sees
an input of unit scale and a noise map below 1, which is what lets one network cover the
diffusion's whole range s = 0.005 .. 79 (in [0, 1] units).

Training (:class:`DRUNetRecipe`): clean x in [0, 1], y = x + s n with one s per image drawn like
the sampler visits them (``sigma_dist=schedule``: s = s_t at a uniform t) or log-uniformly, and
the squared error weighted by d^2 / (s^2 + d^2) (whose minimiser is the posterior mean E[x | y],
what Tweedie's formula needs).
"""

from __future__ import annotations

import dataclasses

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

from denoisebench import DenoisebenchError
from denoisebench.training.noise_levels import noise_std_from_unit
from denoisebench.training.recipe import Forward, TrainingRecipe

from .padding import crop, pad_to_multiple

if TYPE_CHECKING:
    from denoisebench import NoiseSchedule

#: The EDM preconditioning's d (sigma_data): the RMS distance of a [0, 1] image from mid-grey is at most 0.5.
SIGMA_DATA = 0.5
#: DRUNet has three stride-2 levels (multiples of 8); deepinv runs it unpadded only from 32 pixels up.
MULTIPLE, MINIMUM = 8, 32
PRECONDS = ("edm", "none")
SIGMA_DISTS = ("schedule", "loguniform")
#: The trained noise range of deepinv's official DRUNet weights (DPIR's training range, 0 - 50/255).
OFFICIAL_RANGE = (0.0, 50 / 255)


@dataclass
class DRUNetConfig:
    """Architecture (deepinv's DRUNet arguments), preconditioning and the trained noise range.

    The defaults are the small network trained on MNIST here (about 0.3 M parameters); deepinv's
    official grey DRUNet is nc = 64,128,256,512, nb = 4, precond = none, range 0 - 50/255.
    """

    channels: int = 1
    nc: tuple[int, ...] = (16, 32, 64, 64)
    nb: int = 1
    act_mode: str = "R"
    precond: str = "edm"
    #: Noise std range of training, [0, 1] units (also the provider's ``noise_range``).
    sigma_min: float = 0.002
    sigma_max: float = 80.0
    sigma_dist: str = "schedule"

    def validate(self) -> None:
        problem = None
        if len(self.nc) != 4 or min(self.nc) < 1:
            problem = f"nc must be four positive channel counts, got {self.nc}"
        elif self.nb < 1 or self.channels < 1:
            problem = "nb and channels must be at least 1"
        elif self.precond not in PRECONDS:
            problem = f"precond must be one of {', '.join(PRECONDS)}, got {self.precond!r}"
        elif self.sigma_dist not in SIGMA_DISTS:
            problem = f"sigma_dist must be one of {', '.join(SIGMA_DISTS)}, got {self.sigma_dist!r}"
        elif not 0 <= self.sigma_min <= self.sigma_max or (self.sigma_dist == "loguniform" and self.sigma_min <= 0):
            problem = f"need 0 <= sigma_min <= sigma_max (> 0 for loguniform), got {self.sigma_min}, {self.sigma_max}"
        if problem:
            raise DenoisebenchError(f"deepinv-drunet model config: {problem}")


@functools.cache
def bench_drunet_class() -> type[nn.Module]:
    """:class:`BenchDRUNet`, made on first use: importing deepinv takes seconds, and every
    ``denoisebench`` command loads this plugin, so deepinv is imported only when a DRUNet is built."""
    from deepinv.models import DRUNet

    class BenchDRUNet(DRUNet):
        """deepinv's DRUNet built from a :class:`DRUNetConfig`, padded, optionally preconditioned."""

        def __init__(self, config: DRUNetConfig) -> None:
            super().__init__(in_channels=config.channels, out_channels=config.channels, nc=tuple(config.nc),
                             nb=config.nb, act_mode=config.act_mode, pretrained=None)  # never 'download'
            self.config = config

        def _padded(self, y: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
            padded, pads = pad_to_multiple(y, MULTIPLE, MINIMUM)
            return crop(super().forward(padded, s.reshape(-1)), pads)

        def forward(self, y: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
            """Denoise [0, 1] images ``y`` (B x C x H x W) with per-image noise std ``sigma`` (B,)."""
            s = sigma.to(y).reshape(-1, 1, 1, 1)
            if self.config.precond == "none":
                return self._padded(y, s)
            c_in = torch.rsqrt(s.square() + SIGMA_DATA ** 2)
            out = self._padded((y - 0.5) * c_in, s * c_in)
            return 0.5 + SIGMA_DATA ** 2 * c_in.square() * (y - 0.5) + s * SIGMA_DATA * c_in * out

    BenchDRUNet.__module__ = __name__
    return BenchDRUNet


def __getattr__(name: str) -> Any:
    """``BenchDRUNet`` on first access (see :func:`bench_drunet_class`)."""
    if name == "BenchDRUNet":
        return bench_drunet_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class DRUNetRecipe(TrainingRecipe):
    """Restoration training of :class:`BenchDRUNet` for the posterior mean (non-blind: told s)."""

    model_config_cls: ClassVar[type] = DRUNetConfig
    train_defaults: ClassVar[dict[str, Any]] = {"lr": 1e-3, "batch_size": 64, "warmup": 100}
    config: DRUNetConfig

    def build_model(self) -> nn.Module:
        return bench_drunet_class()(self.config)

    def draw(self, x0: torch.Tensor, generator: torch.Generator,
             schedule: NoiseSchedule) -> dict[str, torch.Tensor]:
        return {"clean": (x0 + 1) / 2, "noise": torch.randn(x0.shape, generator=generator),
                "u": torch.rand(x0.shape[0], generator=generator)}

    def training_loss(self, forward: Forward, batch: dict[str, torch.Tensor],
                      schedule: NoiseSchedule) -> torch.Tensor:
        cfg = self.config
        s = noise_std_from_unit(batch["u"].cpu(), cfg.sigma_dist, cfg.sigma_min, cfg.sigma_max,
                                schedule).to(batch["clean"].device)
        noisy = batch["clean"] + s.view(-1, 1, 1, 1) * batch["noise"]
        weight = SIGMA_DATA ** 2 / (s.square() + SIGMA_DATA ** 2)
        err = forward(noisy, s) - batch["clean"]
        return (weight.view(-1, 1, 1, 1) * err.square()).mean()

    @classmethod
    def config_for_data(cls, config: DRUNetConfig, image_shape: tuple[int, int, int], explicit: set[str]
                        ) -> DRUNetConfig:
        """``channels`` from the data (the network then takes channels + 1 inputs, the noise map)."""
        if "channels" in explicit and config.channels != image_shape[0]:
            raise DenoisebenchError(f"-m channels={config.channels} contradicts the dataset's {image_shape[0]}-channel "
                                    "images: drop it (deepinv-drunet takes its channels from the data)")
        return dataclasses.replace(config, channels=image_shape[0])

    @classmethod
    def infer_config(cls, state_dict: Mapping[str, torch.Tensor]) -> DRUNetConfig | None:
        """A bare DRUNet state dict (e.g. deepinv's official file): deepinv's form, its trained range."""
        arch = infer_drunet_arch(state_dict)
        if arch is None:
            return None
        return DRUNetConfig(**arch, act_mode="R", precond="none", sigma_min=OFFICIAL_RANGE[0],
                            sigma_max=OFFICIAL_RANGE[1], sigma_dist="schedule")

    @classmethod
    def describe(cls, config: Any) -> str:
        if isinstance(config, DRUNetConfig):
            return f"DRUNet(channels={config.channels}, nc={tuple(config.nc)}, nb={config.nb})"
        return repr(config)


def infer_drunet_arch(state_dict: Mapping[str, torch.Tensor], prefix: str = "") -> dict[str, Any] | None:
    """``channels``, ``nc`` and ``nb`` read off a DRUNet state dict's tensor shapes (None: not a DRUNet)."""
    try:
        head = state_dict[f"{prefix}m_head.weight"]
        nb = len({k[len(prefix):].split(".")[1] for k in state_dict if k.startswith(f"{prefix}m_down1.") and ".res." in k})
        nc = [int(head.shape[0])] + [int(state_dict[f"{prefix}m_down{i}.{nb}.weight"].shape[0]) for i in (1, 2, 3)]
    except (KeyError, IndexError):
        return None
    return {"channels": int(head.shape[1]) - 1, "nc": tuple(nc), "nb": nb}
