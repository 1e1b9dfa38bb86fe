"""Shared by the trainer tests: the tiny dataset registered as a plugin and a tiny U-Net run config."""

from __future__ import annotations

from pathlib import Path

import pytest

from denoisebench.datasets.base import DatasetSpec
from denoisebench.plugins import manager as plugins
from denoisebench.plugins.hookspecs import hookimpl
from denoisebench.training.config import TrainConfig

TINY_MODEL = {"channels": "8,16", "heads": "2", "groups": "4"}


@pytest.fixture
def tiny_registered(tiny_dataset):
    """The session's tiny blob dataset, registered as dataset ``tiny-blobs``."""

    class Plugin:
        @hookimpl
        def register_datasets(self, register):  # noqa: ANN001
            register(DatasetSpec("tiny-blobs", "test blobs", lambda options: tiny_dataset))

    plugins.register_plugin(Plugin(), "tiny-blobs-plugin")
    yield tiny_dataset
    plugins.unregister_plugin("tiny-blobs-plugin")


def tiny_config(out: Path, **kw) -> TrainConfig:
    """A few steps of a tiny U-Net on ``tiny-blobs``, one thread, no evaluation."""
    base = dict(provider="unet", output=out, dataset="tiny-blobs", steps=12, batch_size=8, lr=3e-3,
                warmup=2, log_every=4, save_every=100, threads=1, model_options=dict(TINY_MODEL))
    return TrainConfig(**{**base, **kw})
