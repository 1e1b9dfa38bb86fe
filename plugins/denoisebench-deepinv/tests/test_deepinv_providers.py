"""denoisebench-deepinv: discovery, no downloads, weights resolution, padding, the noise-level
rules against independent references, and the provider contract (networks with small random
weights the tests write)."""

from __future__ import annotations

import importlib.metadata
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import save_file

from denoisebench import DenoisebenchError, ProviderContext
from denoisebench.cli import cli
from denoisebench.cli import listing as _providers_verb  # noqa: F401  (registers the verb)
from denoisebench.plugins import manager as plugins
from denoisebench.testing import check_provider, synthetic_dataset
from denoisebench_deepinv import PROVIDERS
from denoisebench_deepinv.classical import TVProvider
from denoisebench_deepinv.drunet import BenchDRUNet, DRUNetConfig, DRUNetRecipe, infer_drunet_arch
from denoisebench_deepinv.networks import (DnCNNProvider, DRUNetProvider, GSDRUNetProvider, RestormerProvider,
                                           SCUNetProvider, SwinIRProvider)
from denoisebench_deepinv.padding import crop, pad_to_multiple

NAMES = [cls.name for cls in PROVIDERS]
#: A few steps across the trajectory (the full 1..1000 sweep is for the cheap classical ones).
SOME_T = [1, 2, 10, 100, 400, 700, 1000]


def provider(name: str, checkpoint: Path | None = None, **options: str):  # type: ignore[no-untyped-def]
    cls, _ = plugins.get_registry().provider(name)
    return cls.from_context(ProviderContext(dataset=synthetic_dataset(), checkpoint=checkpoint, options=options))


def noisy_batch(s: float, n: int = 4, size: int = 28) -> tuple[torch.Tensor, torch.Tensor]:
    clean = torch.from_numpy(synthetic_dataset(size=size).heldout_images[:n].astype(np.float32)[:, None] / 255)
    noise = torch.from_numpy(np.random.default_rng(0).standard_normal(clean.shape).astype(np.float32))
    return clean, clean + s * noise


# --- discovery --------------------------------------------------------------------------------

def test_entry_point_and_cli_listing() -> None:
    [ep] = [ep for ep in importlib.metadata.entry_points(group="denoisebench") if ep.name == "deepinv"]
    assert ep.value == "denoisebench_deepinv" and ep.dist is not None and ep.dist.name == "denoisebench-deepinv"
    result = CliRunner().invoke(cli, ["providers", "--json"], catch_exceptions=False)
    rows = {r["name"]: r for r in json.loads(result.stdout)["providers"]}
    for name in ("deepinv-drunet", "deepinv-dncnn", "deepinv-gsdrunet", "deepinv-scunet", "deepinv-restormer",
                 "deepinv-swinir", "deepinv-tv", "deepinv-wavelet", "deepinv-bm3d", "deepinv-median"):
        assert (rows[name]["plugin"], rows[name]["distribution"], rows[name]["kind"]) == (
            "deepinv", "denoisebench-deepinv", "restoration"), name


@pytest.mark.parametrize("cls", PROVIDERS)
def test_declared_noise_range_and_blindness(cls: type) -> None:
    lo, hi = cls.noise_range
    assert 0 <= lo <= hi and isinstance(cls.blind, bool)
    assert cls.takes_checkpoint() == (cls.__module__.endswith("networks"))


# --- weights: never downloaded ------------------------------------------------------------------

@pytest.mark.parametrize("name", ["deepinv-drunet", "deepinv-dncnn", "deepinv-gsdrunet", "deepinv-scunet",
                                  "deepinv-restormer", "deepinv-swinir"])
def test_missing_weights_is_one_line_naming_both_remedies(name: str, empty_torch_hub: Path) -> None:
    with pytest.raises(DenoisebenchError) as info:
        provider(name)
    message = str(info.value)
    assert "\n" not in message and "--checkpoint PATH" in message
    assert str(empty_torch_hub / "checkpoints") in message and "https://" in message


def test_missing_checkpoint_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(DenoisebenchError, match="does not exist") as info:
        provider("deepinv-dncnn", checkpoint=tmp_path / "nope.pth")
    assert "\n" not in str(info.value)


