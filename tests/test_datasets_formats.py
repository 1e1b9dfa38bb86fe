"""The torchvision-layout datasets, read from tiny files the tests write in the published formats."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from denoisebench.datasets import celeba, cifar, fashion_mnist, svhn
from denoisebench.datasets.base import DatasetOptions
from denoisebench.datasets.located import locate
from denoisebench.errors import DenoisebenchError

RNG = np.random.default_rng(0)


def write_cifar_python(folder: Path, names: list[str], n: int, label_key: str) -> dict[str, tuple]:
    folder.mkdir(parents=True)
    out = {}
    for name in names:
        data = RNG.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = [int(v) for v in RNG.integers(0, 10, n)]
        with open(folder / name, "wb") as f:
            pickle.dump({"batch_label": "x", label_key: labels, "data": data, "filenames": ["a"] * n}, f, protocol=2)
        out[name] = (data, labels)
    return out


def nhwc(rows: np.ndarray) -> np.ndarray:
    return rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


def test_cifar10_python_batches_read_in_order_with_test_as_heldout(tmp_path: Path) -> None:
    written = write_cifar_python(tmp_path / "cifar-10-batches-py", [*cifar.BATCHES, "test_batch"], 3, "labels")
    ds = cifar.SPEC_CIFAR10.open(DatasetOptions(data_dir=tmp_path))
    assert ds.image_shape == (3, 32, 32) and ds.train_images.shape == (15, 32, 32, 3)
    assert np.array_equal(ds.train_images, nhwc(np.concatenate([written[b][0] for b in cifar.BATCHES])))
    assert ds.train_labels.tolist() == sum((written[b][1] for b in cifar.BATCHES), [])
    assert np.array_equal(ds.heldout_images, nhwc(written["test_batch"][0]))
    # pixel (0, 0) of image 0: R, G, B are bytes 0, 1024 and 2048 of its row (the documented layout)
    row = written["data_batch_1"][0][0]
    assert ds.train_images[0, 0, 0].tolist() == [row[0], row[1024], row[2048]]


def test_cifar_caps_keep_a_prefix(tmp_path: Path) -> None:
    write_cifar_python(tmp_path / "cifar-10-batches-py", [*cifar.BATCHES, "test_batch"], 3, "labels")
    full = cifar.SPEC_CIFAR10.open(DatasetOptions(data_dir=tmp_path))
    ds = cifar.SPEC_CIFAR10.open(DatasetOptions(data_dir=tmp_path, params={"train": "4", "heldout": "2"}))
    assert np.array_equal(ds.train_images, full.train_images[:4]) and len(ds.heldout_images) == 2
    assert ds.describe()["options"] == {"heldout": "2", "train": "4"}
    with pytest.raises(DenoisebenchError, match="option train of dataset 'cifar10' must"):
        cifar.SPEC_CIFAR10.open(DatasetOptions(data_dir=tmp_path, params={"train": "0"}))
    with pytest.raises(DenoisebenchError, match="no option 'size'.*its options are heldout, train"):
        cifar.SPEC_CIFAR10.open(DatasetOptions(data_dir=tmp_path, params={"size": "64"}))


class Exploit:
    def __reduce__(self):  # noqa: ANN204
        return (Path.touch, (Path("/tmp/denoisebench-pwned-marker"),))


def test_cifar_unpickler_refuses_any_global_but_numpy_arrays(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar_python(folder, [*cifar.BATCHES, "test_batch"], 2, "labels")
    with open(folder / "data_batch_3", "wb") as f:
        pickle.dump({"data": Exploit(), "labels": [0]}, f, protocol=2)
    marker = Path("/tmp/denoisebench-pwned-marker")
    marker.unlink(missing_ok=True)
    with pytest.raises(DenoisebenchError, match=r"data_batch_3 .*not allowed"):
        cifar.SPEC_CIFAR10.open(DatasetOptions(data_dir=tmp_path))
    assert not marker.exists()


def test_cifar100_binary_version_uses_the_fine_label(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-100-binary"
    folder.mkdir()
    recs = {}
    for name, n in (("train.bin", 5), ("test.bin", 2)):
        coarse, fine = RNG.integers(0, 20, n, dtype=np.uint8), RNG.integers(0, 100, n, dtype=np.uint8)
        pixels = RNG.integers(0, 256, (n, 3072), dtype=np.uint8)
        np.concatenate([coarse[:, None], fine[:, None], pixels], 1).tofile(folder / name)
        recs[name] = (fine, pixels)
    ds = cifar.SPEC_CIFAR100.open(DatasetOptions(data_dir=folder))  # the variant folder itself works too
    assert ds.train_labels.tolist() == recs["train.bin"][0].tolist()
    assert np.array_equal(ds.heldout_images, nhwc(recs["test.bin"][1]))
    (folder / "test.bin").write_bytes(b"\x00" * 100)
    with pytest.raises(DenoisebenchError, match="not a multiple of 3074"):
        cifar.SPEC_CIFAR100.open(DatasetOptions(data_dir=tmp_path))


def test_missing_files_say_which_files_go_where(tmp_path: Path) -> None:
    for spec, names in ((cifar.SPEC_CIFAR10, "cifar-10-batches-py"), (svhn.SPEC, "train_32x32.mat"),
                        (celeba.SPEC, "list_eval_partition.txt"), (fashion_mnist.SPEC, "t10k-images-idx3-ubyte")):
        with pytest.raises(DenoisebenchError, match=f"--data-dir .*lacks the {spec.id} files: put .*{names}"):
            spec.open(DatasetOptions(data_dir=tmp_path))
        assert spec.files_present(DatasetOptions(data_dir=tmp_path)) is False


def test_offline_download_failure_is_one_line_naming_the_files(tmp_path: Path) -> None:
    def offline(cache: Path) -> None:
        raise OSError("network is unreachable")

    with pytest.raises(DenoisebenchError, match=r"cannot download svhn into .*\(OSError\).*--data-dir DIR with "
                                                "train_32x32.mat"):
        locate("svhn", DatasetOptions(cache_dir=tmp_path / "cache"), svhn.find, offline, svhn.WHERE)


def test_cache_is_used_before_any_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_svhn(tmp_path / "svhn", 3, 2)
    monkeypatch.setattr(svhn, "_download", lambda cache: pytest.fail("must not download"))
    ds = svhn.SPEC.open(DatasetOptions(cache_dir=tmp_path))
    assert len(ds.train_images) == 3
    assert svhn.SPEC.files_present(DatasetOptions(cache_dir=tmp_path))


def write_svhn(folder: Path, n_train: int, n_test: int) -> dict[str, tuple]:
    import scipy.io

    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, n in (("train_32x32.mat", n_train), ("test_32x32.mat", n_test)):
        x = RNG.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
        y = RNG.integers(1, 11, (n, 1)).astype(np.uint8)
        y[0, 0] = 10
        scipy.io.savemat(folder / name, {"X": x, "y": y})
        out[name] = (x, y)
    return out


def test_svhn_mat_files_map_label_10_to_0(tmp_path: Path) -> None:
    written = write_svhn(tmp_path, 4, 3)
    ds = svhn.SPEC.open(DatasetOptions(data_dir=tmp_path))
    x, y = written["train_32x32.mat"]
    assert np.array_equal(ds.train_images, x.transpose(3, 0, 1, 2))
    assert ds.train_labels[0] == 0 and ds.train_labels.tolist()[1:] == [v % 10 for v in y[1:, 0].tolist()]
    assert ds.heldout_images.shape == (3, 32, 32, 3)


def write_idx(path: Path, arr: np.ndarray) -> None:
    header = struct.pack(">HBB", 0, 0x08, arr.ndim) + b"".join(struct.pack(">I", d) for d in arr.shape)
    path.write_bytes(gzip.compress(header + arr.astype(np.uint8).tobytes()))


def test_fashion_mnist_reads_gzipped_idx_in_torchvisions_raw_folder(tmp_path: Path) -> None:
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    arrays = {"train_images": RNG.integers(0, 256, (6, 28, 28)), "train_labels": RNG.integers(0, 10, 6),
              "test_images": RNG.integers(0, 256, (2, 28, 28)), "test_labels": RNG.integers(0, 10, 2)}
    for key, arr in arrays.items():
        write_idx(raw / (fashion_mnist.FILES[key] + ".gz"), arr)
    ds = fashion_mnist.SPEC.open(DatasetOptions(data_dir=tmp_path))
    assert ds.image_shape == (1, 28, 28) and ds.id == "fashion-mnist"
    assert np.array_equal(ds.train_images, arrays["train_images"])
    assert ds.heldout_labels.tolist() == arrays["test_labels"].tolist()


def test_celeba_uses_official_partitions_and_ddims_crop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    folder = tmp_path / "celeba" / "img_align_celeba"
    folder.mkdir(parents=True)
    lines = []
    for i, part in enumerate([0, 0, 1, 2, 0, 2]):
        img = np.zeros((218, 178, 3), np.uint8)
        img[57:185, 25:153] = (10 * i, 100, 200)  # DDIM's crop box is uniform; outside stays black
        Image.fromarray(img).save(folder / f"{i + 1:06d}.png")  # lossless stand-in for the JPEGs
        lines.append(f"{i + 1:06d}.png {part}")
    (tmp_path / "celeba" / "list_eval_partition.txt").write_text("\n".join(lines) + "\n")
    ds = celeba.SPEC.open(DatasetOptions(data_dir=tmp_path))
    assert ds.train_images.shape == (3, 64, 64, 3) and ds.heldout_images.shape == (2, 64, 64, 3)
    # the crop lies exactly inside the coloured square: every output pixel is its colour
    assert (ds.train_images[1] == np.array([10, 100, 200], np.uint8)).all()
    assert (ds.heldout_images[0] == np.array([30, 100, 200], np.uint8)).all()
    capped = celeba.SPEC.open(DatasetOptions(data_dir=tmp_path, params={"heldout": "1"}))
    assert len(capped.heldout_images) == 1
    # decoded once: a second load reads the cache; a changed folder is decoded again
    monkeypatch.setattr(celeba, "_read_one", lambda path: pytest.fail("decoded again"))
    assert celeba.SPEC.open(DatasetOptions(data_dir=tmp_path)).content_hash == ds.content_hash
    monkeypatch.undo()
    (folder / "000001.png").unlink()
    with pytest.raises(DenoisebenchError, match="000001.png is listed in list_eval_partition.txt but missing"):
        celeba.SPEC.open(DatasetOptions(data_dir=tmp_path))


class Py2Array:
    """Pickles as the original (Python 2) CIFAR batches do: numpy.core.multiarray._reconstruct with
    the pixel bytes as a str (BINSTRING there), which the latin-1 decoding turns back into bytes."""

    def __init__(self, arr: np.ndarray) -> None:
        self.arr = arr

    def __reduce__(self):  # noqa: ANN204
        return (cifar._numpy_globals()[("numpy.core.multiarray", "_reconstruct")], (np.ndarray, (0,), "b"),
                (1, self.arr.shape, self.arr.dtype, False, self.arr.tobytes().decode("latin1")))


def test_cifar_reads_python2_style_batches(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    data = {}
    for name in (*cifar.BATCHES, "test_batch"):
        data[name] = RNG.integers(0, 256, (2, 3072), dtype=np.uint8)
        raw = pickle.dumps({"data": Py2Array(data[name]), "labels": [3, 4]}, protocol=2)
        raw = raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")  # the originals' module name
        assert b"_codecs" not in raw
        (folder / name).write_bytes(raw)
    ds = cifar.SPEC_CIFAR10.open(DatasetOptions(data_dir=tmp_path))
    assert np.array_equal(ds.heldout_images, nhwc(data["test_batch"])) and ds.train_labels.tolist() == [3, 4] * 5
