"""Ctrl-C during a short step that must not be cut in half.

Some libraries turn a ``KeyboardInterrupt`` raised inside their C code into an error of their own
(pandas' CSV reader reports a ``ParserError``), so Ctrl-C while a dataset loads became a traceback.
:func:`deferred_interrupt` holds SIGINT for the duration of such a step and raises
``KeyboardInterrupt`` right after it, which the CLI reports as one line (exit 130).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def deferred_interrupt() -> Iterator[None]:
    """Run the block to its end on Ctrl-C, then raise ``KeyboardInterrupt``; a second Ctrl-C
    interrupts at once. Outside the main thread it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        if received:
            raise KeyboardInterrupt
        received.append(signum)

    previous = signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt
