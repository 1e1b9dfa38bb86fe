"""Decoded images kept on disk, so that a dataset of many JPEGs (CelebA) is decoded once.

A file ``$DENOISEBENCH_CACHE/datasets/<name>-<sha256 of key>.arr`` holds the key as one JSON line,
then the array in ``.npy`` format (read back without pickle). It is written atomically; an
unreadable or mismatching file is decoded again, and a cache that cannot be written costs only time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..fileio import keyed_array_file


def cached_images(cache_dir: Path, name: str, key: dict[str, Any], decode: Callable[[], np.ndarray]) -> np.ndarray:
    """``decode()`` once per ``(name, key)``; later calls read the file."""
    blob = json.dumps({"name": name, **key}, sort_keys=True)
    path = cache_dir / "datasets" / f"{name}-{hashlib.sha256(blob.encode()).hexdigest()[:24]}.arr"
    return keyed_array_file(path, blob, decode)
