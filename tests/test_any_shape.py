"""Images of any shape through the core (issue 22): C = 1 or 3, any H x W >= 8, not square.

The loop and every builtin sampler at 3 x 12 x 20 against a closed form, the per-sample noise
streams, samples.npz and grid.png in the record's layout, nearest-neighbour metrics normalised by
sqrt(H W C), classifier-feature metrics skipped by their own declaration, and a colour run end to
end (run, report, compare, leaderboard) on a tiny in-test dataset. The MNIST path is pinned against
a reference computed here with the pre-issue grey conventions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from shared_kit import plugin_registered

import denoisebench
from denoisebench.datasets.base import DatasetSpec, ImageDataset, to_model_range
from denoisebench.diffusion.loop import generate
from denoisebench.diffusion.noise import SampleNoise, sample_seed
from denoisebench.diffusion.samplers import BUILTIN_SAMPLERS
from denoisebench.diffusion.schedule import make_schedule
from denoisebench.metrics import evaluate
from denoisebench.metrics.base import Metric, MetricColumn
from denoisebench.metrics.nearest import nearest_train
from denoisebench.runs import records

SHAPE = (3, 12, 20)  # C, H, W: colour, not square, not a power of two
MU = (-0.5, 0.0, 0.5)  # per-channel mean of the Gaussian data below
S = 0.2  # its per-pixel std


class ChannelGaussian(denoisebench.EpsilonProvider):
    """Exact E[eps | x_t] for x_0 ~ N(mu_c, s^2 I), mu_c per channel (any C, H, W):
    eps_hat = sqrt(1 - abar) (x_t - sqrt(abar) mu) / (abar s^2 + 1 - abar)."""

    name: ClassVar[str] = "channel-gauss"
    description: ClassVar[str] = "posterior-mean noise for per-channel Gaussian data"

    def predict_eps(self, x_t: torch.Tensor, t: torch.Tensor, schedule: denoisebench.NoiseSchedule) -> torch.Tensor:
        ab = schedule.alpha_bars[t.cpu()].to(x_t.dtype).view(-1, 1, 1, 1)
        mu = torch.tensor(MU[:x_t.shape[1]], dtype=x_t.dtype).view(1, -1, 1, 1)
        return (1 - ab).sqrt() * (x_t - ab.sqrt() * mu) / (ab * S ** 2 + 1 - ab)


def colour_dataset(n_train: int = 24, n_heldout: int = 10, shape: tuple[int, int, int] = SHAPE,
                   seed: int = 0) -> ImageDataset:
    """Patterned uint8 N x H x W x C images: per-image colour gradients plus noise."""
    c, h, w = shape
    rng = np.random.default_rng(seed)
    n = n_train + n_heldout
    yy, xx = np.mgrid[:h, :w] / max(h, w)
    base = rng.uniform(0, 255, (n, 1, 1, c)) * (0.5 + 0.5 * np.stack([yy, xx, 1 - yy][:c], -1)[None])
    images = np.clip(base + rng.normal(0, 20, (n, h, w, c)), 0, 255).round().astype(np.uint8)
    labels = np.arange(n) % 3
    return ImageDataset(f"colour-{c}x{h}x{w}", images[:n_train], labels[:n_train], images[n_train:],
                        labels[n_train:])


def _provider() -> ChannelGaussian:
    from denoisebench.providers.base import ProviderContext

    return ChannelGaussian(ProviderContext(dataset=colour_dataset(), device=torch.device("cpu")))


# --- the loop, every sampler, the noise streams ------------------------------------------------------

@pytest.mark.parametrize("sampler_cls", BUILTIN_SAMPLERS, ids=lambda c: c.name)
def test_every_sampler_samples_colour_non_square_images(sampler_cls: type) -> None:
    """Every builtin sampler at 3 x 12 x 20 returns N x H x W x 3 uint8 whose per-channel mean is the
    data's (a channel mixed up or dropped would move it by 0.5)."""
    sampler = sampler_cls(make_schedule("linear", 1000), 20)
    images = generate(_provider(), sampler, 8, seed=3, batch_size=5, image_shape=SHAPE)
    assert images.dtype == np.uint8 and images.shape == (8, 12, 20, 3)
    x = to_model_range(images).double()  # back to N x C x H x W in [-1, 1]
    for c, mu in enumerate(MU):
        assert abs(float(x[:, c].mean()) - mu) < 0.05, (sampler_cls.name, c, float(x[:, c].mean()))
        assert 0.1 < float(x[:, c].std()) < 0.45  # about the data's 0.2 (SDE solvers overshoot at 20 NFE), not noise (~1)


