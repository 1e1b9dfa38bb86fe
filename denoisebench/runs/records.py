"""Run records on disk: one directory per run, written elsewhere and renamed into place."""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DenoisebenchError
from ..fileio import write_text_atomic

SCHEMA_VERSION = 1
RUN_FILE = "run.json"
SAMPLES_FILE = "samples.npz"
GRID_FILE = "grid.png"
STAGING_PREFIX = ".staging-"


def save_npz_deterministic(path: Path, **arrays: np.ndarray) -> None:
    """Like ``np.savez`` but byte-identical for identical arrays (fixed zip timestamps)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for key, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())


def load_samples(run_dir: Path) -> np.ndarray:
    """The uint8 images of a run (N x H x W)."""
    with np.load(run_dir / SAMPLES_FILE, allow_pickle=False) as data:
        return data["images"]


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    """Write JSON atomically (temp file, fsync, rename); non-JSON values are written as strings."""
    write_text_atomic(path, json.dumps(payload, indent=2, default=str) + "\n")


def prepare_results_dir(results_dir: Path) -> None:
    """Create the results dir and prove it is writable, or raise a one-line error."""
    try:
        results_dir.mkdir(parents=True, exist_ok=True)
        probe = tempfile.mkdtemp(dir=results_dir, prefix=STAGING_PREFIX)
        os.rmdir(probe)
    except OSError as exc:
        raise DenoisebenchError(
            f"results dir {results_dir} is not writable ({exc.strerror or exc}): choose another "
            "with --results-dir") from None


@contextmanager
def staged_run_dir(results_dir: Path, run_id: str) -> Iterator[tuple[Path, list[Path]]]:
    """Yield a staging dir; on success rename it to ``results_dir/run_id`` (unique), else delete it.

    The second item yielded is a one-element list that receives the final path.
    """
    staging = Path(tempfile.mkdtemp(dir=results_dir, prefix=STAGING_PREFIX))
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
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def save_grid(path: Path, images: np.ndarray, nrow: int | None = None, limit: int = 256) -> None:
    """A PNG grid of the first ``limit`` uint8 images, drawn with torchvision."""
    import torch
    from torchvision.utils import save_image

    imgs = torch.from_numpy(images[:limit]).float().div(255).unsqueeze(1)
    nrow = nrow or max(1, int(np.ceil(np.sqrt(len(imgs)))))
    save_image(imgs, path, nrow=nrow, padding=2, pad_value=1.0)