def small_dncnn_state() -> dict[str, torch.Tensor]:
    from deepinv.models import DnCNN

    torch.manual_seed(0)
    return DnCNN(in_channels=1, out_channels=1, depth=4, nf=8, pretrained=None).state_dict()


def test_weights_in_deepinv_cache_are_found(empty_torch_hub: Path) -> None:
    (empty_torch_hub / "checkpoints").mkdir()
    torch.save(small_dncnn_state(), empty_torch_hub / "checkpoints" / DnCNNProvider.official.file_name)
    p = provider("deepinv-dncnn")
    assert p.info()["weights_found_in"] == "deepinv cache" and p.info()["parameters"] > 0


def test_a_foreign_file_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(3, 3)}, path)
    with pytest.raises(DenoisebenchError) as info:
        provider("deepinv-dncnn", checkpoint=path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_pickled_objects_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pth"
    torch.save({"in_conv.weight": torch.zeros(8, 1, 3, 3), "extra": object()}, path)
    with pytest.raises(DenoisebenchError, match="could not be read"):
        provider("deepinv-dncnn", checkpoint=path)


# --- padding ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("h", "w", "multiple", "minimum"), [(28, 28, 8, 0), (13, 21, 8, 0), (28, 28, 8, 32),
                                                              (5, 7, 64, 0), (32, 24, 8, 0)])
def test_pad_then_crop_restores_the_image(h: int, w: int, multiple: int, minimum: int) -> None:
    x = torch.rand(2, 1, h, w)
    padded, pads = pad_to_multiple(x, multiple, minimum)
    hp, wp = padded.shape[-2:]
    assert hp % multiple == 0 and wp % multiple == 0 and hp >= max(h, minimum) and wp >= max(w, minimum)
    assert hp - h < multiple + max(minimum - h, 0) and wp - w < multiple + max(minimum - w, 0)
    torch.testing.assert_close(crop(padded, pads), x, rtol=0, atol=0)
    if pads[0] and pads[0] < h:  # reflection: the row above the image mirrors the row below its top
        torch.testing.assert_close(padded[..., pads[0] - 1, pads[2]:pads[2] + w], x[..., 1, :], rtol=0, atol=0)


def test_drunet_pads_by_reflection_to_32_and_crops_back() -> None:
    torch.manual_seed(0)
    net = BenchDRUNet(DRUNetConfig(nc=(4, 4, 4, 4), nb=1, precond="none")).eval()
    y, s = torch.rand(2, 1, 28, 28), torch.tensor([0.1, 0.5])
    with torch.no_grad():
        out = net(y, s)
        padded = torch.nn.functional.pad(y, (2, 2, 2, 2), mode="reflect")
        noise_map = s.view(-1, 1, 1, 1).expand(-1, 1, 32, 32)
        expected = net.forward_unet(torch.cat([padded, noise_map], 1))[..., 2:30, 2:30]
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("size", [28, 13, 40])
def test_an_identity_network_returns_its_input_at_any_size(size: int, tmp_path: Path) -> None:
    """DnCNN is x + out_conv(...): zero the last layer and the provider must give y back exactly."""
    state = small_dncnn_state()
    state["out_conv.weight"].zero_()
    state["out_conv.bias"].zero_()
    save_file(state, str(tmp_path / "id.safetensors"))
    _, y = noisy_batch(0.2, size=size)
    torch.testing.assert_close(provider("deepinv-dncnn", checkpoint=tmp_path / "id.safetensors").denoise(y, None), y)


# --- the DRUNet recipe and its checkpoints ----------------------------------------------------------

def test_edm_preconditioning_closed_form() -> None:
    """With the network's output zeroed, D(y, s) = 0.5 + d^2 / (s^2 + d^2) (y - 0.5), d = 0.5."""
    net = BenchDRUNet(DRUNetConfig(nc=(4, 4, 4, 4))).eval()
    torch.nn.init.zeros_(net.m_tail.weight)
    y, s = torch.rand(3, 1, 28, 28), torch.tensor([0.01, 1.0, 50.0])
    with torch.no_grad():
        out = net(y, s)
    torch.testing.assert_close(out, 0.5 + (0.25 / (s ** 2 + 0.25)).view(-1, 1, 1, 1) * (y - 0.5))


