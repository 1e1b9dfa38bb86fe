"""The autoencoder proxy encoders trained here (``ae-mnist-5k``, ``ae-skimage-patches-32``): training
command, determinism, verified loading, the encoder contract, and colour runs getting feature metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import denoisebench
from denoisebench.cli import cli
from denoisebench.datasets.base import DatasetSpec, ImageDataset
from denoisebench.encoders import AEMnist5k, AESkimagePatches32, EncoderInputError, get_encoder
from denoisebench.encoders.ae_train import (AETrainConfig, load_autoencoder, manifest_path, save_autoencoder,
                                            train_autoencoder)
from denoisebench.errors import DenoisebenchError
from denoisebench.fileio import sha256_file
from denoisebench.plugins import get_registry, register_plugin, unregister_plugin

TINY = "tiny-colour-ae-test"


def blobs(n: int, seed: int, size: int = 32, channels: int = 3) -> np.ndarray:
    """Smooth random colour images (a few Gaussian blobs each): structured, cheap, reproducible."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    out = np.zeros((n, size, size, channels))
    for k in range(3):
        cy, cx = rng.uniform(0.1, 0.9, (2, n, 1, 1))
        amp = rng.uniform(-1, 1, (n, 1, 1, channels))
        out += amp * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 0.02)[..., None]
    img = np.clip(127.5 + 90 * out, 0, 255).astype(np.uint8)
    return img if channels == 3 else img[..., 0]


def tiny_dataset(channels: int = 3, size: int = 32) -> ImageDataset:
    train, held = blobs(48, 0, size, channels), blobs(16, 1, size, channels)
    return ImageDataset(TINY, train, np.zeros(48, np.int64), held, np.zeros(16, np.int64))


def train_tiny(tmp: Path, seed: int = 0, channels: int = 3) -> Path:
    data = tiny_dataset(channels)
    config = AETrainConfig(seed=seed, epochs=2, batch_size=16, code_dim=8, width=4, hflip=channels == 3)
    model = train_autoencoder(data, config)
    out = tmp / f"ae-{seed}-{channels}.safetensors"
    save_autoencoder(model, out, data, config, heldout_mse=0.0, train_s=0.0)
    return out


@pytest.fixture
def tiny_colour():  # noqa: ANN201
    class Plugin:
        @denoisebench.hookimpl
        def register_datasets(self, register):  # noqa: ANN001, ANN201
            data = tiny_dataset()
            register(DatasetSpec(TINY, "tiny colour set", lambda _o: data, image_shape=(3, 32, 32),
                                 default_encoders=("ae-skimage-patches-32",)))

    register_plugin(Plugin(), "tiny-colour-ae-plugin")
    yield
    unregister_plugin("tiny-colour-ae-plugin")


