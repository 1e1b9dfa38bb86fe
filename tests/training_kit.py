"""Shared by the trainer tests: a tiny U-Net run config (the ``tiny_registered`` fixture is in conftest)."""

from __future__ import annotations

from pathlib import Path

from denoisebench.training.config import TrainConfig

TINY_MODEL = {"channels": "8,16", "heads": "2", "groups": "4"}


def tiny_config(out: Path, **kw) -> TrainConfig:
    """A few steps of a tiny U-Net on ``tiny-blobs``, one thread, no evaluation."""
    base = dict(provider="unet", output=out, dataset="tiny-blobs", steps=12, batch_size=8, lr=3e-3,
                warmup=2, log_every=4, save_every=100, threads=1, model_options=dict(TINY_MODEL))
    return TrainConfig(**{**base, **kw})
