"""A misbehaving sampler or provider stops the run with one line that names the plugin at fault."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
import torch
from click.testing import CliRunner
from oracles import GaussianOracle

from denoisebench import ProviderError, SamplerError, StepOutput
from denoisebench.cli import cli
from denoisebench.diffusion.samplers.ddim import DDIMSampler
from denoisebench.plugins.hookspecs import hookimpl


class _Bad(DDIMSampler):
    name: ClassVar[str] = "bad-sampler"
    description: ClassVar[str] = "a deliberately broken sampler"


class ReturnsTuple(_Bad):
    def step(self, model, x, i, state, noise):  # noqa: ANN001, ANN201
        out = super().step(model, x, i, state, noise)
        return out.prev_sample, out.pred_original_sample


class WrongShape(_Bad):
    def step(self, model, x, i, state, noise):  # noqa: ANN001, ANN201
        out = super().step(model, x, i, state, noise)
        return StepOutput(out.prev_sample[:, :, 1:], out.pred_original_sample)


class MakesNaN(_Bad):
    def step(self, model, x, i, state, noise):  # noqa: ANN001, ANN201
        out = super().step(model, x, i, state, noise)
        return StepOutput(out.prev_sample / 0.0 if i == 1 else out.prev_sample, out.pred_original_sample)


class Raises(_Bad):
    def step(self, model, x, i, state, noise):  # noqa: ANN001, ANN201
        eps = model(x, self.timesteps[i])
        return StepOutput(torch.mm(eps, eps), eps)  # a bug of its own: mm on a rank-4 tensor


class NaNAtOneStep(GaussianOracle):
    """Finite everywhere but t = 500."""

    name: ClassVar[str] = "nan-at-500"

    def predict_eps(self, x_t, t, schedule):  # noqa: ANN001, ANN201
        eps = super().predict_eps(x_t, t, schedule)
        return torch.where((t == 500).view(-1, 1, 1, 1), torch.full_like(eps, float("nan")), eps)


def run_with(sampler: type, provider: str, tmp_path: Path):  # noqa: ANN201
    from denoisebench.plugins import register_plugin, unregister_plugin

    class Plugin:
        @hookimpl
        def register_samplers(self, register):  # noqa: ANN001
            register(sampler)

        @hookimpl
        def register_providers(self, register):  # noqa: ANN001
            register(NaNAtOneStep)
            register(GaussianOracle)

    register_plugin(Plugin(), "fault-plugin")
    try:
        return CliRunner().invoke(cli, ["run", "--provider", provider, "--sampler", sampler.name, "--steps", "4",
                                        "-n", "3", "--no-metrics", "--results-dir", str(tmp_path)])
    finally:
        unregister_plugin("fault-plugin")


@pytest.mark.parametrize(("sampler", "needle"), [
    (ReturnsTuple, "returned tuple, not a denoisebench.StepOutput"),
    (WrongShape, "returned prev_sample of shape (3, 1, 27, 28) for x of shape (3, 1, 28, 28)"),
    (MakesNaN, "produced non-finite values (NaN or inf) at step 1 (t = 667) from finite eps"),
    (Raises, "raised RuntimeError"),
])
def test_a_faulty_sampler_is_named_in_one_line(sampler: type, needle: str, tmp_path: Path) -> None:
    res = run_with(sampler, "gauss-oracle", tmp_path)
    assert res.exit_code == 2, res.output
    line = res.output.strip().splitlines()[-1]
    assert line.startswith("Error: sampler 'bad-sampler' ") and needle in line, line
    assert "provider" not in line
    assert not list(tmp_path.glob("*/run.json"))


def test_nan_in_the_providers_eps_is_the_providers_fault(tmp_path: Path) -> None:
    class Fine(_Bad):
        def __init__(self, schedule, steps, options=None, **values):  # noqa: ANN001
            super().__init__(schedule, steps, options, **values)
            self.timesteps = [1000, 750, 500, 250]  # visit t = 500, where the provider fails

    res = run_with(Fine, "nan-at-500", tmp_path)
    assert res.exit_code == 2
    line = res.output.strip().splitlines()[-1]
    assert line == ("Error: provider 'nan-at-500' returned non-finite eps (NaN or inf) at t = 500; "
                    "check its predict_eps there")


def test_the_errors_are_exported() -> None:
    assert issubclass(SamplerError, Exception) and issubclass(ProviderError, Exception)
