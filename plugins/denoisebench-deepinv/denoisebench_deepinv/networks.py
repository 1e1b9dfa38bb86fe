"""deepinv's denoising networks as restoration providers.

Every network is built by deepinv with ``pretrained=None`` (so deepinv never downloads) and loaded
strictly from the file :func:`.weights.resolve_weights` finds. Without ``--checkpoint`` the file is
the one deepinv itself would download for the dataset's channels: its grey weights for grey data,
its colour weights for colour data (deepinv's own file names, e.g. DRUNet's
``drunet_deepinv_gray_finetune_26k.pth`` and ``drunet_deepinv_color_finetune_22k.pth``; DRUNet colour
takes 3 + 1 input channels, the image and the noise-level map). The network's channel count is read
off its weights: grey images through a colour network (SCUNet has only colour weights) are repeated
into 3 channels and the 3 outputs averaged; colour images through a grey network are a one-line
error. Each image is padded by reflection to the size the network needs and the
output cropped back. Inputs and outputs are [0, 1] images, which is deepinv's convention, and
deepinv's ``sigma`` is a noise std in the same [0, 1] units as the adapter's s, so non-blind
networks are told s unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from denoisebench import DenoisebenchError, ProviderContext, RestorationProvider
from denoisebench.fileio import sha256_file
from denoisebench.training.checkpoint import check_trained_for, load_strict, load_weights, read_tensors, trained_for

from .drunet import OFFICIAL_RANGE, DRUNetConfig, DRUNetRecipe, bench_drunet_class, infer_drunet_arch
from .padding import crop, pad_to_multiple
from .weights import OfficialWeights, deepinv_url, resolve_weights


def parse_noise_range(name: str, text: str) -> tuple[float, float]:
    """``"LO,HI"`` (noise std in [0, 1] units) -> (LO, HI), or a one-line error."""
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        lo = hi = math.nan
    if not 0 <= lo <= hi:
        raise DenoisebenchError(f"provider {name!r}: noise_range must be LO,HI with 0 <= LO <= HI in [0, 1] "
                                f"units (e.g. 0,0.196), got {text!r}")
    return lo, hi


class DeepinvNetworkProvider(RestorationProvider):
    """A deepinv network behind the restoration adapter; subclasses say how to build and load it."""

    accepts_checkpoint: ClassVar[bool | None] = True
    options: ClassVar[dict[str, str]] = {
        **RestorationProvider.options,
        "noise_range": "LO,HI noise std in [0, 1] units the weights were trained for (default: the "
                       "official weights' range)",
    }
    #: The file deepinv downloads for the grey network (or, where it has none, the colour one).
    official: ClassVar[OfficialWeights]
    #: The file deepinv downloads for the colour network (None: ``official`` serves both).
    official_colour: ClassVar[OfficialWeights | None] = None
    #: The state-dict key of the first convolution: its input channels are the image's channels
    #: plus ``extra_inputs`` (DRUNet's noise-level map).
    input_key: ClassVar[str]
    extra_inputs: ClassVar[int] = 0
    #: Pad images to multiples of this (and at least ``minimum_size``).
    multiple: ClassVar[int] = 8
    minimum_size: ClassVar[int] = 0

    def __init__(self, context: ProviderContext, net: nn.Module | None = None,
                 source: dict[str, Any] | None = None) -> None:
        super().__init__(context)
        if net is None:
            raise DenoisebenchError(f"provider {self.name!r} needs a network: build it with from_context")
        self.net = net.to(context.device).eval()
        self.source = dict(source or {})
        self.warnings: list[str] = []
        if "noise_range" in context.options:
            self.noise_range = parse_noise_range(self.name, context.options["noise_range"])
        first = self.net.state_dict()[self.input_key]
        #: Image channels of the network: 3 means grey images are repeated into 3 channels.
        self.channels = int(first.shape[1]) - self.extra_inputs
        dataset = context.dataset
        if dataset is not None and dataset.channels != self.channels and self.channels != 3:
            colour = self.official_for(3).file_name
            raise DenoisebenchError(
                f"provider {self.name!r}: the weights {Path(str(self.source.get('path', '?'))).name} are for "
                f"{self.channels}-channel images; dataset {dataset.id} has "
                f"{' x '.join(map(str, dataset.image_shape))}: pass weights for {dataset.channels}-channel images "
                f"(deepinv's {colour}) with --checkpoint or put them in deepinv's cache")

    @classmethod
    def official_for(cls, channels: int) -> OfficialWeights:
        """deepinv's file for images of ``channels`` channels."""
        return cls.official_colour if channels == 3 and cls.official_colour is not None else cls.official

    @classmethod
    def official_of(cls, context: ProviderContext) -> OfficialWeights:
        """deepinv's file for the run's dataset (grey when there is none)."""
        return cls.official_for(context.dataset.channels if context.dataset is not None else 1)

    @classmethod
    def build(cls, state_dict: Mapping[str, torch.Tensor]) -> nn.Module:
        """deepinv's network (``pretrained=None``) with the architecture of ``state_dict``."""
        raise NotImplementedError

    @classmethod
    def from_context(cls, context: ProviderContext) -> DeepinvNetworkProvider:
        path, found = resolve_weights(cls.name, context.checkpoint, cls.official_of(context))
        state_dict, _, container = read_tensors(path)  # safetensors, or torch.load(weights_only=True)
        try:
            net = cls.build(state_dict)
        except (ValueError, TypeError, KeyError, AssertionError) as exc:
            raise DenoisebenchError(f"checkpoint {path} is not a {cls.name} network ({type(exc).__name__}: "
                                    f"{str(exc).splitlines()[0] if str(exc) else ''}): pass a {cls.name} weights file") from None
        load_strict(net, dict(state_dict), path, type(net).__name__, f"pass a {cls.name} weights file")
        return cls(context, net, {"path": str(path), "found": found, "sha256": sha256_file(path),
                                  "format": container})

    def network(self, x: torch.Tensor, noise_std: torch.Tensor | None) -> torch.Tensor:
        """The network on a padded batch (override for networks with other calling conventions)."""
        return self.net(x, noise_std)

    def denoise(self, y: torch.Tensor, noise_std: torch.Tensor | None) -> torch.Tensor:
        x = y.to(device=self.context.device, dtype=torch.float32)
        grey = x.shape[1] == 1 and self.channels == 3
        if grey:
            x = x.expand(-1, 3, -1, -1)
        x, pads = pad_to_multiple(x, self.multiple, self.minimum_size)
        s = None if noise_std is None else noise_std.to(x).reshape(-1)
        with torch.no_grad():
            out = crop(self.network(x, s), pads)
        if grey:
            out = out.mean(dim=1, keepdim=True)
        return out.to(device=y.device, dtype=y.dtype)

    def info(self) -> dict[str, object]:
        return {**super().info(), "checkpoint": self.source.get("path"), "weights_found_in": self.source.get("found"),
                "checkpoint_sha256": self.source.get("sha256"), "checkpoint_format": self.source.get("format"),
                "parameters": sum(p.numel() for p in self.net.parameters()), "channels": self.channels,
                **({"warnings": list(self.warnings)} if self.warnings else {})}

    @classmethod
    def channels_in(cls, state_dict: Mapping[str, torch.Tensor], default: int) -> int:
        """The image channels of ``state_dict``'s first convolution, else ``default``."""
        first = state_dict.get(cls.input_key)
        return int(first.shape[1]) - cls.extra_inputs if first is not None and first.ndim == 4 else default