@pytest.mark.parametrize("name", ["ddpm", "dpmpp-2m-sde", "ddim"])
def test_sample_i_depends_only_on_seed_and_i_at_any_shape(name: str) -> None:
    """Samples 0..2 are the same bytes whether N = 3 or 7 and whatever the batch size (stochastic
    samplers draw every step's noise from the sample's own stream)."""
    cls = next(c for c in BUILTIN_SAMPLERS if c.name == name)
    sampler = cls(make_schedule("linear", 1000), 6, {"eta": "1"} if name == "ddim" else None)
    runs = [generate(_provider(), sampler, n, seed=11, batch_size=b, image_shape=SHAPE)
            for n, b in ((3, 3), (7, 7), (7, 2), (7, 1))]
    for other in runs[1:]:
        assert other[:3].tobytes() == runs[0].tobytes()
    assert runs[1][3:].tobytes() == runs[2][3:].tobytes() == runs[3][3:].tobytes()
    assert runs[1][0].tobytes() != runs[1][1].tobytes()


def test_noise_stream_of_a_sample_is_its_own_generator_at_any_shape() -> None:
    """x_T of sample i is torch.randn((C, H, W)) from the generator seeded by sample_seed(seed, i)."""
    noise = SampleNoise(5, [4, 1], SHAPE)
    x_t = noise.initial()
    assert x_t.shape == (2, *SHAPE)
    for row, i in enumerate((4, 1)):
        expected = torch.randn((1, *SHAPE), generator=torch.Generator().manual_seed(sample_seed(5, i)))[0]
        assert torch.equal(x_t[row], expected)


def test_no_samples_keep_the_layout() -> None:
    sampler = BUILTIN_SAMPLERS[1](make_schedule("linear", 1000), 2)
    assert generate(_provider(), sampler, 0, 0, 4, SHAPE).shape == (0, 12, 20, 3)
    assert generate(_provider(), sampler, 0, 0, 4, (1, 12, 20)).shape == (0, 12, 20)


# --- samples.npz, grid.png -----------------------------------------------------------------------------

def test_samples_layout_helpers() -> None:
    assert records.samples_shape(5, (1, 28, 28)) == (5, 28, 28)
    assert records.samples_shape(5, (3, 12, 20)) == (5, 12, 20, 3)
    ok = np.zeros((4, 12, 20, 3), np.uint8)
    assert records.is_samples_array(ok, 4) and records.is_samples_array(ok[..., 0], 4)
    assert records.is_samples_array(ok[..., :1]) and not records.is_samples_array(ok, 5)
    assert not records.is_samples_array(ok[..., :2]) and not records.is_samples_array(ok.astype(np.float32))


def test_colour_grid_shows_the_images_in_colour(tmp_path: Path) -> None:
    """grid.png (torchvision's save_image): each image at its place, channels in RGB order."""
    images = colour_dataset().train_images[:6]
    records.save_grid(tmp_path / "grid.png", images, nrow=3)
    grid = np.asarray(Image.open(tmp_path / "grid.png").convert("RGB"))
    pad = 2
    assert grid.shape == (pad + 2 * (12 + pad), pad + 3 * (20 + pad), 3)
    for k, img in enumerate(images):
        r, c = divmod(k, 3)
        y, x = pad + r * (12 + pad), pad + c * (20 + pad)
        assert np.array_equal(grid[y:y + 12, x:x + 20], img)


