"""A small time-conditioned U-Net for C x H x W images (C = 1 or 3, any H, W), sized for CPU sampling.

The image's channels and size are part of the config (``in_channels``, ``image_size`` = height,
``image_width``; ``denoisebench train`` takes them from the dataset) and so of every checkpoint.
Sizes need not be powers of two: each stride-2 conv rounds up (ceil(n / 2)) and each upsampling
goes back to its skip's exact size; only the patch stem needs ``patch`` to divide H and W (a
one-line error otherwise: use ``-m patch=1``).

Layout (config :class:`UNetConfig`): an optional pixel-unshuffle "patch" stem (patch = 2 turns
1 x 28 x 28 into 4 x 14 x 14, cutting every later layer's cost by 4), then one level per entry of
``channels``: ``blocks`` residual blocks (GroupNorm, SiLU, 3x3 conv, timestep scale-shift) whose
outputs are kept as skips, then a stride-2 conv down. The middle is ResBlock, optional
multi-head self-attention (at the lowest resolution only), ResBlock. The expanding path mirrors
it, concatenating one skip per block, upsampling by nearest-neighbour + 3x3 conv to the skip's
size. The head is GroupNorm, SiLU, a zero-initialised 3x3 conv and the inverse pixel shuffle.

The network's output is what ``parameterisation`` says (eps, v or x0); the provider converts it
to epsilon.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

PARAMETERISATIONS = ("eps", "v", "x0")


@dataclass
class UNetConfig:
    """Architecture (and output parameterisation) of the U-Net; stored in every checkpoint."""

    channels: tuple[int, ...] = (32, 64, 96)
    blocks: int = 1
    attention: bool = True
    heads: int = 4
    patch: int = 2
    groups: int = 8
    #: Image height (and width, unless ``image_width`` is set) in pixels.
    image_size: int = 28
    in_channels: int = 1
    #: Image width in pixels; 0: square (``image_size``). Configs from before this field are square.
    image_width: int = 0
    #: What the network predicts: 'eps', 'v' (v = sqrt(abar) eps - sqrt(1 - abar) x0) or 'x0'.
    parameterisation: str = "v"
    #: Min-SNR-gamma loss weighting (Hang et al. 2023); 0 turns it off (plain MSE).
    min_snr_gamma: float = 5.0

    @property
    def width(self) -> int:
        """The image width in pixels."""
        return self.image_width or self.image_size

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of the images this network is built for."""
        return (self.in_channels, self.image_size, self.width)

    def validate(self) -> None:
        from ...errors import DenoisebenchError

        if self.parameterisation not in PARAMETERISATIONS:
            raise DenoisebenchError(f"unknown parameterisation {self.parameterisation!r}: choose "
                                    f"one of {', '.join(PARAMETERISATIONS)}")
        if not self.channels or any(c <= 0 or c % self.groups for c in self.channels):
            raise DenoisebenchError(f"channels {self.channels} must be positive multiples of groups={self.groups}")
        if self.in_channels not in (1, 3):
            raise DenoisebenchError(f"in_channels must be 1 or 3, got {self.in_channels}")
        if self.patch < 1 or self.image_size % self.patch or self.width % self.patch:
            raise DenoisebenchError(f"patch {self.patch} must divide the image's height and width "
                                    f"({self.image_size} x {self.width}): use -m patch=1")
        if self.blocks < 1:
            raise DenoisebenchError(f"blocks must be at least 1, got {self.blocks}")
        if self.attention and self.channels[-1] % self.heads:
            raise DenoisebenchError(f"heads {self.heads} must divide the last width {self.channels[-1]}")


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of integer steps t (B,) -> B x dim (sin half, cos half)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv twice, the timestep as a scale and shift of the second norm."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, groups: int) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, 2 * c_out)
        self.norm2 = nn.GroupNorm(groups, c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb(emb)[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(F.silu(h))
        return self.skip(x) + h


class SelfAttention(nn.Module):
    """Multi-head self-attention over the pixels of a (small) feature map, residual."""

    def __init__(self, channels: int, heads: int, groups: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, h * w).unbind(1)
        out = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2), v.transpose(-1, -2))
        return x + self.proj(out.transpose(-1, -2).reshape(b, c, h, w))


class UNet(nn.Module):
    """The U-Net described in the module docstring; ``forward(x_t, t)`` keeps x_t's shape."""

    def __init__(self, config: UNetConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        ch, g = list(config.channels), config.groups
        self.emb_base = ch[0]
        emb_dim = 4 * ch[0]
        self.time_mlp = nn.Sequential(nn.Linear(ch[0], emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        c_img = config.in_channels * config.patch ** 2
        self.stem = nn.Conv2d(c_img, ch[0], 3, padding=1)
        self.down_blocks = nn.ModuleList()
        self.downsamples = nn.ModuleList()
        skips, c = [], ch[0]
        for i, width in enumerate(ch):
            level = nn.ModuleList()
            for _ in range(config.blocks):
                level.append(ResBlock(c, width, emb_dim, g))
                c = width
                skips.append(c)
            self.down_blocks.append(level)
            self.downsamples.append(nn.Conv2d(c, c, 3, stride=2, padding=1) if i < len(ch) - 1 else nn.Identity())
        self.mid1 = ResBlock(c, c, emb_dim, g)
        self.mid_attn = SelfAttention(c, config.heads, g) if config.attention else nn.Identity()
        self.mid2 = ResBlock(c, c, emb_dim, g)
        self.up_blocks = nn.ModuleList()
        self.upsamples = nn.ModuleList()
        for i, width in reversed(list(enumerate(ch))):
            level = nn.ModuleList()
            for _ in range(config.blocks):
                level.append(ResBlock(c + skips.pop(), width, emb_dim, g))
                c = width
            self.up_blocks.append(level)
            self.upsamples.append(nn.Conv2d(c, ch[i - 1], 3, padding=1) if i > 0 else nn.Identity())
            c = ch[i - 1] if i > 0 else c
        self.head_norm = nn.GroupNorm(g, c)
        self.head = nn.Conv2d(c, c_img, 3, padding=1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        p = self.config.patch
        emb = self.time_mlp(timestep_embedding(t, self.emb_base))
        h = F.pixel_unshuffle(x, p) if p > 1 else x
        if self.stem.weight.is_contiguous(memory_format=torch.channels_last):
            h = h.contiguous(memory_format=torch.channels_last)  # oneDNN's fast layout on CPU
        h = self.stem(h)
        skips = []
        for level, down in zip(self.down_blocks, self.downsamples):
            for block in level:
                h = block(h, emb)
                skips.append(h)
            h = down(h)
        h = self.mid2(self.mid_attn(self.mid1(h, emb)), emb)
        for level, up in zip(self.up_blocks, self.upsamples):
            for block in level:
                skip = skips.pop()
                h = block(torch.cat([h, skip], dim=1), emb)
            if not isinstance(up, nn.Identity):
                h = up(F.interpolate(h, size=skips[-1].shape[-2:], mode="nearest"))
        h = self.head(F.silu(self.head_norm(h)))
        h = F.pixel_shuffle(h, p) if p > 1 else h
        return h.contiguous()