class DRUNetProvider(DeepinvNetworkProvider):
    """Non-blind DRUNet (noise-level map input); trainable here with ``denoisebench train``."""

    name: ClassVar[str] = "deepinv-drunet"
    description: ClassVar[str] = "deepinv DRUNet (non-blind, noise-level map); --checkpoint or deepinv's cache; trainable"
    blind: ClassVar[bool] = False
    noise_range: ClassVar[tuple[float, float]] = OFFICIAL_RANGE
    training: ClassVar[type[DRUNetRecipe]] = DRUNetRecipe
    official: ClassVar[OfficialWeights] = OfficialWeights(
        "drunet_deepinv_gray_finetune_26k.pth", deepinv_url("drunet", "drunet_deepinv_gray_finetune_26k.pth"))
    official_colour: ClassVar[OfficialWeights | None] = OfficialWeights(
        "drunet_deepinv_color_finetune_22k.pth", deepinv_url("drunet", "drunet_deepinv_color_finetune_22k.pth"))
    input_key: ClassVar[str] = "m_head.weight"
    extra_inputs: ClassVar[int] = 1  # the noise-level map
    minimum_size: ClassVar[int] = 0  # BenchDRUNet pads itself (multiples of 8, at least 32)
    multiple: ClassVar[int] = 1

    @classmethod
    def from_context(cls, context: ProviderContext) -> DeepinvNetworkProvider:
        path, found = resolve_weights(cls.name, context.checkpoint, cls.official_of(context))
        net, loaded = load_weights(cls, path)  # the config stored by 'denoisebench train', or read off the shapes
        warning = check_trained_for(trained_for(loaded.metadata), context.dataset, path, cls.name)
        provider = cls(context, net, {"path": str(loaded.path), "found": found, "sha256": loaded.sha256,
                                      "format": loaded.kind})
        provider.warnings = [warning] if warning else []
        return provider

    @classmethod
    def from_model(cls, model: nn.Module, context: ProviderContext) -> DeepinvNetworkProvider:
        if not isinstance(model, bench_drunet_class()):
            raise DenoisebenchError(f"deepinv-drunet cannot wrap a {type(model).__name__}: pass a BenchDRUNet")
        return cls(context, model, {"format": "model"})

    def __init__(self, context: ProviderContext, net: nn.Module | None = None,
                 source: dict[str, Any] | None = None) -> None:
        super().__init__(context, net, source)
        if "noise_range" not in context.options and isinstance(getattr(self.net, "config", None), DRUNetConfig):
            cfg = self.net.config
            self.noise_range = (cfg.sigma_min, cfg.sigma_max)

    def info(self) -> dict[str, object]:
        cfg = getattr(self.net, "config", None)
        arch = {"nc": list(cfg.nc), "nb": cfg.nb, "precond": cfg.precond} if isinstance(cfg, DRUNetConfig) else {}
        return {**super().info(), "architecture": arch}


