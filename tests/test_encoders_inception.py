"""The inception encoder against pytorch-fid's own command, with a stand-in weights file of random
values (the real names and shapes) placed where both look: $TORCH_HOME/hub/checkpoints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch

from denoisebench.cli import cli

pytest.importorskip("pytorch_fid")
from pytorch_fid import inception as fid_inception  # noqa: E402

from denoisebench.encoders.inception import WEIGHTS_FILE  # noqa: E402


def write_standin_weights(path: Path, seed: int = 0) -> None:
    """fid_inception_v3's state dict (names and shapes of the real file) with random values."""
    torch.manual_seed(seed)
    with mock.patch.object(fid_inception, "load_state_dict_from_url", lambda *a, **k: None), \
            mock.patch.object(torch.nn.Module, "load_state_dict", lambda self, sd, *a, **k: None):
        net = fid_inception.fid_inception_v3()
    state = {k: v.clone() for k, v in net.state_dict().items()}
    for key, value in state.items():  # non-trivial batch-norm statistics too
        if key.endswith("running_var"):
            value.uniform_(0.5, 1.5)
        elif key.endswith("running_mean"):
            value.normal_(0, 0.1)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)


@pytest.fixture(scope="module")
def torch_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("torch_home")
    write_standin_weights(home / "hub" / "checkpoints" / WEIGHTS_FILE)
    return home


def write_folder(folder: Path, images: np.ndarray) -> None:
    from PIL import Image

    folder.mkdir(parents=True)
    for i, img in enumerate(images):
        Image.fromarray(img).save(folder / f"{i:03d}.png")


@pytest.mark.slow  # two 2048 x 2048 matrix square roots (ours and pytorch-fid's): ~90 s on one core
def test_score_inception_matches_pytorch_fid_cli(torch_home: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (5, 20, 20, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-60, 60, a.shape), 0, 255).astype(np.uint8)[:, ::-1]
    write_folder(tmp_path / "a", a)
    write_folder(tmp_path / "b", b)
    env = {**os.environ, "TORCH_HOME": str(torch_home)}
    out = subprocess.run([sys.executable, "-m", "pytorch_fid", str(tmp_path / "a"), str(tmp_path / "b"),
                          "--device", "cpu", "--num-workers", "0"], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    theirs = float(out.stdout.strip().split()[-1])

    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    from click.testing import CliRunner

    res = CliRunner().invoke(cli, ["score", str(tmp_path / "a"), str(tmp_path / "b"), "--encoder", "inception",
                                   "--metric", "fid", "--bootstrap", "0", "--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    ours = json.loads(res.stdout)["fid_inception"]
    assert theirs > 0
    assert ours == pytest.approx(theirs, rel=1e-3)


def test_inception_preprocessing_is_pytorch_fids(torch_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Our preprocess + network equal pytorch-fid's InceptionV3 with its own resize and scaling."""
    from denoisebench.encoders import InceptionEncoder
    from denoisebench.encoders.base import as_nchw_float

    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    enc = InceptionEncoder()
    assert enc.weights_path() == torch_home / "hub" / "checkpoints" / WEIGHTS_FILE and enc.weights_present()
    grey = np.random.default_rng(1).integers(0, 256, (2, 17, 23), dtype=np.uint8)
    x = as_nchw_float(grey)
    pre = enc.preprocess(x)
    assert pre.shape == (2, 3, 299, 299) and float(pre.min()) >= -1 and float(pre.max()) <= 1
    ref = 2 * torch.nn.functional.interpolate(x.repeat(1, 3, 1, 1), size=(299, 299), mode="bilinear",
                                              align_corners=False) - 1
    torch.testing.assert_close(pre, ref, rtol=0, atol=0)
    state = torch.load(enc.weights_path(), weights_only=True)
    with mock.patch.object(fid_inception, "load_state_dict_from_url", lambda *a, **k: state):
        theirs = fid_inception.InceptionV3([3]).eval()  # resize_input and normalize_input on: its own path
    with torch.inference_mode():
        expected = theirs(x.repeat(1, 3, 1, 1))[0].flatten(1).double().numpy()
    np.testing.assert_allclose(enc.encode(grey), expected, rtol=1e-5, atol=1e-6)
    assert enc.encode(grey).shape == (2, 2048)
