"""Sharded runs under torchrun: which rank does what, and how the ranks agree on success or failure.

``torchrun --nproc_per_node=K --no-python denoisebench run ...`` starts K copies of the command;
each finds its rank in the environment torchrun sets (RANK, WORLD_SIZE, LOCAL_RANK). The global
list of batches is the single-process run's (batches of ``--batch-size`` over sample indices
0..N-1) and rank r takes batches r, r+K, r+2K, ...: every batch holds the same samples with the
same per-sample noise as in one process, so the samples are byte-identical whatever K is.

The ranks move through *phases* (prepare, generate, write). Each rank posts its outcome of a
phase to torchrun's key-value store and waits for every other rank's; a failure anywhere becomes
the same one-line error on every rank (printed by rank 0 only), so nobody is left waiting in a
collective for a rank that already gave up. While generating, a failed rank also raises an abort
flag that the others check between batches. A rank that stops making progress for
``DENOISEBENCH_DIST_TIMEOUT`` seconds (default 1800) fails the run; a rank that dies outright is
torn down by torchrun with the others.

The process group is gloo even for CUDA runs: what the ranks exchange is host data (statuses and
the uint8 samples, 0.8 kB per 28x28 image), gloo carries it on every machine and network, and
unlike NCCL it allows several ranks to share one GPU.
"""

from __future__ import annotations

import atexit
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import torch

from ..errors import DenoisebenchError

TIMEOUT_ENV = "DENOISEBENCH_DIST_TIMEOUT"
DEFAULT_TIMEOUT_S = 1800.0
POLL_S = 0.05
BACKEND = "gloo"
_PREFIX = "denoisebench/"
_PROGRESS_KEY = _PREFIX + "progress"
_REPORTED_KEY = _PREFIX + "reported"

T = TypeVar("T")


@dataclass(frozen=True)
class Launch:
    """What torchrun's environment says about this process."""

    rank: int
    world_size: int
    local_rank: int
    local_world_size: int


def launch_from_env(environ: Mapping[str, str] | None = None) -> Launch | None:
    """This process's place among torchrun's ranks; None when not launched by torchrun (or alone)."""
    env = os.environ if environ is None else environ
    if "WORLD_SIZE" not in env:
        return None
    try:
        world = int(env["WORLD_SIZE"])
        rank = int(env.get("RANK", "0"))
        local_rank = int(env.get("LOCAL_RANK", str(rank)))
        local_world = int(env.get("LOCAL_WORLD_SIZE", str(world)))
    except ValueError:
        raise DenoisebenchError("WORLD_SIZE, RANK and LOCAL_RANK must be integers (torchrun sets them): "
                                "launch with torchrun or unset them") from None
    if world < 1 or not 0 <= rank < world or local_rank < 0:
        raise DenoisebenchError(f"RANK={rank} is not a rank of WORLD_SIZE={world}: launch with torchrun "
                                "or unset them")
    if world == 1:
        return None
    if not env.get("MASTER_ADDR") or not env.get("MASTER_PORT"):
        raise DenoisebenchError("WORLD_SIZE is set but MASTER_ADDR/MASTER_PORT are not: launch with torchrun")
    return Launch(rank, world, local_rank, local_world)


def env_rank() -> int:
    """This process's rank from the environment (0 outside torchrun), usable before any set-up."""
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def batch_ranges(num_samples: int, batch_size: int) -> list[range]:
    """The single-process run's batches: consecutive index ranges of ``batch_size`` (the last shorter)."""
    return [range(start, min(start + batch_size, num_samples)) for start in range(0, num_samples, batch_size)]


def shard_batches(num_samples: int, batch_size: int, rank: int, world_size: int) -> list[range]:
    """Rank ``rank``'s batches: every ``world_size``-th batch of the single-process run, from ``rank``."""
    return batch_ranges(num_samples, batch_size)[rank::world_size]


def rank_device(device: torch.device, local_rank: int) -> torch.device:
    """``cuda`` without an index means one GPU per rank on each node (cuda:LOCAL_RANK, wrapping
    round when there are fewer GPUs); ``cuda:N`` is shared by every rank that names it."""
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", local_rank % max(1, torch.cuda.device_count()))
    return device


