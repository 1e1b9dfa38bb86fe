"""``skimage-patches-32``: 32 x 32 RGB patches of the colour photographs bundled in scikit-image.

The offline colour default. Restoration networks are trained on crops of natural photographs;
these are such crops, from files that ship inside the ``scikit-image`` wheel (no download).

Recipe (fixed; the content hash pins it): for each photograph, in the order of ``PHOTOS``, the
columns left of ``floor(0.8 W)`` give the train patches and the columns from ``floor(0.8 W) + 32``
(one patch of gap) to the right edge give the held-out patches, so no patch of one split overlaps
the other. Patches are cut on a grid of stride 16 in both directions from the top-left corner of
each region, row by row. Near-constant patches (pixel standard deviation under 2 grey levels, e.g.
the astronaut's black corner) are dropped: they carry no content and would make a held-out patch
equal to a train one. Label = the photograph's index in ``PHOTOS``.

Photographs: only the bundled lossless (PNG) colour photographs of everyday scenes. JPEG ones
(``rocket``, ``hubble_deep_field``, ``retina``) are left out because JPEG decoders (libjpeg-turbo,
libjpeg 9) may differ by a grey level, which would change the content hash between machines;
``immunohistochemistry`` (microscopy), ``logo`` and ``colorwheel`` are not photographs of scenes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import DenoisebenchError
from .base import DatasetOptions, DatasetSpec, ImageDataset

ID = "skimage-patches-32"
PATCH, STRIDE, TRAIN_FRACTION, MIN_STD = 32, 16, 0.8, 2.0
#: (name, loader) of each photograph; the loaders read files bundled in scikit-image.
PHOTOS: tuple[tuple[str, Callable[[], np.ndarray]], ...] = (
    ("astronaut", lambda: _skimage_data().astronaut()),
    ("chelsea", lambda: _skimage_data().chelsea()),
    ("coffee", lambda: _skimage_data().coffee()),
    ("motorcycle_left", lambda: _skimage_data().stereo_motorcycle()[0]),
)


def _skimage_data():  # noqa: ANN202 - the module
    try:
        import skimage.data
    except ModuleNotFoundError as exc:
        raise DenoisebenchError(f"dataset {ID!r} needs scikit-image: run 'pip install scikit-image'") from exc
    return skimage.data


def grid_patches(region: np.ndarray, size: int = PATCH, stride: int = STRIDE) -> np.ndarray:
    """Every ``size`` x ``size`` patch of an H x W x C region on a ``stride`` grid, row by row."""
    h, w = region.shape[:2]
    if h < size or w < size:
        return np.zeros((0, size, size, region.shape[2]), np.uint8)
    windows = np.lib.stride_tricks.sliding_window_view(region, (size, size), axis=(0, 1))
    picked = windows[::stride, ::stride]  # rows x cols x C x size x size
    return np.ascontiguousarray(picked.transpose(0, 1, 3, 4, 2).reshape(-1, size, size, region.shape[2]))


def textured(patches: np.ndarray) -> np.ndarray:
    """The patches whose pixel standard deviation is at least ``MIN_STD`` grey levels."""
    spread = patches.reshape(len(patches), -1).astype(np.float64).std(axis=1)
    return patches[spread >= MIN_STD]


def split_photo(photo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(train patches, held-out patches) of one H x W x 3 photograph (see the module docstring)."""
    cut = int(photo.shape[1] * TRAIN_FRACTION)
    return textured(grid_patches(photo[:, :cut])), textured(grid_patches(photo[:, cut + PATCH:]))


def load_skimage_patches(options: DatasetOptions) -> ImageDataset:
    parts: dict[str, list[np.ndarray]] = {"train": [], "heldout": [], "train_labels": [], "heldout_labels": []}
    for label, (_name, read) in enumerate(PHOTOS):
        photo = np.ascontiguousarray(read()[..., :3], dtype=np.uint8)
        for split, patches in zip(("train", "heldout"), split_photo(photo)):
            parts[split].append(patches)
            parts[split + "_labels"].append(np.full(len(patches), label, np.int64))
    joined = {k: np.concatenate(v) for k, v in parts.items()}
    return ImageDataset(ID, joined["train"], joined["train_labels"], joined["heldout"], joined["heldout_labels"])


def _present(options: DatasetOptions) -> bool:
    try:
        import skimage.data  # noqa: F401
    except ModuleNotFoundError:
        return False
    return True


SPEC = DatasetSpec(
    ID, "32 x 32 RGB patches of 4 colour photographs bundled in scikit-image (astronaut, chelsea, "
    "coffee, motorcycle), train left 80% / held-out right of each (offline)",
    load_skimage_patches, image_shape=(3, PATCH, PATCH), sizes=(2862, 393),
    source="scikit-image's bundled photographs (skimage.data)", files_present=_present,
    # the standard encoders when their weights are present; the autoencoder proxy trained here always
    default_encoders=("inception", "dinov2-vitb14", "ae-skimage-patches-32"))
