"""Restoration providers whose denoiser takes one numpy image at a time, run on every core.

A per-image CPU library (scikit-image's NL-means, the ``bm3d`` package) denoises one image per
call and uses one core. :class:`PerImageRestorationProvider` turns such a function into a
restoration provider: the subclass implements :meth:`~PerImageRestorationProvider.denoise_image`
for one image, and the option ``-o workers=K`` (default 1; ``auto``: every core this process may
use) denoises each batch's images in K worker processes.

How the pool behaves:

* it is started on the first batch and kept for the provider's lifetime (every call of a run),
  then shut down when the provider is dropped or the interpreter exits;
* workers are *spawned* (fresh interpreters, not forked: forking a process that has started
  torch's OpenMP threads can hang the child) and each runs one thread (torch and, where
  threadpoolctl is installed, BLAS/OpenMP), so K workers use K cores; with one worker the
  images are denoised in this process, single-threaded the same way;
* each worker receives a pickled copy of the provider once, without ``context.dataset``
  (the parent keeps the data; whatever ``denoise_image`` needs goes in plain attributes);
* a batch is cut into contiguous chunks and the results come back in input order, so the output
  is byte-identical for every K when ``denoise_image`` is deterministic (the same code runs on
  the same image with one thread, wherever it runs);
* an exception in ``denoise_image`` becomes a one-line :class:`ProviderError` naming the image,
  whichever process raised it; a worker that dies is a one-line error too;
* Ctrl-C: workers ignore SIGINT, the parent stops them and raises ``KeyboardInterrupt``.
"""

from __future__ import annotations

import copy
import dataclasses
import multiprocessing
import os
import pickle
import signal
import weakref
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import ClassVar

import numpy as np
import torch

from ..errors import DenoisebenchError, ProviderError
from ..interfaces.provider import ProviderContext
from ..interfaces.restoration import RestorationProvider

#: Chunks per worker in one batch: enough to even out uneven image times, few enough that the
#: cost of sending a chunk stays small next to denoising it.
CHUNKS_PER_WORKER = 4


