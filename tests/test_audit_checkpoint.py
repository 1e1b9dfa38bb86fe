"""Issue 21, item 5: a tiny checkpoint whose metadata declares a huge model config is refused before
the network is built (no allocation), in one line."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import save_file

from denoisebench.cli import cli
from denoisebench.errors import DenoisebenchError
from denoisebench.training.checkpoint.weights import FORMAT, load_weights

HUGE = {"channels": [8192, 16384, 16384], "blocks": 2, "attention": True, "heads": 4, "patch": 2, "groups": 8,
        "image_size": 28, "in_channels": 1, "parameterisation": "v", "min_snr_gamma": 5.0}


@pytest.fixture
def forged(tmp_path: Path) -> Path:
    path = tmp_path / "forged.safetensors"
    save_file({"conv_in.weight": torch.zeros(4, 1, 3, 3)}, str(path),
              metadata={"format": FORMAT, "provider": "unet", "model_config": json.dumps(HUGE)})
    assert path.stat().st_size < 2000
    return path


def test_a_huge_declared_config_is_refused_without_building(forged: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from denoisebench.plugins.manager import get_registry

    cls, _ = get_registry().provider("unet")
    recipe = cls.training
    devices = []
    real = recipe.build_model

    def spy(self):  # noqa: ANN001, ANN202
        devices.append(torch.get_default_device().type)
        if devices[-1] != "meta":
            raise AssertionError("the network was built for real before its config was checked")
        return real(self)

    monkeypatch.setattr(recipe, "build_model", spy)
    started = time.perf_counter()
    with pytest.raises(DenoisebenchError, match="the model config it declares: .* numbers declared"):
        load_weights(cls, forged)
    assert devices == ["meta"] and time.perf_counter() - started < 5


def test_run_says_it_in_one_line(forged: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["run", "--provider", "unet", "--checkpoint", str(forged), "-n", "2", "--steps", "1",
                                   "--results-dir", str(tmp_path / "results")])
    assert res.exit_code == 2, res.output
    assert res.output.count("\n") == 1 and "the model config it declares" in res.output
