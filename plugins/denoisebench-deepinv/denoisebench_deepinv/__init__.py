"""denoisebench-deepinv: deepinv's denoisers (networks and classical ones) as denoisebench
restoration providers, named ``deepinv-<name>``. Loaded through the ``denoisebench`` entry-point
group. Nothing is ever downloaded: network weights come from ``--checkpoint`` or deepinv's cache."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import denoisebench

from .classical import CLASSICAL
from .networks import NETWORKS

__all__ = ["MNIST_DRUNET", "PROVIDERS", "register_providers"]

#: The small DRUNet trained on mnist-5k by 'denoisebench train --provider deepinv-drunet' (1.3 MB):
#: pass it with --checkpoint (it is not a default: deepinv-drunet means deepinv's own weights).
MNIST_DRUNET = Path(__file__).resolve().parent / "weights" / "drunet-mnist-5k.safetensors"

PROVIDERS: tuple[type, ...] = (*NETWORKS, *CLASSICAL)


@denoisebench.hookimpl
def register_providers(register: Callable[[type], None]) -> None:
    """Register every ``deepinv-*`` provider."""
    for cls in PROVIDERS:
        register(cls)
