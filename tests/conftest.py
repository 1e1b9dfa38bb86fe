"""Shared fixtures: tiny datasets and an isolated cache and plugin registry."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import numpy as np
import pytest

from denoisebench.datasets.base import DatasetSpec, ImageDataset


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DENOISEBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(autouse=True)
def _fresh_registry() -> None:
    from denoisebench.plugins import manager as plugins

    plugins.reset()
    yield
    plugins.reset()


def blob_images(n: int, seed: int, size: int = 28) -> np.ndarray:
    """n uint8 images, each a bright Gaussian blob at a random place on black."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    cy, cx = rng.uniform(6, size - 6, (2, n, 1, 1))
    r = rng.uniform(2, 5, (n, 1, 1))
    img = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r ** 2))
    return (img * 255).round().astype(np.uint8)


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


@contextmanager
def plugin_registered(name: str, datasets: Iterable[DatasetSpec] = (), providers: Iterable[type] = ()
                      ) -> Iterator[None]:
    """A run-time plugin registering ``datasets`` and ``providers`` for the duration of the block."""
    from denoisebench.plugins import manager as plugins
    from denoisebench.plugins.hookspecs import hookimpl

    datasets, providers = list(datasets), list(providers)

    class Plugin:
        @hookimpl
        def register_datasets(self, register):  # noqa: ANN001
            for spec in datasets:
                register(spec)

        @hookimpl
        def register_providers(self, register):  # noqa: ANN001
            for cls in providers:
                register(cls)

    plugins.register_plugin(Plugin(), name)
    try:
        yield
    finally:
        plugins.unregister_plugin(name)


@pytest.fixture
def tiny_registered(tiny_dataset: ImageDataset) -> Iterator[ImageDataset]:
    """The session's tiny blob dataset, registered as dataset ``tiny-blobs``."""
    with plugin_registered("tiny-blobs-plugin", [DatasetSpec("tiny-blobs", "test blobs", lambda options: tiny_dataset)]):
        yield tiny_dataset