def usable_cores() -> int:
    """The number of CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def parse_workers(value: str, owner: str) -> int:
    """``-o workers=K``: a positive integer or ``auto`` (:func:`usable_cores`), else a one-line error."""
    text = str(value).strip().lower()
    if text == "auto":
        return usable_cores()
    try:
        workers = int(text)
    except ValueError:
        workers = 0
    if workers < 1:
        raise DenoisebenchError(f"option workers of provider {owner!r} must be a positive integer or auto "
                                f"(one process per core), got {value!r}")
    return workers


class PerImageRestorationProvider(RestorationProvider):
    """A :class:`RestorationProvider` built from a function of one numpy image; ``-o workers=K``.

    Implement :meth:`denoise_image`. Everything else (options, modes, ``noise_range``,
    ``blind``) is as for :class:`RestorationProvider`, whose :meth:`denoise` this class provides.
    """

    options: ClassVar[dict[str, str]] = {
        **RestorationProvider.options,
        "workers": "worker processes denoising a batch's images in parallel: a number or auto "
                   "(one per usable core); default 1 (in this process)",
    }
    #: Any K gives byte-identical samples.
    speed_options: ClassVar[frozenset[str]] = frozenset({"workers"})

    def __init__(self, context: ProviderContext) -> None:
        super().__init__(context)
        self.workers = parse_workers(context.options.get("workers", "1"), self.name)
        self._pool: ProcessPoolExecutor | None = None
        self._pool_finalizer: weakref.finalize | None = None

    @abstractmethod
    def denoise_image(self, y: np.ndarray, s: float | None) -> np.ndarray:
        """Estimate the clean [0, 1] image from one noisy image ``y``.

        ``y`` is H x W for one channel, H x W x C otherwise (scikit-image's ``channel_axis=-1``),
        float32 (the sampler's dtype); ``s`` is its noise std in [0, 1] units, or None when the
        class is ``blind``. Return an array of ``y``'s shape (it is cast to ``y``'s dtype). It may
        run in a worker process, on a copy of the provider without ``context.dataset``; it must
        be deterministic and must not depend on other images.
        """

    # --- the batch ------------------------------------------------------------------------

    def denoise(self, y: torch.Tensor, noise_std: torch.Tensor | None) -> torch.Tensor:
        """Each image of ``y`` (B x C x H x W) through :meth:`denoise_image`, in ``workers`` processes."""
        batch = y.detach().to("cpu").numpy()
        images = [np.ascontiguousarray(img[0] if img.shape[0] == 1 else np.moveaxis(img, 0, -1))
                  for img in batch]
        stds: list[float | None] = ([None] * len(images) if noise_std is None
                                    else noise_std.detach().to("cpu", torch.float64).tolist())
        if self.workers == 1 or len(images) <= 1:
            with single_threaded():  # as in a worker, so the results do not depend on K
                results = _denoise_chunk(self, 0, images, stds)
        else:
            results = self._map(images, stds)
        out = np.stack([r[None] if r.ndim == 2 else np.moveaxis(r, -1, 0) for r in results])
        return torch.from_numpy(out.astype(batch.dtype, copy=False)).to(device=y.device, dtype=y.dtype)

    def _map(self, images: list[np.ndarray], stds: list[float | None]) -> list[np.ndarray]:
        pool = self._start_pool()
        n_chunks = min(len(images), self.workers * CHUNKS_PER_WORKER)
        bounds = [round(i * len(images) / n_chunks) for i in range(n_chunks + 1)]
        starts = bounds[:-1]
        try:
            chunks = pool.map(_denoise_in_worker, starts, [images[a:b] for a, b in zip(bounds, bounds[1:])],
                              [stds[a:b] for a, b in zip(bounds, bounds[1:])])
            return [image for chunk in chunks for image in chunk]
        except BrokenProcessPool:
            self.close()
            raise ProviderError(f"provider {self.name!r}: a worker process died while denoising (out of memory, "
                                "or a crash in the denoiser); run with -o workers=1 to see the error") from None
        except KeyboardInterrupt:
            self.close()
            raise

    # --- the pool -------------------------------------------------------------------------

    def _start_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            clone = self._worker_copy()
            try:
                pickle.dumps(clone)
            except Exception as exc:  # noqa: BLE001 - any pickling failure gets the same advice
                raise ProviderError(
                    f"provider {self.name!r} cannot be sent to worker processes ({type(exc).__name__}: "
                    f"{_first_line(exc)}); define the class at module level with picklable attributes, "
                    "or use -o workers=1") from None
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_start_worker, initargs=(clone,))
            self._pool_finalizer = weakref.finalize(self, _stop_pool, self._pool)
        return self._pool

    def _worker_copy(self) -> PerImageRestorationProvider:
        """What the workers receive: this provider without its pool and without the dataset."""
        clone = copy.copy(self)
        clone._pool, clone._pool_finalizer = None, None
        clone.context = dataclasses.replace(self.context, dataset=None)  # type: ignore[arg-type]
        return clone

    def close(self) -> None:
        """Stop the worker processes now (a later batch starts new ones)."""
        if self._pool_finalizer is not None:
            self._pool_finalizer()
        self._pool, self._pool_finalizer = None, None

    def info(self) -> dict[str, object]:
        return {**super().info(), "workers": self.workers}


@contextmanager
def single_threaded() -> Iterator[None]:
    """Within the block torch, and BLAS/OpenMP where threadpoolctl is installed, run one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            yield
        else:
            with threadpool_limits(limits=1):
                yield
    finally:
        torch.set_num_threads(threads)


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Stop the workers without waiting for queued chunks (the parent no longer wants them)."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        if process.is_alive():
            process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


# --- what runs in a worker process ----------------------------------------------------------

_WORKER_PROVIDER: PerImageRestorationProvider | None = None


def _start_worker(provider: PerImageRestorationProvider) -> None:
    """Worker initialiser: keep the provider, one thread per worker, leave Ctrl-C to the parent."""
    global _WORKER_PROVIDER
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)
    except ImportError:
        pass
    _WORKER_PROVIDER = provider


def _denoise_in_worker(start: int, images: Sequence[np.ndarray], stds: Sequence[float | None]) -> list[np.ndarray]:
    assert _WORKER_PROVIDER is not None, "worker used before its initialiser ran"
    return _denoise_chunk(_WORKER_PROVIDER, start, images, stds)


def _denoise_chunk(provider: PerImageRestorationProvider, start: int, images: Sequence[np.ndarray],
                   stds: Sequence[float | None]) -> list[np.ndarray]:
    """``denoise_image`` on images ``start, start + 1, ...``; failures as one-line ProviderErrors."""
    out = []
    for i, (image, s) in enumerate(zip(images, stds), start):
        s = None if provider.blind else s
        try:
            result = provider.denoise_image(image, s)
        except DenoisebenchError:
            raise
        except Exception as exc:  # noqa: BLE001 - reported as one line, whatever the library raised
            raise ProviderError(f"provider {provider.name!r}: denoise_image failed on image {i} of the batch: "
                                f"{type(exc).__name__}: {_first_line(exc)}") from exc
        if not isinstance(result, np.ndarray) or result.shape != image.shape:
            got = (f"shape {result.shape}" if isinstance(result, np.ndarray)
                   else f"a {type(result).__module__}.{type(result).__name__}")
            raise ProviderError(f"provider {provider.name!r}: denoise_image returned {got} for an image of "
                                f"shape {image.shape}; return a numpy array of the input's shape")
        out.append(result.astype(image.dtype, copy=False))
    return out


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(no message)"
