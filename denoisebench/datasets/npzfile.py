"""``npz``: a ``.npz`` file with arrays ``train`` and ``heldout`` (and optional labels)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ..errors import DenoisebenchError
from .base import DatasetOptions, DatasetSpec, ImageDataset, check_image_array
from .params import CAP_OPTIONS, DatasetParams, apply_caps

ID = "npz"
LAYOUT = ("arrays 'train' and 'heldout' (uint8, N x H x W or N x H x W x C, C = 1 or 3) and optional "
          "'train_labels', 'heldout_labels' (N integers)")


def _labels(arrays: dict[str, np.ndarray], key: str, n: int, path: Path) -> np.ndarray:
    if key not in arrays:
        return np.full(n, -1, np.int64)
    labels = arrays[key]
    if labels.ndim != 1 or len(labels) != n or not np.issubdtype(labels.dtype, np.integer):
        raise DenoisebenchError(f"{path}: array {key!r} must hold {n} integers (one per image), got "
                                f"{labels.dtype} {labels.shape}")
    return labels.astype(np.int64)


def load_npz(options: DatasetOptions) -> ImageDataset:
    params = DatasetParams(ID, SPEC.options, options.params)
    path = options.data_dir
    if path is None:
        raise DenoisebenchError(f"dataset 'npz' needs --data-dir FILE.npz with {LAYOUT}")
    if not path.is_file():
        raise DenoisebenchError(f"--data-dir {path} is not a file: give a .npz file with {LAYOUT}")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DenoisebenchError(f"cannot read {path} as a .npz file ({exc}): write it with numpy.savez") from None
    missing = [k for k in ("train", "heldout") if k not in arrays]
    if missing:
        raise DenoisebenchError(f"{path} has no array {missing[0]!r} (it has {', '.join(sorted(arrays)) or 'none'}): "
                                f"it needs {LAYOUT}")
    for key in ("train", "heldout"):
        try:
            check_image_array(arrays[key], f"array {key!r}")
        except ValueError as exc:
            raise DenoisebenchError(f"{path}: {exc}, got {arrays[key].dtype} {arrays[key].shape}") from None
    train = (arrays["train"], _labels(arrays, "train_labels", len(arrays["train"]), path))
    heldout = (arrays["heldout"], _labels(arrays, "heldout_labels", len(arrays["heldout"]), path))
    (ti, tl), (hi, hl) = apply_caps(params, train, heldout)
    try:
        return ImageDataset(ID, ti, tl, hi, hl)
    except ValueError as exc:
        raise DenoisebenchError(f"{path}: {exc}") from None


SPEC = DatasetSpec(ID, "your own arrays: --data-dir FILE.npz with 'train' and 'heldout' uint8 images",
                   load_npz, source=f"--data-dir FILE.npz: {LAYOUT}", options=dict(CAP_OPTIONS),
                   files_present=lambda o: o.data_dir is not None and o.data_dir.is_file())
