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

The pieces, one job each (this module gathers their names):

* :mod:`.ranks`: this process's place among the ranks, its batches and its device;
* :mod:`.session`: the phase / abort / heartbeat protocol over the store, and the gather;
* :mod:`.process_group`: joining and leaving the process group, the current session, the CLI wrapper;
* :func:`denoisebench.runs.execution.execute_sharded`: a run's sharded generation, assembled on rank 0.
"""

from __future__ import annotations

from .process_group import BACKEND, cli_session, current, quiet_other_ranks, start, stop
from .ranks import Launch, batch_ranges, describe_rank, env_rank, launch_from_env, rank_device, shard_batches
from .session import DEFAULT_TIMEOUT_S, POLL_S, TIMEOUT_ENV, RankFailure, Session

__all__ = ["BACKEND", "DEFAULT_TIMEOUT_S", "Launch", "POLL_S", "RankFailure", "Session", "TIMEOUT_ENV", "batch_ranges",
           "cli_session", "current", "describe_rank", "env_rank", "launch_from_env", "quiet_other_ranks",
           "rank_device", "shard_batches", "start", "stop"]
