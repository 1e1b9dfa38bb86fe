"""Files of a published dataset: ``--data-dir`` in torchvision's layout, else the cache, else a
download by torchvision into the cache, else a one-line error saying which files to put where."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ..errors import DenoisebenchError
from .base import DatasetOptions
from .mnist import default_cache_dir

Found = TypeVar("Found")


def locate(dataset_id: str, options: DatasetOptions, find: Callable[[Path], Found | None],
           download: Callable[[Path], None], files: str) -> Found:
    """What ``find`` returns for ``--data-dir``; without it, for the cache (downloading when absent).

    ``files`` says which files go where, e.g. "cifar-10-batches-py/data_batch_1..5 and test_batch".
    """
    if options.data_dir is not None:
        found = find(options.data_dir)
        if found is None:
            raise DenoisebenchError(f"--data-dir {options.data_dir} lacks the {dataset_id} files: put {files} "
                                    f"there, or omit --data-dir to download them when online")
        return found
    cache = options.cache_dir or default_cache_dir()
    found = find(cache)
    if found is not None:
        return found
    try:
        cache.mkdir(parents=True, exist_ok=True)
        download(cache)
    except DenoisebenchError:
        raise
    except Exception as exc:  # noqa: BLE001 - URLError, RuntimeError("Error downloading ..."), OSError, gdown's
        raise DenoisebenchError(f"cannot download {dataset_id} into {cache} ({type(exc).__name__}): connect to "
                                f"the internet, or pass --data-dir DIR with {files}") from None
    found = find(cache)
    if found is None:
        raise DenoisebenchError(f"torchvision's download of {dataset_id} left no {files} in {cache}: pass "
                                "--data-dir DIR with those files")
    return found


def present(find: Callable[[Path], object | None]) -> Callable[[DatasetOptions], bool]:
    """``files_present`` for a dataset: are its files in ``--data-dir``, else in the cache (no download)."""
    def check(options: DatasetOptions) -> bool:
        folder = options.data_dir or options.cache_dir or default_cache_dir()
        return find(folder) is not None
    return check
