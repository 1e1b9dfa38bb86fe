"""Small file helpers shared by records, reports, caches, checkpoints and weights.

Every file the project writes goes through :func:`atomic_path`: it is written under a temporary
name beside its target, flushed to disk and renamed over the target, so a reader sees the old
file or the complete new one, never half of one.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextmanager
def atomic_path(path: Path, mode: int = 0o644) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to write; on success fsync it and rename it over ``path``.

    On any error (or Ctrl-C) the temporary file is removed and ``path`` is left as it was.
    The suffix is kept (``.png``, ``.safetensors``) so writers that go by it still work.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: Path, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`atomic_path`)."""
    write_bytes_atomic(path, text.encode("utf-8"))


def check_writable_file(path: Path, option: str = "--output") -> None:
    """A one-line error, before any work, when a file cannot be written at ``path`` (a directory, a
    folder that cannot be made or written, a read-only file system)."""
    from .errors import DenoisebenchError

    path = Path(path)
    if path.is_dir():
        raise DenoisebenchError(f"{option} {path} is a directory: name a file in it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".probe")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise DenoisebenchError(f"cannot write {path} ({exc.strerror or type(exc).__name__}): choose another "
                                f"{option}") from None


def write_output_text(path: Path, text: str, option: str = "--output") -> None:
    """:func:`write_text_atomic`, with a failure (a full disk) as one line naming ``option``."""
    from .errors import DenoisebenchError

    try:
        write_text_atomic(path, text)
    except OSError as exc:
        raise DenoisebenchError(f"cannot write {path} ({exc.strerror or type(exc).__name__}): choose another "
                                f"{option}") from None


def keyed_array_file(path: Path, blob: str, compute: Callable[[], Any]) -> Any:
    """The array cached in ``path`` under the key ``blob`` (one JSON line, then ``.npy`` data, read
    without pickle); else ``compute()``, written there atomically. An unreadable or mismatching file
    is computed again; a cache that cannot be written costs only time."""
    import numpy as np

    try:
        with open(path, "rb") as f:
            if f.readline().decode().strip() == blob:
                return np.load(f, allow_pickle=False)
    except Exception:  # noqa: BLE001 - any unreadable cache file is simply recomputed
        pass
    value = compute()
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            f.write(blob.encode() + b"\n")
            np.save(f, value, allow_pickle=False)
    except OSError:
        pass
    return value


def manifest_path(weights: Path) -> Path:
    """The JSON manifest that sits beside a shipped weights file."""
    return Path(weights).with_suffix(".json")


def verified_manifest(path: Path, missing: str, name: str, remedy: str) -> dict[str, Any]:
    """The manifest beside weights ``path`` once the file's sha256 matches it; else a one-line error.

    ``missing`` and ``name`` say what the file is in the messages (e.g. "feature network"), ``remedy``
    the command that makes it.
    """
    import json

    from .errors import DenoisebenchError

    mpath = manifest_path(path)
    if not path.is_file() or not mpath.is_file():
        raise DenoisebenchError(f"{missing} {path} or its manifest {mpath.name} is missing: run '{remedy}'")
    try:
        manifest = json.loads(mpath.read_text())
    except (OSError, ValueError) as exc:
        raise DenoisebenchError(f"cannot read the {name.replace(' ', '-')} manifest {mpath}: {exc}") from None
    sha = sha256_file(path)
    if manifest.get("sha256") != sha:
        raise DenoisebenchError(f"{name} {path.name} has sha256 {sha[:12]}..., its manifest says "
                                f"{str(manifest.get('sha256'))[:12]}...: retrain it or restore the shipped file")
    return manifest