class DnCNNProvider(DeepinvNetworkProvider):
    """Blind DnCNN; deepinv's grey weights are trained at the single noise level 2/255."""

    name: ClassVar[str] = "deepinv-dncnn"
    description: ClassVar[str] = "deepinv DnCNN (blind; official grey weights: sigma 2/255 only)"
    blind: ClassVar[bool] = True
    noise_range: ClassVar[tuple[float, float]] = (2 / 255, 2 / 255)
    official: ClassVar[OfficialWeights] = OfficialWeights("dncnn_sigma2_gray.pth",
                                                          deepinv_url("dncnn", "dncnn_sigma2_gray.pth"))
    official_colour: ClassVar[OfficialWeights | None] = OfficialWeights(
        "dncnn_sigma2_color.pth", deepinv_url("dncnn", "dncnn_sigma2_color.pth"))
    input_key: ClassVar[str] = "in_conv.weight"
    multiple: ClassVar[int] = 1  # no downsampling: any size

    @classmethod
    def build(cls, state_dict: Mapping[str, torch.Tensor]) -> nn.Module:
        from deepinv.models import DnCNN

        head = state_dict["in_conv.weight"]
        depth = 2 + len({k.split(".")[1] for k in state_dict if k.startswith("conv_list.")})
        return DnCNN(in_channels=int(head.shape[1]), out_channels=int(head.shape[1]), depth=depth,
                     bias="in_conv.bias" in state_dict, nf=int(head.shape[0]), pretrained=None, device=None)


