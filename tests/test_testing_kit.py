"""The provider test kit passes good providers and fails each kind of broken one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch

from denoisebench.plugins import manager as plugins
from oracles import GaussianOracle as _Oracle
from denoisebench.testing import (CHECKS, ProviderContractError, check_provider, provider_check,  # noqa: F401
                                  synthetic_dataset)

FAST = {"run": False}  # the broken providers below are judged without the end-to-end run


class GaussianOracle(_Oracle):
    name: ClassVar[str] = "kit-oracle"



class WrongShape(GaussianOracle):
    name: ClassVar[str] = "kit-wrong-shape"

    def predict_eps(self, x_t, t, schedule):  # type: ignore[no-untyped-def]
        return super().predict_eps(x_t, t, schedule).flatten(1)


class WrongDtype(GaussianOracle):
    name: ClassVar[str] = "kit-wrong-dtype"

    def predict_eps(self, x_t, t, schedule):  # type: ignore[no-untyped-def]
        return super().predict_eps(x_t, t, schedule).double()


class NaNAtSmallT(GaussianOracle):
    """Divides by (t - 3): only a sweep over every t finds it."""

    name: ClassVar[str] = "kit-nan"

    def predict_eps(self, x_t, t, schedule):  # type: ignore[no-untyped-def]
        scale = (t - 3).to(x_t.dtype).view(-1, 1, 1, 1)
        return super().predict_eps(x_t, t, schedule) * scale / scale


class MutatesInput(GaussianOracle):
    name: ClassVar[str] = "kit-mutates"

    def predict_eps(self, x_t, t, schedule):  # type: ignore[no-untyped-def]
        ab = schedule.alpha_bars[t.cpu()].to(x_t.dtype).view(-1, 1, 1, 1)
        return x_t.mul_((1 - ab).sqrt())


class NonDeterministic(GaussianOracle):
    name: ClassVar[str] = "kit-random"

    def predict_eps(self, x_t, t, schedule):  # type: ignore[no-untyped-def]
        return super().predict_eps(x_t, t, schedule) + 0.01 * torch.randn_like(x_t)


class SeededRandom(GaussianOracle):
    """Random, but from a generator seeded with context.seed for each call: allowed."""

    name: ClassVar[str] = "kit-seeded"

    def predict_eps(self, x_t, t, schedule):  # type: ignore[no-untyped-def]
        g = torch.Generator().manual_seed(self.context.seed)
        jitter = torch.stack([torch.randn(x_t.shape[1:], generator=g.manual_seed(self.context.seed + int(s)))
                              for s in t])
        return super().predict_eps(x_t, t, schedule) + 1e-3 * jitter


class BatchCoupled(GaussianOracle):
    """Uses the first image's t for the whole batch and centres on the batch mean."""

    name: ClassVar[str] = "kit-batch"

    def predict_eps(self, x_t, t, schedule):  # type: ignore[no-untyped-def]
        eps = super().predict_eps(x_t, t[:1].expand_as(t), schedule)
        return eps - eps.mean(dim=0, keepdim=True)


class BadMetadata(GaussianOracle):
    name: ClassVar[str] = "has spaces"
    description: ClassVar[str] = ""


class FailsToBuild(GaussianOracle):
    name: ClassVar[str] = "kit-no-build"

    @classmethod
    def from_context(cls, context):  # type: ignore[no-untyped-def]
        raise FileNotFoundError("weights.safetensors")


def test_synthetic_dataset_is_small_valid_and_deterministic() -> None:
    a, b = synthetic_dataset(), synthetic_dataset()
    assert a.train_images.shape == (48, 28, 28) and a.heldout_images.shape == (16, 28, 28)
    assert a.train_images.dtype == np.uint8
    assert a.content_hash == b.content_hash
    assert a.train_images.min() == 0 and a.train_images.max() == 255


def test_closed_form_provider_passes_every_check(provider_check) -> None:
    report = provider_check(GaussianOracle)
    assert report.ok and report.passed == list(CHECKS)
    record = json.loads((report.run_dir / "run.json").read_text())
    assert record["provider"]["name"] == "kit-oracle"
    assert "kit-oracle" not in plugins.get_registry().providers  # the kit registered it only for the run


def test_builtin_empirical_passes(provider_check) -> None:
    report = provider_check("empirical")
    assert report.ok and report.passed == list(CHECKS)
    assert report.run_dir is not None and report.run_dir.parent.exists()


def test_seeded_randomness_is_allowed() -> None:
    assert check_provider(SeededRandom, **FAST).ok


def test_kit_leaves_global_random_state_alone(tmp_path: Path) -> None:
    torch.manual_seed(123)
    before = torch.get_rng_state()
    check_provider(GaussianOracle, tmp_dir=tmp_path)
    assert torch.equal(torch.get_rng_state(), before)


@pytest.mark.parametrize(("provider", "failed"), [
    (WrongShape, {"shape-dtype", "finite", "deterministic", "batch-independent"}),
    (WrongDtype, {"shape-dtype", "finite", "deterministic", "batch-independent"}),
    (NaNAtSmallT, {"finite"}),
    (MutatesInput, {"input-unchanged"}),
    (NonDeterministic, {"deterministic", "batch-independent"}),
    (BatchCoupled, {"batch-independent"}),
    (BadMetadata, {"metadata"}),
    (FailsToBuild, {"build"}),
])
def test_broken_provider_fails_the_named_checks(provider: type, failed: set[str]) -> None:
    with pytest.raises(ProviderContractError) as info:
        check_provider(provider, **FAST)
    message = str(info.value)
    assert all(f"- {check}:" in message for check in failed), message
    report = check_provider(provider, raise_on_failure=False, **FAST)
    assert set(report.failures) == failed
    if provider is not FailsToBuild:
        assert set(report.passed) == set(CHECKS) - failed - {"run"}


def test_nan_is_located_by_the_sweep() -> None:
    report = check_provider(NaNAtSmallT, raise_on_failure=False, **FAST)
    assert "t = 3" in report.failures["finite"] and "1 of 1000 steps" in report.failures["finite"]


def test_end_to_end_run_catches_what_the_sweep_missed(tmp_path: Path) -> None:
    report = check_provider(NaNAtSmallT, raise_on_failure=False, t_values=[10, 500], tmp_dir=tmp_path,
                            run_steps=1000)
    assert set(report.failures) == {"run"} and "non-finite" in report.failures["run"]


def test_a_different_provider_under_a_registered_name_is_refused() -> None:
    class Impostor(GaussianOracle):
        name: ClassVar[str] = "empirical"

    report = check_provider(Impostor, raise_on_failure=False)
    assert set(report.failures) == {"run"} and "already registered" in report.failures["run"]


def test_bad_argument_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="provider name or an EpsilonProvider subclass"):
        check_provider(object)  # type: ignore[arg-type]
