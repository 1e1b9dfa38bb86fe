"""The dataset record every provider, sampler and metric works on."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch


@dataclass(frozen=True)
class DatasetOptions:
    """Where a dataset may read files from (``--data-dir``) or cache downloads."""

    data_dir: Path | None = None
    cache_dir: Path | None = None


@dataclass(frozen=True)
class ImageDataset:
    """Grey-scale images as uint8 arrays (N x H x W) with a train and a held-out split."""

    id: str
    train_images: np.ndarray
    train_labels: np.ndarray
    heldout_images: np.ndarray
    heldout_labels: np.ndarray
    content_hash: str = field(default="")

    def __post_init__(self) -> None:
        for name in ("train_images", "heldout_images"):
            arr = getattr(self, name)
            if arr.dtype != np.uint8 or arr.ndim != 3:
                raise ValueError(f"{name} must be a uint8 N x H x W array")
        if not self.content_hash:
            object.__setattr__(self, "content_hash", content_hash(
                self.train_images, self.train_labels, self.heldout_images, self.heldout_labels))

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of one image as the sampler sees it."""
        return (1, *self.train_images.shape[1:])

    def train_tensor(self, device: torch.device | str = "cpu") -> torch.Tensor:
        """The train split as float32 N x 1 x H x W in [-1, 1]."""
        return to_model_range(self.train_images, device)

    def heldout_tensor(self, device: torch.device | str = "cpu") -> torch.Tensor:
        """The held-out split as float32 N x 1 x H x W in [-1, 1]."""
        return to_model_range(self.heldout_images, device)

    def describe(self) -> dict[str, object]:
        return {"id": self.id, "hash": self.content_hash, "train": int(len(self.train_images)),
                "heldout": int(len(self.heldout_images)), "shape": list(self.image_shape)}


@dataclass(frozen=True)
class DatasetSpec:
    """A named dataset and the function that loads it."""

    id: str
    description: str
    load: Callable[[DatasetOptions], ImageDataset]


def to_model_range(images: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 N x H x W -> float32 N x 1 x H x W in [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(images)).to(device=device, dtype=torch.float32)
    return (x / 127.5 - 1.0).unsqueeze(1)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """float N x 1 x H x W in [-1, 1] -> uint8 N x H x W (clipped, rounded)."""
    img = ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return img.squeeze(1).cpu().numpy()


def content_hash(*arrays: np.ndarray) -> str:
    """sha256 over the arrays' dtypes, shapes and bytes."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()
