"""deepinv's classical denoisers as restoration providers: no training, no weights.

* ``deepinv-tv``: ``TVDenoiser`` (primal-dual proximal operator of total variation) with
  ths = c s, run for a fixed number of iterations over the whole batch (deepinv's stopping
  criterion is batch-wide, so it would make an image's result depend on its batch);
* ``deepinv-wavelet``: ``WaveletDenoiser`` (Haar, 3 levels, soft thresholds) with ths = c s;
* ``deepinv-bm3d``: ``BM3D`` (the ``bm3d`` package, image by image on the CPU), told sigma = c s;
* ``deepinv-median``: ``MedianFilter`` (3 x 3), blind.

c is the provider's ``CONSTANT`` times the ``strength`` option; the constants were chosen by PSNR
on held-out digits (``python -m denoisebench_deepinv.tune``, table in the README). Outputs are
clipped to [0, 1] (``-o clip=false`` turns it off).
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch

from denoisebench import DenoisebenchError, ProviderContext, RestorationProvider, parse_bool

#: The noise stds (in [0, 1] units) the rules were tuned on; ``-o mode=scaled`` shrinks stronger noise into it.
TUNED_RANGE = (0.025, 3.2)


class DeepinvClassicalProvider(RestorationProvider):
    """A deepinv classical denoiser with a noise-level rule ``param = c * strength * s``."""

    blind: ClassVar[bool] = False
    noise_range: ClassVar[tuple[float, float]] = TUNED_RANGE
    options: ClassVar[dict[str, str]] = {
        **RestorationProvider.options,
        "strength": "multiplies the noise-level rule's constant (default 1)",
        "clip": "clip the denoised image to [0, 1]: true (default) or false",
    }
    CONSTANT: ClassVar[float] = 1.0

    def __init__(self, context: ProviderContext) -> None:
        super().__init__(context)
        text = context.options.get("strength", "1")
        try:
            self.strength = float(text)
        except ValueError:
            self.strength = math.nan
        if not (math.isfinite(self.strength) and self.strength > 0):
            raise DenoisebenchError(f"provider {self.name!r}: strength must be a positive number, got {text!r}")
        self.clip = parse_bool(context.options.get("clip", "true"), f"option clip of provider {self.name!r}")
        self.model = self.build()

    def build(self) -> torch.nn.Module:
        """The deepinv denoiser."""
        raise NotImplementedError

    def apply(self, x: torch.Tensor, param: torch.Tensor | None) -> torch.Tensor:
        """Run the denoiser on a float32 batch with per-image parameters (B,) (None when blind)."""
        return self.model(x, param)

    def denoise(self, y: torch.Tensor, noise_std: torch.Tensor | None) -> torch.Tensor:
        x = y.to(device=self.context.device, dtype=torch.float32)
        param = None if noise_std is None else (self.CONSTANT * self.strength) * noise_std.to(x).reshape(-1)
        with torch.no_grad():
            if param is None:
                out = self.apply(x, None)
            else:  # a noiseless image (s = 0) is its own denoised image; TV's prox divides by ths
                out = torch.where((param > 0).view(-1, 1, 1, 1), self.apply(x, param.clamp_min(1e-8)), x)
        if self.clip:
            out = out.clamp(0.0, 1.0)
        return out.to(device=y.device, dtype=y.dtype)

    def info(self) -> dict[str, object]:
        return {**super().info(), "rule_constant": self.CONSTANT, "strength": self.strength, "clip": self.clip}


class TVProvider(DeepinvClassicalProvider):
    name: ClassVar[str] = "deepinv-tv"
    description: ClassVar[str] = "deepinv TVDenoiser (total variation prox, fixed iterations), ths = 0.7 s"
    CONSTANT: ClassVar[float] = 0.7
    options: ClassVar[dict[str, str]] = {
        **DeepinvClassicalProvider.options,
        "iterations": "primal-dual iterations, the same for every image (default 200)",
    }

    def build(self) -> torch.nn.Module:
        from deepinv.models import TVDenoiser

        text = self.context.options.get("iterations", "200")
        if not text.isdigit() or int(text) < 1:
            raise DenoisebenchError(f"provider {self.name!r}: iterations must be a positive integer, got {text!r}")
        self.iterations = int(text)
        return TVDenoiser(n_it_max=self.iterations, crit=0.0)  # crit 0: never stops early (batch-wide test)

    def apply(self, x: torch.Tensor, param: torch.Tensor | None) -> torch.Tensor:
        self.model.restart = True  # no warm start from the previous call
        out = self.model(x, param)
        self.model.x2 = self.model.u2 = None
        return out

    def info(self) -> dict[str, object]:
        return {**super().info(), "iterations": self.iterations}


class WaveletProvider(DeepinvClassicalProvider):
    name: ClassVar[str] = "deepinv-wavelet"
    description: ClassVar[str] = "deepinv WaveletDenoiser (Haar, 3 levels, soft thresholds), ths = 1.0 s"
    CONSTANT: ClassVar[float] = 1.0
    WAVELET: ClassVar[str] = "haar"
    LEVELS: ClassVar[int] = 3

    def build(self) -> torch.nn.Module:
        from deepinv.models import WaveletDenoiser

        return WaveletDenoiser(level=self.LEVELS, wv=self.WAVELET, non_linearity="soft", mode="symmetric",
                               device=self.context.device)


class BM3DProvider(DeepinvClassicalProvider):
    name: ClassVar[str] = "deepinv-bm3d"
    description: ClassVar[str] = "deepinv BM3D (bm3d package, image by image, CPU), sigma = s"
    CONSTANT: ClassVar[float] = 1.0

    def build(self) -> torch.nn.Module:
        from deepinv.models import BM3D

        return BM3D(use_legacy=True)

    def apply(self, x: torch.Tensor, param: torch.Tensor | None) -> torch.Tensor:
        assert param is not None
        return torch.cat([self.model(x[i:i + 1], param[i:i + 1]) for i in range(len(x))])


class MedianProvider(DeepinvClassicalProvider):
    name: ClassVar[str] = "deepinv-median"
    description: ClassVar[str] = "deepinv MedianFilter (3 x 3, reflect padding), blind"
    blind: ClassVar[bool] = True
    noise_range: ClassVar[tuple[float, float]] = (0.0, math.inf)
    options: ClassVar[dict[str, str]] = {
        **RestorationProvider.options,
        "kernel": "window size, odd (default 3)",
        "clip": "clip the denoised image to [0, 1]: true (default) or false",
    }

    def __init__(self, context: ProviderContext) -> None:
        text = context.options.get("kernel", "3")
        if not text.isdigit() or int(text) < 1 or int(text) % 2 == 0:
            raise DenoisebenchError(f"provider 'deepinv-median': kernel must be an odd positive integer, got {text!r}")
        self.kernel = int(text)
        super().__init__(context)

    def build(self) -> torch.nn.Module:
        from deepinv.models import MedianFilter

        return MedianFilter(kernel_size=self.kernel)

    def info(self) -> dict[str, object]:
        return {**super().info(), "kernel": self.kernel}


CLASSICAL: tuple[type[DeepinvClassicalProvider], ...] = (TVProvider, WaveletProvider, BM3DProvider, MedianProvider)
