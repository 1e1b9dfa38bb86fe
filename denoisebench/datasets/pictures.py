"""Image files to uint8 arrays: decode (PIL), convert channels, resize-and-crop; one-line errors."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import numpy as np

from ..errors import DenoisebenchError

T = TypeVar("T")
R = TypeVar("R")
GREY_MODES = ("1", "L", "LA", "La")
COLOUR_MODES = ("P", "PA", "RGB", "RGBA", "RGBa", "CMYK", "YCbCr", "LAB", "HSV")


def map_threads(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[fn(x) for x in items]`` on a few threads (PIL decodes without the GIL); order kept, and
    the first error (in item order) is raised as it is."""
    workers = min(8, os.cpu_count() or 1)
    if workers == 1 or len(items) < 64:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(fn, items))


def open_picture(path: Path):  # noqa: ANN201 - a PIL image
    """Decode ``path`` fully; a corrupt or unsupported file is a one-line error naming it."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            img.load()
            if img.mode not in GREY_MODES + COLOUR_MODES:
                raise DenoisebenchError(f"image {path} has pixel mode {img.mode} (e.g. 16-bit or float): "
                                        "save it as 8-bit grey or RGB")
            return img.copy()
    except DenoisebenchError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DenoisebenchError(f"cannot read image {path} ({exc}): replace or remove the file") from None


def header_size(path: Path) -> tuple[int, int, str]:
    """(height, width, mode) from the file's header, without decoding the pixels."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            return img.height, img.width, img.mode
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DenoisebenchError(f"cannot read image {path} ({exc}): replace or remove the file") from None


def fit(img, size: tuple[int, int]):  # noqa: ANN001, ANN201 - PIL images
    """Resize so that the image covers H x W (the short side first; PIL's antialiased bicubic filter),
    then crop the centre H x W."""
    from PIL import Image

    h, w = size
    scale = max(h / img.height, w / img.width)
    new_w, new_h = max(w, round(img.width * scale)), max(h, round(img.height * scale))
    if (new_w, new_h) != (img.width, img.height):
        img = img.resize((new_w, new_h), Image.Resampling.BICUBIC)
    left, top = (new_w - w) // 2, (new_h - h) // 2
    return img.crop((left, top, left + w, top + h))


def to_array(img, channels: int) -> np.ndarray:  # noqa: ANN001 - a PIL image
    """H x W (one channel) or H x W x 3 uint8."""
    return np.asarray(img.convert("L" if channels == 1 else "RGB"), dtype=np.uint8)


def read_pictures(paths: list[Path], size: tuple[int, int] | None, channels: int | None, root: Path,
                  split_at: int) -> tuple[np.ndarray, np.ndarray]:
    """``paths[:split_at]`` and ``paths[split_at:]`` as two uint8 arrays of one shape.

    Without ``size`` every file must have the same size (else a one-line error naming two files);
    without ``channels``, 3 if any file is in colour, else 1.
    """
    headers = [header_size(p) for p in paths]
    if size is None:
        first = headers[0][:2]
        for p, (h, w, _mode) in zip(paths, headers):
            if (h, w) != first:
                raise DenoisebenchError(
                    f"images in {root} differ in size ({paths[0].relative_to(root)} is {first[1]}x{first[0]}, "
                    f"{p.relative_to(root)} is {w}x{h} (width x height)): pass -D size=H or -D size=HxW "
                    "to resize and centre-crop them")
    if channels is None:
        channels = 3 if any(mode not in GREY_MODES for _h, _w, mode in headers) else 1
    def read(path: Path) -> np.ndarray:
        img = open_picture(path)
        if size is not None:
            img = fit(img.convert("L" if channels == 1 else "RGB"), size)
        return to_array(img, channels)

    stacked = np.stack(map_threads(read, paths))
    return stacked[:split_at], stacked[split_at:]