class GSDRUNetProvider(DeepinvNetworkProvider):
    """Non-blind gradient-step DRUNet: D(y) = y - grad g(y), g = 0.5 ||y - N(y, s)||^2 (needs autograd)."""

    name: ClassVar[str] = "deepinv-gsdrunet"
    description: ClassVar[str] = "deepinv GS-DRUNet gradient-step denoiser (non-blind; official grey weights)"
    blind: ClassVar[bool] = False
    noise_range: ClassVar[tuple[float, float]] = OFFICIAL_RANGE
    official: ClassVar[OfficialWeights] = OfficialWeights(
        "GSDRUNet_grayscale_torch.ckpt", deepinv_url("gradientstep", "GSDRUNet_grayscale_torch.ckpt"))
    official_colour: ClassVar[OfficialWeights | None] = OfficialWeights(
        "GSDRUNet_torch.ckpt", deepinv_url("gradientstep", "GSDRUNet_torch.ckpt"))
    input_key: ClassVar[str] = "student_grad.model.m_head.weight"
    extra_inputs: ClassVar[int] = 1
    minimum_size: ClassVar[int] = 32  # DRUNet runs unpadded from 32 pixels, multiples of 8

    @classmethod
    def build(cls, state_dict: Mapping[str, torch.Tensor]) -> nn.Module:
        from deepinv.models import GSDRUNet

        arch = infer_drunet_arch(state_dict, prefix="student_grad.model.")
        if arch is None:
            raise KeyError("student_grad.model.m_head.weight")
        return GSDRUNet(in_channels=arch["channels"], out_channels=arch["channels"], nb=arch["nb"],
                        nc=arch["nc"], act_mode="E", pretrained=None)

    def network(self, x: torch.Tensor, noise_std: torch.Tensor | None) -> torch.Tensor:
        """D(y) = y - grad g(y) needs autograd even when sampling runs under inference mode."""
        with torch.inference_mode(False), torch.enable_grad():
            # tensors made in inference mode cannot enter autograd: clone them outside it
            return self.net(x.clone(), None if noise_std is None else noise_std.clone()).detach()


class SCUNetProvider(DeepinvNetworkProvider):
    """Blind SCUNet; deepinv's only weights are for colour real-camera noise (grey repeated to RGB)."""

    name: ClassVar[str] = "deepinv-scunet"
    description: ClassVar[str] = "deepinv SCUNet (blind; colour 'real PSNR' weights, grey repeated to 3 channels)"
    blind: ClassVar[bool] = True
    noise_range: ClassVar[tuple[float, float]] = OFFICIAL_RANGE
    official: ClassVar[OfficialWeights] = OfficialWeights(
        "scunet_color_real_psnr.pth", deepinv_url("scunet", "scunet_color_real_psnr.pth"))
    input_key: ClassVar[str] = "m_head.0.weight"
    multiple: ClassVar[int] = 64  # three downsamplings and 8 x 8 attention windows; SCUNet pads to 64 too

    @classmethod
    def build(cls, state_dict: Mapping[str, torch.Tensor]) -> nn.Module:
        from deepinv.models import SCUNet

        return SCUNet(in_nc=cls.channels_in(state_dict, 3), pretrained=None, device=None)


