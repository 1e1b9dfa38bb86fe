"""``wiener``: the MMSE denoiser of a Gaussian fitted to the train split, the optimal linear denoiser.

Fit x ~ N(m, C) to the train images in [0, 1] units (mean and D x D covariance, D = pixels) and
diagonalise C = U diag(lam) U^T once, in float64. For y = x + s n the posterior mean is

    D(y, s) = m + C (C + s^2 I)^(-1) (y - m) = m + U diag(lam / (lam + s^2)) U^T (y - m),

a Wiener filter per noise level. It is non-blind (told s) and goes through the restoration adapter,
so for Gaussian data its epsilon is the exact epsilon (Tweedie). It needs no training and cannot
memorise: it generalises, blurrily, and is the linear baseline every learned denoiser should beat.

Any C x H x W: D = C H W, pixels in the tensors' channel-major order, so the covariance couples
colour channels as well as positions. Cost: the covariance is D x D (784^2 for MNIST; 3,072^2 =
75 MB in float64 for 3 x 32 x 32), the fit is O(N D^2) for the covariance plus O(D^3) for the
eigendecomposition, and each call two B x D x D products. Measured on one core of this project's
VM (4,000 random train images; table in docs/providers.md): 1 x 28 x 28 fit 0.4 s, call
0.06 ms per image; 3 x 32 x 32 fit 20 s, call 1.0 ms per image, about 0.5 GB peak memory (the
float64 train matrix, covariance and eigenvectors, and the float32/float64 copies the calls use).
The eigendecomposition is the low-rank path already: with N < D train images the covariance has
rank <= N - 1, the zero eigenvalues get gain 0, and the rank is recorded in run.json
(``covariance_rank``); a truncated basis would only save calls' time, at a cost in exactness.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from ..interfaces.provider import ProviderContext
from ..interfaces.restoration import RestorationProvider


def gaussian_fit(images01: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, eigenvalues, eigenvectors) of the pixel covariance of N x D images, float64.

    D must be ordered as the tensors the denoiser sees (C x H x W, channel-major): pass
    :func:`train_matrix`'s output, not the N x H x W x C uint8 record reshaped."""
    x = images01.reshape(len(images01), -1).astype(np.float64)
    mean = x.mean(axis=0)
    cov = np.cov(x, rowvar=False, bias=True)
    lam, vecs = np.linalg.eigh(cov)
    return mean, np.clip(lam, 0.0, None), vecs


def train_matrix(images: np.ndarray) -> np.ndarray:
    """uint8 N x H x W (x C) -> float64 N x (C H W) in [0, 1], each row in C x H x W order (how
    ``y.flatten(1)`` orders a B x C x H x W tensor)."""
    x = images[..., None] if images.ndim == 3 else images
    return np.ascontiguousarray(np.moveaxis(x, 3, 1)).reshape(len(x), -1).astype(np.float64) / 255.0


class WienerProvider(RestorationProvider):
    """The Gaussian MMSE (Wiener) denoiser of the train split, through the restoration adapter."""

    name: ClassVar[str] = "wiener"
    description: ClassVar[str] = "MMSE denoiser of a Gaussian fitted to the train split (optimal linear; no training)"
    blind: ClassVar[bool] = False

    def __init__(self, context: ProviderContext, moments: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
                 ) -> None:
        super().__init__(context)
        if moments is None:
            moments = gaussian_fit(train_matrix(context.dataset.train_images))
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
