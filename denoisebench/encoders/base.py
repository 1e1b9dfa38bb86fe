"""The encoder interface: a network that maps uint8 images to feature vectors for the metrics.

An encoder is a class registered through the ``register_encoders`` hook. It declares

- ``name`` (what ``--encoder`` takes) and a one-line ``description``;
- ``input_channels`` (3: grey images are repeated to three channels; 1: colour images are refused),
  ``input_size`` (H, W the network sees after its resize, or None for the images' own size),
  ``min_size`` (the smallest image side it accepts) and ``input_range`` (what its first layer
  receives, e.g. ``"[-1, 1]"``);
- ``output_dim`` and ``preprocessing`` (one line: resize, interpolation, normalisation);
- where its weights are (:meth:`weights_path`) and whether they are there (:meth:`weights_present`).

:meth:`encode` takes uint8 N x H x W or N x H x W x C images (the project's layout) and returns
float64 N x d features, computed in float32 batches on the CPU. An instance may be given an
explicit weights file; otherwise it looks in its library's usual cache.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from ..errors import DenoisebenchError
from ..fileio import sha256_file


class EncoderUnavailable(DenoisebenchError):
    """An encoder's weights file is absent (offline: nothing is downloaded)."""


class EncoderInputError(DenoisebenchError):
    """The images cannot be read by this encoder (too small, wrong channel count)."""


def as_nchw_float(images: np.ndarray) -> torch.Tensor:
    """uint8 N x H x W (x C) -> float32 N x C x H x W in [0, 1] (x / 255, as torchvision's ToTensor)."""
    arr = np.ascontiguousarray(images[..., None] if images.ndim == 3 else images)
    return torch.from_numpy(arr).permute(0, 3, 1, 2).to(torch.float32).div(255.0)


def grey_to_rgb(x: torch.Tensor) -> torch.Tensor:
    """Repeat a single channel three times (N x 1 x H x W -> N x 3 x H x W); colour unchanged."""
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


