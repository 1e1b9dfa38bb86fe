"""``svhn``: Street View House Numbers, cropped digits (73,257 train / 26,032 test as held-out).

Read from torchvision's layout (``train_32x32.mat``, ``test_32x32.mat``: MATLAB v5 files with
``X``, 32 x 32 x 3 x N, and ``y``, N x 1 with 10 for the digit 0) with ``scipy.io.loadmat``, as
torchvision does; its SVHN class is not used to read because it refuses files whose MD5 differs
from the originals'. Labels are 0-9 (10 mapped to 0, as torchvision does).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DenoisebenchError
from .base import DatasetOptions, DatasetSpec, ImageDataset
from .located import locate, present
from .params import CAP_OPTIONS, DatasetParams, apply_caps

ID = "svhn"
FILES = ("train_32x32.mat", "test_32x32.mat")
WHERE = "train_32x32.mat and test_32x32.mat (torchvision's SVHN layout) in DIR or DIR/svhn"


def find(folder: Path) -> Path | None:
    for base in (folder, folder / "svhn"):
        if all((base / n).is_file() for n in FILES):
            return base
    return None


def _download(cache: Path) -> None:
    from torchvision.datasets import SVHN

    for split in ("train", "test"):
        SVHN(root=str(cache / "svhn"), split=split, download=True)


def read_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(N x 32 x 32 x 3 uint8, N labels 0-9) of one SVHN ``.mat`` file."""
    import scipy.io

    try:
        mat = scipy.io.loadmat(path, variable_names=["X", "y"])
        x, y = mat["X"], np.asarray(mat["y"]).reshape(-1)
    except (OSError, ValueError, KeyError, NotImplementedError, TypeError) as exc:
        raise DenoisebenchError(f"cannot read SVHN file {path} ({type(exc).__name__}: {exc}): replace it with "
                                "the original file") from None
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[:3] != (32, 32, 3) or x.shape[3] != len(y):
        raise DenoisebenchError(f"SVHN file {path} holds X {x.dtype} {x.shape} and {len(y)} labels, not uint8 "
                                "32 x 32 x 3 x N with N labels: replace it with the original file")
    labels = y.astype(np.int64)
    labels[labels == 10] = 0
    return np.ascontiguousarray(x.transpose(3, 0, 1, 2)), labels


def load_svhn(options: DatasetOptions) -> ImageDataset:
    params = DatasetParams(ID, CAP_OPTIONS, options.params)
    base = locate(ID, options, find, _download, WHERE)
    (ti, tl), (hi, hl) = apply_caps(params, read_mat(base / FILES[0]), read_mat(base / FILES[1]))
    return ImageDataset(ID, ti, tl, hi, hl)


SPEC = DatasetSpec(ID, "SVHN cropped digits via torchvision: 73,257 train / 26,032 test, 32 x 32 RGB "
                   "(download or --data-dir)", load_svhn, image_shape=(3, 32, 32), sizes=(73257, 26032),
                   source="torchvision SVHN: " + WHERE, options=dict(CAP_OPTIONS), files_present=present(find))
