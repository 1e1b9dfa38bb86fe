"""KBNet checkpoints: official-format round trip, strict matching, bad files, the provider's weights."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from denoisebench.datasets.base import ImageDataset
from denoisebench.errors import DenoisebenchError
from denoisebench.providers.base import ProviderContext
from denoisebench.providers.kbnet.arch import KBNetConfig, KBNetS, official_gray_config
from denoisebench.providers.kbnet.provider import KBNetProvider, load_network
from denoisebench.providers.kbnet.shapes import infer_config
from denoisebench.providers.kbnet.training import KBNetRecipe


def save_safetensors(model: KBNetS, path: Path) -> None:
    """A plain safetensors state dict with the config in its metadata (not a trainer checkpoint)."""
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path),
              metadata={"model_config": json.dumps(dataclasses.asdict(model.config))})


def official_shaped(width: int = 4) -> KBNetConfig:
    """The official gray model's blocks (gau_gray_*.yml: KBNet_s, img_channel 1) at a tiny width."""
    return dataclasses.replace(official_gray_config(), width=width)


def save_official(net: KBNetS, path: Path, mutate=None) -> Path:
    """Save the way the official code does: {"net": DataParallel state dict} with ``module.`` keys."""
    sd = {k: v.clone() for k, v in net.state_dict().items()}
    if mutate:
        mutate(sd)
    torch.save({"net": {"module." + k: v for k, v in sd.items()}}, path)
    return path


@pytest.fixture(scope="module")
def official_net() -> KBNetS:
    torch.manual_seed(0)
    net = KBNetS(official_shaped())
    with torch.no_grad():  # make every parameter matter (the official init leaves scales at 0.01)
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return net.eval()


