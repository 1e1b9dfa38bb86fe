"""``denoisebench probe``: levels, image choice, noise, statistics and Jacobian against closed forms."""

from __future__ import annotations

import json
from typing import ClassVar

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from denoisebench.cli import cli
from denoisebench.diffusion.schedule import linear_schedule
from denoisebench.probe.images import stratified_choice
from denoisebench.probe.levels import choose_levels, schedule_sigmas
from denoisebench.probe.noise import probe_noise
from denoisebench.probe.record import LEVEL_COLUMNS, load_probe
from denoisebench.probe.runner import ProbeConfig, run_probe
from denoisebench.probe.statistics import gap, level_statistics, bootstrap_indices
from denoisebench.providers.base import EpsilonProvider
from denoisebench.providers.wiener import WienerProvider, gaussian_fit
from shared_kit import plugin_registered


def config(provider: str, **kw: object) -> ProbeConfig:
    base = {"dataset": "tiny-blobs", "images": 12, "levels": 5, "jacobian_images": 4, "jacobian_probes": 1,
            "trajectory": 0}
    return ProbeConfig(provider=provider, **{**base, **kw})  # type: ignore[arg-type]


def test_levels_are_distinct_log_spaced_steps_over_the_schedule() -> None:
    sched = linear_schedule(1000)
    levels = choose_levels(sched, 12)
    ts = [t for t, _ in levels]
    assert ts[0] == 1 and ts[-1] == 1000 and len(set(ts)) == 12 and ts == sorted(ts)
    ratios = np.diff(np.log([s for _, s in levels]))
    assert np.allclose(ratios, ratios.mean(), rtol=0.25)  # log-spaced up to the rounding to steps
    small = linear_schedule(10)
    assert len({t for t, _ in choose_levels(small, 10)}) == 10  # every step once, none repeated
    assert np.isclose(levels[0][1], schedule_sigmas(sched)[0])


def test_image_choice_is_stratified_seeded_and_capped() -> None:
    labels = np.repeat(np.arange(4), [100, 100, 50, 250])  # sorted by label, like mnist-5k
    idx = stratified_choice(labels, len(labels), 50, seed=3, split="train")
    assert len(idx) == 50 and len(set(idx)) == 50
    assert np.bincount(labels[idx]).tolist() == [10, 10, 5, 25]
    assert np.array_equal(idx, stratified_choice(labels, len(labels), 50, seed=3, split="train"))
    assert not np.array_equal(idx, stratified_choice(labels, len(labels), 50, seed=4, split="train"))
    assert len(stratified_choice(labels, len(labels), 10_000, 0, "heldout")) == 500
    assert len(stratified_choice(None, 30, 7, 0, "train")) == 7


def test_noise_depends_only_on_seed_split_index_and_step() -> None:
    a = probe_noise(0, "train", [3, 5, 9], 17, (1, 8, 8))
    b = probe_noise(0, "train", [9, 5], 17, (1, 8, 8))
    assert torch.equal(a[2], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], probe_noise(0, "heldout", [3], 17, (1, 8, 8))[0])
    assert not torch.equal(a[0], probe_noise(0, "train", [3], 18, (1, 8, 8))[0])
    assert not torch.equal(a[0], probe_noise(1, "train", [3], 17, (1, 8, 8))[0])


def test_gap_statistics_and_intervals() -> None:
    rng = np.random.default_rng(0)
    mt, mh = rng.uniform(0.0, 0.1, 40), rng.uniform(0.2, 0.3, 30)
    stats = level_statistics(mt, mh, bootstrap_indices(40, 0, "train"), bootstrap_indices(30, 0, "heldout"))
    assert stats["gap"] == pytest.approx((mh.mean() - mt.mean()) / mh.mean())
    assert stats["gap_ci_low"] < stats["gap"] < stats["gap_ci_high"]
    assert stats["psnr_train"] == pytest.approx(10 * np.log10(1 / mt.mean()))
    assert stats["mse_train_ci_low"] < mt.mean() < stats["mse_train_ci_high"]
    assert np.isnan(gap(0.1, 0.0)) and gap(0.0, 0.5) == 1.0


def test_empirical_heldout_mse_at_lowest_level_is_distance_to_nearest_training_image(tiny_registered) -> None:
    record, _ = run_probe(config("empirical", jacobian="none"), write=False)
    low = record["levels"][0]
    assert low["t"] == 1
    train = tiny_registered.train_tensor().flatten(1).double()
    held = tiny_registered.heldout_tensor().flatten(1).double()[record["images"]["heldout"]]
    nearest = (torch.cdist(held, train) ** 2).min(dim=1).values / held.shape[1] / 4  # [0, 1] units
    assert low["mse_heldout"] == pytest.approx(float(nearest.mean()), rel=0.02)
    assert low["mse_train"] < 1e-6 and low["psnr_train"] > 60  # it returns the training image
    assert low["gap"] > 0.99
    assert record["jacobian"]["method"] == "none" and "not requested" in record["jacobian"]["reason"]


class DetachedWiener(WienerProvider):
    """The Wiener filter computed under no_grad: x0 = f(x_t) still has a graph, through x_t only."""

    name: ClassVar[str] = "wiener-detached"

    def denoise(self, y, noise_std):  # noqa: ANN001, ANN201
        with torch.no_grad():
            return super().denoise(y, noise_std)


