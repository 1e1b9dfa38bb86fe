"""Run records on disk: one directory per run, written elsewhere and renamed into place."""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DenoisebenchError
from ..fileio import atomic_path, write_text_atomic

SCHEMA_VERSION = 1
RUN_FILE = "run.json"
SAMPLES_FILE = "samples.npz"
GRID_FILE = "grid.png"
STAGING_PREFIX = ".staging-"
INCOMPLETE_PREFIX = ".incomplete-"


def save_npz_deterministic(path: Path, **arrays: np.ndarray) -> None:
    """Like ``np.savez`` but byte-identical for identical arrays (fixed zip timestamps); atomic."""
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
        for key, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())


def record_field(record: Any, *path: str) -> Any:
    """``record[path[0]][path[1]]...`` of a parsed run.json, or None where any level is missing."""
    for key in path:
        record = record.get(key) if isinstance(record, dict) else None
    return record


def load_samples(run_dir: Path) -> np.ndarray:
    """The uint8 images of a run: N x H x W (grey) or N x H x W x C (colour), the dataset layout."""
    with np.load(run_dir / SAMPLES_FILE, allow_pickle=False) as data:
        return data["images"]


def is_samples_array(images: object, n: int | None = None) -> bool:
    """Whether ``images`` is a samples array in the record's layout (uint8 N x H x W or
    N x H x W x C with C = 1 or 3), of ``n`` images when ``n`` is given."""
    return (isinstance(images, np.ndarray) and images.dtype == np.uint8
            and (images.ndim == 3 or (images.ndim == 4 and images.shape[3] in (1, 3)))
            and (n is None or len(images) == n))


def samples_shape(n: int, image_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The array shape of ``n`` samples of one (C, H, W) image shape in the record's layout:
    N x H x W for one channel (as MNIST has always been stored), N x H x W x C otherwise."""
    c, h, w = image_shape
    return (n, h, w) if c == 1 else (n, h, w, c)


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    """Write JSON atomically (temp file, fsync, rename); non-JSON values are written as strings."""
    write_text_atomic(path, json.dumps(payload, indent=2, default=str) + "\n")


def prepare_results_dir(results_dir: Path) -> None:
    """Create the results dir, prove it is writable and remove stale staging dirs, or raise one line."""
    try:
        results_dir.mkdir(parents=True, exist_ok=True)
        probe = tempfile.mkdtemp(dir=results_dir, prefix=_staging_prefix())
        os.rmdir(probe)
    except OSError as exc:
        raise DenoisebenchError(
            f"results dir {results_dir} is not writable ({exc.strerror or exc}): choose another "
            "with --results-dir") from None
    remove_stale_staging(results_dir)


def _staging_prefix() -> str:
    """Staging dirs carry the pid of the process writing them: ``.staging-<pid>-<random>``."""
    return f"{STAGING_PREFIX}{os.getpid()}-"


def _writer_alive(staging: Path) -> bool:
    """Whether the process that made ``staging`` may still be writing it.

    Dead when its pid no longer exists, or exists but started after the dir was made (a reused
    pid). Dirs without a pid (older versions) count as alive for a day.
    """
    parts = staging.name[len(STAGING_PREFIX):].split("-", 1)
    try:
        made = staging.stat().st_mtime
    except OSError:
        return False
    if not parts[0].isdigit() or len(parts) < 2:
        return time.time() - made < 86400
    pid = int(parts[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path(f"/proc/{pid}")
    try:
        return proc.stat().st_ctime <= made + 1.0
    except OSError:
        return True


def remove_stale_staging(results_dir: Path) -> list[Path]:
    """Delete staging dirs whose writer died (SIGKILL, power loss); returns what was removed."""
    removed = []
    for staging in results_dir.glob(f"{STAGING_PREFIX}*"):
        if staging.is_dir() and not _writer_alive(staging):
            shutil.rmtree(staging, ignore_errors=True)
            removed.append(staging)
    return removed


@contextmanager
def staged_run_dir(results_dir: Path, run_id: str) -> Iterator[tuple[Path, list[Path]]]:
    """Yield a staging dir; on success rename it to ``results_dir/run_id`` (unique), else delete it.

    The second item yielded is a one-element list that receives the final path. When an error
    (not Ctrl-C) strikes after ``samples.npz`` was written, the samples are kept: the staging dir
    is renamed to ``.incomplete-<run_id>`` and the error becomes one line that names it.
    """
    staging = Path(tempfile.mkdtemp(dir=results_dir, prefix=_staging_prefix()))
    staging.chmod(0o755)
    final: list[Path] = []
    try:
        yield staging, final
        target = results_dir / run_id
        n = 1
        while True:
            try:
                os.rename(staging, target)  # atomic; fails if the target exists and is non-empty
                break
            except OSError:
                if not target.exists():
                    raise
                n += 1
                target = results_dir / f"{run_id}-{n}"
        final.append(target)
    except Exception as exc:
        kept = _keep_samples(staging, results_dir, run_id)
        if kept is None:
            shutil.rmtree(staging, ignore_errors=True)
            if isinstance(exc, OSError):
                raise DenoisebenchError(f"could not write the run into {results_dir} "
                                        f"({exc.strerror or exc}): free space or choose another --results-dir") from None
            raise
        reason = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}"
        raise DenoisebenchError(f"the run could not be completed ({reason}); its samples are kept in "
                                f"{kept}: fix the cause and run again") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _keep_samples(staging: Path, results_dir: Path, run_id: str) -> Path | None:
    """Rename a staging dir that holds complete samples to ``.incomplete-<run_id>``; None if none."""
    if not (staging / SAMPLES_FILE).is_file():  # written atomically: present means complete
        return None
    for path in staging.iterdir():
        if path.name not in (SAMPLES_FILE,):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    target = results_dir / f"{INCOMPLETE_PREFIX}{run_id}"
    try:
        os.rename(staging, target)
    except OSError:
        return staging
    return target


def save_grid(path: Path, images: np.ndarray, nrow: int | None = None, limit: int = 256) -> None:
    """A PNG grid of the first ``limit`` uint8 images (grey or colour), drawn with torchvision."""
    import torch
    from torchvision.utils import save_image

    imgs = torch.from_numpy(np.ascontiguousarray(images[:limit])).float().div(255)
    imgs = imgs.unsqueeze(1) if imgs.ndim == 3 else imgs.permute(0, 3, 1, 2)
    nrow = nrow or max(1, int(np.ceil(np.sqrt(len(imgs)))))
    save_image(imgs, path, nrow=nrow, padding=2, pad_value=1.0)