def test_recipe_loss_is_finite_and_draws_are_seeded() -> None:
    from denoisebench import make_schedule

    recipe = DRUNetRecipe(DRUNetConfig(nc=(4, 4, 4, 4)))
    model, schedule = recipe.build_model(), make_schedule("linear", 1000)
    x0 = torch.rand(5, 1, 28, 28) * 2 - 1
    a = recipe.draw(x0, torch.Generator().manual_seed(3), schedule)
    b = recipe.draw(x0, torch.Generator().manual_seed(3), schedule)
    assert all(torch.equal(a[k], b[k]) for k in a) and a["clean"].min() >= 0
    loss = recipe.training_loss(model, a, schedule)
    assert loss.ndim == 0 and math.isfinite(float(loss.detach()))
    loss.backward()


def test_official_architecture_is_read_off_the_shapes() -> None:
    from deepinv.models import DRUNet

    state = DRUNet(in_channels=1, out_channels=1, nc=(8, 16, 24, 32), nb=2, pretrained=None).state_dict()
    assert infer_drunet_arch(state) == {"channels": 1, "nc": (8, 16, 24, 32), "nb": 2}
    config = DRUNetRecipe.infer_config(state)
    assert config is not None and config.precond == "none" and config.sigma_max == pytest.approx(50 / 255)


def test_the_shipped_mnist_drunet_was_written_by_the_trainer() -> None:
    from denoisebench.training.checkpoint import FORMAT, read_metadata
    from denoisebench_deepinv import MNIST_DRUNET

    meta = read_metadata(MNIST_DRUNET)
    assert MNIST_DRUNET.stat().st_size < 2_000_000
    assert meta["format"] == FORMAT and meta["provider"] == "deepinv-drunet" and meta["dataset"] == "mnist-5k"
    assert len(meta["dataset_hash"]) == 64 and json.loads(meta["train_config"])["dataset"] == "mnist-5k"
    p = provider("deepinv-drunet", checkpoint=MNIST_DRUNET)
    assert p.noise_range == (0.002, 80.0) and p.info()["architecture"]["precond"] == "edm"


def write_drunet_checkpoint(path: Path, config: DRUNetConfig) -> None:
    from denoisebench.training.checkpoint import config_to_json, save_weights

    torch.manual_seed(0)
    save_weights(path, BenchDRUNet(config), {"provider": "deepinv-drunet", "model_config": config_to_json(config)})


def test_drunet_checkpoint_carries_its_config_and_range(tmp_path: Path) -> None:
    cfg = DRUNetConfig(nc=(4, 8, 8, 8), sigma_min=0.01, sigma_max=20.0)
    write_drunet_checkpoint(tmp_path / "d.safetensors", cfg)
    p = provider("deepinv-drunet", checkpoint=tmp_path / "d.safetensors")
    assert p.noise_range == (0.01, 20.0) and p.net.config == cfg
    assert p.info()["architecture"] == {"nc": [4, 8, 8, 8], "nb": 1, "precond": "edm"}
    assert provider("deepinv-drunet", checkpoint=tmp_path / "d.safetensors", noise_range="0,1").noise_range == (0, 1)
    with pytest.raises(DenoisebenchError, match="noise_range"):
        provider("deepinv-drunet", checkpoint=tmp_path / "d.safetensors", noise_range="1")


# --- the contract -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["deepinv-tv", "deepinv-wavelet", "deepinv-median"])
def test_classical_provider_passes_the_contract(name: str, tmp_path: Path) -> None:
    assert check_provider(name, tmp_dir=tmp_path, t_values=list(range(1, 1001, 9))).ok


@pytest.mark.slow
def test_bm3d_passes_the_contract(tmp_path: Path) -> None:
    """The bm3d package takes about a second per 28 x 28 image: the smallest sizes the kit allows."""
    assert check_provider("deepinv-bm3d", tmp_dir=tmp_path, t_values=[1, 500, 1000], batch=2, run_samples=1,
                          run_batch=1, run_steps=1).ok


def test_scaled_mode_passes_the_contract(tmp_path: Path) -> None:
    assert check_provider("deepinv-wavelet", options={"mode": "scaled"}, tmp_dir=tmp_path, t_values=SOME_T).ok


