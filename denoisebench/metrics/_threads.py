"""Run small BLAS/LAPACK work on one thread (many tiny eigh calls slow down 10x on busy cores)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def single_blas_thread() -> Iterator[None]:
    """Limit numpy's BLAS to one thread inside the block when threadpoolctl is installed."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it the work just runs on the default threads
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