def test_training_command_end_to_end(tiny_colour: None, tmp_path: Path) -> None:
    out = tmp_path / "w" / "ae.safetensors"
    res = CliRunner().invoke(cli, ["features", "train", "--kind", "autoencoder", "--dataset", TINY, "--epochs", "1",
                                   "--batch-size", "16", "--output", str(out)],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert res.stdout.strip().splitlines()[-1] == str(out)
    manifest = json.loads(manifest_path(out).read_text())
    assert manifest["sha256"] == sha256_file(out)
    assert manifest["dataset"]["hash"] == tiny_dataset().content_hash
    assert manifest["training"]["code_dim"] == 64 and manifest["training"]["hflip"] is True  # colour: flips on
    assert manifest["training"]["split"] == "train" and isinstance(manifest["command"], list)
    assert AESkimagePatches32(out).encode(blobs(5, 9)).shape == (5, 96)


def test_a_file_for_another_shape_or_code_size_is_refused(tmp_path: Path) -> None:
    path = train_tiny(tmp_path)  # 32 x 32 colour, 8-d codes + 4 texture statistics
    with pytest.raises(EncoderInputError, match="with 96-d features; .* 3 x 32 x 32 with 12-d features"):
        AESkimagePatches32(path).encode(blobs(2, 3))
    with pytest.raises(EncoderInputError, match="1 x 28 x 28"):
        AEMnist5k(path).encode(np.zeros((2, 28, 28), np.uint8))


def test_training_is_deterministic_and_seeded(tmp_path: Path) -> None:
    a, b, c = train_tiny(tmp_path / "a"), train_tiny(tmp_path / "b"), train_tiny(tmp_path / "c", seed=1)
    assert sha256_file(a) == sha256_file(b)
    assert sha256_file(a) != sha256_file(c)


def test_standardisation_is_the_train_splits(tmp_path: Path) -> None:
    loaded = load_autoencoder(train_tiny(tmp_path))
    x = torch.from_numpy(tiny_dataset().train_images.astype(np.float32)).permute(0, 3, 1, 2) / 127.5 - 1
    with torch.inference_mode():
        feats = loaded.encoder.features(x).double().numpy()
    np.testing.assert_allclose(feats.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(feats.std(0, ddof=1), 1, atol=1e-3)


def test_load_checks_the_manifests_sha256(tmp_path: Path) -> None:
    path = train_tiny(tmp_path)
    assert load_autoencoder(path).sha256 == sha256_file(path)  # loaded (and cached) once, then rewritten
    manifest = json.loads(manifest_path(path).read_text())
    manifest["sha256"] = "0" * 64
    manifest_path(path).write_text(json.dumps(manifest))
    with pytest.raises(DenoisebenchError, match="its manifest says") as err:
        load_autoencoder(path)
    assert "\n" not in str(err.value)
    manifest_path(path).unlink()
    with pytest.raises(DenoisebenchError, match="manifest .* is missing"):
        load_autoencoder(path)


def test_not_an_autoencoder_file_is_one_line(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    path = tmp_path / "x.safetensors"
    save_file({"a": torch.zeros(2)}, str(path))
    manifest_path(path).write_text(json.dumps({"sha256": sha256_file(path)}))
    with pytest.raises(DenoisebenchError, match="not a denoisebench autoencoder weights file"):
        load_autoencoder(path)


@pytest.mark.parametrize("cls,shape", [(AEMnist5k, (28, 28)), (AESkimagePatches32, (32, 32, 3))])
def test_shipped_weights_load_with_their_manifests_sha256(cls: type, shape: tuple) -> None:
    enc = cls()
    path = enc.weights_path()
    assert path.is_file() and path.stat().st_size < 1_000_000
    manifest = json.loads(manifest_path(path).read_text())
    assert manifest["sha256"] == sha256_file(path) == enc.identity()["weights_sha256"]
    assert manifest["dataset"]["id"] == cls.trained_on
    assert list(enc.loaded.image_shape) == [1 if len(shape) == 2 else 3, shape[0], shape[1]]


@pytest.mark.parametrize("cls,shape", [(AEMnist5k, (28, 28)), (AESkimagePatches32, (32, 32, 3))])
def test_encoder_contract(cls: type, shape: tuple) -> None:
    """Output dim, float64, finite; each image's features independent of its batch; deterministic."""
    images = np.random.default_rng(4).integers(0, 256, (11, *shape), dtype=np.uint8)
    enc = cls()
    feats = enc.encode(images)
    assert feats.shape == (11, cls.output_dim) and feats.dtype == np.float64 and np.isfinite(feats).all()
    np.testing.assert_allclose(enc.encode(images, batch_size=3), feats, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(enc.encode(images[4:6]), feats[4:6], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(cls().encode(images), feats)
    assert enc.describe()["proxy"] is True and enc.describe()["present"] is True


def test_mnist_ae_reads_digits_only() -> None:
    enc = AEMnist5k()
    np.testing.assert_array_equal(enc.encode(np.zeros((2, 28, 28, 1), np.uint8)),
                                  enc.encode(np.zeros((2, 28, 28), np.uint8)))
    with pytest.raises(EncoderInputError, match="grey images only"):
        enc.encode(np.zeros((2, 28, 28, 3), np.uint8))
    with pytest.raises(EncoderInputError, match="28 x 28 digits only"):
        enc.encode(np.zeros((2, 32, 32), np.uint8))


def test_colour_ae_takes_grey_and_other_sizes() -> None:
    enc = AESkimagePatches32()
    grey = blobs(3, 5, channels=1)
    np.testing.assert_allclose(enc.encode(grey), enc.encode(np.repeat(grey[..., None], 3, axis=3)), atol=1e-6)
    assert enc.encode(blobs(2, 6, size=48)).shape == (2, 96)
    with pytest.raises(EncoderInputError, match="at least 8 x 8"):
        enc.encode(np.zeros((2, 4, 4, 3), np.uint8))


def test_colour_default_declares_the_proxy() -> None:
    from denoisebench.encoders.selection import default_encoder_names

    spec = get_registry().dataset("skimage-patches-32")
    assert "ae-skimage-patches-32" in default_encoder_names(spec, (3, 32, 32))
    assert get_encoder("ae-skimage-patches-32").weights_present()


def test_colour_run_gets_feature_metrics_through_the_proxy(tiny_colour: None, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DENOISEBENCH_CACHE", str(tmp_path / "cache"))
    res = CliRunner().invoke(cli, ["run", "--provider", "empirical", "--dataset", TINY, "-n", "8", "--steps", "2",
                                   "--results-dir", str(tmp_path / "r")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    run_dir = Path(res.stdout.strip().splitlines()[-1])
    metrics = json.loads((run_dir / "run.json").read_text())["metrics"]
    assert set(metrics["encoders"]) == {"ae-skimage-patches-32"}
    assert metrics["fid_ae_skimage_patches_32"]["value"] >= 0
    assert "precision_ae_skimage_patches_32" in json.dumps(metrics["declared"]["prdc_ae_skimage_patches_32"])
    # the FD is the Frechet distance of the proxy's features of the samples and the held-out split
    from denoisebench.metrics.frechet import fid
    from denoisebench.runs.records import load_samples

    enc = AESkimagePatches32()
    expected = fid(enc.encode(load_samples(run_dir)), enc.encode(tiny_dataset().heldout_images))
    assert metrics["fid_ae_skimage_patches_32"]["value"] == pytest.approx(expected, rel=1e-4)


def test_encoders_json_lists_the_proxies_present() -> None:
    res = CliRunner().invoke(cli, ["encoders", "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["name"]: r for r in json.loads(res.stdout)["encoders"]}
    for name in ("ae-mnist-5k", "ae-skimage-patches-32"):
        assert rows[name]["present"] is True and rows[name]["proxy"] is True and rows[name]["output_dim"] == 96
        assert rows[name]["weights"].endswith(f"weights/{name}.safetensors")
    assert rows["ae-mnist-5k"]["input"]["channels"] == 1 and rows["ae-skimage-patches-32"]["input"]["size"] == [32, 32]


def test_texture_statistics_are_the_first_layers_spatial_std(tmp_path: Path) -> None:
    """Features = [standardised code, standardised spatial std of each first-layer channel]."""
    net = load_autoencoder(train_tiny(tmp_path)).encoder
    x = torch.from_numpy(blobs(3, 7).astype(np.float32)).permute(0, 3, 1, 2).contiguous() / 127.5 - 1
    with torch.inference_mode():
        first = torch.nn.functional.silu(net.convs[0](x))
        texture = first.flatten(2).double().numpy().std(axis=2)  # population std over the pixels
        feats = net.features(x).double().numpy()
        code = net(x).double().numpy()
    np.testing.assert_allclose(feats[:, :8], (code - net.feature_shift.numpy()) / net.feature_scale.numpy(),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(feats[:, 8:], (texture - net.texture_shift.numpy()) / net.texture_scale.numpy(),
                               rtol=1e-4, atol=1e-4)


def test_noise_moves_the_colour_proxys_features() -> None:
    """The FD sanity check in miniature: noise of 40 grey levels moves FD far more than resampling does."""
    from denoisebench.metrics.frechet import fid

    enc = AESkimagePatches32()
    a, b = blobs(200, 11), blobs(200, 12)
    noisy = np.clip(a + np.random.default_rng(0).normal(0, 40, a.shape), 0, 255).astype(np.uint8)
    assert fid(enc.encode(a), enc.encode(noisy)) > 5 * fid(enc.encode(a), enc.encode(b))


def test_features_info_verifies_an_autoencoder(tmp_path: Path) -> None:
    path = AEMnist5k().weights_path()
    res = CliRunner().invoke(cli, ["features", "info", "--weights", str(path)])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["sha256"] == sha256_file(path)
    bad = train_tiny(tmp_path)
    bad.write_bytes(bad.read_bytes()[:-4] + b"0000")
    res = CliRunner().invoke(cli, ["features", "info", "--weights", str(bad)])
    assert res.exit_code == 2 and "its manifest says" in res.output and res.output.count("\n") == 1