def test_grey_grid_bytes_are_unchanged(tmp_path: Path) -> None:
    """For grey samples grid.png is the pre-issue drawing: save_image of N x 1 x H x W in [0, 1]."""
    from torchvision.utils import save_image

    images = (np.arange(5 * 28 * 28) % 251).astype(np.uint8).reshape(5, 28, 28)
    records.save_grid(tmp_path / "new.png", images)
    save_image(torch.from_numpy(images).float().div(255).unsqueeze(1), tmp_path / "old.png", nrow=3, padding=2,
               pad_value=1.0)
    assert (tmp_path / "new.png").read_bytes() == (tmp_path / "old.png").read_bytes()


# --- metrics ---------------------------------------------------------------------------------------------

def _brute_force(queries: np.ndarray, train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    q = queries.reshape(len(queries), -1).astype(np.float64) / 255
    t = train.reshape(len(train), -1).astype(np.float64) / 255
    d = np.sqrt(((q[:, None] - t[None]) ** 2).mean(-1))
    order = np.argsort(d, axis=1, kind="stable")[:, :2]
    return order, np.take_along_axis(d, order, 1)


@pytest.mark.parametrize("shape", [(3, 12, 20), (3, 32, 32), (1, 9, 30)])
def test_nearest_train_matches_brute_force_at_any_shape(shape: tuple[int, int, int]) -> None:
    """Exact ranking and distances over pixels and channels, including above 1,024 values per image
    (3 x 32 x 32 = 3,072: scored in float64) and with chunks smaller than the sets."""
    data = colour_dataset(40, 9, shape, seed=2)
    train, queries = data.train_images, data.heldout_images
    nb = nearest_train(queries, train, query_chunk=4, train_chunk=7)
    index, dist = _brute_force(queries, train)
    np.testing.assert_array_equal(nb.index, index)
    np.testing.assert_allclose(nb.distance, dist, rtol=1e-12)


def test_nearest_distance_is_normalised_by_sqrt_hwc() -> None:
    """A copy is at 0; a copy with one channel raised by 30 grey levels everywhere is at
    30/255 / sqrt(3) (the RMS over H x W x 3 values), and d1/d2 is then well below 1/3."""
    data = colour_dataset(12, 2, seed=4)
    train = data.train_images.copy()
    train[..., 0] = np.clip(train[..., 0], 0, 200)
    query = train[[5]].copy()
    shifted = query.copy()
    shifted[..., 0] += 30
    nb = nearest_train(np.concatenate([query, shifted]), train)
    assert nb.index[0, 0] == 5 and nb.distance[0, 0] == 0.0
    assert nb.index[1, 0] == 5 and nb.distance[1, 0] == pytest.approx(30 / 255 / np.sqrt(3), rel=1e-12)
    # grey sets may carry the channel axis or not: both layouts give the same neighbours
    grey = train[..., 0]
    a, b = nearest_train(grey[:3], grey), nearest_train(grey[:3, ..., None], grey)
    np.testing.assert_array_equal(a.index, b.index)
    np.testing.assert_array_equal(a.distance, b.distance)


def test_classifier_metrics_are_skipped_by_their_declaration_on_colour() -> None:
    """On 3 x 12 x 20 the classifier-feature metrics are null with their reason; nearest is computed."""
    data = colour_dataset()
    result = evaluate(data.heldout_images, data, seed=0)
    for name in ("fid", "kid", "prdc", "classifier", "authpct", "ct", "vendi"):
        assert result[name] is None
        reason = next(s for s in result["skipped"] if s.startswith(f"{name}: "))
        assert "1x28x28" in reason and "3x12x20" in reason
        assert result["declared"][name]["input_shape"] == [1, 28, 28]
    assert result["declared"]["nearest"]["input_shape"] is None
    assert result["nearest"]["n"] == 10 and result["nearest_heldout"] is not None
    assert result["dataset"]["shape"] == [3, 12, 20] and result["feature_network"] is None
    assert "floor" not in result  # no train-subset metric applies here
    assert not result.get("failed")


def test_a_metric_declares_the_shape_it_reads() -> None:
    """A plugin metric's input_shape alone decides whether it runs: no list elsewhere."""
    calls = []

    class GreyOnly(Metric):
        name = "grey_only_test"
        description = "a test metric for 1 x 12 x 20 images"
        columns = (MetricColumn("grey_only_test", "grey only"),)
        input_shape = (1, 12, 20)
        input_requirement = "a test network"

        def compute(self, evaluation):  # noqa: ANN001, ANN201
            calls.append(evaluation.images.shape)
            return {"value": 1.0}

    colour, grey = colour_dataset(), colour_dataset(shape=(1, 12, 20))
    res = evaluate(colour.heldout_images, colour, metrics=[GreyOnly], with_floor=False)
    assert res["grey_only_test"] is None and not calls
    assert res["skipped"] == ["grey_only_test: reads 1x12x20 images only (a test network); dataset "
                              "'colour-3x12x20' has 3x12x20"]
    res = evaluate(grey.heldout_images, grey, metrics=[GreyOnly], with_floor=False)
    assert res["grey_only_test"] == {"value": 1.0} and calls and res["skipped"] == []
    with pytest.raises(denoisebench.DenoisebenchError, match="input_shape"):
        type("Bad", (Metric,), {"name": "bad_test", "description": "x", "input_shape": (28, 28),
                                "compute": lambda self, e: None})


def test_evaluate_refuses_images_of_another_shape() -> None:
    data = colour_dataset()
    with pytest.raises(denoisebench.DenoisebenchError, match="3 x 12 x 20"):
        evaluate(data.heldout_images[..., 0], data)


# --- a colour run end to end -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def colour_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two entries (empirical, the Gaussian oracle) x 2 seeds on a registered colour dataset, with metrics."""
    from denoisebench.plugins import manager as plugins
    from denoisebench.runs.runner import RunConfig, execute

    data = colour_dataset(40, 30)
    results = tmp_path_factory.mktemp("colour") / "results"
    plugins.reset()
    with plugin_registered("colour-test-plugin", [DatasetSpec(data.id, "colour test set", lambda _o: data)],
                           [ChannelGaussian]):
        for provider in ("empirical", "channel-gauss"):
            for seed in (0, 1):
                execute(RunConfig(provider=provider, dataset=data.id, sampler="ddim", steps=8, num_samples=12,
                                  batch_size=5, seed=seed, results_dir=results))
        yield results
    plugins.reset()


def _run_dirs(results: Path) -> list[Path]:
    return sorted(p for p in results.iterdir() if (p / records.RUN_FILE).is_file())


def test_colour_run_records_shape_samples_grid_and_nearest(colour_results: Path) -> None:
    for run_dir in _run_dirs(colour_results):
        record = json.loads((run_dir / records.RUN_FILE).read_text())
        assert record["dataset"]["shape"] == [3, 12, 20] and record["dataset"]["id"] == "colour-3x12x20"
        assert len(record["dataset"]["hash"]) == 64
        images = records.load_samples(run_dir)
        assert images.shape == (12, 12, 20, 3) and images.dtype == np.uint8
        skipped = {s.split(":")[0] for s in record["metrics"]["skipped"]}
        # the pinned classifier's metrics by their declaration; the default colour encoders
        # (inception, dinov2) because their weights are absent offline
        assert "classifier" in skipped  # the feature metrics are copied per chosen encoder: here none
        assert {s for s in skipped if s.startswith("encoder ")} == {"encoder inception (a default) skipped",
                                                                    "encoder dinov2-vitb14 (a default) skipped"}
        grid = np.asarray(Image.open(run_dir / "grid.png").convert("RGB")).astype(int)
        assert np.abs(grid[..., 0] - grid[..., 2]).max() > 50  # colour, not grey
        assert (run_dir / "nearest.png").is_file()
        if record["provider"]["name"] == "empirical":  # the exact denoiser of the train split copies it
            assert record["metrics"]["nearest"]["memorised_share"] >= 0.9


def test_report_compare_and_leaderboard_take_colour_runs(colour_results: Path, tmp_path: Path) -> None:
    from denoisebench.cli import cli
    from denoisebench.plugins import manager as plugins

    data = colour_dataset(40, 30)
    with plugin_registered("colour-test-plugin-2", [DatasetSpec(data.id, "colour test set", lambda _o: data)],
                           [ChannelGaussian]):
        runner = CliRunner()
        res = runner.invoke(cli, ["report", str(colour_results), "--output", str(tmp_path / "report.md")])
        assert res.exit_code == 0, res.output
        text = (tmp_path / "report.md").read_text()
        assert "grid.png" in text and "nearest.png" in text
        res = runner.invoke(cli, ["compare", str(colour_results), "--format", "json", "--bootstrap", "100"])
        assert res.exit_code == 0, res.output
        pairs = json.loads(res.stdout)
        # the classifier cannot read colour: the memorised share, and KD on pixels (a default encoder)
        assert {(p["metric"], p["encoder"]) for p in pairs} == {("memorised", None), ("kid", "pixels")}
        assert any(p["verdict"] != "tied" for p in pairs)  # empirical copies, the oracle does not
        assert "not compared" in res.stderr and "1x28x28" in res.stderr
        res = runner.invoke(cli, ["leaderboard", str(colour_results), "--output", str(tmp_path / "board.html"),
                                  "--bootstrap", "100"])
        assert res.exit_code == 0, res.output
        page = (tmp_path / "board.html").read_text()
        assert "no grid.png" not in page
        assert "alt='samples of empirical'" in page and "alt='samples of channel-gauss'" in page
    plugins.reset()


# --- MNIST unchanged --------------------------------------------------------------------------------------

def test_mnist_ddim_samples_are_the_pre_issue_bytes(tmp_path: Path) -> None:
    """The shipped U-Net, DDIM 50, seed 0: samples.npz holds exactly what the pre-issue grey pipeline
    gives, recomputed here from its conventions (x_T = randn(1, 28, 28) from sample i's generator,
    DDIM eta = 0 step by step, uint8 N x 28 x 28 by round((clamp(x) + 1) * 127.5))."""
    from denoisebench.plugins import get_registry
    from denoisebench.providers.base import ProviderContext
    from denoisebench.datasets.base import DatasetOptions
    from denoisebench.runs.runner import RunConfig, execute

    n = 3
    run_dir = execute(RunConfig(provider="unet", dataset="mnist-5k", sampler="ddim", steps=50, num_samples=n,
                                batch_size=n, seed=0, results_dir=tmp_path, metrics=False))
    got = records.load_samples(run_dir)

    registry = get_registry()
    data = registry.dataset("mnist-5k").load(DatasetOptions())
    unet = registry.provider("unet")[0].from_context(ProviderContext(dataset=data, device=torch.device("cpu")))
    sched = make_schedule("linear", 1000)
    ts = [int(v) for v in np.round(np.linspace(1000, 1, 50))]
    with torch.inference_mode():
        x = torch.stack([torch.randn((1, 1, 28, 28), generator=torch.Generator().manual_seed(sample_seed(0, i)))
                         for i in range(n)])[:, 0]
        for t, t_prev in zip(ts, ts[1:] + [0]):
            ab_t, ab_p = float(sched.alpha_bars[t]), float(sched.alpha_bars[t_prev])
            eps = unet.predict_eps(x, torch.full((n,), t, dtype=torch.long), sched).to(x.dtype)
            x0 = (x - (1 - ab_t) ** 0.5 * eps) / ab_t ** 0.5
            x = ab_p ** 0.5 * x0 + max(1 - ab_p, 0.0) ** 0.5 * eps
        expected = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).squeeze(1).numpy()
    assert got.shape == (n, 28, 28) and got.dtype == np.uint8
    assert got.tobytes() == expected.tobytes()


