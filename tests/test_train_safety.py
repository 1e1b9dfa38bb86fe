"""Training never destroys a checkpoint (issue 14, items 1-4) and says so before any work."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from denoisebench.errors import DenoisebenchError
from denoisebench.training.callbacks import Callback
from denoisebench.training.checkpoint import state_path
from denoisebench.training.config import resolve_config
from denoisebench.training.trainer import train
from training_kit import TINY_MODEL, tiny_config


def _quiet(**kw):
    """Train quietly, keeping the messages (an empty list means nothing started)."""
    said: list[str] = []
    return said, dict(log=said.append, **kw)


def _metadata(path: Path) -> dict[str, str]:
    with safe_open(str(path), framework="pt") as f:
        return dict(f.metadata())


def _cli(*args: str):
    from denoisebench.cli import cli

    return CliRunner().invoke(cli, ["train", *args])


def _cli_args(out: Path, *extra: str) -> list[str]:
    model = [x for k, v in TINY_MODEL.items() for x in ("-m", f"{k}={v}")]
    return ["-p", "unet", "--dataset", "tiny-blobs", "--steps", "3", "--batch-size", "8", "--threads", "1",
            *model, "-o", str(out), *extra]


# --- item 1: an existing run is refused without --resume or --overwrite ----------------------------

def test_an_existing_output_is_refused_without_resume_or_overwrite(tiny_registered, tmp_path: Path) -> None:
    out = tmp_path / "u.safetensors"
    train(tiny_config(out, steps=3), log=lambda m: None)
    before = out.read_bytes(), state_path(out).read_bytes()
    said, kw = _quiet()
    with pytest.raises(DenoisebenchError, match=r"u.safetensors exists: pass --resume .* or --overwrite"):
        train(tiny_config(out, steps=2), **kw)
    assert said == [] and (out.read_bytes(), state_path(out).read_bytes()) == before
    res = _cli(*_cli_args(out))
    assert res.exit_code == 2 and res.output.count("\n") == 1 and "--overwrite" in res.output
    assert (out.read_bytes(), state_path(out).read_bytes()) == before

    result = train(tiny_config(out, steps=2), overwrite=True, log=lambda m: None)
    assert result.step == 2 and _metadata(out)["step"] == "2"
    assert len((tmp_path / "u.log.jsonl").read_text().splitlines()) == 1  # a new log, not appended


def test_a_lone_training_state_or_log_also_counts_as_a_run(tiny_registered, tmp_path: Path) -> None:
    out = tmp_path / "u.safetensors"
    train(tiny_config(out, steps=1), log=lambda m: None)
    out.unlink()
    with pytest.raises(DenoisebenchError, match="u.state.safetensors exists"):
        train(tiny_config(out, steps=1), log=lambda m: None)
    state_path(out).unlink()
    with pytest.raises(DenoisebenchError, match="u.log.jsonl exists"):
        train(tiny_config(out, steps=1), log=lambda m: None)


def test_resume_and_overwrite_exclude_each_other(tiny_registered, tmp_path: Path) -> None:
    with pytest.raises(DenoisebenchError, match="pass only one"):
        train(tiny_config(tmp_path / "u.safetensors"), resume=True, overwrite=True, log=lambda m: None)


# --- item 2: the training state is tied to its checkpoint --------------------------------------------

def test_both_files_carry_the_same_run_id_and_a_new_run_gets_a_new_one(tiny_registered, tmp_path: Path) -> None:
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    train(tiny_config(a, steps=2), log=lambda m: None)
    train(tiny_config(b, steps=2), log=lambda m: None)
    run_a, run_b = _metadata(a)["run_id"], _metadata(b)["run_id"]
    assert run_a == _metadata(state_path(a))["run_id"] and run_b == _metadata(state_path(b))["run_id"]
    assert run_a != run_b and len(run_a) == 32


def test_resume_refuses_a_training_state_copied_from_another_run(tiny_registered, tmp_path: Path) -> None:
    mine, other = tmp_path / "mine.safetensors", tmp_path / "other.safetensors"
    train(tiny_config(mine, steps=6), interrupt_after=2, log=lambda m: None)
    train(tiny_config(other, steps=6, seed=1, model_options={**TINY_MODEL, "channels": "8,8"}),
          interrupt_after=3, log=lambda m: None)
    shutil.copyfile(state_path(other), state_path(mine))
    before = mine.read_bytes()
    with pytest.raises(DenoisebenchError, match=r"belongs to run \w{8}, checkpoint .*mine.safetensors to run"):
        resolve_config({"provider": "unet", "output": mine}, resume=True)
    said, kw = _quiet()
    with pytest.raises(DenoisebenchError, match="belongs to run"):
        train(tiny_config(mine, steps=6), resume=True, **kw)
    assert said == [] and mine.read_bytes() == before


def test_resume_refuses_a_state_older_than_its_checkpoint(tiny_registered, tmp_path: Path) -> None:
    out = tmp_path / "u.safetensors"
    train(tiny_config(out, steps=6), interrupt_after=2, log=lambda m: None)
    old_state = state_path(out).read_bytes()
    train(resolve_config({"provider": "unet", "output": out}, resume=True), resume=True, interrupt_after=4,
          log=lambda m: None)
    state_path(out).write_bytes(old_state)  # the same run's state, two steps behind its checkpoint
    with pytest.raises(DenoisebenchError, match=r"\(step 2\) is older than checkpoint .* \(step 4\)"):
        resolve_config({"provider": "unet", "output": out}, resume=True)


def _drop_run_id(path: Path) -> None:
    meta = _metadata(path)
    meta.pop("run_id")
    save_file(load_file(str(path)), str(path), metadata=meta)


def test_files_without_run_ids_are_tied_by_their_weights(tiny_registered, tmp_path: Path) -> None:
    """Runs saved before run ids resume when the checkpoint is the state's EMA, and only then."""
    out, other = tmp_path / "u.safetensors", tmp_path / "v.safetensors"
    train(tiny_config(out, steps=6), interrupt_after=2, log=lambda m: None)
    train(tiny_config(other, steps=6, seed=3), interrupt_after=2, log=lambda m: None)
    for path in (out, state_path(out), other, state_path(other)):
        _drop_run_id(path)
    assert resolve_config({"provider": "unet", "output": out}, resume=True).steps == 6
    shutil.copyfile(state_path(other), state_path(out))
    with pytest.raises(DenoisebenchError, match="no common run id and different weights"):
        resolve_config({"provider": "unet", "output": out}, resume=True)