def test_drunet_passes_the_contract_with_a_trained_format_checkpoint(tmp_path: Path) -> None:
    write_drunet_checkpoint(tmp_path / "d.safetensors", DRUNetConfig(nc=(4, 8, 8, 8)))
    assert check_provider("deepinv-drunet", checkpoint=tmp_path / "d.safetensors", tmp_dir=tmp_path,
                          t_values=SOME_T).ok


def test_drunet_passes_the_contract_with_an_official_format_file(tmp_path: Path) -> None:
    from deepinv.models import DRUNet

    torch.manual_seed(0)
    state = DRUNet(in_channels=1, out_channels=1, nc=(4, 8, 8, 8), nb=1, pretrained=None).state_dict()
    torch.save(state, tmp_path / "official-like.pth")
    assert check_provider("deepinv-drunet", checkpoint=tmp_path / "official-like.pth", tmp_dir=tmp_path,
                          t_values=SOME_T, options={"mode": "scaled"}).ok


def test_dncnn_passes_the_contract(tmp_path: Path) -> None:
    torch.save(small_dncnn_state(), tmp_path / "dncnn.pth")
    assert check_provider("deepinv-dncnn", checkpoint=tmp_path / "dncnn.pth", tmp_dir=tmp_path, t_values=SOME_T).ok


def test_gsdrunet_passes_the_contract(tmp_path: Path) -> None:
    from deepinv.models import GSDRUNet

    torch.manual_seed(0)
    state = GSDRUNet(in_channels=1, out_channels=1, nb=1, nc=(4, 4, 4, 4), pretrained=None).state_dict()
    torch.save({"state_dict": state}, tmp_path / "gs.ckpt")  # nested the way the official file is
    assert check_provider("deepinv-gsdrunet", checkpoint=tmp_path / "gs.ckpt", tmp_dir=tmp_path,
                          t_values=SOME_T).ok


class SmallRestormer(RestormerProvider):
    name = "deepinv-restormer-small"

    @classmethod
    def build(cls, state_dict):  # type: ignore[no-untyped-def]
        from deepinv.models import Restormer

        return Restormer(in_channels=1, out_channels=1, dim=8, num_blocks=(1, 1, 1, 1), num_refinement_blocks=1,
                         heads=(1, 1, 1, 1), pretrained=None)


class SmallSCUNet(SCUNetProvider):
    name = "deepinv-scunet-small"

    @classmethod
    def build(cls, state_dict):  # type: ignore[no-untyped-def]
        from deepinv.models import SCUNet

        return SCUNet(in_nc=3, config=(1, 1, 1, 1, 1, 1, 1), dim=64, pretrained=None, device=None)


class SmallSwinIR(SwinIRProvider):
    name = "deepinv-swinir-small"

    @classmethod
    def build(cls, state_dict):  # type: ignore[no-untyped-def]
        from deepinv.models import SwinIR

        return SwinIR(img_size=32, in_chans=1, embed_dim=12, depths=(1,), num_heads=(2,), window_size=8,
                      pretrained=None)


@pytest.mark.parametrize("cls", [SmallRestormer, SmallSCUNet, SmallSwinIR])
def test_transformer_networks_pass_the_contract(cls: type, tmp_path: Path) -> None:
    """Their official architectures are fixed; a small one saved by the test goes through the same loading."""
    torch.manual_seed(0)
    path = tmp_path / "w.pth"
    torch.save({"params": cls.build({}).state_dict()}, path)  # nested under 'params' like the official files
    assert check_provider(cls, checkpoint=path, tmp_dir=tmp_path, t_values=SOME_T, batch=2, run_samples=2,
                          run_batch=2, run_steps=2).ok


def test_swinir_level_picks_the_file_and_the_range(empty_torch_hub: Path) -> None:
    with pytest.raises(DenoisebenchError, match="noise50"):
        provider("deepinv-swinir", level="50")
    with pytest.raises(DenoisebenchError, match="level must be one of"):
        provider("deepinv-swinir", level="30")


def test_grey_images_go_through_a_colour_network_as_three_equal_channels(tmp_path: Path) -> None:
    torch.manual_seed(0)
    path = tmp_path / "w.pth"
    torch.save(SmallSCUNet.build({}).state_dict(), path)
    p = SmallSCUNet.from_context(ProviderContext(dataset=synthetic_dataset(), checkpoint=path))
    _, y = noisy_batch(0.1, n=2)
    padded, pads = pad_to_multiple(y.expand(-1, 3, -1, -1), 64)
    with torch.no_grad():
        expected = crop(p.net(padded), pads).mean(dim=1, keepdim=True)
    torch.testing.assert_close(p.denoise(y, None), expected)


