"""PerImageRestorationProvider: one numpy image at a time, in worker processes with -o workers=K.

The reference is the function itself, applied to each image in this process: the provider must
give exactly that (byte for byte) whatever the number of workers, and report a worker's failure
as one line.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from denoisebench import DenoisebenchError, PerImageRestorationProvider, ProviderContext, ProviderError
from denoisebench.datasets.base import ImageDataset
from denoisebench.providers.per_image import parse_workers, usable_cores

#: Noise stds that make the test denoiser misbehave (in any process).
RAISE_AT, DIE_AT, WRONG_SHAPE_AT = 0.125, 0.25, 0.375


def in_worker() -> bool:
    return multiprocessing.parent_process() is not None


def shrink(y: np.ndarray, s: float) -> np.ndarray:
    """The test denoiser: a 3x3 box blur mixed in by the noise level, plus a per-image sum so that
    any mix-up of images, channels or orientation changes the answer."""
    pad = np.pad(y, [(1, 1), (1, 1)] + [(0, 0)] * (y.ndim - 2), mode="edge")
    blur = sum(pad[i:i + y.shape[0], j:j + y.shape[1]] for i in range(3) for j in range(3)) / 9
    w = s / (s + 0.1)
    return ((1 - w) * y + w * blur + 1e-3 * np.arange(y.size).reshape(y.shape) * y.sum()).astype(y.dtype)


class ShrinkProvider(PerImageRestorationProvider):
    """Module level, so spawned workers can import it."""

    name: ClassVar[str] = "shrink-test"
    description: ClassVar[str] = "box blur mixed in by the noise level (test denoiser)"
    blind: ClassVar[bool] = False

    def denoise_image(self, y: np.ndarray, s: float | None) -> np.ndarray:
        if in_worker() and self.context.dataset is not None:
            raise AssertionError("the dataset was sent to a worker")
        if s == RAISE_AT:
            raise ValueError("bad pixel\nsecond line of the library's message")
        if s == DIE_AT and in_worker():
            os._exit(3)  # a worker crash (never the test process itself)
        if s == WRONG_SHAPE_AT:
            return y[1:]
        return shrink(y, s)


def build(dataset: ImageDataset, **options: str) -> ShrinkProvider:
    return ShrinkProvider(ProviderContext(dataset=dataset, options=options))


def batch(channels: int = 1, n: int = 7) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(channels)
    return torch.rand(n, channels, 6, 5, generator=g), torch.linspace(0.01, 3.0, n)


def expected(y: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """The function applied image by image in this process (H x W, or H x W x C for colour)."""
    out = []
    for img, std in zip(y.numpy(), s.tolist()):
        hwc = img[0] if img.shape[0] == 1 else np.moveaxis(img, 0, -1)
        res = shrink(np.ascontiguousarray(hwc), std)
        out.append(res[None] if res.ndim == 2 else np.moveaxis(res, -1, 0))
    return torch.from_numpy(np.stack(out))


@pytest.mark.parametrize("channels", [1, 3])
def test_one_worker_applies_the_function_to_each_image(tiny_dataset: ImageDataset, channels: int) -> None:
    y, s = batch(channels)
    out = build(tiny_dataset).denoise(y, s)
    assert out.dtype == y.dtype and torch.equal(out, expected(y, s))


def test_workers_option() -> None:
    assert parse_workers("3", "x") == 3 and parse_workers("auto", "x") == usable_cores() >= 1
    for bad in ("0", "-2", "two", "1.5", ""):
        with pytest.raises(DenoisebenchError) as err:
            parse_workers(bad, "nlmeans")
        assert "\n" not in str(err.value) and "workers" in str(err.value) and "'nlmeans'" in str(err.value)


def test_bad_workers_value_is_a_one_line_error_at_build_time(tiny_dataset: ImageDataset) -> None:
    with pytest.raises(DenoisebenchError, match=r"option workers of provider 'shrink-test' .* got 'many'"):
        build(tiny_dataset, workers="many")


def test_serial_failures_are_one_line_provider_errors(tiny_dataset: ImageDataset) -> None:
    provider = build(tiny_dataset)
    y, s = batch()
    s[4] = RAISE_AT
    with pytest.raises(ProviderError) as err:
        provider.denoise(y, s)
    assert str(err.value) == ("provider 'shrink-test': denoise_image failed on image 4 of the batch: "
                              "ValueError: bad pixel")
    s[4] = WRONG_SHAPE_AT
    with pytest.raises(ProviderError, match=r"returned shape \(5, 5\) for an image of shape \(6, 5\)"):
        provider.denoise(y, s)


@pytest.fixture(scope="module")
def pool_provider(tiny_dataset: ImageDataset):  # type: ignore[no-untyped-def]
    """One two-worker provider for the tests below (starting workers takes seconds)."""
    provider = build(tiny_dataset, workers="2")
    yield provider
    provider.close()


@pytest.mark.parametrize("channels", [1, 3])
def test_two_workers_give_byte_identical_results(pool_provider: ShrinkProvider, channels: int) -> None:
    y, s = batch(channels, n=11)
    assert torch.equal(pool_provider.denoise(y, s), expected(y, s))
    assert pool_provider.info()["workers"] == 2


def test_a_failure_in_a_worker_is_the_same_one_line_error(pool_provider: ShrinkProvider) -> None:
    y, s = batch(n=9)
    s[6] = RAISE_AT
    with pytest.raises(ProviderError) as err:
        pool_provider.denoise(y, s)
    assert str(err.value) == ("provider 'shrink-test': denoise_image failed on image 6 of the batch: "
                              "ValueError: bad pixel")
    y, s = batch(n=9)
    assert torch.equal(pool_provider.denoise(y, s), expected(y, s))  # the pool survives it


def test_a_worker_that_dies_is_a_one_line_error_and_the_next_batch_gets_new_workers(
        pool_provider: ShrinkProvider) -> None:
    y, s = batch(n=5)
    s[2] = DIE_AT
    with pytest.raises(ProviderError) as err:
        pool_provider.denoise(y, s)
    assert "\n" not in str(err.value) and "a worker process died" in str(err.value) and "workers=1" in str(err.value)
    y, s = batch(n=5)
    assert torch.equal(pool_provider.denoise(y, s), expected(y, s))


class Unpicklable(ShrinkProvider):
    name: ClassVar[str] = "unpicklable-test"

    def __init__(self, context: ProviderContext) -> None:
        super().__init__(context)
        self.rule = lambda s: 2 * s  # a lambda cannot be pickled


def test_a_provider_that_cannot_be_pickled_is_a_one_line_error(tiny_dataset: ImageDataset) -> None:
    provider = Unpicklable(ProviderContext(dataset=tiny_dataset, options={"workers": "2"}))
    with pytest.raises(ProviderError) as err:
        provider.denoise(*batch())
    assert "\n" not in str(err.value) and "cannot be sent to worker processes" in str(err.value)


def test_a_run_with_two_workers_writes_the_samples_of_one(tmp_path: Path) -> None:
    from shared_kit import plugin_registered
    from denoisebench.cli import cli
    from denoisebench.runs.records import load_samples

    samples = []
    with plugin_registered("shrink-test-plugin", providers=[ShrinkProvider]):
        for workers in ("1", "2"):
            res = CliRunner().invoke(cli, ["run", "-p", "shrink-test", "-o", f"workers={workers}", "-n", "6",
                                           "--batch-size", "3", "--steps", "3", "--no-metrics", "--results-dir",
                                           str(tmp_path / workers)], catch_exceptions=False)
            assert res.exit_code == 0, res.output
            samples.append(load_samples(Path(res.stdout.strip().splitlines()[-1])))
    assert samples[0].shape[0] == 6 and np.array_equal(samples[0], samples[1])
