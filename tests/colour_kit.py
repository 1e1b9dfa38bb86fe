"""Tiny in-test image sets of any shape (the real colour datasets are plugins of their own)."""

from __future__ import annotations

import numpy as np

from denoisebench.datasets.base import ImageDataset


def colour_blobs(n: int, seed: int, h: int = 12, w: int = 20, channels: int = 3) -> np.ndarray:
    """n uint8 images (N x H x W x C; N x H x W when ``channels`` is 1): a blob of a random colour
    at a random place on a dark, slightly tinted background."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    cy, cx = rng.uniform(2, h - 2, (n, 1, 1)), rng.uniform(2, w - 2, (n, 1, 1))
    r = rng.uniform(1.5, 3.5, (n, 1, 1))
    blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r ** 2))  # n x h x w
    colour = rng.uniform(0.3, 1.0, (n, 1, 1, channels))
    back = rng.uniform(0.0, 0.15, (n, 1, 1, channels))
    img = back + (colour - back) * blob[..., None]
    out = (img * 255).round().astype(np.uint8)
    return out[..., 0] if channels == 1 else out


def colour_dataset(id: str = "tiny-colour", h: int = 12, w: int = 20, channels: int = 3, n: int = 24,
                   seed: int = 0) -> ImageDataset:  # noqa: A002
    """A train split of ``n`` and a held-out split of 8 :func:`colour_blobs` images."""
    train, held = colour_blobs(n, seed, h, w, channels), colour_blobs(8, seed + 100, h, w, channels)
    return ImageDataset(id, train, np.arange(n) % 2, held, np.arange(8) % 2)
