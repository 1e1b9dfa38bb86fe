"""The contract kit for samplers, metrics and datasets: the builtins pass, deliberately broken plugins fail
the check that names their mistake."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest
import torch
from shared_kit import blob_images

import denoisebench
from denoisebench import DatasetSpec, ImageDataset, Metric, MetricColumn, StepOutput
from denoisebench.diffusion.samplers.euler import EulerSampler
from denoisebench.plugins import get_registry
from denoisebench.testing import (DatasetContractError, MetricContractError, SamplerContractError, check_dataset,
                                  check_metric, check_provider, check_sampler)

# --- samplers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ddim", "ddpm", "euler", "heun", "dpmpp-2m", "dpmpp-2m-sde", "unipc"])
def test_every_builtin_sampler_passes(name: str, tmp_path) -> None:
    report = check_sampler(name, tmp_dir=tmp_path)
    assert report.ok and "gaussian" in report.passed and "providers" in report.passed and report.run_dir


class _Broken(EulerSampler):
    """The builtin Euler sampler under another name; each subclass breaks one rule."""

    name: ClassVar[str] = "broken-euler"
    description: ClassVar[str] = "a deliberately broken sampler"


class ReturnsTuple(_Broken):
    def step(self, model, x, i, state, noise):  # noqa: ANN001, ANN201
        out = super().step(model, x, i, state, noise)
        return out.prev_sample, out.pred_original_sample


class WrongShape(_Broken):
    def step(self, model, x, i, state, noise):  # noqa: ANN001, ANN201
        out = super().step(model, x, i, state, noise)
        return StepOutput(out.prev_sample[..., :-1], out.pred_original_sample)


class GlobalRandom(_Broken):
    def step(self, model, x, i, state, noise):  # noqa: ANN001, ANN201
        out = super().step(model, x, i, state, noise)
        return StepOutput(out.prev_sample + 1e-3 * torch.randn_like(x), out.pred_original_sample)


class BatchStatistics(_Broken):
    def step(self, model, x, i, state, noise):  # noqa: ANN001, ANN201
        out = super().step(model, x, i, state, noise)
        return StepOutput(out.prev_sample - 0.01 * out.prev_sample.mean(), out.pred_original_sample)


class UndeclaredCalls(_Broken):
    def step(self, model, x, i, state, noise):  # noqa: ANN001, ANN201
        model(x, self.timesteps[i])  # a second network evaluation that evals_per_step does not declare
        return super().step(model, x, i, state, noise)


class WrongScale(_Broken):
    """Hands the model x~ = x_t / sqrt(abar_t) instead of x_t: converges to the wrong distribution."""

    def step(self, model, x, i, state, noise):  # noqa: ANN001, ANN201
        ab = float(self.schedule.alpha_bars[self.timesteps[i]])
        return super().step(lambda y, t: model(y / ab ** 0.5, t), x, i, state, noise)


class SecretlyStochastic(_Broken):
    def step(self, model, x, i, state, noise):  # noqa: ANN001, ANN201
        out = super().step(model, x, i, state, noise)
        return StepOutput(out.prev_sample + 0.0 * noise.step(i), out.pred_original_sample)


class FractionalStep(_Broken):
    def step(self, model, x, i, state, noise):  # noqa: ANN001, ANN201
        return super().step(lambda y, t: model(y, t - 0.5), x, i, state, noise)


@pytest.mark.parametrize(("cls", "check", "needle"), [
    (ReturnsTuple, "shape-dtype", "returned tuple, not a denoisebench.StepOutput"),
    (WrongShape, "shape-dtype", "keep x's shape"),
    (GlobalRandom, "deterministic", "never the global RNG"),
    (BatchStatistics, "batch-independent", "inside a batch"),
    (UndeclaredCalls, "nfe", "evals_per_step"),
    (WrongScale, "gaussian", "variance"),
    (SecretlyStochastic, "gaussian", "noise=None"),
    (FractionalStep, "shape-dtype", "integer step"),
])
def test_a_broken_sampler_fails_its_check(cls: type, check: str, needle: str) -> None:
    report = check_sampler(cls, run=False, raise_on_failure=False)
    assert check in report.failures, report.failures
    assert needle in report.failures[check]
    assert check not in report.passed
    with pytest.raises(SamplerContractError, match=f"(?s)sampler 'broken-euler' failed .*{check}"):
        check_sampler(cls, run=False)


def test_the_provider_kits_run_check_takes_the_sampler(tmp_path) -> None:
    report = check_provider("wiener", run_sampler="heun", run_sampler_options={"s_churn": 0},
                            t_values=list(range(1, 1001, 100)), tmp_dir=tmp_path)
    record = __import__("json").loads((report.run_dir / "run.json").read_text())
    assert record["sampler"]["name"] == "heun" and record["sampler"]["nfe"] == 2 * 4 - 1


# --- metrics ----------------------------------------------------------------------------------

BLOBS = ImageDataset("kit-blobs", blob_images(40, 1), np.arange(40) % 4, blob_images(40, 2), np.arange(40) % 4)


def ink(images: np.ndarray) -> np.ndarray:
    return (images > 127).reshape(len(images), -1).mean(axis=1)


class InkGap(Metric):
    name = "ink_gap"
    description = "absolute gap between the mean ink share of the images and the held-out images'"
    columns = (MetricColumn("ink_gap", "ink gap", "min", ("value",), ("std",)),)

    def compute(self, evaluation: Any) -> dict[str, Any]:
        mine = ink(evaluation.images)
        gap = abs(mine.mean() - ink(evaluation.dataset.heldout_images).mean())
        return {"value": float(gap), "std": float(mine.std(ddof=1) / np.sqrt(len(mine)))}


class SignedInkDiff(Metric):
    """A signed difference: closer to zero is better."""

    name = "ink_diff"
    description = "mean ink share of the images minus the held-out images'"
    columns = (MetricColumn("ink_diff", "ink diff", "zero", ("value",)),)

    def compute(self, evaluation: Any) -> dict[str, Any]:
        return {"value": float(ink(evaluation.images).mean() - ink(evaluation.dataset.heldout_images).mean())}


@pytest.mark.parametrize("metric", [InkGap, SignedInkDiff])
def test_a_correct_metric_passes(metric: type) -> None:
    report = check_metric(metric, BLOBS, n=20)
    assert report.passed == ["metadata", "compute", "columns", "finite", "direction", "n-dependence"]


@pytest.mark.parametrize("name", ["fid", "kid", "prdc", "classifier", "nearest"])
def test_every_builtin_metric_passes(name: str, mnist5k: ImageDataset) -> None:
    assert check_metric(name, mnist5k, n=96).ok


class WrongPath(InkGap):
    columns = (MetricColumn("ink_gap", "ink gap", "min", ("valeu",)),)


class NotFinite(InkGap):
    def compute(self, evaluation: Any) -> dict[str, Any]:
        return {"value": float("nan")}


class WrongDirection(InkGap):
    columns = (MetricColumn("ink_gap", "ink gap", "max", ("value",)),)


class HiddenN(InkGap):
    """Its value is a count: it moves with N but says it does not."""

    columns = (MetricColumn("ink_gap", "inked images", None, ("value",)),)

    def compute(self, evaluation: Any) -> dict[str, Any]:
        return {"value": float((ink(evaluation.images) > 0.05).sum())}


class NotJson(InkGap):
    def compute(self, evaluation: Any) -> dict[str, Any]:
        return {"value": ink(evaluation.images)}  # a numpy array


@pytest.mark.parametrize(("cls", "check", "needle"), [
    (WrongPath, "columns", "leads to nothing"),
    (NotFinite, "finite", "not a finite number"),
    (WrongDirection, "direction", "higher is better"),
    (HiddenN, "n-dependence", "depends_on_n = True"),
    (NotJson, "compute", "not JSON-serialisable"),
])
def test_a_broken_metric_fails_its_check(cls: type, check: str, needle: str) -> None:
    white = np.full((20, 28, 28), 255, dtype=np.uint8)  # all ink: far from the held-out share
    report = check_metric(cls, BLOBS, n=20, bad=white, raise_on_failure=False)
    assert check in report.failures, report.failures
    assert needle in report.failures[check] and check not in report.passed
    with pytest.raises(MetricContractError, match=f"(?s)metric 'ink_gap' failed .*{check}"):
        check_metric(cls, BLOBS, n=20, bad=white)


# --- datasets ---------------------------------------------------------------------------------


def colour(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 12, 20, 3), dtype=np.uint8)


@pytest.mark.parametrize("spec", [
    DatasetSpec("kit-colour", "non-square colour images", lambda o: ImageDataset("kit-colour", colour(10, 0),
                                                                                 np.arange(10), colour(4, 1),
                                                                                 np.arange(4))),
    DatasetSpec("kit-grey", "grey blobs", lambda o: ImageDataset("kit-grey", blob_images(10, 0), np.arange(10) % 2,
                                                                 blob_images(4, 1), np.arange(4) % 2)),
])
def test_a_correct_dataset_passes(spec: DatasetSpec) -> None:
    assert check_dataset(spec).passed == ["metadata", "load", "splits", "dtype-shape", "labels", "stable-hash"]


def test_the_builtin_datasets_pass() -> None:
    assert check_dataset("mnist-5k").ok


def _float_images(options: Any) -> ImageDataset:
    return ImageDataset("kit-bad", blob_images(10, 0).astype(np.float32), np.arange(10), blob_images(4, 1),
                        np.arange(4))


def _unstable(options: Any) -> ImageDataset:
    train = np.random.default_rng().integers(0, 256, (10, 16, 16), dtype=np.uint8)  # unseeded
    return ImageDataset("kit-bad", train, np.arange(10), blob_images(4, 1, size=16), np.arange(4))


@pytest.mark.parametrize(("load", "check", "needle"), [
    (_float_images, "dtype-shape", "uint8"),
    (_unstable, "stable-hash", "different content hashes"),
    (lambda o: ImageDataset("kit-bad", blob_images(10, 0), np.arange(10), blob_images(0, 1), np.arange(0)),
     "splits", "both splits"),
    (lambda o: ImageDataset("other", blob_images(10, 0), np.arange(10), blob_images(4, 1), np.arange(4)),
     "splits", "differs from the spec's"),
    (lambda o: ImageDataset("kit-bad", blob_images(10, 0), np.arange(9), blob_images(4, 1), np.arange(4)),
     "labels", "one integer per image"),
    (lambda o: ImageDataset("kit-bad", colour(10, 0)[..., :2], np.arange(10), colour(4, 1)[..., :2], np.arange(4)),
     "dtype-shape", "channels"),
    (lambda o: blob_images(10, 0), "load", "not a denoisebench.ImageDataset"),
])
def test_a_broken_dataset_fails_its_check(load: Any, check: str, needle: str) -> None:
    spec = DatasetSpec("kit-bad", "a deliberately broken dataset", load)
    report = check_dataset(spec, raise_on_failure=False)
    assert check in report.failures, report.failures
    assert needle in report.failures[check] and check not in report.passed
    with pytest.raises(DatasetContractError, match=f"(?s)dataset 'kit-bad' failed .*{check}"):
        check_dataset(spec)


def test_exports() -> None:
    assert callable(denoisebench.testing.check_sampler) and get_registry().sampler("euler")[0] is EulerSampler
