"""Executing a prepared run: generate the samples (in one process, or sharded over torchrun's ranks
and assembled in sample order on rank 0), then record them (:mod:`.recording`)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from . import distributed, records
from .config import RunConfig
from .prepare import PreparedRun, prepare
from .recording import write_run


def execute(config: RunConfig | PreparedRun, on_step: Callable[[int], None] | None = None,
            log: Callable[[str], None] | None = None) -> Path:
    """Run end to end and return the run directory, which appears complete or not at all.

    The samples are written first, so an error in the evaluation or the final writes keeps them
    (in ``.incomplete-<run id>``, named by the one-line error); Ctrl-C leaves nothing. Under
    torchrun each rank generates its share and rank 0 evaluates and writes the one run directory
    (:func:`execute_sharded`); every rank returns its path.
    """
    started = time.perf_counter()
    prepared = config if isinstance(config, PreparedRun) else prepare(config)
    session = distributed.current()
    if session is not None:
        return execute_sharded(prepared, session, started, on_step, log)
    config = prepared.config
    now = dt.datetime.now(dt.timezone.utc)
    torch.manual_seed(config.seed)
    t0 = time.perf_counter()
    images = generate_images(prepared, on_step)
    sampling_s = time.perf_counter() - t0
    ranks = [{"rank": 0, "local_rank": 0, **distributed.describe_rank(prepared.device), "samples": len(images),
              "sampling_s": round(sampling_s, 3)}]
    return write_run(prepared, images, now, sampling_s, started, log, {"world_size": 1, "ranks": ranks})

def execute_sharded(prepared: PreparedRun, session: distributed.Session, started: float,
                    on_step: Callable[[int], None] | None = None, log: Callable[[str], None] | None = None) -> Path:
    """This rank's batches, gathered on rank 0, which evaluates once and writes the run directory.

    ``timing.sampling_s`` is the generation's wall time across ranks (from the common start after
    ``prepare`` to the last rank's end); each rank's own time is in ``distributed.ranks``.
    """
    from ..diffusion.loop import generate

    cfg = prepared.config
    now = dt.datetime.now(dt.timezone.utc)
    torch.manual_seed(cfg.seed)
    batches = distributed.shard_batches(cfg.num_samples, cfg.batch_size, session.rank, session.world_size)
    counter: list[int] = []
    own_s = [0.0]
    t0 = time.perf_counter()

    def work() -> list[np.ndarray]:
        parts = []
        for indices in batches:
            session.check_abort()
            parts.append(generate(prepared.provider, prepared.sampler, cfg.num_samples, cfg.seed, cfg.batch_size,
                                  prepared.dataset.image_shape, prepared.device, on_step, indices=indices,
                                  counter=counter))
            session.heartbeat()
        own_s[0] = time.perf_counter() - t0
        return parts

    parts = session.phase("generate", work, abortable=True) or []
    sampling_s = time.perf_counter() - t0  # every rank is done: the wall time across ranks
    payload = {"rank": session.rank, "local_rank": session.launch.local_rank,
               **distributed.describe_rank(prepared.device), "batches": [b.start for b in batches],
               "images": np.concatenate(parts) if parts else None, "nfe": counter[0] if counter else None,
               "sampling_s": round(own_s[0], 3)}
    gathered = session.gather(payload)

    def evaluate_and_write() -> Path:
        assert gathered is not None
        images = assemble(gathered, cfg.num_samples, cfg.batch_size, prepared.dataset.image_shape)
        prepared.nfe = next((p["nfe"] for p in gathered if p["nfe"] is not None), None)
        ranks = [{k: v for k, v in p.items() if k not in ("images", "batches", "nfe")} | {"samples": _share_size(p, cfg)}
                 for p in gathered]
        block = {"world_size": session.world_size, "backend": distributed.BACKEND,
                 "sharding": "round-robin over the single-process batches", "ranks": ranks}

        def heartbeat_log(message: str) -> None:
            session.heartbeat()  # metrics can take minutes: the waiting ranks must not think rank 0 hung
            if log is not None:
                log(message)

        return write_run(prepared, images, now, sampling_s, started, heartbeat_log, block)

    session.phase("write", evaluate_and_write if session.is_main else None, publish=str)
    return Path(session.values[0])

def _share_size(part: dict[str, object], cfg: RunConfig) -> int:
    return sum(min(start + cfg.batch_size, cfg.num_samples) - start for start in part["batches"])  # type: ignore[union-attr]

def assemble(parts: list[dict[str, object]], num_samples: int, batch_size: int,
             image_shape: tuple[int, ...]) -> np.ndarray:
    """The ranks' batches put back in sample order; every index must come exactly once."""
    images = np.zeros(records.samples_shape(num_samples, image_shape), dtype=np.uint8)
    seen = np.zeros(num_samples, dtype=bool)
    for part in parts:
        offset = 0
        for start in part["batches"]:  # type: ignore[union-attr]
            stop = min(start + batch_size, num_samples)
            if seen[start:stop].any():
                raise RuntimeError(f"samples {start}..{stop - 1} came from two ranks")
            images[start:stop] = part["images"][offset:offset + stop - start]  # type: ignore[index]
            seen[start:stop] = True
            offset += stop - start
    if not seen.all():
        raise RuntimeError(f"{int((~seen).sum())} samples came from no rank")
    return images

def generate_images(prepared: PreparedRun, on_step: Callable[[int], None] | None = None) -> np.ndarray:
    from ..diffusion.loop import generate

    cfg = prepared.config
    counter: list[int] = []
    images = generate(prepared.provider, prepared.sampler, cfg.num_samples, cfg.seed, cfg.batch_size,
                      prepared.dataset.image_shape, prepared.device, on_step, counter=counter)
    prepared.nfe = counter[0] if counter else None
    return images