# --- item 3: an unwritable output is refused before training ------------------------------------------

def _read_only_dir(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        return ro
    for candidate in (Path("/sys"), Path("/proc/sys")):  # read-only mounts, even for root
        try:
            fd, name = tempfile.mkstemp(dir=candidate)
        except OSError:
            return candidate
        os.close(fd)
        os.unlink(name)
    pytest.skip("no read-only directory available to this user")


@pytest.mark.parametrize("case", ["under_a_file", "a_directory", "read_only"])
def test_an_unwritable_output_is_refused_before_training(tiny_registered, tmp_path: Path, case: str) -> None:
    if case == "under_a_file":
        (tmp_path / "notes.txt").write_text("a regular file")
        out, match = tmp_path / "notes.txt" / "runs" / "u.safetensors", "notes.txt is a file, not a directory"
    elif case == "a_directory":
        out, match = tmp_path / "models", "is a directory; pass a file path"
        out.mkdir()
    else:
        out, match = _read_only_dir(tmp_path) / "u.safetensors", "is not writable"
    said, kw = _quiet()
    with pytest.raises(DenoisebenchError, match=match):
        train(tiny_config(out, steps=2), **kw)
    assert said == []  # refused before the first step, not after training
    res = _cli(*_cli_args(out))
    assert res.exit_code == 2 and res.output.count("\n") == 1 and res.output.startswith("Error:")


# --- item 4: Ctrl-C saves and exits 130 ------------------------------------------------------------------

class _CtrlCAt(Callback):
    """Sends this process a real SIGINT after step ``at``."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_step(self, run, loss, seconds) -> None:  # noqa: ANN001
        if run.step == self.at:
            os.kill(os.getpid(), signal.SIGINT)


def test_a_real_ctrl_c_stops_at_the_next_step_and_saves(tiny_registered, tmp_path: Path) -> None:
    out = tmp_path / "u.safetensors"
    result = train(tiny_config(out, steps=50), callbacks=[_CtrlCAt(3)], log=lambda m: None)
    assert result.interrupted and result.step == 3
    assert _metadata(out)["step"] == "3" and _metadata(state_path(out))["step"] == "3"


def test_ctrl_c_in_the_cli_exits_130_after_saving(tiny_registered, tmp_path: Path) -> None:
    out = tmp_path / "u.safetensors"
    res = _cli(*_cli_args(out, "--steps", "10", "--interrupt-after", "2"))
    assert res.exit_code == 130, res.output
    assert "interrupted at step 2" in res.output and _metadata(out)["step"] == "2"
    done = _cli(*_cli_args(out, "--steps", "10", "--resume"))
    assert done.exit_code == 0 and _metadata(out)["step"] == "10"
