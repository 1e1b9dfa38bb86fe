"""A small convolutional autoencoder whose code gives proxy features (``ae-*`` encoders).

Another objective and another architecture than the MNIST classifier, so that a verdict can be
checked across two unrelated feature spaces offline: the classifier is trained to tell digits apart
(max-pooled ReLU convs, features invariant to whatever does not change the label); the autoencoder
is trained to *reconstruct* the image through a ``code_dim`` bottleneck (strided SiLU convs, no
pooling), so its code keeps what is needed to redraw the picture: stroke shape, thickness,
contrast, colour, texture.

Encoder: three 3 x 3 stride-2 convs (``width``, 2 ``width``, 2 ``width`` channels; SiLU) take a
C x H x W image to 2 ``width`` x ceil(H/8) x ceil(W/8), and a Linear maps that to the code. The
decoder mirrors it (Linear, then nearest-upsample + 3 x 3 conv three times, to C x H x W); it is
only needed to train and is not shipped. Input: the project's model range, x / 127.5 - 1.

The features are the code (``code_dim``) followed by ``width`` *texture statistics*: the spatial
standard deviation of each first-layer channel's response (the energy of each 3 x 3 filter over the
image, as in the diagonal of a Gram matrix). The code is a low-pass summary that barely moves when
white noise or a slight blur is added (on the photograph patches, noise of std 40 grey levels moved
its FD less than two halves of the train split differ); the texture statistics see exactly that.
Each part is standardised with the train split's per-dimension mean and std (buffers
``feature_shift`` / ``feature_scale`` and ``texture_shift`` / ``texture_scale``), unit scale per
dimension as KD's kernel x.y / d + 1 assumes.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn


def _down(size: int) -> int:
    """Output side of a 3 x 3, stride-2, padding-1 conv."""
    return (size - 1) // 2 + 1


class AEEncoder(nn.Module):
    """Image (B x C x H x W in [-1, 1]) -> code (B x code_dim); the half that is shipped."""

    def __init__(self, channels: int, height: int, width_px: int, code_dim: int = 64, width: int = 32) -> None:
        super().__init__()
        h, w = height, width_px
        for _ in range(3):
            h, w = _down(h), _down(w)
        self.convs = nn.Sequential(
            nn.Conv2d(channels, width, 3, stride=2, padding=1), nn.SiLU(),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.SiLU(),
            nn.Conv2d(2 * width, 2 * width, 3, stride=2, padding=1), nn.SiLU(), nn.Flatten())
        self.code = nn.Linear(2 * width * h * w, code_dim)
        self.register_buffer("feature_shift", torch.zeros(code_dim))
        self.register_buffer("feature_scale", torch.ones(code_dim))
        self.register_buffer("texture_shift", torch.zeros(width))
        self.register_buffer("texture_scale", torch.ones(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.code(self.convs(x))

    def code_and_texture(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(code, B x code_dim; texture statistics, B x width), not standardised."""
        first = self.convs[1](self.convs[0](x))
        return self.code(self.convs[2:](first)), first.std(dim=(2, 3), unbiased=False)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The metric features: standardised code and texture statistics, B x (code_dim + width)."""
        code, texture = self.code_and_texture(x)
        return torch.cat([(code - self.feature_shift) / self.feature_scale,
                          (texture - self.texture_shift) / self.texture_scale], dim=1)


class AEDecoder(nn.Module):
    """Code -> image (B x C x H x W, unbounded; trained towards [-1, 1]). Training only."""

    def __init__(self, channels: int, height: int, width_px: int, code_dim: int = 64, width: int = 32) -> None:
        super().__init__()
        sizes = [(height, width_px)]
        for _ in range(3):
            sizes.append((_down(sizes[-1][0]), _down(sizes[-1][1])))
        self.sizes = sizes  # full, /2, /4, /8
        self.width = width
        self.expand = nn.Linear(code_dim, 2 * width * sizes[3][0] * sizes[3][1])
        self.up = nn.ModuleList([nn.Conv2d(2 * width, 2 * width, 3, padding=1),
                                 nn.Conv2d(2 * width, width, 3, padding=1),
                                 nn.Conv2d(width, channels, 3, padding=1)])

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        h8, w8 = self.sizes[3]
        x = F.silu(self.expand(code)).view(len(code), 2 * self.width, h8, w8)
        for i, conv in enumerate(self.up):
            x = conv(F.interpolate(x, size=self.sizes[2 - i], mode="nearest"))
            if i < len(self.up) - 1:
                x = F.silu(x)
        return x


class ConvAutoencoder(nn.Module):
    """Encoder + decoder, trained with the reconstruction MSE."""

    def __init__(self, channels: int, height: int, width_px: int, code_dim: int = 64, width: int = 32) -> None:
        super().__init__()
        self.encoder = AEEncoder(channels, height, width_px, code_dim, width)
        self.decoder = AEDecoder(channels, height, width_px, code_dim, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


def to_model_input(images: np.ndarray) -> torch.Tensor:
    """uint8 N x H x W (x C) -> float32 N x C x H x W in [-1, 1] (x / 127.5 - 1)."""
    arr = np.asarray(images)
    arr = arr[..., None] if arr.ndim == 3 else arr
    x = torch.from_numpy(np.array(arr, dtype=np.float32, copy=True)).permute(0, 3, 1, 2).contiguous()
    return x / 127.5 - 1.0