# --- the other readers and writers of colour samples -------------------------------------------------

def test_ranks_batches_are_assembled_in_the_colour_layout() -> None:
    from denoisebench.runs.runner import assemble

    truth = colour_dataset(7, 1).train_images
    parts = [{"batches": [0, 6], "images": np.concatenate([truth[0:3], truth[6:7]])},
             {"batches": [3], "images": truth[3:6]}]
    out = assemble(parts, 7, 3, SHAPE)
    assert out.shape == (7, 12, 20, 3) and np.array_equal(out, truth)


def test_forward_and_nearest_figures_draw_colour(tmp_path: Path) -> None:
    from denoisebench.report.figures import forward_figure, nearest_figure

    data = colour_dataset()
    forward_figure(tmp_path / "forward.png", data, count=2, timesteps=(0, 500))
    nearest_figure(tmp_path / "nearest.png", data.heldout_images[:3], data.train_images)
    for name in ("forward.png", "nearest.png"):
        img = np.asarray(Image.open(tmp_path / name).convert("RGB")).astype(int)
        assert (np.abs(img[..., 0] - img[..., 2]) > 50).sum() > 2000  # image areas in colour, not a few red labels


def test_the_provider_contract_runs_on_colour_data(tmp_path: Path) -> None:
    """denoisebench.testing's run check expects the colour layout (N x H x W x 3) of a colour dataset."""
    from denoisebench.testing import check_provider

    report = check_provider("empirical", colour_dataset(), t_values=[1, 500, 1000], run_samples=3, run_batch=2,
                            tmp_dir=tmp_path)
    assert "run" in report.passed
    assert records.load_samples(report.run_dir).shape == (3, 12, 20, 3)


