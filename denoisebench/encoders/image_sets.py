"""Read a set of images for ``denoisebench score``: a run directory, an ``.npz``, an image folder or a
dataset split, always as uint8 N x H x W (grey) or N x H x W x 3 (the project's layout)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DenoisebenchError

#: Array names tried in an .npz, in order (run dirs' ``images``; guided-diffusion's ``arr_0``).
NPZ_KEYS = ("images", "samples", "arr_0", "heldout", "train", "x")
#: What pytorch-fid reads from a folder.
IMAGE_EXTENSIONS = ("bmp", "jpg", "jpeg", "pgm", "png", "ppm", "tif", "tiff", "webp")
SPLITS = ("train", "heldout")


def _as_layout(arr: np.ndarray, where: str) -> np.ndarray:
    """uint8 N x H x W (x C) with C last; N x C x H x W (C = 1 or 3) is transposed."""
    if arr.dtype != np.uint8:
        raise DenoisebenchError(f"{where}: holds {arr.dtype} images; store uint8 values 0..255 "
                                "(e.g. ((x + 1) * 127.5).round().clip(0, 255).astype('uint8'))")
    if arr.ndim == 4 and arr.shape[1] in (1, 3) and arr.shape[3] not in (1, 3):
        arr = arr.transpose(0, 2, 3, 1)
    if arr.ndim == 4 and arr.shape[3] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (3, 4) or (arr.ndim == 4 and arr.shape[3] != 3) or len(arr) == 0:
        raise DenoisebenchError(f"{where}: expected N x H x W or N x H x W x 3 images, got shape {arr.shape}")
    return np.ascontiguousarray(arr)


def _from_npz(path: Path, key: str | None = None) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as data:
            names = list(data.files)
            pick = key or next((k for k in NPZ_KEYS if k in names), names[0] if len(names) == 1 else None)
            if pick is None or pick not in names:
                raise DenoisebenchError(f"{path}: no image array {key or ''} found among {names}: name one as "
                                        f"{path}:KEY")
            return _as_layout(data[pick], f"{path}:{pick}")
    except (OSError, ValueError) as exc:
        raise DenoisebenchError(f"{path}: not a readable .npz ({exc})") from None


def _from_folder(path: Path) -> np.ndarray:
    from PIL import Image

    files = sorted(f for ext in IMAGE_EXTENSIONS for f in path.glob(f"*.{ext}"))
    if not files:
        raise DenoisebenchError(f"{path}: no images ({', '.join(IMAGE_EXTENSIONS)}) and no samples.npz")
    images = []
    for f in files:
        with Image.open(f) as img:
            images.append(np.asarray(img.convert("L") if img.mode in ("L", "1") else img.convert("RGB")))
    if any(a.ndim == 3 for a in images):  # a mixed folder is read as colour, grey repeated (PIL's RGB)
        images = [np.repeat(a[..., None], 3, axis=2) if a.ndim == 2 else a for a in images]
    shapes = {a.shape for a in images}
    if len(shapes) > 1:
        raise DenoisebenchError(f"{path}: images differ in size ({sorted(shapes)[:3]}...): resize them to one size")
    return np.stack(images)


def _from_dataset(spec: str) -> np.ndarray:
    from ..datasets.base import DatasetOptions
    from ..plugins import get_registry

    name, _, split = spec.rpartition(":")
    if split not in SPLITS:
        raise DenoisebenchError(f"{spec!r}: a dataset split is DATASET:train or DATASET:heldout")
    dataset = get_registry().dataset(name).load(DatasetOptions())
    return _as_layout(dataset.train_images if split == "train" else dataset.heldout_images, spec)


def load_image_set(spec: str) -> np.ndarray:
    """The images named by ``spec``: a run dir (samples.npz), an .npz (optionally ``FILE.npz:KEY``),
    an image folder, or ``DATASET:SPLIT``."""
    path = Path(spec)
    if path.is_dir():
        return _from_npz(path / "samples.npz") if (path / "samples.npz").is_file() else _from_folder(path)
    if path.is_file():
        return _from_npz(path)
    head, _, key = spec.rpartition(":")
    if head.endswith(".npz") and Path(head).is_file():
        return _from_npz(Path(head), key)
    if ":" in spec:
        return _from_dataset(spec)
    raise DenoisebenchError(f"{spec!r} is not a run directory, .npz file, image folder or DATASET:SPLIT")