# --- the classical rules against independent references ---------------------------------------------

def test_wavelet_rule_is_haar_soft_thresholding_by_s() -> None:
    """pywt's 3-level Haar transform, details soft-thresholded at c s, inverted, clipped."""
    import pywt

    stds = torch.tensor([0.05, 0.3, 1.0, 0.05])
    _, y = noisy_batch(0.3)
    out = provider("deepinv-wavelet").denoise(y, stds)
    for i, s in enumerate(stds.tolist()):
        coeffs = pywt.wavedec2(y[i, 0].double().numpy(), "haar", mode="symmetric", level=3)
        coeffs = [coeffs[0]] + [tuple(pywt.threshold(d, 1.0 * s, "soft") for d in level) for level in coeffs[1:]]
        expected = np.clip(pywt.waverec2(coeffs, "haar", mode="symmetric")[:28, :28], 0, 1)
        np.testing.assert_allclose(out[i, 0].numpy(), expected, atol=1e-5)


def test_median_is_scipys_mirror_median() -> None:
    from scipy.ndimage import median_filter

    _, y = noisy_batch(0.3)
    out = provider("deepinv-median", clip="false").denoise(y, None)
    np.testing.assert_allclose(out.numpy(), median_filter(y.numpy(), size=(1, 1, 3, 3), mode="mirror"), atol=1e-7)


def test_tv_of_zero_noise_is_the_image_and_strength_scales_the_weight() -> None:
    _, y = noisy_batch(0.0)
    torch.testing.assert_close(provider("deepinv-tv").denoise(y, torch.zeros(len(y))), y, atol=1e-6, rtol=0)
    _, y = noisy_batch(0.2)
    s = torch.full((len(y),), 0.1)
    torch.testing.assert_close(provider("deepinv-tv", strength="2").denoise(y, s), provider("deepinv-tv").denoise(y, 2 * s))


def test_tv_output_is_flatter_than_its_input() -> None:
    def tv(x: torch.Tensor) -> torch.Tensor:
        return (x.diff(dim=-1).abs().sum((1, 2, 3)) + x.diff(dim=-2).abs().sum((1, 2, 3)))

    _, y = noisy_batch(0.2)
    assert (tv(provider("deepinv-tv", clip="false").denoise(y, torch.full((len(y),), 0.2))) < 0.5 * tv(y)).all()


def test_bm3d_is_the_bm3d_package_told_s() -> None:
    import bm3d

    _, y = noisy_batch(0.2, n=1)
    out = provider("deepinv-bm3d", clip="false").denoise(y, torch.tensor([0.2]))
    np.testing.assert_allclose(out[0, 0].numpy(), bm3d.bm3d(y[0, 0].numpy(), 0.2), atol=1e-5)


@pytest.mark.parametrize("options", [{"strength": "-1"}, {"strength": "x"}, {"clip": "maybe"}, {"mode": "magic"},
                                     {"iterations": "0"}, {"radius": "3"}])
def test_bad_options_are_one_line_errors(options: dict[str, str]) -> None:
    with pytest.raises(DenoisebenchError) as info:
        provider("deepinv-tv", **options)
    assert "\n" not in str(info.value)
    with pytest.raises(DenoisebenchError):
        provider("deepinv-median", kernel="4")


def test_tv_iterations_are_recorded() -> None:
    assert provider("deepinv-tv", iterations="50").info()["iterations"] == 50
    assert TVProvider.CONSTANT == 0.7


def test_tuning_table_has_every_constant_and_denoises() -> None:
    from denoisebench_deepinv.tune import GRIDS, measure

    images = synthetic_dataset().heldout_images[:2]
    table = measure(images, stds=(0.2,))
    for name, (_, grid) in GRIDS.items():
        assert sorted(table[table.provider == name].c) == sorted(grid)
    noisy_psnr = measure(images, stds=(0.2,), grids={"deepinv-tv": (TVProvider, (1e-9,))})["mean"].iloc[0]
    assert (table["mean"] > noisy_psnr).all()  # every rule beats (almost) no denoising at s = 0.2
