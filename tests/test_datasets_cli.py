"""``skimage-patches-32``, ``denoisebench datasets --json`` and ``-D KEY=VALUE`` on run, train and suites."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from denoisebench.cli import cli
from denoisebench.datasets import skimage_patches
from denoisebench.datasets.base import DatasetOptions
from denoisebench.errors import DenoisebenchError
from denoisebench.plugins.manager import get_registry
from denoisebench.suite import expand, parse_suite


def test_skimage_patches_are_disjoint_regions_fixed_recipe_and_fast() -> None:
    start = time.perf_counter()
    ds = get_registry().dataset("skimage-patches-32").open(DatasetOptions())
    assert time.perf_counter() - start < 2.0
    assert ds.image_shape == (3, 32, 32)
    spec = skimage_patches.SPEC
    assert (len(ds.train_images), len(ds.heldout_images)) == spec.sizes
    assert 2000 <= spec.sizes[0] and 300 <= spec.sizes[1]
    assert set(ds.train_labels.tolist()) == set(ds.heldout_labels.tolist()) == set(range(len(skimage_patches.PHOTOS)))
    # no held-out patch occurs among the train patches (disjoint regions of each photograph)
    train = {p.tobytes() for p in ds.train_images}
    assert not any(p.tobytes() in train for p in ds.heldout_images)
    # patch 0 is the top-left corner of the first photograph; the first held-out one starts one patch past the cut
    photo = skimage_patches.PHOTOS[0][1]()
    cut = int(photo.shape[1] * 0.8)
    assert np.array_equal(ds.train_images[0], photo[:32, :32])
    assert np.array_equal(ds.train_images[1], photo[:32, 16:48])
    assert np.array_equal(ds.heldout_images[0], photo[:32, cut + 32:cut + 64])
    assert get_registry().dataset("skimage-patches-32").open(DatasetOptions()).content_hash == ds.content_hash


def test_grid_patches_counts_follow_the_stride() -> None:
    region = np.zeros((64, 80, 3), np.uint8)
    assert skimage_patches.grid_patches(region).shape == (3 * 4, 32, 32, 3)  # rows 0,16,32; cols 0,16,32,48
    assert skimage_patches.grid_patches(region[:, :31]).shape[0] == 0


def test_datasets_json_lists_shape_sizes_source_and_presence(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["datasets", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in json.loads(result.output)}
    assert {"mnist-5k", "mnist", "fashion-mnist", "cifar10", "cifar100", "svhn", "celeba", "imagefolder", "npz",
            "skimage-patches-32"} <= set(rows)
    assert rows["skimage-patches-32"]["shape"] == [3, 32, 32] and rows["skimage-patches-32"]["files_present"]
    assert rows["celeba"]["shape"] == [3, 64, 64] and rows["cifar10"]["train"] == 50000
    assert rows["imagefolder"]["shape"] is None and "size" in rows["imagefolder"]["options"]
    assert rows["mnist-5k"]["files_present"] is True
    (tmp_path / "cifar-10-batches-py").mkdir()
    for name in ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"):
        (tmp_path / "cifar-10-batches-py" / name).write_bytes(b"")
    result = CliRunner().invoke(cli, ["datasets", "--json", "--data-dir", str(tmp_path)])
    rows = {r["id"]: r for r in json.loads(result.output)}
    assert rows["cifar10"]["files_present"] is True and rows["svhn"]["files_present"] is False


def write_grey_npz(path: Path) -> None:
    rng = np.random.default_rng(0)
    np.savez(path, train=rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
             heldout=rng.integers(0, 256, (10, 28, 28), dtype=np.uint8))


def test_run_passes_dataset_options_and_records_them(tmp_path: Path) -> None:
    write_grey_npz(tmp_path / "d.npz")
    args = ["run", "-p", "empirical", "--dataset", "npz", "--data-dir", str(tmp_path / "d.npz"), "-n", "2",
            "--steps", "2", "--sampler", "ddim", "--no-metrics", "--results-dir", str(tmp_path / "r")]
    result = CliRunner().invoke(cli, [*args, "-D", "train=12", "--dataset-option", "heldout=5"])
    assert result.exit_code == 0, result.output
    record = json.loads(next((tmp_path / "r").glob("*/run.json")).read_text())
    assert record["dataset"]["train"] == 12 and record["dataset"]["heldout"] == 5
    assert record["dataset"]["options"] == {"heldout": "5", "train": "12"}
    bad = CliRunner().invoke(cli, [*args[:-1], str(tmp_path / "r2"), "-D", "size=64"])
    assert bad.exit_code == 2 and "dataset 'npz' has no option 'size'" in bad.output
    assert not (tmp_path / "r2").exists()
    bad = CliRunner().invoke(cli, [*args[:-1], str(tmp_path / "r2"), "-D", "train"])
    assert bad.exit_code == 2 and "--dataset-option must be KEY=VALUE" in bad.output


def test_train_refuses_unknown_dataset_option_before_writing(tmp_path: Path) -> None:
    write_grey_npz(tmp_path / "d.npz")
    out = tmp_path / "w.safetensors"
    result = CliRunner().invoke(cli, ["train", "-p", "unet", "--dataset", "npz", "--data-dir", str(tmp_path / "d.npz"),
                                      "-D", "colour=1", "--steps", "1", "-o", str(out)])
    assert result.exit_code == 2 and "dataset 'npz' has no option 'colour'" in result.output
    assert not out.exists()


SUITE = """\
[suite]
dataset = "npz"
dataset_options = { train = 20 }

[[entry]]
provider = "empirical"

[[entry]]
provider = "wiener"
label = "w"
dataset_options = { heldout = 4 }

[[sampler]]
name = "ddim"
steps = 2
"""


def test_suite_dataset_options_merge_entry_over_suite_and_enter_the_cell_key() -> None:
    cells = expand(parse_suite(SUITE, Path("s.toml")))
    assert cells[0].dataset_options == {"train": "20"}
    assert cells[1].dataset_options == {"train": "20", "heldout": "4"}
    assert cells[1].key["dataset_options"] == {"heldout": "4", "train": "20"}
    assert cells[1].run_config(Path("r"), "s").dataset_options == {"train": "20", "heldout": "4"}
    plain = expand(parse_suite(SUITE.replace("dataset_options = { train = 20 }\n", "")
                               .replace('dataset_options = { heldout = 4 }\n', ""), Path("s.toml")))
    assert "dataset_options" not in plain[0].key  # cells without options keep their old hashes


def test_suite_unknown_dataset_option_names_line_and_key() -> None:
    text = SUITE.replace("{ heldout = 4 }", "{ size = 64 }")
    with pytest.raises(DenoisebenchError, match=r"s.toml line 11, \[\[entry\]\] 2, key 'dataset_options': "
                                                "dataset 'npz' has no option 'size'"):
        expand(parse_suite(text, Path("s.toml")))
