"""``mnist``: full MNIST (60k train / 10k test as held-out) through torchvision."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DenoisebenchError
from .base import DatasetOptions, DatasetSpec, ImageDataset

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def default_cache_dir() -> Path:
    """$DENOISEBENCH_CACHE, else $XDG_CACHE_HOME/denoisebench, else ~/.cache/denoisebench."""
    if os.environ.get("DENOISEBENCH_CACHE"):
        return Path(os.environ["DENOISEBENCH_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "denoisebench"


def _find(data_dir: Path, stem: str) -> Path | None:
    for folder in (data_dir, data_dir / "MNIST" / "raw", data_dir / "raw"):
        for name in (stem, stem + ".gz"):
            if (folder / name).is_file():
                return folder / name
    return None


def _read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped) with torchvision's parser."""
    from torchvision.datasets.mnist import read_sn3_pascalvincent_tensor

    if path.suffix == ".gz":
        import gzip
        import tempfile

        with gzip.open(path, "rb") as src, tempfile.NamedTemporaryFile(suffix=".idx") as tmp:
            tmp.write(src.read())
            tmp.flush()
            return read_sn3_pascalvincent_tensor(tmp.name, strict=False).numpy()
    return read_sn3_pascalvincent_tensor(str(path), strict=False).numpy()


def _from_dir(data_dir: Path) -> ImageDataset:
    paths = {key: _find(data_dir, stem) for key, stem in FILES.items()}
    missing = [FILES[k] for k, p in paths.items() if p is None]
    if missing:
        raise DenoisebenchError(
            f"--data-dir {data_dir} lacks the MNIST IDX file {missing[0]}(.gz): put the four "
            "MNIST files there, or omit --data-dir to download them when online")
    try:
        arrays = {key: _read_idx(p) for key, p in paths.items()}  # type: ignore[arg-type]
    except Exception as exc:  # torchvision raises assorted errors on bad bytes
        raise DenoisebenchError(f"cannot read the MNIST IDX files in {data_dir}: {exc}") from exc
    return ImageDataset(
        "mnist", arrays["train_images"].astype(np.uint8), arrays["train_labels"].astype(np.int64),
        arrays["test_images"].astype(np.uint8), arrays["test_labels"].astype(np.int64))


def _download(cache_dir: Path) -> Path:
    """Fetch MNIST with torchvision into ``cache_dir`` and return the folder holding the files."""
    from torchvision.datasets import MNIST

    try:
        for train in (True, False):
            MNIST(root=str(cache_dir), train=train, download=True)
    except Exception as exc:  # URLError, RuntimeError("Error downloading ..."), OSError
        raise DenoisebenchError(
            f"cannot download MNIST into {cache_dir} ({type(exc).__name__}): connect to the "
            "internet, or pass --data-dir with the four MNIST IDX files") from exc
    return cache_dir / "MNIST" / "raw"


def load_mnist(options: DatasetOptions) -> ImageDataset:
    if options.data_dir is not None:
        return _from_dir(options.data_dir)
    cache = options.cache_dir or default_cache_dir()
    if any(_find(cache, stem) is None for stem in FILES.values()):
        _download(cache)
    return _from_dir(cache)


def _present(options: DatasetOptions) -> bool:
    folder = options.data_dir or options.cache_dir or default_cache_dir()
    return all(_find(folder, stem) is not None for stem in FILES.values())


SPEC = DatasetSpec("mnist", "full MNIST via torchvision: 60,000 train / 10,000 test (download or --data-dir)",
                   load_mnist, image_shape=(1, 28, 28), sizes=(60000, 10000),
                   source="torchvision MNIST: the four IDX files in DIR, DIR/raw or DIR/MNIST/raw",
                   files_present=_present, default_encoders=("mnist-classifier",))