def test_official_format_round_trip_reproduces_outputs(official_net: KBNetS, tmp_path: Path,
                                                       tiny_dataset: ImageDataset) -> None:
    path = save_official(official_net, tmp_path / "gau_gray_25.pth")
    provider = KBNetProvider.from_context(ProviderContext(tiny_dataset, checkpoint=path))
    y = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(provider.denoise(y, None), official_net(y))
    info = provider.info()
    assert info["checkpoint_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert info["mode"] == "tweedie" and info["blind"] is True
    assert info["noise_range"] == [25 / 255, 25 / 255] and info["noise_range_source"] == "official file name"
    assert info["architecture"]["enc_blk_nums"] == (2, 2, 4, 8) and info["architecture"]["middle_blk_num"] == 12


def test_architecture_is_read_off_the_official_gray_shapes() -> None:
    with torch.device("meta"):
        sd = KBNetS(official_gray_config()).state_dict()
    assert infer_config(sd, base=KBNetConfig()) == dataclasses.replace(
        official_gray_config(), sigma_min=KBNetConfig.sigma_min, sigma_max=KBNetConfig.sigma_max,
        sigma_dist=KBNetConfig.sigma_dist, precond=KBNetConfig.precond)


def _error(path: Path) -> str:
    with pytest.raises(DenoisebenchError) as err:
        load_network(path)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg
    return msg


def test_a_missing_key_is_named(official_net: KBNetS, tmp_path: Path) -> None:
    path = save_official(official_net, tmp_path / "a.pth", lambda sd: sd.pop("decoders.1.0.conv4.weight"))
    assert "missing key 'decoders.1.0.conv4.weight'" in _error(path)


def test_a_wrong_shape_is_named(official_net: KBNetS, tmp_path: Path) -> None:
    def mutate(sd: dict) -> None:
        sd["middle_blks.3.w"] = sd["middle_blks.3.w"][..., :-1]
    msg = _error(save_official(official_net, tmp_path / "b.pth", mutate))
    assert "key 'middle_blks.3.w' has shape" in msg


def test_an_unexpected_key_is_named(official_net: KBNetS, tmp_path: Path) -> None:
    path = save_official(official_net, tmp_path / "c.pth", lambda sd: sd.update({"extra.weight": torch.zeros(1)}))
    assert "unexpected key 'extra.weight'" in _error(path)


def test_the_first_bad_key_in_network_order_is_named(official_net: KBNetS, tmp_path: Path) -> None:
    def mutate(sd: dict) -> None:
        sd.pop("decoders.0.1.gamma")
        sd["encoders.2.1.conv3.bias"] = torch.zeros(3)
        sd["zzz"] = torch.zeros(1)
    msg = _error(save_official(official_net, tmp_path / "d.pth", mutate))
    assert "'encoders.2.1.conv3.bias' has shape (3,), expected (16,)" in msg and "(and 2 more)" in msg


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"\x80\x02garbage", b"PK\x03\x04broken zip"])
def test_corrupt_files_are_one_line_errors(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.pth"
    path.write_bytes(content)
    msg = _error(path)
    assert "could not be read" in msg and "`" not in msg and "Re-running" not in msg  # no cut-off torch text


def test_pickled_objects_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pth"
    torch.save({"net": {"x": argparse.Namespace(payload="code")}}, path)  # not a tensor type
    _error(path)


def test_a_truncated_safetensors_file_is_a_one_line_error(official_net: KBNetS, tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    save_safetensors(official_net, path)
    path.write_bytes(path.read_bytes()[:-100])
    _error(path)


def test_safetensors_with_config_carry_the_trained_noise_range(tmp_path: Path, tiny_dataset: ImageDataset) -> None:
    torch.manual_seed(0)
    cfg = KBNetConfig(width=4, middle_blk_num=1, enc_blk_nums=(1,), dec_blk_nums=(0,), nset=2,
                      sigma_min=0.01, sigma_max=3.0)
    path = tmp_path / "w.safetensors"
    save_safetensors(KBNetS(cfg), path)
    provider = KBNetProvider.from_context(ProviderContext(tiny_dataset, checkpoint=path,
                                                          options={"mode": "scaled"}))
    assert provider.noise_range == (0.01, 3.0) and provider.noise_range_source == "model config"
    assert provider.net.config == cfg


def test_trainer_checkpoints_load(tmp_path: Path, tiny_dataset: ImageDataset) -> None:
    from denoisebench.training.checkpoint import FORMAT, save_weights

    cfg = KBNetConfig(width=4, middle_blk_num=0, enc_blk_nums=(1,), dec_blk_nums=(1,), nset=2)
    net = KBNetS(cfg)
    path = tmp_path / "kbnet.safetensors"
    save_weights(path, net, {"provider": "kbnet", "model_config": json.dumps(dataclasses.asdict(cfg))})
    loaded, source = load_network(path)
    assert loaded.config == cfg and source["format"] == "denoisebench-train"
    save_weights(path, net, {"provider": "unet", "model_config": "{}", "format": FORMAT})
    assert "for provider 'unet'" in _error(path)


def test_scaled_mode_needs_a_known_noise_range(official_net: KBNetS, tmp_path: Path,
                                               tiny_dataset: ImageDataset) -> None:
    path = save_official(official_net, tmp_path / "weights.pth")
    tweedie = KBNetProvider.from_context(ProviderContext(tiny_dataset, checkpoint=path))
    assert tweedie.info()["noise_range"] is None and tweedie.info()["noise_range_source"] == "unknown"
    with pytest.raises(DenoisebenchError, match="noise_range"):
        KBNetProvider.from_context(ProviderContext(tiny_dataset, checkpoint=path, options={"mode": "scaled"}))
    provider = KBNetProvider.from_context(ProviderContext(
        tiny_dataset, checkpoint=path, options={"mode": "scaled", "noise_range": "0,0.2"}))
    assert provider.noise_range == (0.0, 0.2) and provider.noise_range_source == "option"


def test_without_weights_the_error_says_what_to_do(tmp_path: Path, tiny_dataset: ImageDataset,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(KBNetProvider, "default_checkpoint", tmp_path / "absent.safetensors")
    with pytest.raises(DenoisebenchError) as err:
        KBNetProvider.from_context(ProviderContext(tiny_dataset))
    assert "--checkpoint" in str(err.value) and "denoisebench train --provider kbnet" in str(err.value)


def test_cli_run_records_the_checkpoint_hash_and_mode(tmp_path: Path) -> None:
    from denoisebench.cli import cli  # noqa: F401

    torch.manual_seed(0)
    path = tmp_path / "k.safetensors"
    save_safetensors(KBNetS(KBNetConfig(width=4, middle_blk_num=1, enc_blk_nums=(1,), dec_blk_nums=(1,),
                                        nset=2)), path)
    res = CliRunner().invoke(cli, ["run", "-p", "kbnet", "--checkpoint", str(path), "-o", "mode=seed",
                                   "-n", "2", "--steps", "3", "--no-metrics", "--results-dir",
                                   str(tmp_path / "res")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    record = json.loads((Path(res.stdout.strip().splitlines()[-1]) / "run.json").read_text())
    info = record["provider"]["info"]
    assert info["mode"] == "seed" and info["checkpoint_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_bad_flag_value_is_a_one_line_error(tiny_dataset) -> None:
    with pytest.raises(DenoisebenchError, match=r"option compile of provider 'kbnet' must be 1 or 0 .*got 'maybe'"):
        KBNetProvider.from_context(ProviderContext(tiny_dataset, options={"compile": "maybe"}))


def test_checkpoints_from_before_the_loss_option_read_as_l1() -> None:
    legacy = {k: v for k, v in dataclasses.asdict(KBNetConfig()).items() if k not in ("loss", "loss_weight")}
    assert KBNetRecipe.config_from_dict(json.loads(json.dumps(legacy))).loss == "l1"
    both = KBNetRecipe.config_from_dict(json.loads(json.dumps({**legacy, "loss": "l2"})))
    assert (both.loss, both.loss_weight) == ("l2", "x0")
