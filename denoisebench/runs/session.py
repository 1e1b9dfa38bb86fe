"""The ranks' protocol over torchrun's key-value store: phases whose outcome every rank posts and
waits for (a failure anywhere is the same one-line error everywhere), an abort flag checked between
batches, heartbeats against hung ranks, and the gather of the ranks' samples on rank 0."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import DenoisebenchError
from .ranks import Launch

TIMEOUT_ENV = "DENOISEBENCH_DIST_TIMEOUT"
DEFAULT_TIMEOUT_S = 1800.0
POLL_S = 0.05
_PREFIX = "denoisebench/"
_PROGRESS_KEY = _PREFIX + "progress"
_REPORTED_KEY = _PREFIX + "reported"

T = TypeVar("T")


class RankFailure(DenoisebenchError):
    """A phase failed on some rank; ``speaker`` is the rank that prints it (the others exit quietly)."""

    def __init__(self, message: str, speaker: int = 0) -> None:
        super().__init__(message)
        self.speaker = speaker


class _Aborted(Exception):
    """Another rank failed during this phase; stop working and report 'aborted'."""


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, DenoisebenchError):
        return " ".join(str(exc).split())
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first}".rstrip(": ")


class Session:
    """This process's membership of a torchrun job: its rank, the store and the process group."""

    def __init__(self, launch: Launch, store: Any, timeout_s: float) -> None:
        self.launch = launch
        self.rank, self.world_size = launch.rank, launch.world_size
        self.store = store
        self.timeout_s = timeout_s
        self.values: list[Any] = []  # what each rank published in the last phase
        self._seq = 0
        self._abort_key: str | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # -- progress and abort, between batches -----------------------------------------------------
    def heartbeat(self) -> None:
        """Tell waiting ranks that this one is still making progress."""
        self.store.add(_PROGRESS_KEY, 1)

    def check_abort(self) -> None:
        """Raise when another rank failed in the current (abortable) phase."""
        if self._abort_key is not None and self.store.check([self._abort_key]):
            raise _Aborted

    # -- phases ------------------------------------------------------------------------------------
    def phase(self, name: str, work: Callable[[], T] | None = None, publish: Callable[[T], Any] | None = None,
              abortable: bool = False) -> T | None:
        """Run ``work`` (None: this rank has nothing to do), post the outcome, wait for every rank's.

        Returns ``work``'s result; ``self.values`` receives what each rank published (JSON). Raises
        :class:`RankFailure` on every rank when any rank failed.
        """
        self._seq += 1
        key = f"{_PREFIX}{self._seq}-{name}"
        self._abort_key = f"{key}/abort" if abortable else None
        result: T | None = None
        status: dict[str, Any] = {"worked": work is not None, "ok": True}
        interrupted: BaseException | None = None
        try:
            if work is not None:
                result = work()
                status["value"] = publish(result) if publish is not None else None
        except _Aborted:
            status = {"worked": True, "ok": False, "aborted": True}
        except BaseException as exc:  # noqa: BLE001 - every failure is reported to the other ranks
            status = {"worked": True, "ok": False, "error": _one_line(exc)}
            if abortable:
                self.store.set(self._abort_key, str(self.rank))
            if not isinstance(exc, Exception):
                interrupted = exc
        finally:
            self._abort_key = None
        self.store.set(f"{key}/{self.rank}", json.dumps(status))
        if interrupted is not None:
            raise interrupted
        statuses = self._wait_for_all(key)
        self.values = [s.get("value") for s in statuses]
        failed = [(r, s["error"]) for r, s in enumerate(statuses) if not s["ok"] and not s.get("aborted")]
        if failed:
            raise RankFailure(self._failure_message(name, statuses, failed))
        return result

    def _failure_message(self, name: str, statuses: list[dict[str, Any]], failed: list[tuple[int, str]]) -> str:
        workers = [r for r, s in enumerate(statuses) if s["worked"]]
        if len(failed) == len(workers) and len({msg for _, msg in failed}) == 1:
            return failed[0][1]  # every rank that worked failed alike (bad input): say it as one process would
        rank, msg = failed[0]
        others = f" (and {len(failed) - 1} other rank(s))" if len(failed) > 1 else ""
        tail = "; no run was recorded" if name != "write" else ""
        return f"rank {rank} of {self.world_size} failed in {name}{others}: {msg}{tail}"

    def _wait_for_all(self, key: str) -> list[dict[str, Any]]:
        keys = [f"{key}/{r}" for r in range(self.world_size)]
        last_progress, last_change = None, time.monotonic()
        try:
            while not self.store.check(keys):
                progress = self.store.add(_PROGRESS_KEY, 0)
                now = time.monotonic()
                if progress != last_progress:
                    last_progress, last_change = progress, now
                elif now - last_change > self.timeout_s:
                    missing = [r for r, k in enumerate(keys) if not self.store.check([k])]
                    alive = sorted(set(range(self.world_size)) - set(missing))
                    raise RankFailure(f"rank(s) {', '.join(map(str, missing))} of {self.world_size} made no "
                                      f"progress for {self.timeout_s:.0f} s; no run was recorded (raise "
                                      f"{TIMEOUT_ENV} for longer steps)", speaker=alive[0] if alive else 0)
                time.sleep(POLL_S)
            return [json.loads(self.store.get(k)) for k in keys]
        except RankFailure:
            raise
        except Exception as exc:  # the store is gone: torchrun is tearing the job down
            raise RankFailure(f"lost contact with the other ranks ({_one_line(exc)}); no run was recorded",
                              speaker=self.rank) from None

    # -- collectives (only between phases that every rank passed) ------------------------------
    def gather(self, obj: Any) -> list[Any] | None:
        """Every rank's ``obj`` on rank 0 (in rank order); None elsewhere."""
        import torch.distributed as dist

        out: list[Any] | None = [None] * self.world_size if self.is_main else None
        dist.gather_object(obj, out, dst=0)
        return out

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank."""
        import torch.distributed as dist

        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]
