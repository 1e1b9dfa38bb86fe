"""``wiener``: the MMSE denoiser of a Gaussian fitted to the train split, the optimal linear denoiser.

Fit x ~ N(m, C) to the train images in [0, 1] units (mean and D x D covariance, D = pixels) and
diagonalise C = U diag(lam) U^T once, in float64. For y = x + s n the posterior mean is

    D(y, s) = m + C (C + s^2 I)^(-1) (y - m) = m + U diag(lam / (lam + s^2)) U^T (y - m),

a Wiener filter per noise level. It is non-blind (told s) and goes through the restoration adapter,
so for Gaussian data its epsilon is the exact epsilon (Tweedie). It needs no training and cannot
memorise: it generalises, blurrily, and is the linear baseline every learned denoiser should beat.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from .base import ProviderContext
from .restoration import RestorationProvider


def gaussian_fit(images01: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, eigenvalues, eigenvectors) of the pixel covariance of N x D images, float64."""
    x = images01.reshape(len(images01), -1).astype(np.float64)
    mean = x.mean(axis=0)
    cov = np.cov(x, rowvar=False, bias=True)
    lam, vecs = np.linalg.eigh(cov)
    return mean, np.clip(lam, 0.0, None), vecs


class WienerProvider(RestorationProvider):
    """The Gaussian MMSE (Wiener) denoiser of the train split, through the restoration adapter."""

    name: ClassVar[str] = "wiener"
    description: ClassVar[str] = "MMSE denoiser of a Gaussian fitted to the train split (optimal linear; no training)"
    blind: ClassVar[bool] = False

    def __init__(self, context: ProviderContext, moments: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
                 ) -> None:
        super().__init__(context)
        if moments is None:
            moments = gaussian_fit(context.dataset.train_images.astype(np.float64) / 255.0)
        mean, lam, vecs = moments
        self.fitted_on = int(len(context.dataset.train_images)) if context.dataset is not None else 0
        self._moments = {dtype: (torch.as_tensor(mean, dtype=dtype, device=context.device),
                                 torch.as_tensor(lam, dtype=dtype, device=context.device),
                                 torch.as_tensor(vecs, dtype=dtype, device=context.device))
                         for dtype in (torch.float32, torch.float64)}

    def denoise(self, y: torch.Tensor, noise_std: torch.Tensor | None) -> torch.Tensor:
        assert noise_std is not None  # non-blind: the adapter passes each image's s
        mean, lam, vecs = self._moments[torch.float64 if y.dtype == torch.float64 else torch.float32]
        r = y.flatten(1).to(mean.dtype) - mean
        gain = lam / (lam + noise_std.to(mean.dtype).view(-1, 1) ** 2)
        out = mean + ((r @ vecs) * gain) @ vecs.T
        return out.to(y.dtype).view_as(y)

    def info(self) -> dict[str, object]:
        lam = self._moments[torch.float64][1]
        return {**super().info(), "train_images": self.fitted_on,
                "covariance_rank": int((lam > 1e-12 * lam.max()).sum())}
