"""``fashion-mnist``: Fashion-MNIST (60,000 train / 10,000 test as held-out) in torchvision's layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DenoisebenchError
from .base import DatasetOptions, DatasetSpec, ImageDataset
from .located import locate, present
from .mnist import FILES, _read_idx
from .params import CAP_OPTIONS, DatasetParams, apply_caps

ID = "fashion-mnist"
WHERE = ("the four IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
         "t10k-labels-idx1-ubyte, optionally .gz) in DIR, DIR/raw or DIR/FashionMNIST/raw")


def find(folder: Path) -> dict[str, Path] | None:
    for base in (folder, folder / "raw", folder / "FashionMNIST" / "raw"):
        paths = {}
        for key, stem in FILES.items():
            hit = next((base / n for n in (stem, stem + ".gz") if (base / n).is_file()), None)
            if hit is None:
                break
            paths[key] = hit
        else:
            return paths
    return None


def _download(cache: Path) -> None:
    from torchvision.datasets import FashionMNIST

    for train in (True, False):
        FashionMNIST(root=str(cache), train=train, download=True)


def load_fashion_mnist(options: DatasetOptions) -> ImageDataset:
    params = DatasetParams(ID, CAP_OPTIONS, options.params)
    paths = locate(ID, options, find, _download, WHERE)
    try:
        arrays = {key: _read_idx(p) for key, p in paths.items()}
    except Exception as exc:  # noqa: BLE001 - torchvision raises assorted errors on bad bytes
        raise DenoisebenchError(f"cannot read the Fashion-MNIST IDX files {paths['train_images'].parent} ({exc}): "
                                "replace them with the original files") from None
    (ti, tl), (hi, hl) = apply_caps(params, (arrays["train_images"], arrays["train_labels"]),
                                    (arrays["test_images"], arrays["test_labels"]))
    return ImageDataset(ID, ti.astype(np.uint8), tl.astype(np.int64), hi.astype(np.uint8), hl.astype(np.int64))


SPEC = DatasetSpec(ID, "Fashion-MNIST via torchvision: 60,000 train / 10,000 test (download or --data-dir)",
                   load_fashion_mnist, image_shape=(1, 28, 28), sizes=(60000, 10000),
                   source="torchvision FashionMNIST: " + WHERE, options=dict(CAP_OPTIONS), files_present=present(find))
