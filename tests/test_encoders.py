"""The encoder axis: registration, listing, preprocessing, weights loading and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import denoisebench
from denoisebench.cli import cli
from denoisebench.encoders import (BUILTIN_ENCODERS, ClipB32, DinoV2B14, DinoV2L14, EncoderInputError,
                                   EncoderUnavailable, InceptionEncoder, MNISTClassifierEncoder, get_encoder)
from denoisebench.encoders.base import as_nchw_float
from denoisebench.encoders.timm_vit import TimmEncoder
from denoisebench.plugins import get_registry, register_plugin, unregister_plugin


def test_builtins_register_through_the_hook() -> None:
    registry = get_registry()
    assert [registry.encoders[c.name][0] for c in BUILTIN_ENCODERS] == list(BUILTIN_ENCODERS)
    assert registry.encoders["inception"][1].plugin == "denoisebench.builtin"


def test_encoders_json_lists_input_output_and_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    res = CliRunner().invoke(cli, ["encoders", "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["name"]: r for r in json.loads(res.stdout)["encoders"]}
    assert rows["mnist-classifier"]["present"] is True and rows["mnist-classifier"]["output_dim"] == 128
    assert rows["inception"]["present"] is False
    assert rows["inception"]["weights"].startswith(str(tmp_path / "torch" / "hub" / "checkpoints"))
    assert rows["inception"]["input"] == {"channels": 3, "size": [299, 299], "min_size": 8, "range": "[-1, 1]"}
    assert rows["dinov2-vitl14"]["output_dim"] == 1024 and rows["clip-vitb32"]["output_dim"] == 512
    assert "models--timm--vit_base_patch14_dinov2.lvd142m" in rows["dinov2-vitb14"]["weights"]
    text = CliRunner().invoke(cli, ["encoders"]).output
    assert "MISSING" in text and "present" in text


def test_classifier_encoder_gives_todays_features() -> None:
    from denoisebench.metrics.features import load_feature_network

    images = np.random.default_rng(0).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    expected = load_feature_network().embed(images)[0]
    np.testing.assert_array_equal(MNISTClassifierEncoder().encode(images), expected)
    np.testing.assert_array_equal(MNISTClassifierEncoder().encode(images[..., None]), expected)


@pytest.mark.parametrize("cls,mean,std", [(DinoV2B14, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
                                          (DinoV2L14, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
                                          (ClipB32, (0.48145466, 0.4578275, 0.40821073),
                                           (0.26862954, 0.26130258, 0.27577711))])
def test_vit_preprocessing_is_the_reference(cls: type[TimmEncoder], mean: tuple, std: tuple) -> None:
    """224 bicubic, grey repeated to RGB, the model's own normalisation (as timm's pretrained config says)."""
    import timm

    cfg = timm.models.get_pretrained_cfg(cls.timm_name)
    assert tuple(cfg.mean) == pytest.approx(mean) and tuple(cfg.std) == pytest.approx(std)
    assert cfg.interpolation == cls.interpolation == "bicubic"
    grey = np.random.default_rng(2).integers(0, 256, (2, 28, 28), dtype=np.uint8)
    pre = cls().preprocess(as_nchw_float(grey))
    x = torch.from_numpy(grey).float().div(255)[:, None].repeat(1, 3, 1, 1)
    x = torch.nn.functional.interpolate(x, size=(224, 224), mode="bicubic", align_corners=False)
    ref = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    torch.testing.assert_close(pre, ref)
    assert pre.shape == (2, 3, 224, 224)


class TinyViT(TimmEncoder):
    """A small timm ViT standing in for the big ones (same loading path, seconds less)."""

    name = "tiny-vit-test"
    description = "test stand-in"
    timm_name = "vit_tiny_patch16_224"
    mean, std = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)
    output_dim = 192


def test_timm_encoder_loads_an_explicit_safetensors_file(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    torch.manual_seed(0)
    reference = TinyViT().create(None)
    path = tmp_path / "model.safetensors"
    save_file({k: v.contiguous() for k, v in reference.state_dict().items()}, str(path))
    enc = TinyViT(path)
    images = np.random.default_rng(3).integers(0, 256, (3, 40, 30, 3), dtype=np.uint8)
    feats = enc.encode(images, batch_size=2)
    with torch.inference_mode():
        expected = reference(enc.preprocess(as_nchw_float(images))).double().numpy()
    assert feats.shape == (3, 192) and feats.dtype == np.float64
    np.testing.assert_allclose(feats, expected, rtol=1e-5, atol=1e-5)


def test_timm_encoder_finds_the_hugging_face_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    assert not ClipB32().weights_present()
    repo = tmp_path / "hub" / "models--timm--vit_base_patch32_clip_224.openai"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    file = repo / "snapshots" / "abc123" / "model.safetensors"
    file.parent.mkdir(parents=True)
    file.write_bytes(b"x")
    assert ClipB32().weights_path() == file and ClipB32().weights_present()


def test_missing_weights_is_one_line_naming_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(EncoderUnavailable, match="pt_inception-2015-12-05-6726825d.pth is missing"):
        InceptionEncoder().encode(np.zeros((2, 28, 28), np.uint8))
    res = CliRunner().invoke(cli, ["score", "mnist-5k:heldout", "mnist-5k:train", "--encoder", "inception"])
    assert res.exit_code == 2
    line = res.output.strip()
    assert "\n" not in line and str(tmp_path / "hub" / "checkpoints") in line and "--encoder-weights" in line


def test_unknown_encoder_metric_and_small_input_are_one_line(tmp_path: Path) -> None:
    for args, needle in [(["--encoder", "nope"], "unknown encoder 'nope'"),
                         (["--encoder", "mnist-classifier", "--metric", "nope"], "unknown metric 'nope'")]:
        res = CliRunner().invoke(cli, ["score", "mnist-5k:heldout", "mnist-5k:train", *args])
        assert res.exit_code == 2 and needle in res.output and res.output.count("\n") == 1, res.output
    small = tmp_path / "small.npz"
    np.savez(small, samples=np.zeros((4, 16, 16, 3), np.uint8))
    res = CliRunner().invoke(cli, ["score", str(small), str(small), "--encoder", "mnist-classifier"])
    assert res.exit_code == 2 and "reads grey images only" in res.output and res.output.count("\n") == 1
    other = tmp_path / "other.npz"
    np.savez(other, samples=np.zeros((4, 20, 20, 3), np.uint8))
    res = CliRunner().invoke(cli, ["score", str(small), str(other), "--encoder", "pixels"])
    assert res.exit_code == 2 and "does not resize" in res.output and res.output.count("\n") == 1
    with pytest.raises(EncoderInputError, match="at least 14 x 14"):
        DinoV2B14().check_images(np.zeros((2, 10, 10), np.uint8))


def test_a_plugin_encoder_registers_through_the_hook() -> None:
    class Plugin:
        @denoisebench.hookimpl
        def register_encoders(self, register):  # noqa: ANN001, ANN201
            register(TinyViT)

    register_plugin(Plugin(), "tiny-encoder")
    try:
        assert get_encoder("tiny-vit-test").output_dim == 192
    finally:
        unregister_plugin("tiny-encoder")
