"""Classical scikit-image denoisers as denoisebench restoration providers.

Each provider is non-blind: the core adapter (``denoisebench.RestorationProvider``) tells it the
noise std ``s`` of each image in [0, 1] units, and a *noise-level rule* maps ``s`` to the
algorithm's own parameter:

* ``tv``: ``denoise_tv_chambolle`` with weight = c s;
* ``wavelet``: ``denoise_wavelet`` (Haar, 3 levels, BayesShrink, soft thresholds) with
  sigma = c s, cycle-spun over 4 shifts (``cycle_spin``, max_shifts = 1);
* ``nlmeans``: ``denoise_nl_means`` (fast mode, 5 x 5 patches, search distance 4) with h = c s
  and sigma = s;

where c is the provider's ``CONSTANT`` times the ``strength`` option (default 1). With
``-o sigma=estimate`` the rule uses ``skimage.restoration.estimate_sigma`` of each image instead
of the known s (the provider becomes blind). Outputs are clipped to [0, 1] (``-o clip=false``
turns it off).

The constants were chosen by measuring PSNR on held-out digits (``python -m
denoisebench_skimage.tune``; the table is in the README). Images are denoised one at a time
(``denoisebench.PerImageRestorationProvider``), so an image's result never depends on the rest of
its batch, and ``-o workers=K`` (or ``auto``) denoises a batch's images in K processes.
"""

from __future__ import annotations

import inspect
import math
from abc import abstractmethod
from typing import ClassVar

import numpy as np
from skimage.restoration import (cycle_spin, denoise_nl_means, denoise_tv_chambolle, denoise_wavelet,
                                 estimate_sigma)

from denoisebench import DenoisebenchError, PerImageRestorationProvider, ProviderContext, parse_bool

#: The noise stds (in [0, 1] units) the rule constants were tuned on; ``-o mode=scaled`` shrinks
#: stronger noise into this range (denoiser scaling) instead of extrapolating the rule.
TUNED_RANGE = (0.025, 3.2)
SIGMA_CHOICES = ("known", "estimate")
#: Run cycle spinning serially (the keyword was renamed in scikit-image 0.26).
_SERIAL = {"workers" if "workers" in inspect.signature(cycle_spin).parameters else "num_workers": 1}


class SkimageProvider(PerImageRestorationProvider):
    """A scikit-image denoiser run image by image with a noise-level rule ``param = c * s``."""

    blind: ClassVar[bool] = False
    noise_range: ClassVar[tuple[float, float]] = TUNED_RANGE
    options: ClassVar[dict[str, str]] = {
        **PerImageRestorationProvider.options,
        "strength": "multiplies the noise-level rule's constant (default 1)",
        "sigma": "known (default: use the adapter's s_t) or estimate (skimage estimate_sigma per image)",
        "clip": "clip the denoised image to [0, 1]: true (default) or false",
    }
    #: The rule's constant c: the algorithm's parameter is c * strength * s.
    CONSTANT: ClassVar[float]

    def __init__(self, context: ProviderContext) -> None:
        super().__init__(context)
        opts = context.options
        try:
            self.strength = float(opts.get("strength", "1"))
        except ValueError:
            self.strength = math.nan
        if not (math.isfinite(self.strength) and self.strength > 0):
            raise DenoisebenchError(
                f"provider {self.name!r}: strength must be a positive number, got {opts.get('strength')!r}")
        self.sigma_source = opts.get("sigma", "known")
        if self.sigma_source not in SIGMA_CHOICES:
            raise DenoisebenchError(
                f"provider {self.name!r}: sigma must be one of {', '.join(SIGMA_CHOICES)}, "
                f"got {self.sigma_source!r}")
        self.clip = parse_bool(opts.get("clip", "true"), f"option clip of provider {self.name!r}")

    def denoise_image(self, y: np.ndarray, s: float | None) -> np.ndarray:
        """One H x W (x C) image with noise std ``s`` (or its estimate); noiseless (s = 0) as it is."""
        channel_axis = -1 if y.ndim == 3 else None
        if s is None or self.sigma_source == "estimate":
            s = float(estimate_sigma(y, average_sigmas=True, channel_axis=channel_axis))
        out = self.apply(y, s, self.CONSTANT * self.strength, channel_axis) if s > 0 else y
        return np.clip(out, 0.0, 1.0) if self.clip else out

    @staticmethod
    @abstractmethod
    def apply(image: np.ndarray, s: float, c: float, channel_axis: int | None) -> np.ndarray:
        """Run the scikit-image function on one float32 image with noise std ``s``, constant ``c``."""

    def info(self) -> dict[str, object]:
        return {**super().info(), "rule_constant": self.CONSTANT, "strength": self.strength,
                "sigma": self.sigma_source, "clip": self.clip}


class TVProvider(SkimageProvider):
    name: ClassVar[str] = "tv"
    description: ClassVar[str] = "total-variation denoiser (skimage denoise_tv_chambolle), weight = 0.7 s"
    CONSTANT: ClassVar[float] = 0.7

    @staticmethod
    def apply(image: np.ndarray, s: float, c: float, channel_axis: int | None) -> np.ndarray:
        return denoise_tv_chambolle(image, weight=c * s, channel_axis=channel_axis)


class WaveletProvider(SkimageProvider):
    name: ClassVar[str] = "wavelet"
    description: ClassVar[str] = ("wavelet shrinkage (skimage denoise_wavelet, Haar, 3 levels, BayesShrink, "
                                  "cycle-spun), sigma = s")
    CONSTANT: ClassVar[float] = 1.0
    WAVELET: ClassVar[str] = "db1"
    #: Decomposition levels: the default for 28 x 28 images is 1, which leaves the coarse band
    #: (and all its noise) untouched; 3 is the deepest Haar level 28 x 28 images allow.
    LEVELS: ClassVar[int] = 3
    #: Cycle spinning over shifts 0..MAX_SHIFTS in each axis (4 shifts): +0.8 dB for 4x the time.
    MAX_SHIFTS: ClassVar[int] = 1

    @staticmethod
    def apply(image: np.ndarray, s: float, c: float, channel_axis: int | None) -> np.ndarray:
        kw = {"sigma": c * s, "wavelet": WaveletProvider.WAVELET, "wavelet_levels": WaveletProvider.LEVELS,
              "mode": "soft",
              "method": "BayesShrink", "rescale_sigma": True, "channel_axis": channel_axis}
        return cycle_spin(image, denoise_wavelet, max_shifts=WaveletProvider.MAX_SHIFTS, func_kw=kw,
                          channel_axis=channel_axis, **_SERIAL)


class NLMeansProvider(SkimageProvider):
    name: ClassVar[str] = "nlmeans"
    description: ClassVar[str] = "non-local means (skimage denoise_nl_means, 5x5 patches), h = 0.8 s"
    CONSTANT: ClassVar[float] = 0.8
    PATCH_SIZE: ClassVar[int] = 5
    PATCH_DISTANCE: ClassVar[int] = 4

    @staticmethod
    def apply(image: np.ndarray, s: float, c: float, channel_axis: int | None) -> np.ndarray:
        return denoise_nl_means(image, patch_size=NLMeansProvider.PATCH_SIZE,
                                patch_distance=NLMeansProvider.PATCH_DISTANCE, h=c * s, sigma=s,
                                fast_mode=True, preserve_range=True, channel_axis=channel_axis)


PROVIDERS: tuple[type[SkimageProvider], ...] = (TVProvider, WaveletProvider, NLMeansProvider)