@pytest.mark.parametrize("provider, method, used", [("wiener", "autograd", "autograd"), ("wiener", "fd", "fd"),
                                                    ("wiener", "auto", "autograd"),
                                                    ("wiener-detached", "auto", "fd")])
def test_wiener_jacobian_trace_matches_its_closed_form(tiny_registered, provider: str, method: str,
                                                       used: str) -> None:
    with plugin_registered("probe-detached", providers=[DetachedWiener]):
        record, _ = run_probe(config(provider, jacobian=method, jacobian_images=12, jacobian_probes=24),
                              write=False)
    assert record["jacobian"]["method"] == used
    _, lam, _ = gaussian_fit(tiny_registered.train_images.astype(np.float64) / 255)
    for level in record["levels"]:
        s = level["sigma"] / 2  # the filter works on [0, 1] images, whose noise std is sigma / 2
        exact = float((lam / (lam + s ** 2)).sum() / lam.size)
        tol = 4 * level["jacobian_trace_se"] + 2e-3
        assert abs(level["jacobian_trace"] - exact) < tol, (level["sigma"], level["jacobian_trace"], exact)
    assert record["levels"][0]["jacobian_trace"] > 0.01  # not trivially zero


class Recording(EpsilonProvider):
    """Returns zero noise and keeps every x_t it saw."""

    name: ClassVar[str] = "recording-a"
    description: ClassVar[str] = "test"
    seen: ClassVar[list[torch.Tensor]] = []

    def predict_eps(self, x_t, t, schedule):  # noqa: ANN001, ANN201
        type(self).seen.append(x_t.detach().clone())
        return torch.zeros_like(x_t)


class RecordingB(Recording):
    name: ClassVar[str] = "recording-b"
    seen: ClassVar[list[torch.Tensor]] = []

    def predict_eps(self, x_t, t, schedule):  # noqa: ANN001, ANN201
        type(self).seen.append(x_t.detach().clone())
        return 0.1 * x_t


class Noisy(Recording):
    name: ClassVar[str] = "noisy"

    def predict_eps(self, x_t, t, schedule):  # noqa: ANN001, ANN201
        return torch.randn_like(x_t)


def test_every_provider_sees_the_same_noisy_inputs(tiny_registered) -> None:
    with plugin_registered("probe-recorders", providers=[Recording, RecordingB, Noisy]):
        run_probe(config("recording-a", jacobian="none"), write=False)
        run_probe(config("recording-b", jacobian="none"), write=False)
        assert len(Recording.seen) == len(RecordingB.seen) > 0
        assert all(torch.equal(a, b) for a, b in zip(Recording.seen, RecordingB.seen))
        record, _ = run_probe(config("noisy"), write=False)
        assert record["jacobian"]["method"] == "none" and "not deterministic" in record["jacobian"]["reason"]
        assert all(lv["jacobian_trace"] is None for lv in record["levels"])


def test_against_itself_agrees_exactly_on_inputs_and_trajectory(tiny_registered) -> None:
    record, _ = run_probe(config("wiener", against="wiener", trajectory=3, steps=4, jacobian="none"), write=False)
    assert all(lv["against_r2_median"] == pytest.approx(1.0) and lv["against_mse"] < 1e-10
               for lv in record["levels"])
    calls = record["against"]["trajectory"]["calls"]
    assert len(calls) >= 4 and all(c["r2_median"] == pytest.approx(1.0) for c in calls)


def test_cli_json_record_and_files(tiny_registered, tmp_path) -> None:
    result = CliRunner().invoke(cli, ["probe", "-p", "wiener", "--dataset", "tiny-blobs", "--images", "8",
                                      "--levels", "4", "--jacobian-images", "2", "--json",
                                      "--results-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert len(record["levels"]) == 4
    for level in record["levels"]:
        assert set(LEVEL_COLUMNS) <= set(level)
        assert 0 <= level["mse_train"] <= 1 and 0 <= level["mse_heldout"] <= 1
        assert level["psnr_heldout"] == pytest.approx(10 * np.log10(1 / level["mse_heldout"]))
    (probe_dir,) = [p for p in tmp_path.iterdir() if p.name.startswith("probe-")]
    assert load_probe(probe_dir)["levels"] == record["levels"]
    assert (probe_dir / "probe.csv").read_text().splitlines()[0].startswith(",".join(LEVEL_COLUMNS))
    assert (probe_dir / "probe.png").stat().st_size > 1000
    assert len(record["images"]["train"]) == 8 and record["environment"]["torch"]


@pytest.mark.parametrize("args, words", [
    (["--images", "0"], "--images must be at least 1"),
    (["--levels", "0"], "--levels must be at least 1"),
    (["--levels", "1001"], "exceeds the schedule"),
    (["--jacobian", "maybe"], "--jacobian must be one of"),
    (["-a", "mode=tweedie"], "need --against"),
    (["--against", "no-such"], "unknown provider"),
    (["-o", "nope=1"], "has no option 'nope'"),
    (["--checkpoint", "/no/such/file"], "does not exist"),
])
def test_bad_input_is_one_line(tiny_registered, tmp_path, args: list[str], words: str) -> None:
    result = CliRunner().invoke(cli, ["probe", "-p", "wiener", "--dataset", "tiny-blobs", "--results-dir",
                                      str(tmp_path), *args])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if not line.startswith("probe level")]
    assert len(lines) == 1 and words in lines[0], result.stderr
    assert not any(p.name.startswith("probe-") for p in tmp_path.iterdir()) if tmp_path.exists() else True
