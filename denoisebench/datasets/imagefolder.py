"""``imagefolder``: PNG/JPEG files in ``DIR/train/**`` and ``DIR/heldout/**`` (or ``test``, ``val``).

The class of an image is the first sub-folder under its split folder (classes numbered in sorted
order of their names over both splits); images directly in the split folder have label -1.
Without a held-out folder, a file is held out when the sha256 of its path (relative to
``DIR/train``, with ``/``) falls in the first ``heldout_fraction`` of the hash range: the same split
on every machine, and adding files never moves the others.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..errors import DenoisebenchError
from .base import DatasetOptions, DatasetSpec, ImageDataset
from .params import CAP_OPTIONS, DatasetParams, apply_caps
from .pictures import read_pictures

ID = "imagefolder"
SUFFIXES = (".png", ".jpg", ".jpeg")
HELDOUT_NAMES = ("heldout", "test", "val")
DEFAULT_HELDOUT_FRACTION = 0.2
OPTIONS = {
    "size": "N or HxW: resize the short side (antialiased), then centre-crop to H x W (default: the "
            "files' own size, which must then be the same for all)",
    "channels": "1 or 3: convert to grey or RGB (default: 3 if any file is in colour, else 1)",
    "heldout_fraction": f"share held out by file-name hash when there is no held-out folder (default "
                        f"{DEFAULT_HELDOUT_FRACTION})",
    **CAP_OPTIONS,
}


def list_images(folder: Path) -> list[Path]:
    """Image files under ``folder`` (any depth, hidden names such as macOS's ``._x.png`` skipped),
    sorted by relative path."""
    return sorted((p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
                   and not any(part.startswith(".") for part in p.relative_to(folder).parts)),
                  key=lambda p: p.relative_to(folder).as_posix())


def class_name(path: Path, split_dir: Path) -> str | None:
    parts = path.relative_to(split_dir).parts
    return parts[0] if len(parts) > 1 else None


def hash_fraction(name: str) -> float:
    """A number in [0, 1) from the sha256 of ``name``."""
    return int(hashlib.sha256(name.encode()).hexdigest()[:16], 16) / 16 ** 16


def heldout_folder(root: Path) -> Path | None:
    for name in HELDOUT_NAMES:
        if (root / name).is_dir():
            return root / name
    return None


def _files(root: Path, fraction: float) -> tuple[list[tuple[Path, Path]], list[tuple[Path, Path]]]:
    """(file, its split folder) of the train and held-out splits."""
    train_dir = root / "train"
    train = [(p, train_dir) for p in list_images(train_dir)]
    if not train:
        raise DenoisebenchError(f"{train_dir} holds no .png/.jpg/.jpeg files: put the train images there "
                                "(in class sub-folders or directly)")
    held_dir = heldout_folder(root)
    if held_dir is not None:
        heldout = [(p, held_dir) for p in list_images(held_dir)]
        if not heldout:
            raise DenoisebenchError(f"{held_dir} holds no .png/.jpg/.jpeg files: put the held-out images there, "
                                    "or remove the folder to hold out a share of train by file name")
        return train, heldout
    held = [hash_fraction(p.relative_to(train_dir).as_posix()) < fraction for p, _ in train]
    if all(held) or not any(held):
        raise DenoisebenchError(f"{train_dir}: holding out {fraction:g} by file name leaves "
                                f"{'no train' if all(held) else 'no held-out'} image among {len(train)}: add "
                                f"images, change -D heldout_fraction, or add {root / 'heldout'}")
    return [t for t, h in zip(train, held) if not h], [t for t, h in zip(train, held) if h]


def load_imagefolder(options: DatasetOptions) -> ImageDataset:
    params = DatasetParams(ID, OPTIONS, options.params)
    size = params.size()
    channels = int(params.option_choice("channels", "0", ("1", "3"))) if params.has("channels") else None
    fraction = params.option_float("heldout_fraction", DEFAULT_HELDOUT_FRACTION, 0.0, 1.0)
    root = options.data_dir
    if root is None:
        raise DenoisebenchError("dataset 'imagefolder' needs --data-dir DIR with DIR/train/ (and DIR/heldout/, "
                                "test/ or val/) holding .png/.jpg files")
    if not root.is_dir():
        raise DenoisebenchError(f"--data-dir {root} is not a folder: give a folder with train/ (and heldout/) "
                                "holding .png/.jpg files")
    if not (root / "train").is_dir():
        raise DenoisebenchError(f"{root} has no train/ folder: put the train images in {root / 'train'} "
                                "(and held-out ones in heldout/, test/ or val/)")
    train, heldout = _files(root, fraction)
    classes = sorted({c for p, d in train + heldout if (c := class_name(p, d)) is not None})
    index = {c: i for i, c in enumerate(classes)}

    def labels(files: list[tuple[Path, Path]]) -> np.ndarray:
        return np.array([index.get(class_name(p, d) or "", -1) for p, d in files], np.int64)

    train_labels, held_labels = labels(train), labels(heldout)
    (train, train_labels), (heldout, held_labels) = apply_caps(params, (train, train_labels),
                                                                (heldout, held_labels))
    train_images, held_images = read_pictures([p for p, _ in train] + [p for p, _ in heldout], size, channels,
                                              root, split_at=len(train))
    try:
        return ImageDataset(ID, train_images, train_labels, held_images, held_labels)
    except ValueError as exc:  # images under 8 x 8, or train and held-out of different shapes
        raise DenoisebenchError(f"images in {root}: {exc}: pass -D size=H or -D size=HxW (at least 8)") from None


SPEC = DatasetSpec(ID, "your own PNG/JPEG files: --data-dir DIR with DIR/train/** and DIR/heldout/** "
                   "(or test/, val/); class = first sub-folder", load_imagefolder,
                   source="--data-dir DIR: DIR/train/<class>/*.png|jpg, DIR/heldout/ (or test/, val/)",
                   options=OPTIONS, files_present=lambda o: o.data_dir is not None and (o.data_dir / "train").is_dir())
