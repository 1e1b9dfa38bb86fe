"""Issue 21, item 2 (and the log item of 7): SIGTERM saves like Ctrl-C and exits 143; a log without
a checkpoint gets one answer with or without --resume; a resumed run does not log steps twice."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner
from safetensors import safe_open

from denoisebench.errors import DenoisebenchError
from denoisebench.training.callbacks import Callback
from denoisebench.training.checkpoint import state_path
from denoisebench.training.config import resolve_config
from denoisebench.training.trainer import train
from training_kit import TINY_MODEL, tiny_config


class _SignalAt(Callback):
    """Sends this process a real ``signum`` after step ``at``."""

    def __init__(self, at: int, signum: int) -> None:
        self.at, self.signum = at, signum

    def on_step(self, run, loss, seconds) -> None:  # noqa: ANN001
        if run.step == self.at:
            os.kill(os.getpid(), self.signum)


class _Killed(BaseException):
    """Stands in for SIGKILL: the loop stops where it is, nothing is saved."""


class _KillAt(Callback):
    def __init__(self, at: int) -> None:
        self.at = at

    def on_step(self, run, loss, seconds) -> None:  # noqa: ANN001
        if run.step == self.at:
            raise _Killed


def _step(path: Path) -> str:
    with safe_open(str(path), framework="pt") as f:
        return f.metadata()["step"]


def _cli_args(out: Path, *extra: str) -> list[str]:
    model = [x for k, v in TINY_MODEL.items() for x in ("-m", f"{k}={v}")]
    return ["train", "-p", "unet", "--dataset", "tiny-blobs", "--steps", "30", "--batch-size", "8", "--threads", "1",
            *model, "-o", str(out), *extra]


def test_sigterm_saves_like_ctrl_c(tiny_registered, tmp_path: Path) -> None:
    out = tmp_path / "u.safetensors"
    result = train(tiny_config(out, steps=50), callbacks=[_SignalAt(3, signal.SIGTERM)], log=lambda m: None)
    assert result.interrupted and result.step == 3 and result.signal == signal.SIGTERM
    assert _step(out) == "3" and _step(state_path(out)) == "3"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is put back


def test_sigterm_in_the_cli_exits_143_after_saving(tiny_registered, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from denoisebench.cli import cli
    from denoisebench.training import trainer

    real = trainer.train
    monkeypatch.setattr(trainer, "train", lambda *a, **kw: real(*a, callbacks=[_SignalAt(2, signal.SIGTERM)], **kw))
    out = tmp_path / "u.safetensors"
    res = CliRunner().invoke(cli, _cli_args(out))
    assert res.exit_code == 143, res.output
    assert "interrupted at step 2" in res.output and _step(out) == "2"


def test_a_log_without_checkpoint_gets_one_answer_with_or_without_resume(tiny_registered, tmp_path: Path) -> None:
    from denoisebench.cli import cli

    out = tmp_path / "u.safetensors"
    (tmp_path / "u.log.jsonl").write_text('{"step": 50, "loss": 0.1}\n')  # killed before the first save
    plain = CliRunner().invoke(cli, _cli_args(out))
    resumed = CliRunner().invoke(cli, _cli_args(out, "--resume"))
    assert plain.exit_code == resumed.exit_code == 2
    assert plain.output == resumed.output  # the same advice
    assert plain.output.count("\n") == 1 and "pass --overwrite to start over" in plain.output
    with pytest.raises(DenoisebenchError, match="nothing to resume: pass --overwrite"):
        resolve_config({"provider": "unet", "output": out}, resume=True)
    assert CliRunner().invoke(cli, _cli_args(out, "--overwrite", "--steps", "1")).exit_code == 0


def test_the_log_does_not_repeat_steps_after_a_kill_and_resume(tiny_registered, tmp_path: Path) -> None:
    out = tmp_path / "u.safetensors"
    with pytest.raises(_Killed):  # saved at step 4, logged up to step 6, then killed
        train(tiny_config(out, steps=8, save_every=4, log_every=2), callbacks=[_KillAt(6)], log=lambda m: None)
    assert _step(out) == "4"
    train(resolve_config({"provider": "unet", "output": out}, resume=True), resume=True, log=lambda m: None)
    steps = [json.loads(line)["step"] for line in (tmp_path / "u.log.jsonl").read_text().splitlines()]
    assert steps == [2, 4, 6, 8]
