"""Datasets: the offline default split and the torchvision MNIST paths (on IDX files we write)."""

from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

from denoisebench.datasets.base import DatasetOptions, ImageDataset
from denoisebench.datasets.mnist import FILES, load_mnist
from denoisebench.datasets.mnist5k import stratified_split
from denoisebench.errors import DenoisebenchError


def test_mnist5k_split_is_4000_1000_stratified_and_disjoint(mnist5k: ImageDataset) -> None:
    assert mnist5k.train_images.shape == (4000, 28, 28)
    assert mnist5k.heldout_images.shape == (1000, 28, 28)
    all_labels = np.concatenate([mnist5k.train_labels, mnist5k.heldout_labels])
    for c in range(10):
        share = (all_labels == c).sum() / 5
        assert abs((mnist5k.heldout_labels == c).sum() - share) <= 1
    train_rows = {row.tobytes() for row in mnist5k.train_images}
    assert sum(row.tobytes() in train_rows for row in mnist5k.heldout_images) <= 2  # MNIST has rare duplicates


def test_mnist5k_is_identical_on_reload(mnist5k: ImageDataset) -> None:
    from denoisebench.datasets.mnist5k import load_mnist5k

    again = load_mnist5k(DatasetOptions())
    assert again.content_hash == mnist5k.content_hash
    assert len(mnist5k.content_hash) == 64


def test_stratified_split_uses_largest_remainders() -> None:
    labels = np.array([0] * 7 + [1] * 2 + [2] * 1)
    mask = stratified_split(labels, 5, salt="x")
    assert mask.sum() == 5
    assert (mask & (labels == 0)).sum() in (3, 4)


def write_idx(path: Path, arr: np.ndarray, compress: bool) -> None:
    header = struct.pack(">HBB", 0, 0x08, arr.ndim) + b"".join(struct.pack(">I", d) for d in arr.shape)
    data = header + arr.astype(np.uint8).tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)


def write_fake_mnist(folder: Path, compress: bool = False) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    arrays = {"train_images": rng.integers(0, 256, (30, 28, 28)), "train_labels": rng.integers(0, 10, 30),
              "test_images": rng.integers(0, 256, (10, 28, 28)), "test_labels": rng.integers(0, 10, 10)}
    folder.mkdir(parents=True, exist_ok=True)
    for key, arr in arrays.items():
        write_idx(folder / FILES[key], arr, compress)
    return arrays


@pytest.mark.parametrize("compress", [False, True])
def test_mnist_reads_idx_files_from_data_dir(tmp_path: Path, compress: bool) -> None:
    arrays = write_fake_mnist(tmp_path, compress)
    ds = load_mnist(DatasetOptions(data_dir=tmp_path))
    assert ds.id == "mnist"
    assert np.array_equal(ds.train_images, arrays["train_images"])
    assert np.array_equal(ds.heldout_labels, arrays["test_labels"])


def test_mnist_missing_files_names_both_remedies(tmp_path: Path) -> None:
    with pytest.raises(DenoisebenchError, match="--data-dir.*download"):
        load_mnist(DatasetOptions(data_dir=tmp_path))


@pytest.fixture
def serve_from(monkeypatch: pytest.MonkeyPatch):
    """Point torchvision's MNIST mirrors at a loopback HTTP server over a folder."""
    import functools
    import http.server
    import threading

    from torchvision.datasets import MNIST

    servers = []

    def start(folder: Path) -> None:
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
        handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        resources = []
        for k in FILES:
            gz = folder / f"{FILES[k]}.gz"
            resources.append((gz.name, hashlib.md5(gz.read_bytes()).hexdigest() if gz.exists() else "0" * 32))
        monkeypatch.setattr(MNIST, "mirrors", [f"http://127.0.0.1:{server.server_port}/"])
        monkeypatch.setattr(MNIST, "resources", resources)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_mnist_download_path_through_torchvision(tmp_path: Path, serve_from) -> None:
    server = tmp_path / "server"
    arrays = write_fake_mnist(server, compress=True)
    serve_from(server)
    ds = load_mnist(DatasetOptions(cache_dir=tmp_path / "cache"))
    assert np.array_equal(ds.train_images, arrays["train_images"])
    assert (tmp_path / "cache" / "MNIST" / "raw" / FILES["train_images"]).exists()


def test_mnist_offline_without_files_is_one_line_error(tmp_path: Path, serve_from) -> None:
    (tmp_path / "empty").mkdir()
    serve_from(tmp_path / "empty")
    with pytest.raises(DenoisebenchError) as err:
        load_mnist(DatasetOptions(cache_dir=tmp_path / "cache"))
    msg = str(err.value)
    assert "\n" not in msg and "--data-dir" in msg and "internet" in msg
