"""Seconds to load each dataset at its real size, from stand-in files in the published formats
(random pixels, written to a temporary folder first; nothing is downloaded).

    python benchmarks/bench_dataset_load.py [--celeba 20000] [--folder 2000]
"""

from __future__ import annotations

import argparse
import gzip
import pickle
import struct
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image

from denoisebench.datasets.base import DatasetOptions
from denoisebench.plugins.manager import get_registry

RNG = np.random.default_rng(0)


def cifar10(root: Path, binary: bool) -> None:
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    folder = root / ("cifar-10-batches-bin" if binary else "cifar-10-batches-py")
    folder.mkdir(parents=True)
    for name in names:
        data = RNG.integers(0, 256, (10000, 3072), dtype=np.uint8)
        labels = RNG.integers(0, 10, 10000)
        if binary:
            np.concatenate([labels[:, None].astype(np.uint8), data], 1).tofile(folder / f"{name}.bin")
        else:
            with open(folder / name, "wb") as f:
                pickle.dump({"data": data, "labels": labels.tolist()}, f, protocol=2)


def svhn(root: Path) -> None:
    root.mkdir(parents=True)
    for name, n in (("train_32x32.mat", 73257), ("test_32x32.mat", 26032)):
        scipy.io.savemat(root / name, {"X": RNG.integers(0, 256, (32, 32, 3, n), dtype=np.uint8),
                                       "y": RNG.integers(1, 11, (n, 1)).astype(np.uint8)})


def fashion(root: Path) -> None:
    root.mkdir(parents=True)
    for stem, shape in (("train-images-idx3-ubyte", (60000, 28, 28)), ("train-labels-idx1-ubyte", (60000,)),
                        ("t10k-images-idx3-ubyte", (10000, 28, 28)), ("t10k-labels-idx1-ubyte", (10000,))):
        head = struct.pack(">HBB", 0, 8, len(shape)) + b"".join(struct.pack(">I", d) for d in shape)
        (root / f"{stem}.gz").write_bytes(gzip.compress(head + RNG.integers(0, 256, shape, dtype=np.uint8).tobytes(), 1))


def folder(root: Path, n: int) -> None:
    for i in range(n):
        path = root / ("heldout" if i % 5 == 0 else "train") / f"c{i % 3}" / f"{i:05d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(RNG.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(path)


def celeba(root: Path, n: int) -> None:
    images = root / "celeba" / "img_align_celeba"
    images.mkdir(parents=True)
    face = Image.fromarray(RNG.integers(0, 256, (218, 178, 3), dtype=np.uint8))
    lines = []
    for i in range(n):
        face.save(images / f"{i + 1:06d}.jpg", quality=90)
        lines.append(f"{i + 1:06d}.jpg {0 if i % 10 else 2}")
    (root / "celeba" / "list_eval_partition.txt").write_text("\n".join(lines) + "\n")


def timed(dataset: str, options: DatasetOptions) -> str:
    spec = get_registry().dataset(dataset)
    start = time.perf_counter()
    ds = spec.open(options)
    return f"{dataset:<20} {time.perf_counter() - start:7.2f} s  {len(ds.train_images):>7} / {len(ds.heldout_images):<6} " \
           f"{' x '.join(map(str, ds.image_shape))}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--celeba", type=int, default=20000, help="stand-in CelebA JPEGs")
    parser.add_argument("--folder", type=int, default=2000, help="stand-in PNGs of 64 x 48 for imagefolder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cifar10(root / "py", False)
        cifar10(root / "bin", True)
        svhn(root / "svhn")
        fashion(root / "fashion")
        folder(root / "folder", args.folder)
        celeba(root / "celeba", args.celeba)
        cache = root / "cache"
        print(f"{'dataset':<20} {'load':>9}  {'train':>7} / held-out  shape")
        print(timed("mnist-5k", DatasetOptions()))
        print(timed("skimage-patches-32", DatasetOptions()))
        print(timed("cifar10", DatasetOptions(data_dir=root / "py")) + "  (python version)")
        print(timed("cifar10", DatasetOptions(data_dir=root / "bin")) + "  (binary version)")
        print(timed("svhn", DatasetOptions(data_dir=root / "svhn")))
        print(timed("fashion-mnist", DatasetOptions(data_dir=root / "fashion")))
        print(timed("imagefolder", DatasetOptions(data_dir=root / "folder", params={"size": "32"})))
        print(timed("celeba", DatasetOptions(data_dir=root / "celeba", cache_dir=cache)) + "  (decoding)")
        print(timed("celeba", DatasetOptions(data_dir=root / "celeba", cache_dir=cache)) + "  (from the cache)")


if __name__ == "__main__":
    main()
