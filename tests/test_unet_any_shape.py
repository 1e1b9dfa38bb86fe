"""The U-Net at any C x H x W: shape from the data, recorded in the checkpoint, checked at run time;
the shipped weights found by dataset."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from colour_kit import colour_dataset
from denoisebench import ProviderContext
from denoisebench.datasets.base import DatasetSpec
from denoisebench.errors import DenoisebenchError
from denoisebench.providers.unet import UNet, UNetConfig, UNetProvider, UNetRecipe
from denoisebench.training.checkpoint import read_metadata, shipped_weights
from shared_kit import blob_images, plugin_registered

WEIGHTS = Path(__file__).resolve().parent.parent / "denoisebench" / "weights"
TINY = {"channels": (8, 16), "heads": 2, "groups": 4}
TINY_M = ["-m", "channels=8,16", "-m", "heads=2", "-m", "groups=4"]


@pytest.mark.parametrize("shape,patch", [((3, 12, 20), 2), ((1, 28, 28), 2), ((3, 9, 13), 1), ((3, 10, 14), 2)])
def test_the_unet_keeps_any_shape(shape: tuple[int, int, int], patch: int) -> None:
    c, h, w = shape
    cfg = UNetRecipe.config_for_data(UNetConfig(**TINY, patch=patch), shape, set())
    assert cfg.image_shape == shape
    net = UNet(cfg)
    torch.nn.init.normal_(net.head.weight)  # the zero-initialised head would hide a shape bug
    out = net(torch.randn(2, c, h, w), torch.tensor([1, 999]))
    assert out.shape == (2, c, h, w) and torch.isfinite(out).all()


def test_a_patch_that_does_not_divide_the_image_is_a_one_line_error() -> None:
    with pytest.raises(DenoisebenchError, match=r"patch 2 must divide the image's height and width \(9 x 13\): "
                                                r"use -m patch=1"):
        UNetRecipe.config_for_data(UNetConfig(**TINY), (3, 9, 13), set())


def test_model_options_that_contradict_the_data_are_refused() -> None:
    with pytest.raises(DenoisebenchError, match="-m in_channels=1 contradicts the dataset's 3 x 12 x 20 images"):
        UNetRecipe.config_for_data(UNetConfig(**TINY, in_channels=1), (3, 12, 20), {"in_channels"})


def test_old_configs_without_a_width_are_square() -> None:
    cfg = UNetRecipe.config_from_dict({"channels": [8, 16], "heads": 2, "groups": 4, "image_size": 28})
    assert cfg.image_shape == (1, 28, 28)


def test_the_shipped_weights_are_found_by_dataset_from_their_manifests() -> None:
    unet = shipped_weights("unet", WEIGHTS)
    assert unet["mnist-5k"][0].name == "unet-mnist-5k.safetensors"
    assert shipped_weights("kbnet", WEIGHTS)["mnist-5k"][0].name == "kbnet-mnist-5k.safetensors"


def _cli(args: list[str]) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of the CLI (click >= 8.2 keeps them apart)."""
    from denoisebench.cli import cli

    res = CliRunner().invoke(cli, args)
    return res.exit_code, res.stdout, res.stderr


@pytest.fixture(scope="module")
def datasets():  # noqa: ANN201
    colour = colour_dataset("tiny-colour", n=16)
    grey = colour_dataset("tiny-grey", channels=1, n=16)
    other_grey = colour_dataset("tiny-grey-b", channels=1, n=16, seed=7)
    blobs28 = colour_dataset("blobs-28", h=28, w=28, channels=1, n=16, seed=3)
    specs = [DatasetSpec(d.id, "test", (lambda options, d=d: d)) for d in (colour, grey, other_grey, blobs28)]
    with plugin_registered("any-shape-datasets", specs):
        yield {d.id: d for d in (colour, grey, other_grey, blobs28)}


