"""A small on-disk cache: JSON results (the floor row's values) and arrays (the held-out features).

Files live under ``$DENOISEBENCH_CACHE/metrics`` (else ``$XDG_CACHE_HOME/denoisebench`` or
``~/.cache/denoisebench``), are named by the sha256 of their key, hold the key itself, and are
written atomically (:mod:`denoisebench.fileio`); an unreadable or mismatching file is recomputed,
and a cache that cannot be written only costs time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..fileio import keyed_array_file, write_text_atomic


def cache_root() -> Path:
    from ..datasets.mnist import default_cache_dir

    return default_cache_dir() / "metrics"


def _blob(kind: str, key: dict[str, Any]) -> str:
    return json.dumps({"kind": kind, **key}, sort_keys=True)


def _path(kind: str, blob: str, suffix: str) -> Path:
    return cache_root() / f"{kind}-{hashlib.sha256(blob.encode()).hexdigest()[:24]}{suffix}"


def cached_array(kind: str, key: dict[str, Any], compute: Callable[[], np.ndarray]) -> np.ndarray:
    """``compute()`` once per ``(kind, key)``; later calls read the cached copy.

    The file (``.arr``) is the key as one JSON line followed by the array in ``.npy`` format,
    read back without pickle.
    """
    blob = _blob(kind, key)
    return keyed_array_file(_path(kind, blob, ".arr"), blob, compute)


def read_cached_json(kind: str, key: dict[str, Any]) -> dict[str, Any] | None:
    """The cached value of ``(kind, key)``, or None when absent, unreadable or for another key."""
    blob = _blob(kind, key)
    try:
        stored = json.loads(_path(kind, blob, ".json").read_text())
        if stored.get("key") == json.loads(blob) and isinstance(stored["value"], dict):
            return dict(stored["value"])
    except (OSError, ValueError, KeyError, AttributeError, TypeError):
        pass
    return None


def write_cached_json(kind: str, key: dict[str, Any], value: dict[str, Any]) -> None:
    """Store ``value`` for ``(kind, key)``."""
    blob = _blob(kind, key)
    try:
        write_text_atomic(_path(kind, blob, ".json"), json.dumps({"key": json.loads(blob), "value": value},
                                                                 indent=2, default=str) + "\n")
    except OSError:
        pass


def cached_json(kind: str, key: dict[str, Any], compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``compute()`` once per ``(kind, key)``; later calls read the cached copy."""
    stored = read_cached_json(kind, key)
    if stored is not None:
        return stored
    value = compute()
    write_cached_json(kind, key, value)
    return value
