"""Joining and leaving torchrun's process group (gloo), the current session, and a CLI verb's
wrapper under which a user error is printed once, by the rank it concerns, and every rank exits 2."""

from __future__ import annotations

import atexit
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from ..errors import DenoisebenchError
from .ranks import Launch, env_rank, launch_from_env
from .session import _REPORTED_KEY, DEFAULT_TIMEOUT_S, POLL_S, TIMEOUT_ENV, Session, _one_line

BACKEND = "gloo"

T = TypeVar("T")


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
