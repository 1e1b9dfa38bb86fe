"""``celeba``: CelebA aligned faces at 64 x 64, the official train (162,770) and test (19,962,
the held-out) partitions.

Crop: the convention of DDIM (ermongroup/ddim ``datasets/__init__.py``, kept by later diffusion
code bases): from the aligned 178 x 218 image, the 128 x 128 square centred at (x, y) = (89, 121),
i.e. columns 25-152 and rows 57-184, resized to 64 x 64 with bilinear filtering (PIL's, antialiased: what
torchvision's ``Resize`` does on a PIL image). Read from torchvision's layout
(``celeba/img_align_celeba/*.jpg`` and ``celeba/list_eval_partition.txt``, lines "000001.jpg 0"
with 0 = train, 1 = valid, 2 = test) directly; torchvision's CelebA class is not used to read
because it checks the MD5 of the annotation files. Decoding the 182,732 JPEGs takes minutes, so
the cropped faces are kept in ``$DENOISEBENCH_CACHE/datasets`` (about 2.2 GB for both splits) and
read from there while the image folder is unchanged (same path, modification time and names).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..errors import DenoisebenchError
from .base import DatasetOptions, DatasetSpec, ImageDataset
from .decoded import cached_images
from .located import locate, present
from .mnist import default_cache_dir
from .params import CAP_OPTIONS, DatasetParams, apply_caps
from .pictures import map_threads, open_picture

ID = "celeba"
SIZE = 64
#: (left, top, right, bottom) of DDIM's crop of the aligned 178 x 218 images.
CROP_BOX = (89 - 64, 121 - 64, 89 + 64, 121 + 64)
TRAIN, TEST = "0", "2"
WHERE = ("celeba/img_align_celeba/*.jpg and celeba/list_eval_partition.txt (torchvision's CelebA layout) "
         "in DIR")


def find(folder: Path) -> Path | None:
    for base in (folder / "celeba", folder):
        if (base / "img_align_celeba").is_dir() and (base / "list_eval_partition.txt").is_file():
            return base
    return None


def _download(cache: Path) -> None:
    from torchvision.datasets import CelebA

    CelebA(root=str(cache), split="all", download=True)


def read_partition(path: Path) -> dict[str, list[str]]:
    """File names per partition id ("0" train, "1" valid, "2" test), in file order."""
    out: dict[str, list[str]] = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
            raise DenoisebenchError(f"{path} line {n} is {line!r}, not 'FILE.jpg 0|1|2': replace it with the "
                                    "original list_eval_partition.txt")
        out.setdefault(parts[1], []).append(parts[0])
    return out


def crop_face(img) -> np.ndarray:  # noqa: ANN001 - a PIL image
    """DDIM's crop of one aligned image, as 64 x 64 x 3 uint8."""
    from PIL import Image

    if img.size != (178, 218):
        raise DenoisebenchError(f"CelebA image {getattr(img, 'filename', '')} is {img.size[0]}x{img.size[1]}, "
                                "not the aligned 178x218: use img_align_celeba")
    face = img.convert("RGB").crop(CROP_BOX).resize((SIZE, SIZE), Image.Resampling.BILINEAR)
    return np.asarray(face, dtype=np.uint8)


def _read_one(path: Path) -> np.ndarray:
    if not path.is_file():
        raise DenoisebenchError(f"{path} is listed in list_eval_partition.txt but missing: put all of "
                                "img_align_celeba there")
    img = open_picture(path)
    img.filename = str(path)  # type: ignore[attr-defined]
    return crop_face(img)


def _read(folder: Path, names: list[str], cache_dir: Path) -> np.ndarray:
    """The cropped faces of ``names``, decoded once and then read from the cache (keyed by the
    folder, its modification time and the file names)."""
    stat = folder.stat()
    key = {"recipe": f"crop {CROP_BOX} bilinear {SIZE}", "folder": str(folder.resolve()),
           "folder_mtime_ns": stat.st_mtime_ns,
           "names_sha256": hashlib.sha256("\n".join(names).encode()).hexdigest()}

    def decode() -> np.ndarray:
        images = map_threads(_read_one, [folder / n for n in names])
        return np.stack(images) if images else np.zeros((0, SIZE, SIZE, 3), np.uint8)

    return cached_images(cache_dir, "celeba64", key, decode)


def load_celeba(options: DatasetOptions) -> ImageDataset:
    params = DatasetParams(ID, CAP_OPTIONS, options.params)
    base = locate(ID, options, find, _download, WHERE)
    parts = read_partition(base / "list_eval_partition.txt")
    train, test = parts.get(TRAIN, []), parts.get(TEST, [])
    if not train or not test:
        raise DenoisebenchError(f"{base / 'list_eval_partition.txt'} lists no {'train' if not train else 'test'} "
                                "image: replace it with the original file")
    no_labels = (np.full(len(train), -1, np.int64), np.full(len(test), -1, np.int64))
    (train, tl), (test, hl) = apply_caps(params, (train, no_labels[0]), (test, no_labels[1]))
    folder, cache = base / "img_align_celeba", options.cache_dir or default_cache_dir()
    return ImageDataset(ID, _read(folder, list(train), cache), tl, _read(folder, list(test), cache), hl)


SPEC = DatasetSpec(ID, "CelebA aligned faces via torchvision, DDIM's 128 x 128 crop resized to 64 x 64: "
                   "162,770 train / 19,962 test (download or --data-dir)", load_celeba, image_shape=(3, SIZE, SIZE),
                   sizes=(162770, 19962), source="torchvision CelebA: " + WHERE, options=dict(CAP_OPTIONS),
                   files_present=present(find))
