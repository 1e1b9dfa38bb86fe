"""The dataset record every provider, sampler and metric works on.

One layout from the dataset to ``samples.npz``: uint8 arrays with the channel axis last,
N x H x W x C (C = 1 or 3), the convention of numpy, PIL and the field's sample files
(guided-diffusion's and EDM's ``.npz`` batches). A grey set may drop the channel axis
(N x H x W), which is how MNIST has always been stored, so its bytes and files are unchanged.
Tensors handed to providers and samplers are float32 N x C x H x W in [-1, 1].
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch


@dataclass(frozen=True)
class DatasetOptions:
    """Where a dataset may read files from (``--data-dir``) or cache downloads, and its own
    options (``-D KEY=VALUE`` on the command line and ``dataset_options`` in suite files)."""

    data_dir: Path | None = None
    cache_dir: Path | None = None
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ImageDataset:
    """Images as uint8 arrays (N x H x W x C, or N x H x W for grey) with a train and a held-out
    split."""

    id: str
    train_images: np.ndarray
    train_labels: np.ndarray
    heldout_images: np.ndarray
    heldout_labels: np.ndarray
    content_hash: str = field(default="")
    #: The ``-D`` options it was loaded with (recorded in run.json when not empty).
    options: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        shapes = set()
        for name in ("train_images", "heldout_images"):
            arr = getattr(self, name)
            check_image_array(arr, name)
            shapes.add(image_shape_of(arr))
        if len(shapes) > 1:
            raise ValueError(f"train and held-out images differ in shape: {sorted(shapes)}")
        if not self.content_hash:
            object.__setattr__(self, "content_hash", content_hash(
                self.train_images, self.train_labels, self.heldout_images, self.heldout_labels))

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of one image as the sampler sees it."""
        return image_shape_of(self.train_images)

    @property
    def channels(self) -> int:
        return self.image_shape[0]

    def train_tensor(self, device: torch.device | str = "cpu") -> torch.Tensor:
        """The train split as float32 N x C x H x W in [-1, 1]."""
        return to_model_range(self.train_images, device)

    def heldout_tensor(self, device: torch.device | str = "cpu") -> torch.Tensor:
        """The held-out split as float32 N x C x H x W in [-1, 1]."""
        return to_model_range(self.heldout_images, device)

    def describe(self) -> dict[str, object]:
        out: dict[str, object] = {"id": self.id, "hash": self.content_hash, "train": int(len(self.train_images)),
                                  "heldout": int(len(self.heldout_images)), "shape": list(self.image_shape)}
        if self.options:
            out["options"] = dict(self.options)
        return out


@dataclass(frozen=True)
class DatasetSpec:
    """A named dataset and the function that loads it, with what ``denoisebench datasets`` shows.

    ``options`` declares the ``-D KEY=VALUE`` keys the dataset takes (key -> one-line help);
    :meth:`open` refuses any other key before loading. ``image_shape`` is (C, H, W), or None when
    it depends on the files or options (an image folder); ``sizes`` is (train, held-out) at the
    defaults, or None when unknown. ``files_present(options)`` answers, offline and without
    reading much, whether :meth:`open` would find its files (None: nothing to check).
    """

    id: str
    description: str
    load: Callable[[DatasetOptions], ImageDataset]
    #: Encoders of the feature metrics when ``run`` names none (empty: chosen by image shape, see
    #: :mod:`denoisebench.encoders.selection`).
    default_encoders: tuple[str, ...] = ()
    image_shape: tuple[int, int, int] | None = None
    sizes: tuple[int, int] | None = None
    source: str = ""
    options: Mapping[str, str] = field(default_factory=dict)
    files_present: Callable[[DatasetOptions], bool] | None = None

    def check_options(self, params: Mapping[str, str]) -> None:
        """Refuse ``-D`` keys this dataset does not declare, in one line."""
        from ..errors import DenoisebenchError

        unknown = sorted(set(params) - set(self.options))
        if unknown:
            known = ", ".join(sorted(self.options)) or "none"
            raise DenoisebenchError(f"dataset {self.id!r} has no option {unknown[0]!r} (-D {unknown[0]}=...): "
                                    f"its options are {known}")

    def open(self, options: DatasetOptions) -> ImageDataset:
        """Check the options, load, and record non-empty options on the dataset."""
        self.check_options(options.params)
        dataset = self.load(options)
        if options.params and not dataset.options:
            dataset = replace(dataset, options=dict(sorted(options.params.items())))
        return dataset


MIN_SIZE = 8


def check_image_array(arr: np.ndarray, name: str = "images") -> None:
    """Raise ValueError unless ``arr`` is uint8 N x H x W or N x H x W x C (C = 1 or 3), H, W >= 8."""
    if not isinstance(arr, np.ndarray) or arr.dtype != np.uint8 or arr.ndim not in (3, 4):
        raise ValueError(f"{name} must be a uint8 N x H x W or N x H x W x C array")
    if arr.ndim == 4 and arr.shape[3] not in (1, 3):
        raise ValueError(f"{name} must have 1 or 3 channels on its last axis, not {arr.shape[3]}")
    if min(arr.shape[1:3]) < MIN_SIZE:
        raise ValueError(f"{name} must be at least {MIN_SIZE} x {MIN_SIZE} pixels, not {arr.shape[1]} x {arr.shape[2]}")


def image_shape_of(arr: np.ndarray) -> tuple[int, int, int]:
    """(C, H, W) of one image of a uint8 N x H x W (x C) array."""
    return (1, arr.shape[1], arr.shape[2]) if arr.ndim == 3 else (arr.shape[3], arr.shape[1], arr.shape[2])


def to_nhwc(images: np.ndarray) -> np.ndarray:
    """N x H x W -> N x H x W x 1; N x H x W x C unchanged."""
    return images[..., None] if images.ndim == 3 else images


def to_model_range(images: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 N x H x W (x C) -> float32 N x C x H x W in [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(to_nhwc(images))).to(device=device, dtype=torch.float32)
    return (x / 127.5 - 1.0).permute(0, 3, 1, 2).contiguous()


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """float N x C x H x W in [-1, 1] -> uint8 in the record's layout (clipped, rounded):
    N x H x W for one channel (as MNIST has always been stored), N x H x W x C otherwise."""
    img = ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    if img.shape[1] == 1:
        return img.squeeze(1).cpu().numpy()
    return np.ascontiguousarray(img.permute(0, 2, 3, 1).cpu().numpy())


def content_hash(*arrays: np.ndarray) -> str:
    """sha256 over the arrays' dtypes, shapes and bytes."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()
