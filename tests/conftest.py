"""Shared fixtures: tiny datasets and an isolated cache and plugin registry."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from denoisebench.datasets.base import DatasetSpec, ImageDataset
from shared_kit import blob_images, plugin_registered


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DENOISEBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(autouse=True)
def _fresh_registry() -> None:
    from denoisebench.plugins import manager as plugins

    plugins.reset()
    yield
    plugins.reset()


@pytest.fixture(scope="session")
def tiny_dataset() -> ImageDataset:
    """40 train / 12 held-out blob images with labels 0..3."""
    train, held = blob_images(40, 1), blob_images(12, 2)
    return ImageDataset("tiny-blobs", train, np.arange(40) % 4, held, np.arange(12) % 4)


@pytest.fixture(scope="session")
def mnist5k() -> ImageDataset:
    from denoisebench.datasets.mnist5k import load_mnist5k
    from denoisebench.datasets.base import DatasetOptions

    return load_mnist5k(DatasetOptions())


@pytest.fixture
def tiny_registered(tiny_dataset: ImageDataset) -> Iterator[ImageDataset]:
    """The session's tiny blob dataset, registered as dataset ``tiny-blobs``."""
    with plugin_registered("tiny-blobs-plugin", [DatasetSpec("tiny-blobs", "test blobs", lambda options: tiny_dataset)]):
        yield tiny_dataset
