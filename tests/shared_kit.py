"""Helpers the tests import (by this module's name, which is unique, unlike ``conftest``).

The plugin packages' test folders have conftest modules of their own; importing helpers from
``conftest`` would get whichever conftest pytest loaded last.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from denoisebench.datasets.base import DatasetSpec, ImageDataset


def blob_images(n: int, seed: int, size: int = 28) -> np.ndarray:
    """n uint8 images, each a bright Gaussian blob at a random place on black."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    cy, cx = rng.uniform(6, size - 6, (2, n, 1, 1))
    r = rng.uniform(2, 5, (n, 1, 1))
    img = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r ** 2))
    return (img * 255).round().astype(np.uint8)


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


@contextmanager
def benched_blob_suite(root: Path, suite: str, dataset_id: str, plugin: str, providers: Iterable[type] = ()
                       ) -> Iterator[Path]:
    """``suite`` (TOML text) written to ``root`` and run by ``denoisebench bench`` on a blob dataset
    ``dataset_id`` (40 train / 30 held-out images); the plugin stays registered inside the block."""
    from click.testing import CliRunner

    from denoisebench.cli import cli

    data = ImageDataset(dataset_id, blob_images(40, 1), np.arange(40) % 4, blob_images(30, 2), np.arange(30) % 4)
    with plugin_registered(plugin, [DatasetSpec(dataset_id, "test blobs", lambda options: data)], providers):
        (root / "suite.toml").write_text(suite)
        res = CliRunner().invoke(cli, ["bench", str(root / "suite.toml")])
        assert res.exit_code == 0, res.output
        yield root