def describe_rank(device: torch.device) -> dict[str, object]:
    """Host, device and threads of this process: one entry of run.json's ``distributed.ranks``."""
    from .environment import cpu_name

    return {"host": socket.gethostname(), "pid": os.getpid(), "device": str(device),
            "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name(),
            "torch_threads": torch.get_num_threads()}


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


_session: Session | None = None


def current() -> Session | None:
    """The active torchrun session of this process, or None in a single-process run."""
    return _session


def _timeout_s() -> float:
    raw = os.environ.get(TIMEOUT_ENV)
    if raw is None:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise DenoisebenchError(f"{TIMEOUT_ENV} must be a positive number of seconds, got {raw!r}")
    return value


def start(launch: Launch) -> Session:
    """Join torchrun's process group (gloo, env://) and make the session current."""
    global _session
    import torch.distributed as dist

    timeout_s = _timeout_s()
    if not dist.is_available() or not dist.is_gloo_available():
        raise DenoisebenchError("this torch build has no gloo process group, which sharded runs need: "
                                "run without torchrun")
    try:
        if not dist.is_initialized():
            dist.init_process_group(BACKEND, init_method="env://", rank=launch.rank, world_size=launch.world_size,
                                    timeout=timedelta(seconds=timeout_s))
        store = dist.distributed_c10d._get_default_store()
    except Exception as exc:
        raise DenoisebenchError(f"could not join the torchrun process group ({_one_line(exc)}): check "
                                "torchrun's rendezvous options") from None
    _session = Session(launch, store, timeout_s)
    atexit.register(stop)
    return _session


def stop() -> None:
    """Leave the process group (idempotent)."""
    global _session
    _session = None
    try:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
    except Exception:  # noqa: BLE001 - leaving is best effort
        pass


@contextmanager
def quiet_other_ranks(linger_s: float = 10.0) -> Iterator[None]:
    """Let one rank print a user error as one line; the others exit with code 2, silently.

    The silent ranks linger until the speaker says it has printed (or ``linger_s`` passed):
    torchrun stops every rank as soon as one exits with an error, which could cut the speaker off.
    """
    try:
        yield
    except DenoisebenchError as exc:
        speaker = getattr(exc, "speaker", 0)
        store = _session.store if _session is not None else None
        _write_error_file(f"Error: {exc}")
        if speaker == env_rank():
            print(f"Error: {exc}".replace("\n", " "), file=sys.stderr, flush=True)
            if store is not None:
                _try(lambda: store.set(_REPORTED_KEY, str(speaker)))
            raise SystemExit(2) from None
        deadline = time.monotonic() + (linger_s if store is not None else 1.0)
        while time.monotonic() < deadline:
            if store is not None and _try(lambda: store.check([_REPORTED_KEY])):
                break
            time.sleep(POLL_S if store is not None else 0.5)
        raise SystemExit(2) from None


def _write_error_file(message: str) -> None:
    """Put the one-line error into torchrun's per-rank error file, so its failure summary shows it."""
    path = os.environ.get("TORCHELASTIC_ERROR_FILE")
    if path:
        from ..fileio import write_text_atomic

        payload = {"message": {"message": message, "extraInfo": {"py_callstack": message,
                                                                 "timestamp": str(int(time.time()))}}}
        _try(lambda: write_text_atomic(Path(path), json.dumps(payload)))


def _try(action: Callable[[], T]) -> T | None:
    try:
        return action()
    except Exception:  # noqa: BLE001 - the store may be gone while the job is torn down
        return None


@contextmanager
def cli_session() -> Iterator[Session | None]:
    """For a CLI verb: the torchrun session when launched by torchrun (else None), closed at the end.

    Under torchrun a user error is printed once, by the rank it concerns (rank 0 unless that rank
    hung), and every rank exits with code 2.
    """
    with quiet_other_ranks():
        launch = launch_from_env()
        if launch is None:
            session = None
        else:
            session = start(launch)
    if session is None:
        yield None
        return
    try:
        with quiet_other_ranks():
            yield session
    finally:
        stop()
