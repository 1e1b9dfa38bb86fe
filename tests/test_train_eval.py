"""The trainer's evaluation samples with any registered sampler; ``train --help`` shows the defaults."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner

from denoisebench.diffusion.samplers import DDIMSampler
from denoisebench.errors import DenoisebenchError
from denoisebench.plugins import manager as plugins
from denoisebench.plugins.hookspecs import hookimpl
from denoisebench.training.trainer import train
from training_kit import tiny_config


class RecordingDDIM(DDIMSampler):
    """DDIM that remembers every instance built and how many steps each one took."""

    name: ClassVar[str] = "recording-ddim"
    description: ClassVar[str] = "DDIM that records its use (test)"
    built: ClassVar[list[RecordingDDIM]] = []

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.calls = 0
        RecordingDDIM.built.append(self)

    def step(self, model, x, i, state, noise):  # noqa: ANN001, ANN201
        self.calls += 1
        return super().step(model, x, i, state, noise)


@pytest.fixture
def recording_sampler():
    class Plugin:
        @hookimpl
        def register_samplers(self, register):  # noqa: ANN001
            register(RecordingDDIM)

    RecordingDDIM.built.clear()
    plugins.register_plugin(Plugin(), "recording-sampler")
    yield RecordingDDIM
    plugins.unregister_plugin("recording-sampler")


def test_evaluation_uses_the_registered_sampler_with_its_options(tiny_registered, recording_sampler,
                                                                 tmp_path: Path) -> None:
    said: list[str] = []
    config = tiny_config(tmp_path / "u.safetensors", steps=4, eval_every=2, eval_samples=4, eval_steps=3,
                         eval_sampler="recording-ddim", eval_sampler_options={"eta": "1"})
    result = train(config, log=said.append)
    (sampler,) = recording_sampler.built  # built once, before training, through the registry
    assert sampler.given_options == {"eta": "1"} and sampler.steps == 3
    assert sampler.calls == 2 * 3  # two evaluations of one batch, three steps each
    assert [e["step"] for e in result.evals] == [2, 4]
    assert all(e["sampler"] == "recording-ddim eta=1" for e in result.evals)
    assert sum("eval step" in m and "recording-ddim eta=1 3 steps" in m for m in said) == 2


def test_the_default_evaluation_sampler_is_ddim_at_eval_steps(tiny_registered, tmp_path: Path) -> None:
    said: list[str] = []
    train(tiny_config(tmp_path / "u.safetensors", steps=2, eval_every=2, eval_samples=4, eval_steps=2),
          log=said.append)
    assert any(m.startswith("eval step 2 (4 samples, ddim 2 steps") for m in said)


@pytest.mark.parametrize("given, match", [({"eval_sampler": "euler-magic"}, "unknown sampler 'euler-magic'"),
                                          ({"eval_sampler_options": {"etta": "1"}}, "has no option 'etta'"),
                                          ({"eval_sampler_options": {"eta": "2"}}, "eta")])
def test_a_bad_evaluation_sampler_is_refused_before_training(tiny_registered, tmp_path: Path, given: dict,
                                                             match: str) -> None:
    said: list[str] = []
    with pytest.raises(DenoisebenchError, match=match):
        train(tiny_config(tmp_path / "u.safetensors", eval_every=2, **given), log=said.append)
    assert said == [] and not (tmp_path / "u.safetensors").exists()


def test_train_help_shows_the_trainer_and_provider_defaults() -> None:
    from denoisebench.cli import cli
    from denoisebench.providers.kbnet.training import KBNetRecipe
    from denoisebench.providers.unet import UNetRecipe
    from denoisebench.training.config import TrainConfig

    res = CliRunner().invoke(cli, ["train", "--help"])
    text = " ".join(res.output.split())  # click wraps lines
    assert res.exit_code == 0
    for option, field in (("--batch-size", "batch_size"), ("--lr", "lr"), ("--warmup", "warmup"),
                          ("--ema-decay", "ema_decay")):
        trainer = getattr(TrainConfig, field)
        kb, un = (r.train_defaults.get(field, trainer) for r in (KBNetRecipe, UNetRecipe))
        # installed plugins with a training recipe (e.g. deepinv-drunet) are listed too
        default = text.split(option, 1)[1].split("[default: the provider's (", 1)[1].split("]", 1)[0]
        assert f"kbnet {kb:g}" in default and f"unet {un:g}" in default, option
        assert default.endswith(f"), else {trainer:g}"), option
    assert "--overwrite" in text and "--eval-sampler" in text and "exits with code 130" in text
