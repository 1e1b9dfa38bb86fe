"""The adapter that turns an image denoiser D(y) into an epsilon provider.

A restoration denoiser sees y = x + s n with x in [0, 1] and returns an estimate of x. With
x_t / sqrt(abar_t) = x_0 + sigma_t n ([-1, 1] units, sigma_t = sqrt((1 - abar_t) / abar_t)):

    u = (x_t / sqrt(abar_t) + 1) / 2,   s_t = sigma_t / 2,   x0_hat = 2 D(u, s_t) - 1,
    eps_hat = (x_t - sqrt(abar_t) x0_hat) / sqrt(1 - abar_t).

Normalisation modes:

* ``tweedie``: exactly the conversion above; by Tweedie's formula the MMSE denoiser gives the
  MMSE epsilon.
* ``scaled``: ``tweedie`` inside the denoiser's trained noise range [s_min, s_max]; above s_max
  the input is rescaled about mid-grey so its noise std is s_max (denoiser scaling,
  D_mu(y) = (D(0.5 + mu (y - 0.5)) - 0.5) / mu + 0.5 with mu = s_max / s_t, after Xu et al. 2020),
  and the output is clamped to [0, 1]; below s_min the denoiser is told s_min.
* ``seed``: the seed study's method, kept as the reference of what does not work:
  eps_hat = r / std(r) with r = y - D(y), y = (x_t + 1) / 2 (no abar scaling, per-image unit std).
  A non-blind D is told the noise std of that y, sqrt(1 - abar_t) / 2.

Denoisers that work on one numpy image at a time (scikit-image, the ``bm3d`` package) subclass
:class:`PerImageRestorationProvider` (:mod:`denoisebench.providers.per_image`) instead: they implement
``denoise_image`` and get ``-o workers=K``, the batch's images denoised in K worker processes.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

import torch

from ..errors import DenoisebenchError, ProviderError
from ..diffusion.schedule import NoiseSchedule
from .provider import EpsilonProvider, ProviderContext

NORMALISATION_MODES = ("tweedie", "scaled", "seed")


def check_denoised(name: str, y: torch.Tensor, out: object) -> None:
    """A one-line error naming the provider unless ``denoise`` returned a tensor like ``y``."""
    expect = f"a torch.Tensor of shape {tuple(y.shape)}, dtype {y.dtype}, on {y.device} (like y)"
    if not isinstance(out, torch.Tensor):
        raise ProviderError(f"provider {name!r}: denoise() returned a {type(out).__module__}.{type(out).__name__}; "
                            f"expected {expect}; convert with torch.from_numpy(...).to(y)")
    if out.shape != y.shape or out.dtype != y.dtype or out.device != y.device:
        got = f"shape {tuple(out.shape)}, dtype {out.dtype}, on {out.device}"
        raise ProviderError(f"provider {name!r}: denoise() returned {got}; expected {expect}")


class RestorationProvider(EpsilonProvider):
    """Base class of providers built on a denoiser of [0, 1] images; implement :meth:`denoise`."""

    #: A blind denoiser is not told the noise level (it receives ``None``).
    blind: ClassVar[bool] = True
    #: The noise std range, in [0, 1] units, the denoiser was built or trained for.
    noise_range: ClassVar[tuple[float, float]] = (0.0, float("inf"))
    default_mode: ClassVar[str] = "tweedie"
    options: ClassVar[dict[str, str]] = {"mode": "normalisation: tweedie, scaled or seed"}

    def __init__(self, context: ProviderContext) -> None:
        super().__init__(context)
        self.mode = context.options.get("mode", self.default_mode)
        if self.mode not in NORMALISATION_MODES:
            raise DenoisebenchError(
                f"unknown mode {self.mode!r} for provider {self.name!r}: choose one of "
                f"{', '.join(NORMALISATION_MODES)}")

    @abstractmethod
    def denoise(self, y: torch.Tensor, noise_std: torch.Tensor | None) -> torch.Tensor:
        """Estimate clean [0, 1] images from noisy ``y`` (B x C x H x W).

        ``noise_std`` holds each image's noise std (B,) in [0, 1] units, or None for blind nets.
        """

    def _call(self, y: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        try:
            out = self.denoise(y, None if self.blind else s)
        except (TypeError, AttributeError) as exc:
            if self.blind and "NoneType" in str(exc):
                raise ProviderError(f"provider {self.name!r}: denoise() received noise_std=None because the "
                                    "class is blind; set blind = False to receive the noise level") from exc
            raise
        check_denoised(self.name, y, out)
        return out

    def predict_eps(self, x_t: torch.Tensor, t: torch.Tensor, schedule: NoiseSchedule) -> torch.Tensor:
        ab = schedule.alpha_bars[t.cpu()].to(torch.float64).view(-1, 1, 1, 1)  # 1 - abar in float64

        def col(v: torch.Tensor) -> torch.Tensor:
            return v.to(dtype=x_t.dtype).to(x_t.device)

        if self.mode == "seed":
            y = (x_t + 1) / 2  # its noise std is sqrt(1 - abar) / 2, which a non-blind D is told
            r = y - self._call(y, col((1 - ab).sqrt() / 2).view(-1))
            return r / r.flatten(1).std(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
        s = col(((1 - ab) / ab).sqrt() / 2)
        u = (x_t / col(ab.sqrt()) + 1) / 2
        if self.mode == "tweedie":
            clean = self._call(u, s.view(-1))
        else:
            clean = self._scaled_denoise(u, s)
        x0 = 2 * clean - 1
        return (x_t - col(ab.sqrt()) * x0) / col((1 - ab).sqrt())

    def _scaled_denoise(self, u: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        s_min, s_max = self.noise_range
        mu = torch.clamp(s_max / s, max=1.0)
        y = 0.5 + mu * (u - 0.5)
        clean = self._call(y, torch.clamp(s * mu, min=s_min).view(-1))
        return torch.clamp((clean - 0.5) / mu + 0.5, 0.0, 1.0)

    def label(self) -> str:
        """'kbnet (tweedie)': the normalisation mode is part of what is benchmarked."""
        return f"{self.name} ({self.mode})"

    def info(self) -> dict[str, object]:
        return {"mode": self.mode, "blind": self.blind, "noise_range": list(self.noise_range)}