def resize(x: torch.Tensor, size: tuple[int, int], mode: str) -> torch.Tensor:
    """Resize N x C x H x W to ``size`` (``bilinear`` or ``bicubic``, align_corners=False, no antialias)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode=mode, align_corners=False)


def normalise(x: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """(x - mean) / std per channel."""
    m = torch.tensor(mean, dtype=x.dtype).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=x.dtype).view(1, -1, 1, 1)
    return (x - m) / s


class Encoder(ABC):
    """Subclass it, set the class attributes and implement :meth:`_build`, :meth:`preprocess`,
    :meth:`_forward` and :meth:`default_weights_path`."""

    name: ClassVar[str]
    description: ClassVar[str]
    input_channels: ClassVar[int] = 3  # 3: grey repeated; 1: grey only; 0: as given
    input_size: ClassVar[tuple[int, int] | None] = None
    min_size: ClassVar[int] = 8
    input_range: ClassVar[str] = "[-1, 1]"
    output_dim: ClassVar[int]
    preprocessing: ClassVar[str] = ""
    #: What to do to get the weights when they are absent (completes the one-line error).
    weights_hint: ClassVar[str] = ""
    #: A proxy is trained here (a domain network), not a standard published encoder.
    proxy: ClassVar[bool] = False
    batch_size: ClassVar[int] = 64
    #: False for a fixed function with no weights file (e.g. ``pixels``).
    needs_weights: ClassVar[bool] = True

    def __init__(self, weights: str | Path | None = None) -> None:
        self._explicit = None if weights is None else Path(weights)
        self._model: Any = None

    # --- weights ----------------------------------------------------------------------------
    @classmethod
    @abstractmethod
    def default_weights_path(cls) -> Path | None:
        """Where the weights are looked for when no explicit file is given (None: unknown here)."""

    def weights_path(self) -> Path | None:
        """The explicit file if one was given, else the library's usual cache location."""
        return self._explicit if self._explicit is not None else self.default_weights_path()

    def weights_present(self) -> bool:
        if not self.needs_weights:
            return True
        path = self.weights_path()
        return path is not None and path.is_file()

    def require_weights(self) -> Path | None:
        """The weights file, or a one-line :class:`EncoderUnavailable` naming it and where to put it."""
        path = self.weights_path()
        if not self.needs_weights:
            return path
        if path is None or not path.is_file():
            where = str(path) if path is not None else "(no default location)"
            raise EncoderUnavailable(f"encoder {self.name!r}: weights file {where} is missing; "
                                     f"{self.hint() or 'place it there'} or pass --encoder-weights "
                                     f"{self.name}=PATH")
        return path

    def hint(self) -> str:
        """How to get the weights (the end of the missing-file error)."""
        return self.weights_hint

    @functools.cached_property
    def weights_sha256(self) -> str:
        path = self.require_weights()
        return "none" if path is None else sha256_file(path)

    def identity(self) -> dict[str, Any]:
        """What features depend on: the encoder, its weights, its preprocessing (the cache key)."""
        return {"encoder": self.name, "weights_sha256": self.weights_sha256, "preprocessing": self.preprocessing,
                "output_dim": self.output_dim}

    def describe(self) -> dict[str, Any]:
        """What ``denoisebench encoders`` lists and run.json records."""
        path = self.weights_path()
        return {"name": self.name, "description": " ".join(self.description.split()),
                "input": {"channels": self.input_channels, "size": list(self.input_size) if self.input_size else None,
                          "min_size": self.min_size, "range": self.input_range},
                "output_dim": self.output_dim, "preprocessing": self.preprocessing, "proxy": self.proxy,
                "weights": str(path) if path is not None else None, "present": self.weights_present()}

    # --- the network ------------------------------------------------------------------------
    @abstractmethod
    def _build(self, weights: Path | None) -> torch.nn.Module:
        """The network in eval mode, with ``weights`` loaded (safetensors or weights_only torch.load)."""

    @abstractmethod
    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """float32 N x C x H x W in [0, 1] -> the network's input (resize, channels, normalisation)."""

    def _forward(self, model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
        """N x output_dim features of the preprocessed batch ``x``."""
        return model(x)

    @property
    def model(self) -> torch.nn.Module:
        if self._model is None:
            self._model = self._build(self.require_weights())
        return self._model

    def check_images(self, images: np.ndarray) -> None:
        """A one-line :class:`EncoderInputError` unless this encoder can read ``images``."""
        if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim not in (3, 4) \
                or (images.ndim == 4 and images.shape[3] not in (1, 3)):
            got = f"{images.dtype} {images.shape}" if isinstance(images, np.ndarray) else type(images).__name__
            raise EncoderInputError(f"encoder {self.name!r} needs uint8 N x H x W (x 1 or 3) images, got {got}")
        channels = 1 if images.ndim == 3 else images.shape[3]
        if self.input_channels == 1 and channels != 1:
            raise EncoderInputError(f"encoder {self.name!r} reads grey images only, got {channels} channels: "
                                    "choose another encoder (e.g. inception)")
        h, w = images.shape[1:3]
        if min(h, w) < self.min_size:
            raise EncoderInputError(f"encoder {self.name!r} needs images of at least {self.min_size} x "
                                    f"{self.min_size} pixels, got {h} x {w}: choose another encoder")

    def batches(self, images: np.ndarray, batch_size: int | None = None) -> Iterator[np.ndarray]:
        size = batch_size or self.batch_size
        for start in range(0, len(images), size):
            yield images[start:start + size]

    @torch.inference_mode()
    def encode(self, images: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """float64 N x ``output_dim`` features of uint8 N x H x W (x C) images."""
        self.check_images(images)
        model = self.model
        out = [self._forward(model, self.preprocess(as_nchw_float(b))).double().numpy()
               for b in self.batches(images, batch_size)]
        return np.concatenate(out) if out else np.zeros((0, self.output_dim))
