"""``imagefolder`` and ``npz``: the user's own files, and one-line errors on bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from denoisebench.datasets import imagefolder, npzfile
from denoisebench.datasets.base import DatasetOptions
from denoisebench.errors import DenoisebenchError

RNG = np.random.default_rng(1)


def save(path: Path, h: int, w: int, grey: bool = False, fmt: str | None = None) -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = RNG.integers(0, 256, (h, w) if grey else (h, w, 3), dtype=np.uint8)
    Image.fromarray(arr).save(path, format=fmt)
    return arr


def open_folder(root: Path, **params: str):  # noqa: ANN201
    return imagefolder.SPEC.open(DatasetOptions(data_dir=root, params=params))


def test_classes_are_first_subfolders_and_heldout_folder_is_used(tmp_path: Path) -> None:
    cat = save(tmp_path / "train" / "cat" / "a.png", 12, 10)
    save(tmp_path / "train" / "dog" / "deep" / "b.PNG", 12, 10)
    save(tmp_path / "train" / "loose.png", 12, 10)
    save(tmp_path / "test" / "dog" / "c.png", 12, 10)
    ds = open_folder(tmp_path)
    assert ds.image_shape == (3, 12, 10)
    assert ds.train_labels.tolist() == [0, 1, -1]  # sorted by relative path: cat/, dog/, loose.png
    assert ds.heldout_labels.tolist() == [1]
    assert np.array_equal(ds.train_images[0], cat)


def test_grey_files_give_one_channel_and_channels_option_converts(tmp_path: Path) -> None:
    grey = save(tmp_path / "train" / "a.png", 9, 9, grey=True)
    save(tmp_path / "heldout" / "b.png", 9, 9, grey=True)
    ds = open_folder(tmp_path)
    assert ds.image_shape == (1, 9, 9) and np.array_equal(ds.train_images[0], grey)
    rgb = open_folder(tmp_path, channels="3")
    assert rgb.image_shape == (3, 9, 9) and np.array_equal(rgb.train_images[0, ..., 1], grey)
    with pytest.raises(DenoisebenchError, match="option channels of dataset 'imagefolder' must be one of 1, 3"):
        open_folder(tmp_path, channels="2")


def test_size_resizes_short_side_then_centre_crops_non_square_files(tmp_path: Path) -> None:
    # a 40 x 80 (h x w) image: left half black, right half white; and a 30 x 30 one
    img = np.zeros((40, 80, 3), np.uint8)
    img[:, 40:] = 255
    (tmp_path / "train").mkdir()
    Image.fromarray(img).save(tmp_path / "train" / "wide.png")
    save(tmp_path / "train" / "square.png", 30, 30)
    save(tmp_path / "heldout" / "x.jpg", 50, 20)
    with pytest.raises(DenoisebenchError, match=r"differ in size \(train/square.png is 30x30, train/wide.png is "
                                                r"80x40 .*pass -D size="):
        open_folder(tmp_path)
    ds = open_folder(tmp_path, size="16")
    assert ds.image_shape == (3, 16, 16) and ds.heldout_images.shape == (1, 16, 16, 3)
    wide = ds.train_images[1]  # resized to 16 x 32, centre 16 columns: 8 black then 8 white
    assert wide[:, :7].max() == 0 and wide[:, 9:].min() == 255
    rect = open_folder(tmp_path, size="8x12")
    assert rect.image_shape == (3, 8, 12)
    with pytest.raises(DenoisebenchError, match="size of dataset 'imagefolder' must be at least 8"):
        open_folder(tmp_path, size="4")


def test_tiny_images_and_hidden_files(tmp_path: Path) -> None:
    save(tmp_path / "train" / "a.png", 6, 6)
    save(tmp_path / "heldout" / "b.png", 6, 6)
    (tmp_path / "train" / "._a.png").write_bytes(b"AppleDouble junk")
    with pytest.raises(DenoisebenchError, match=r"at least 8 x 8 pixels.*pass -D size="):
        open_folder(tmp_path)
    assert open_folder(tmp_path, size="8").image_shape == (3, 8, 8)


def test_split_by_file_name_hash_is_deterministic(tmp_path: Path) -> None:
    for i in range(40):
        save(tmp_path / "train" / f"{i:03d}.png", 8, 8)
    ds = open_folder(tmp_path)
    assert len(ds.train_images) + len(ds.heldout_images) == 40
    expected = sum(imagefolder.hash_fraction(f"{i:03d}.png") < 0.2 for i in range(40))
    assert len(ds.heldout_images) == expected > 0
    assert open_folder(tmp_path).content_hash == ds.content_hash
    half = open_folder(tmp_path, heldout_fraction="0.5")
    assert len(half.heldout_images) == sum(imagefolder.hash_fraction(f"{i:03d}.png") < 0.5 for i in range(40))
    with pytest.raises(DenoisebenchError, match="leaves no held-out image"):
        open_folder(tmp_path, heldout_fraction="0")


def test_bad_folders_and_files_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(DenoisebenchError, match="is not a folder"):
        open_folder(tmp_path / "missing")
    with pytest.raises(DenoisebenchError, match="has no train/ folder"):
        open_folder(tmp_path)
    (tmp_path / "train").mkdir()
    with pytest.raises(DenoisebenchError, match="holds no .png/.jpg/.jpeg files"):
        open_folder(tmp_path)
    save(tmp_path / "train" / "ok.png", 8, 8)
    good = (tmp_path / "train" / "ok.png").read_bytes()
    (tmp_path / "train" / "bad.png").write_bytes(good[: len(good) // 2])
    save(tmp_path / "heldout" / "h.png", 8, 8)
    with pytest.raises(DenoisebenchError, match=r"cannot read image .*train/bad.png .*replace or remove"):
        open_folder(tmp_path)
    with pytest.raises(DenoisebenchError, match="no option 'colour'"):
        open_folder(tmp_path, colour="1")
    with pytest.raises(DenoisebenchError, match="needs --data-dir DIR"):
        imagefolder.SPEC.open(DatasetOptions())


def test_npz_reads_colour_and_grey_arrays_without_pickles(tmp_path: Path) -> None:
    train = RNG.integers(0, 256, (5, 10, 12, 3), dtype=np.uint8)
    heldout = RNG.integers(0, 256, (2, 10, 12, 3), dtype=np.uint8)
    np.savez(tmp_path / "d.npz", train=train, heldout=heldout, train_labels=np.arange(5))
    ds = npzfile.SPEC.open(DatasetOptions(data_dir=tmp_path / "d.npz"))
    assert ds.image_shape == (3, 10, 12) and np.array_equal(ds.heldout_images, heldout)
    assert ds.train_labels.tolist() == [0, 1, 2, 3, 4] and ds.heldout_labels.tolist() == [-1, -1]
    np.savez(tmp_path / "g.npz", train=train[..., 0], heldout=heldout[..., 0])
    assert npzfile.SPEC.open(DatasetOptions(data_dir=tmp_path / "g.npz")).image_shape == (1, 10, 12)
    np.savez(tmp_path / "obj.npz", train=np.array([object()] * 3), heldout=heldout)
    with pytest.raises(DenoisebenchError, match="obj.npz"):
        npzfile.SPEC.open(DatasetOptions(data_dir=tmp_path / "obj.npz"))
    np.savez(tmp_path / "f.npz", train=train.astype(np.float32), heldout=heldout)
    with pytest.raises(DenoisebenchError, match="array 'train' must be a uint8 .*float32"):
        npzfile.SPEC.open(DatasetOptions(data_dir=tmp_path / "f.npz"))
    np.savez(tmp_path / "m.npz", train=train)
    with pytest.raises(DenoisebenchError, match="has no array 'heldout'"):
        npzfile.SPEC.open(DatasetOptions(data_dir=tmp_path / "m.npz"))
    np.savez(tmp_path / "s.npz", train=train, heldout=heldout[:, :8, :8])
    with pytest.raises(DenoisebenchError, match="differ in shape"):
        npzfile.SPEC.open(DatasetOptions(data_dir=tmp_path / "s.npz"))
    with pytest.raises(DenoisebenchError, match="is not a file"):
        npzfile.SPEC.open(DatasetOptions(data_dir=tmp_path / "none.npz"))