class RestormerProvider(DeepinvNetworkProvider):
    """Blind Restormer; deepinv's grey (or colour) Gaussian weights, trained blind on sigma in 0 - 50/255."""

    name: ClassVar[str] = "deepinv-restormer"
    description: ClassVar[str] = "deepinv Restormer (blind; grey or colour Gaussian weights, 0 - 50/255)"
    blind: ClassVar[bool] = True
    noise_range: ClassVar[tuple[float, float]] = OFFICIAL_RANGE
    official: ClassVar[OfficialWeights] = OfficialWeights(
        "gaussian_gray_denoising_blind.pth", deepinv_url("restormer", "gaussian_gray_denoising_blind.pth"))
    official_colour: ClassVar[OfficialWeights | None] = OfficialWeights(
        "gaussian_color_denoising_blind.pth", deepinv_url("restormer", "gaussian_color_denoising_blind.pth"))
    input_key: ClassVar[str] = "patch_embed.proj.weight"
    multiple: ClassVar[int] = 8

    @classmethod
    def build(cls, state_dict: Mapping[str, torch.Tensor]) -> nn.Module:
        from deepinv.models import Restormer

        channels = cls.channels_in(state_dict, 1)
        return Restormer(in_channels=channels, out_channels=channels, pretrained=None)


SWINIR_LEVELS = (15, 25, 50)


class SwinIRProvider(DeepinvNetworkProvider):
    """Blind SwinIR-M; the official grey weights are each trained at ONE noise level (15, 25 or 50 /255)."""

    name: ClassVar[str] = "deepinv-swinir"
    description: ClassVar[str] = "deepinv SwinIR-M (blind; grey or colour weights for one level, -o level=15|25|50)"
    blind: ClassVar[bool] = True
    options: ClassVar[dict[str, str]] = {
        **DeepinvNetworkProvider.options,
        "level": "which official grey weights (noise std x 255): 15 (default), 25 or 50",
    }
    noise_range: ClassVar[tuple[float, float]] = (15 / 255, 15 / 255)
    multiple: ClassVar[int] = 8  # the attention window
    input_key: ClassVar[str] = "conv_first.weight"

    @classmethod
    def official_at(cls, level: int, channels: int = 1) -> OfficialWeights:
        """The official SwinIR file of one noise level, as deepinv names them (grey 004_, colour 005_)."""
        kind = "005_colorDN" if channels == 3 else "004_grayDN"
        name = f"{kind}_DFWB_s128w8_SwinIR-M_noise{level}.pth"
        return OfficialWeights(name, f"https://github.com/JingyunLiang/SwinIR/releases/download/v0.0/{name}")

    official: ClassVar[OfficialWeights] = OfficialWeights("", "")  # chosen per instance (option level)

    @classmethod
    def official_for(cls, channels: int) -> OfficialWeights:
        """The per-instance subclass's file (its level), else the default level's."""
        return cls.official if cls.official.file_name else cls.official_at(15, channels)

    @classmethod
    def from_context(cls, context: ProviderContext) -> DeepinvNetworkProvider:
        level = cls.level_of(context)
        channels = context.dataset.channels if context.dataset is not None else 1
        official = cls.official_at(level, channels)
        cls_for_level = type(cls.__name__, (cls,), {"official": official, "official_colour": official})
        provider = super(SwinIRProvider, cls_for_level).from_context(context)
        provider.__class__ = cls  # the registered class, with the instance's level
        return provider

    @classmethod
    def level_of(cls, context: ProviderContext) -> int:
        text = context.options.get("level", "15")
        if text not in {str(v) for v in SWINIR_LEVELS}:
            raise DenoisebenchError(f"provider {cls.name!r}: level must be one of 15, 25, 50, got {text!r}")
        return int(text)

    def __init__(self, context: ProviderContext, net: nn.Module | None = None,
                 source: dict[str, Any] | None = None) -> None:
        super().__init__(context, net, source)
        self.level = self.level_of(context)
        if "noise_range" not in context.options:
            self.noise_range = (self.level / 255, self.level / 255)

    @classmethod
    def build(cls, state_dict: Mapping[str, torch.Tensor]) -> nn.Module:
        from deepinv.models import SwinIR

        return SwinIR(img_size=128, in_chans=cls.channels_in(state_dict, 1), upscale=1, window_size=8, img_range=1.0,
                      pretrained=None)


NETWORKS: tuple[type[DeepinvNetworkProvider], ...] = (
    DRUNetProvider, DnCNNProvider, GSDRUNetProvider, SCUNetProvider, RestormerProvider, SwinIRProvider)