def test_train_on_a_colour_dataset_records_its_shape_end_to_end(datasets, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "unet-colour.safetensors"
    code, stdout, _ = _cli(["train", "--provider", "unet", "--dataset", "tiny-colour", "--steps", "2",
                            "--batch-size", "4", "--warmup", "1", "--threads", "1", *TINY_M, "-o", str(out)])
    assert code == 0, stdout
    meta = read_metadata(out)
    assert json.loads(meta["image_shape"]) == [3, 12, 20] and meta["dataset"] == "tiny-colour"
    assert meta["dataset_hash"] == datasets["tiny-colour"].content_hash
    cfg = json.loads(meta["model_config"])
    assert (cfg["in_channels"], cfg["image_size"], cfg["image_width"]) == (3, 12, 20)
    provider = UNetProvider.from_context(ProviderContext(datasets["tiny-colour"], checkpoint=out))
    from denoisebench.diffusion.schedule import linear_schedule

    x = torch.randn(2, 3, 12, 20)
    assert provider.predict_eps(x, torch.tensor([3, 800]), linear_schedule(1000)).shape == x.shape
    assert "warnings" not in provider.info() and provider.info()["image_shape"] == [3, 12, 20]
    # another shape: one line naming both shapes and the command, nothing written
    results = tmp_path / "results"
    code, stdout, stderr = _cli(["run", "-p", "unet", "--checkpoint", str(out), "--dataset", "tiny-grey", "-n", "1",
                                 "--steps", "1", "--no-metrics", "--results-dir", str(results)])
    text = (stdout + stderr).strip()
    assert code == 2 and text.count("\n") == 0, text
    assert ("checkpoint unet-colour.safetensors was trained on 3 x 12 x 20 images (tiny-colour); dataset tiny-grey "
            "has 1 x 12 x 20: train one with 'denoisebench train --provider unet --dataset tiny-grey'") in text
    assert not results.exists() or not any(results.rglob("*"))


def test_another_dataset_of_the_same_shape_is_a_warning_in_run_json(datasets, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "unet-grey.safetensors"
    code, stdout, _ = _cli(["train", "--provider", "unet", "--dataset", "tiny-grey", "--steps", "1",
                            "--batch-size", "4", "--warmup", "1", "--threads", "1", *TINY_M, "-o", str(out)])
    assert code == 0, stdout
    results = tmp_path / "results"
    code, stdout, stderr = _cli(["run", "-p", "unet", "--checkpoint", str(out), "--dataset", "tiny-grey-b", "-n", "2",
                                 "--steps", "2", "--no-metrics", "--results-dir", str(results)])
    assert code == 0, stdout + stderr
    record = json.loads(next(results.rglob("run.json")).read_text())
    warnings = record["provider"]["info"]["warnings"]
    assert len(warnings) == 1 and "trained on dataset tiny-grey, not on tiny-grey-b" in warnings[0]


def test_run_without_a_checkpoint_picks_the_shipped_weights_of_the_dataset(datasets, tmp_path: Path) -> None:  # noqa: ANN001
    results = tmp_path / "results"
    code, stdout, stderr = _cli(["run", "-p", "unet", "--dataset", "tiny-colour", "-n", "1", "--steps", "1",
                                 "--no-metrics", "--results-dir", str(results)])
    text = (stdout + stderr).strip()
    assert code == 2 and text.count("\n") == 0
    assert ("no shipped unet checkpoint for dataset tiny-colour (shipped for: mnist-5k, skimage-patches-32): train one with "
            "'denoisebench train --provider unet --dataset tiny-colour") in text
    assert not results.exists() or not any(results.rglob("*"))
    # a 1 x 28 x 28 set of another name: none shipped for it either, although the shape fits
    with pytest.raises(DenoisebenchError, match="no shipped unet checkpoint for dataset blobs-28"):
        UNetProvider.from_context(ProviderContext(datasets["blobs-28"]))


def test_the_shipped_mnist_unet_is_legacy_1x28x28_and_refuses_colour(mnist5k) -> None:  # noqa: ANN001
    provider = UNetProvider.from_context(ProviderContext(mnist5k))
    assert provider.weights.path.name == "unet-mnist-5k.safetensors" and "warnings" not in provider.info()
    with pytest.raises(DenoisebenchError) as err:
        UNetProvider.from_context(ProviderContext(colour_dataset(), checkpoint=provider.weights.path))
    assert str(err.value).startswith("checkpoint unet-mnist-5k.safetensors was trained on 1 x 28 x 28 images "
                                     "(mnist-5k) (assumed for checkpoints that record no shape); dataset tiny-colour "
                                     "has 3 x 12 x 20")
    assert np.isfinite(blob_images(1, 0)).all()