def test_run_command_on_colour_data_says_what_was_not_measured(tmp_path: Path) -> None:
    from denoisebench.cli import cli

    data = colour_dataset()
    with plugin_registered("colour-test-plugin-3", [DatasetSpec(data.id, "colour test set", lambda _o: data)]):
        res = CliRunner().invoke(cli, ["run", "-p", "empirical", "--dataset", data.id, "--sampler", "ddim",
                                       "--steps", "4", "-n", "5", "--results-dir", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "memorised" in res.output
    assert ("not measured: classifier (reads 1x28x28 images only (the pinned MNIST classifier's features); "
            "dataset 'colour-3x12x20' has 3x12x20)") in res.output
    assert "not measured on inception, dinov2-vitb14: their weights are missing" in res.output
    assert "Warning: encoder inception (a default) skipped: encoder 'inception': weights file" in res.output


def test_grey_data_with_a_channel_axis_gets_every_metric(mnist5k: ImageDataset) -> None:
    """A 1 x 28 x 28 set stored N x 28 x 28 x 1 is scored like N x 28 x 28: same numbers, nothing skipped."""
    small = ImageDataset("mnist-small", mnist5k.train_images[:300], mnist5k.train_labels[:300],
                         mnist5k.heldout_images[:100], mnist5k.heldout_labels[:100])
    nhwc = ImageDataset("mnist-small", small.train_images[..., None], small.train_labels,
                        small.heldout_images[..., None], small.heldout_labels)
    a = evaluate(small.heldout_images[:20], small, n_bootstrap=5, kid_subsets_n=5, with_floor=False)
    b = evaluate(small.heldout_images[:20], nhwc, n_bootstrap=5, kid_subsets_n=5, with_floor=False)
    assert a["skipped"] == b["skipped"] and not b.get("failed")  # at most C_T's "too few samples", in both
    assert not any("1x28x28" in s for s in a["skipped"])
    for name in ("fid", "kid", "prdc", "classifier", "nearest", "authpct", "vendi"):
        assert a[name] == b[name]


def test_a_skip_reason_that_raises_fails_only_its_metric() -> None:
    class Broken(Metric):
        name = "broken_skip_test"
        description = "a metric whose skip_reason raises"
        columns = (MetricColumn("broken_skip_test", "broken"),)

        @classmethod
        def skip_reason(cls, dataset):  # noqa: ANN001, ANN206
            raise RuntimeError("boom")

        def compute(self, evaluation):  # noqa: ANN001, ANN201
            return {"value": 1.0}

    from denoisebench.metrics.nearest import NearestNeighbours

    data = colour_dataset()
    with pytest.warns(RuntimeWarning, match="broken_skip_test"):
        res = evaluate(data.heldout_images, data, metrics=[Broken, NearestNeighbours], with_floor=False)
    assert res["broken_skip_test"] is None and res["failed"] == ["broken_skip_test: skip_reason raised RuntimeError: boom"]
    assert res["nearest"]["n"] == 10 and res["skipped"] == []
