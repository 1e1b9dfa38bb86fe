"""Which rank does what under torchrun: this process's place (from torchrun's environment), its
batches (every K-th batch of the single-process run) and its device."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

import torch

from ..errors import DenoisebenchError


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
