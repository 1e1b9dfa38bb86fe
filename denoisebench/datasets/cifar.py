"""``cifar10`` and ``cifar100``: the official train (50,000) and test (10,000, the held-out) splits.

Read from torchvision's layout (``cifar-10-batches-py``, ``cifar-100-python``: the "python
version") or the "binary version" (``cifar-10-batches-bin``, ``cifar-100-binary``), both as
documented at https://www.cs.toronto.edu/~kriz/cifar.html. The python batches are pickles: they
are read with an unpickler that builds only dicts, lists, strings, numbers and numpy arrays (the
globals it resolves are numpy's array reconstructor, ``ndarray``, ``dtype`` and latin-1
``_codecs.encode``; any other is refused), never with ``pickle.load``. torchvision's own classes are not used to read:
they refuse files whose MD5 differs from the originals'.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DenoisebenchError
from .base import DatasetOptions, DatasetSpec, ImageDataset
from .located import locate, present
from .params import CAP_OPTIONS, DatasetParams, apply_caps

PIXELS = 3 * 32 * 32


def _latin1_bytes(text: str, encoding: str = "utf-8") -> bytes:
    """What Python 3 pickles (protocol 2) call to rebuild bytes: ``_codecs.encode(text, 'latin1')``;
    only the latin-1 codec is allowed (codecs such as zlib_codec would decompress arbitrary data)."""
    if encoding.replace("-", "").replace("_", "").lower() not in ("latin1", "iso88591"):
        raise pickle.UnpicklingError(f"codec {encoding!r} is not allowed in a CIFAR batch")
    return text.encode("latin-1")


def _numpy_globals() -> dict[tuple[str, str], object]:
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]
    allowed: dict[tuple[str, str], object] = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
                                              ("_codecs", "encode"): _latin1_bytes}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(module, "_reconstruct")] = _reconstruct
    return allowed


class ArraysOnlyUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays; refuses every other global (no code runs)."""

    ALLOWED = _numpy_globals()

    def find_class(self, module: str, name: str) -> object:
        if (module, name) in self.ALLOWED:
            return self.ALLOWED[(module, name)]
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR batch")


def read_python_batch(path: Path, label_key: str) -> tuple[np.ndarray, np.ndarray]:
    """(N x 32 x 32 x 3 uint8, N labels) of one python-version batch file."""
    try:
        with open(path, "rb") as f:
            batch = ArraysOnlyUnpickler(f, encoding="latin1").load()
        data = np.asarray(batch["data"])
        labels = np.asarray(batch[label_key], dtype=np.int64)
    except (pickle.UnpicklingError, EOFError, OSError, KeyError, TypeError, ValueError, AttributeError,
            IndexError) as exc:
        raise DenoisebenchError(f"cannot read CIFAR batch {path} ({type(exc).__name__}: {exc}): replace it with "
                                "the original file") from None
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != PIXELS or len(labels) != len(data):
        raise DenoisebenchError(f"CIFAR batch {path} holds {data.dtype} {data.shape} with {len(labels)} labels, "
                                f"not uint8 N x {PIXELS} with N labels: replace it with the original file")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), labels


def read_binary_batch(path: Path, label_bytes: int) -> tuple[np.ndarray, np.ndarray]:
    """One binary-version file: records of ``label_bytes`` label bytes (the last one is the label
    used: CIFAR-100's fine label) then 3,072 pixel bytes (R, G, B planes)."""
    raw = np.fromfile(path, dtype=np.uint8)
    record = label_bytes + PIXELS
    if raw.size == 0 or raw.size % record:
        raise DenoisebenchError(f"CIFAR binary file {path} is {raw.size} bytes, not a multiple of {record}: "
                                "replace it with the original file")
    rows = raw.reshape(-1, record)
    return (rows[:, label_bytes:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(),
            rows[:, label_bytes - 1].astype(np.int64))


@dataclass(frozen=True)
class Layout:
    """Where one CIFAR variant keeps its files and how to read them."""

    folder: str
    train: tuple[str, ...]
    test: str
    binary: bool
    label: str | int  # python version: the label key; binary version: label bytes per record


@dataclass(frozen=True)
class Cifar:
    id: str
    layouts: tuple[Layout, ...]
    torchvision_class: str
    where: str

    def find(self, folder: Path) -> tuple[Layout, Path] | None:
        for layout in self.layouts:
            for base in (folder / layout.folder, folder):
                if all((base / n).is_file() for n in (*layout.train, layout.test)):
                    return layout, base
        return None

    def download(self, cache: Path) -> None:
        import torchvision.datasets

        cls = getattr(torchvision.datasets, self.torchvision_class)
        for train in (True, False):
            cls(root=str(cache), train=train, download=True)

    def read(self, layout: Layout, base: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
        if layout.binary:
            return read_binary_batch(base / name, int(layout.label))
        return read_python_batch(base / name, str(layout.label))

    def load(self, options: DatasetOptions) -> ImageDataset:
        params = DatasetParams(self.id, CAP_OPTIONS, options.params)
        layout, base = locate(self.id, options, self.find, self.download, self.where)
        parts = [self.read(layout, base, n) for n in layout.train]
        train = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
        (ti, tl), (hi, hl) = apply_caps(params, train, self.read(layout, base, layout.test))
        return ImageDataset(self.id, ti, tl, hi, hl)

    def spec(self, description: str) -> DatasetSpec:
        return DatasetSpec(self.id, description, self.load, image_shape=(3, 32, 32), sizes=(50000, 10000),
                           source=f"torchvision {self.torchvision_class}: {self.where}", options=dict(CAP_OPTIONS),
                           files_present=present(self.find))


BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10 = Cifar("cifar10", (
    Layout("cifar-10-batches-py", BATCHES, "test_batch", False, "labels"),
    Layout("cifar-10-batches-bin", tuple(b + ".bin" for b in BATCHES), "test_batch.bin", True, 1)),
    "CIFAR10", "DIR/cifar-10-batches-py/{data_batch_1..5,test_batch} (python version) or "
    "DIR/cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin (binary version)")
CIFAR100 = Cifar("cifar100", (
    Layout("cifar-100-python", ("train",), "test", False, "fine_labels"),
    Layout("cifar-100-binary", ("train.bin",), "test.bin", True, 2)),
    "CIFAR100", "DIR/cifar-100-python/{train,test} (python version) or DIR/cifar-100-binary/{train,test}.bin "
    "(binary version)")

SPEC_CIFAR10 = CIFAR10.spec("CIFAR-10 via torchvision: 50,000 train / 10,000 test, 32 x 32 RGB (download or --data-dir)")
SPEC_CIFAR100 = CIFAR100.spec("CIFAR-100 (fine labels) via torchvision: 50,000 train / 10,000 test, 32 x 32 RGB "
                              "(download or --data-dir)")
