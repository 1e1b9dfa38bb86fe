"""Progress on stderr: a bar on a terminal, plain periodic lines in a log file (CI, nohup)."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any

import click


class Progress:
    """``with Progress(total, label) as p: p.update(k)``; a bar on a tty, else a line every ``every_s``."""

    def __init__(self, total: int, label: str, unit: str = "", every_s: float = 30.0, stream: Any = None) -> None:
        self.total, self.label, self.unit, self.every_s = total, label, unit, every_s
        self.stream = stream or sys.stderr
        self.done = 0
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._bar: Any = None
        self._start = self._last = time.monotonic()
        self._finished = False

    def __enter__(self) -> Progress:
        if self.tty:
            self._bar = click.progressbar(length=self.total, label=self.label, file=self.stream,
                                          show_eta=True, show_percent=True, item_show_func=None).__enter__()
        else:
            click.echo(f"{self.label}: started ({self.total} {self.unit})".rstrip(), file=self.stream)
        return self

    def update(self, k: int) -> None:
        self.done += k
        if self._bar is not None:
            self._bar.update(k)
            return
        now = time.monotonic()
        if self.done >= self.total and not self._finished:
            self._finished = True
            click.echo(f"{self.label}: done in {now - self._start:.0f} s", file=self.stream)
        elif now - self._last >= self.every_s and self.done < self.total:
            self._last = now
            click.echo(self.line(now), file=self.stream)

    def line(self, now: float) -> str:
        elapsed = now - self._start
        share = self.done / self.total if self.total else 1.0
        eta = elapsed / share - elapsed if share > 0 else float("nan")
        return (f"{self.label}: {self.done}/{self.total} {self.unit} ({share:.0%}), "
                f"{elapsed:.0f} s elapsed, about {eta:.0f} s left").replace("  ", " ")

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.__exit__(kind, exc, tb)
        elif kind is None and not self._finished:
            click.echo(f"{self.label}: done in {time.monotonic() - self._start:.0f} s", file=self.stream)
