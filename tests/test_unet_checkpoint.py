"""U-Net checkpoints: one-line errors for corrupt / foreign / wrong-architecture files; the shipped one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from denoisebench.errors import DenoisebenchError
from denoisebench.providers.base import ProviderContext
from denoisebench.providers.unet import UNet, UNetConfig, UNetProvider
from denoisebench.training.checkpoint import config_to_json, save_weights

TINY = UNetConfig(channels=(8, 16), heads=2, groups=4)


def _write(path: Path, config: UNetConfig, model_config: UNetConfig | None = None, provider: str = "unet") -> Path:
    torch.manual_seed(0)
    save_weights(path, UNet(config), {"provider": provider,
                                      "model_config": config_to_json(model_config or config)})
    return path


def _run_cli(args: list[str]) -> tuple[int, str]:
    from denoisebench.cli import cli  # noqa: F401

    res = CliRunner().invoke(cli, args)
    return res.exit_code, res.output


def test_a_written_checkpoint_loads_and_predicts(tiny_dataset, tmp_path: Path) -> None:
    path = _write(tmp_path / "ok.safetensors", TINY)
    provider = UNetProvider.from_context(ProviderContext(dataset=tiny_dataset, checkpoint=path))
    x = torch.randn(2, 1, 28, 28)
    assert provider.predict_eps(x, torch.tensor([3, 700]), __import__("denoisebench").make_schedule()).shape == x.shape


@pytest.mark.parametrize("case", ["corrupt", "wrong_arch", "foreign", "other_provider"])
def test_bad_checkpoints_give_one_line_errors(tiny_dataset, tmp_path: Path, case: str) -> None:
    path = tmp_path / f"{case}.safetensors"
    if case == "corrupt":
        path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}garbage")
        match = "could not be read"
    elif case == "wrong_arch":  # weights of one architecture under another's config
        _write(path, UNetConfig(channels=(8, 32), heads=2, groups=4), model_config=TINY)
        match = r"does not fit UNetConfig\(channels=\(8, 16\).*has shape"
    elif case == "foreign":
        from safetensors.torch import save_file

        save_file({"w": torch.zeros(2)}, str(path))
        match = "not written by 'denoisebench train'"
    else:
        _write(path, TINY, provider="kbnet")
        match = "is for provider 'kbnet'"
    with pytest.raises(DenoisebenchError, match=match):
        UNetProvider.from_context(ProviderContext(dataset=tiny_dataset, checkpoint=path))
    code, out = _run_cli(["run", "-p", "unet", "--checkpoint", str(path), "-n", "1", "--steps", "1",
                          "--no-metrics", "--results-dir", str(tmp_path / "r")])
    assert code == 2 and out.strip().count("\n") == 0 and out.startswith("Error:")


def test_schedule_mismatch_is_refused(tiny_dataset, tmp_path: Path) -> None:
    path = tmp_path / "ok.safetensors"
    torch.manual_seed(0)
    save_weights(path, UNet(TINY), {"provider": "unet", "model_config": config_to_json(TINY),
                                    "schedule": json.dumps({"name": "linear", "T": 1000})})
    provider = UNetProvider.from_context(ProviderContext(dataset=tiny_dataset, checkpoint=path))
    from denoisebench.diffusion.schedule import make_schedule

    with pytest.raises(DenoisebenchError, match="--schedule linear"):
        provider.predict_eps(torch.randn(1, 1, 28, 28), torch.tensor([5]), make_schedule("cosine"))
