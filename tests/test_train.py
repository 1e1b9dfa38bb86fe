"""The generic trainer on the U-Net: loss goes down, exact resume, DDP == one process, errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from denoisebench.errors import DenoisebenchError
from denoisebench.training.checkpoint import state_path
from denoisebench.training.config import TrainConfig, resolve_config
from denoisebench.training.trainer import BatchOrder, train
from training_kit import TINY_MODEL, tiny_config


def test_batch_order_visits_every_image_once_per_epoch() -> None:
    order = BatchOrder(10, seed=3)
    first = torch.cat([order.indices(s, 5) for s in range(2)])
    assert sorted(first.tolist()) == list(range(10))
    assert torch.equal(order.indices(1, 7)[:3], first[7:10])  # batches run across epoch ends


def _fixed_loss(tiny_dataset, weights: dict[str, torch.Tensor] | None) -> float:
    from denoisebench.providers.unet import UNetConfig, UNetRecipe
    from denoisebench.diffusion.schedule import linear_schedule
    from denoisebench.training.config import build_model_config

    torch.manual_seed(0)  # the trainer's initialisation for seed 0
    recipe = UNetRecipe(build_model_config(UNetConfig, dict(TINY_MODEL), "unet"))
    net = recipe.build_model()
    if weights is not None:
        net.load_state_dict(weights)
    sched = linear_schedule()
    batch = recipe.draw(tiny_dataset.train_tensor(), torch.Generator().manual_seed(123), sched)
    with torch.no_grad():
        return recipe.training_loss(net, batch, sched).item()


def test_a_short_run_lowers_the_loss(tiny_registered, tmp_path: Path) -> None:
    out = tmp_path / "u.safetensors"
    result = train(tiny_config(out, steps=40, batch_size=16, lr=5e-3, log_every=20), log=lambda m: None)
    assert len(result.losses) == 40 and out.is_file() and state_path(out).is_file()
    state = load_file(state_path(out))
    trained = {k[len("model."):]: v for k, v in state.items() if k.startswith("model.")}
    assert _fixed_loss(tiny_registered, trained) < 0.8 * _fixed_loss(tiny_registered, None)


def test_resume_after_interruption_reproduces_the_uninterrupted_weights(tiny_registered, tmp_path: Path) -> None:
    full = train(tiny_config(tmp_path / "full.safetensors"), log=lambda m: None)
    part_path = tmp_path / "part.safetensors"
    first = train(tiny_config(part_path), interrupt_after=5, log=lambda m: None)
    assert first.stopped_by == "interrupt" and first.step == 5
    resumed_cfg = resolve_config({"provider": "unet", "output": part_path}, resume=True)
    second = train(resumed_cfg, resume=True, log=lambda m: None)
    assert second.step == 12
    assert [v for _, v in full.losses][5:] == [v for _, v in second.losses]
    for name in ("full", "part"):
        assert (tmp_path / f"{name}.safetensors").is_file()
    a, b = load_file(tmp_path / "full.safetensors"), load_file(part_path)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    sa, sb = load_file(state_path(tmp_path / "full.safetensors")), load_file(state_path(part_path))
    assert all(torch.equal(sa[k], sb[k]) for k in sa if not k.startswith("rng."))


def test_resume_refuses_a_changed_option_and_a_missing_state(tiny_registered, tmp_path: Path) -> None:
    out = tmp_path / "u.safetensors"
    train(tiny_config(out, steps=2), log=lambda m: None)
    with pytest.raises(DenoisebenchError, match="differs from the interrupted run"):
        resolve_config({"provider": "unet", "output": out, "lr": 1.0}, resume=True)
    with pytest.raises(DenoisebenchError, match="no training state"):
        resolve_config({"provider": "unet", "output": tmp_path / "none.safetensors"}, resume=True)


def test_checkpoint_metadata_records_provenance(tiny_registered, tmp_path: Path) -> None:
    from safetensors import safe_open

    out = tmp_path / "u.safetensors"
    train(tiny_config(out, steps=3), log=lambda m: None)
    with safe_open(str(out), framework="pt") as f:
        meta = f.metadata()
    assert meta["provider"] == "unet" and meta["dataset"] == "tiny-blobs" and meta["step"] == "3"
    assert meta["dataset_hash"] == tiny_registered.content_hash
    assert json.loads(meta["model_config"])["channels"] == [8, 16]
    assert {"git_commit", "code_version", "train_config"} <= meta.keys()


def test_untrainable_provider_and_bad_model_option_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(DenoisebenchError, match="not trainable"):
        resolve_config({"provider": "empirical", "output": tmp_path / "x.safetensors", "steps": 1}, False)
    with pytest.raises(DenoisebenchError, match="no model option"):
        train(TrainConfig(provider="unet", output=tmp_path / "x.safetensors", steps=1,
                          model_options={"depth": "3"}), log=lambda m: None)


@pytest.mark.skipif(shutil.which("torchrun", path=os.path.dirname(sys.executable)) is None,
                    reason="torchrun not installed next to this python")
def test_two_process_torchrun_matches_one_process(tmp_path: Path) -> None:
    bindir = os.path.dirname(sys.executable)
    args = ["--batch-size", "16", "--steps", "5", "--threads", "1", "--log-every", "1", "--warmup", "2",
            "-m", "channels=8,16", "-m", "heads=2", "-m", "groups=4"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([os.path.join(bindir, "torchrun"), "--standalone", "--nproc_per_node=2", "--no-python",
                    os.path.join(bindir, "denoisebench"), "train", "-p", "unet", *args,
                    "-o", str(tmp_path / "ddp.safetensors")], check=True, env=env, capture_output=True)
    one = train(TrainConfig(provider="unet", output=tmp_path / "one.safetensors", batch_size=16, steps=5,
                            threads=1, log_every=1, warmup=2, model_options=dict(TINY_MODEL)),
                log=lambda m: None)
    ddp_curve = [json.loads(line)["loss"] for line in (tmp_path / "ddp.log.jsonl").read_text().splitlines()]
    assert ddp_curve == pytest.approx([v for _, v in one.losses], rel=1e-4, abs=1e-6)
    a, b = load_file(tmp_path / "ddp.safetensors"), load_file(tmp_path / "one.safetensors")
    assert all(torch.allclose(a[k], b[k], atol=5e-3) for k in a)


def test_ctrl_c_sets_the_stop_flag_instead_of_raising() -> None:
    import signal

    from denoisebench.training.trainer import StopFlag

    with StopFlag() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.set
        with pytest.raises(KeyboardInterrupt):  # a second Ctrl-C aborts at once
            os.kill(os.getpid(), signal.SIGINT)
