"""A small on-disk cache: JSON results (the real-vs-real floor, the held-out baseline) and arrays
(the held-out split's features).

Files live under ``$DENOISEBENCH_CACHE/metrics`` (else ``$XDG_CACHE_HOME/denoisebench`` or
``~/.cache/denoisebench``), are named by the sha256 of their key, hold the key itself, and are
written atomically; an unreadable or mismatching file is recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def cache_root() -> Path:
    from ..datasets.mnist import default_cache_dir

    return default_cache_dir() / "metrics"


def _path(kind: str, blob: str, suffix: str) -> Path:
    return cache_root() / f"{kind}-{hashlib.sha256(blob.encode()).hexdigest()[:24]}{suffix}"


def cached_array(kind: str, key: dict[str, Any], compute: Callable[[], np.ndarray]) -> np.ndarray:
    """Like :func:`cached_json` for one numeric array.

    The file (``.arr``) is the key as one JSON line followed by the array in ``.npy`` format,
    read back without pickle.
    """
    blob = json.dumps({"kind": kind, **key}, sort_keys=True)
    path = _path(kind, blob, ".arr")
    try:
        with open(path, "rb") as f:
            if f.readline().decode().strip() == blob:
                return np.load(f, allow_pickle=False)
    except Exception:  # noqa: BLE001 - any unreadable cache file is simply recomputed
        pass
    value = compute()
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(blob.encode() + b"\n")
            np.save(f, value, allow_pickle=False)
        os.replace(tmp, path)
    except OSError:  # a read-only cache only costs time
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    return value


def cached_json(kind: str, key: dict[str, Any], compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``compute()`` once per ``(kind, key)``; later calls read the cached copy."""
    from ..runs.records import write_json_atomic

    blob = json.dumps({"kind": kind, **key}, sort_keys=True)
    path = _path(kind, blob, ".json")
    try:
        stored = json.loads(path.read_text())
        if stored.get("key") == json.loads(blob):
            return dict(stored["value"])
    except (OSError, ValueError, KeyError, AttributeError, TypeError):
        pass
    value = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, {"key": json.loads(blob), "value": value})
    except OSError:  # a read-only cache only costs time
        pass
    return value
