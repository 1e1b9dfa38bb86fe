"""Paired verdicts per encoder and across encoders: robust when every encoder gives the same
significant direction, level when all tie, split otherwise (issue 25)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from oracles import GaussianOracle
from shared_kit import benched_blob_suite, blob_images

import denoisebench
from denoisebench.cli import cli
from denoisebench.compare import SampleSet, bootstrap_entries
from denoisebench.compare.across import LEVEL, ONE_ENCODER, ROBUST, SPLIT, across_encoders, across_kind
from denoisebench.compare.collect import Setting
from denoisebench.compare.paired import compare_pairs
from denoisebench.encoders import Encoder
from denoisebench.plugins import register_plugin, unregister_plugin
from denoisebench.runs.records import SAMPLES_FILE


@pytest.mark.parametrize(("a", "b", "t", "expected"), [
    (["x", "y"], [], [], ROBUST), ([], ["x", "y", "z"], [], ROBUST), ([], [], ["x", "y"], LEVEL),
    (["x"], ["y"], [], SPLIT), (["x"], [], ["y"], SPLIT), (["x"], ["y"], ["z"], SPLIT),
    (["x"], [], [], ONE_ENCODER), ([], [], ["x"], ONE_ENCODER)])
def test_across_kind(a: list[str], b: list[str], t: list[str], expected: str) -> None:
    assert across_kind(a, b, t) == expected


SETTING = Setting("synthetic", "h", "linear", "ddim", 10, 200)


def _decide(features: dict[str, dict[str, np.ndarray]], reference: dict[str, np.ndarray]) -> dict:
    """Pairs of entries on each 'encoder' (a name -> features per entry at one seed), then across."""
    pairs = []
    for encoder, by_entry in features.items():
        sets = {(e, 0): SampleSet(f, None, None, len(f)) for e, f in by_entry.items()}
        boot = bootstrap_entries(sets, reference[encoder], ["fid"], n_bootstrap=200, seed=0)
        per_seed = {e: {0: boot[(e, 0, "fid")]} for e in by_entry}
        pairs += compare_pairs(SETTING, "fid", per_seed, sorted(by_entry), encoder=encoder)
    return across_encoders(pairs)


def test_synthetic_features_split_robust_and_level() -> None:
    """Encoder u sees b's shift (a better), encoder v sees a's (b better), w sees neither; c = a."""
    rng = np.random.default_rng(0)
    n, d = 200, 4
    ref = {k: rng.normal(size=(400, d)) for k in "uvw"}
    base = {k: rng.normal(size=(n, d)) for k in "uvw"}
    shift = np.full(d, 1.5)
    feats = {"u": {"a": base["u"], "b": base["u"] + shift, "c": base["u"].copy()},
             "v": {"a": base["v"] + shift, "b": base["v"], "c": base["v"] + shift},
             "w": {"a": base["w"], "b": base["w"], "c": base["w"]}}
    across = _decide(feats, ref)
    ab = across[(SETTING, "fid", "a", "b")]
    assert (ab.a_better, ab.b_better, ab.level) == (("u",), ("v",), ("w",)) and ab.kind == SPLIT
    assert ab.text() == "split (a better on u; b better on v; level on w)"
    ac = across[(SETTING, "fid", "a", "c")]
    assert ac.kind == LEVEL and set(ac.level) == {"u", "v", "w"}  # identical entries: tied everywhere
    # on u and v alone, a vs b split; on u with a third encoder shifted the same way: robust
    feats2 = {"u": feats["u"], "u2": {e: x * 1.0 for e, x in feats["u"].items()}}
    ref2 = {"u": ref["u"], "u2": ref["u"]}
    robust = _decide(feats2, ref2)[(SETTING, "fid", "a", "b")]
    assert robust.kind == ROBUST and robust.text() == "robust (a better on u, u2)"


class _Half(Encoder):
    """Test encoder: 4 x 4 average pooling of one half (columns) of a 28 x 28 grey image, 28-d."""

    input_channels = 1
    output_dim = 28
    needs_weights = False
    side: int = 0

    @classmethod
    def default_weights_path(cls) -> None:
        return None

    def _build(self, weights: Path | None) -> torch.nn.Module:
        return torch.nn.Sequential(torch.nn.AvgPool2d(4), torch.nn.Flatten())

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        start = 14 * self.side
        return x[..., :, start:start + 12]


class LeftHalf(_Half):
    name = "left-test"
    description = "test: the left half, pooled"
    preprocessing = "x/255, columns 0-11, 4x4 average pool"
    output_dim = 21
    side = 0


class RightHalf(_Half):
    name = "right-test"
    description = "test: the right half, pooled"
    preprocessing = "x/255, columns 14-25, 4x4 average pool"
    output_dim = 21
    side = 1


class MissingWeights(_Half):
    name = "missing-weights-test"
    description = "test: an encoder whose weights file is absent"
    preprocessing = "as left-test"
    output_dim = 21
    needs_weights = True

    @classmethod
    def default_weights_path(cls) -> Path:
        return Path("/nonexistent/missing-weights-test.safetensors")


SUITE = """\
[suite]
dataset = "tiny-blobs-enc"
num_samples = 40
seeds = [0, 1]
metrics = false
results_dir = "results"

[[entry]]
label = "A"
provider = "empirical"

[[entry]]
label = "B"
provider = "gauss-oracle"

[[entry]]
label = "C"
provider = "empirical"
options = { chunk = 16 }

[[sampler]]
name = "ddim"
steps = 2
"""


@pytest.fixture(scope="module")
def split_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Runs of A, B, C whose samples are then replaced: A = blobs with the right half saturated,
    B = blobs with the left half saturated, C = A's images (identical)."""

    class Plugin:
        @denoisebench.hookimpl
        def register_encoders(self, register):  # noqa: ANN001, ANN201
            register(LeftHalf)
            register(RightHalf)
            register(MissingWeights)

    register_plugin(Plugin(), "half-encoders")
    try:
        with benched_blob_suite(tmp_path_factory.mktemp("enc"), SUITE, "tiny-blobs-enc", "enc-test-plugin",
                                [GaussianOracle]) as root:
            for run_json in (root / "results").rglob("run.json"):
                record = json.loads(run_json.read_text())
                entry, seed = record["suite"]["entry"], int(record["seed"])
                images = blob_images(40, 100 + seed)
                if entry in ("A", "C"):
                    images[:, :, 14:] = 255
                else:
                    images[:, :, :14] = 255
                np.savez(run_json.parent / SAMPLES_FILE, images=images)
            yield root
    finally:
        unregister_plugin("half-encoders")


def _compare(root: Path, *args: str):  # noqa: ANN202
    return CliRunner().invoke(cli, ["compare", str(root / "results"), "--bootstrap", "100", *args])


def test_compare_splits_across_two_encoders_and_ties_identical_entries(split_runs: Path) -> None:
    res = _compare(split_runs, "--encoder", "left-test", "--encoder", "right-test", "-m", "fid", "-m", "kid",
                   "--format", "json")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    got = {(r["a"], r["b"], r["metric"], r["encoder"]): r for r in rows}
    assert {k[3] for k in got} == {"left-test", "right-test"}
    for metric in ("fid", "kid"):
        assert got[("A", "B", metric, "left-test")]["verdict"] == "a better"
        assert got[("A", "B", metric, "right-test")]["verdict"] == "b better"
        ab = got[("A", "B", metric, "left-test")]
        assert ab["across"] == "split" and ab["across_detail"] == "split (A better on left-test; B better on right-test)"
        assert ab["a_better_on"] == ["left-test"] and ab["b_better_on"] == ["right-test"]
        for encoder in ("left-test", "right-test"):
            same = got[("A", "C", metric, encoder)]
            assert same["verdict"] == "tied" and same["diff"] == 0.0
            assert same["across"] == "level" and same["level_on"] == ["left-test", "right-test"]
    md = _compare(split_runs, "--encoder", "left-test", "--encoder", "right-test", "-m", "kid").stdout
    assert "### Across encoders" in md and "split (A better on left-test; B better on right-test)" in md
    assert "| A | B | left-test |" in md and "level (level on left-test, right-test)" in md


def test_html_has_the_encoder_column_and_the_across_table(split_runs: Path) -> None:
    page = _compare(split_runs, "--encoder", "left-test", "--encoder", "right-test", "-m", "kid",
                    "--format", "html").stdout
    assert "<h3>Across encoders</h3>" in page and "<th>encoder</th>" in page
    assert "split (A better on left-test; B better on right-test)" in page


def test_leaderboard_takes_encoders(split_runs: Path, tmp_path: Path) -> None:
    from denoisebench.leaderboard import build_leaderboard

    out = build_leaderboard([split_runs / "results"], tmp_path / "b.html", 100, encoders=["left-test", "right-test"])
    page = out.read_text(encoding="utf-8")
    assert "split (A better on left-test; B better on right-test)" in page  # the FID-proxy matrix cell


def test_default_encoders_are_the_classifier_and_pixels_without_fd(split_runs: Path) -> None:
    res = _compare(split_runs, "--format", "json", "-m", "fid", "-m", "kid")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert {(r["metric"], r["encoder"]) for r in rows} == {("fid", "mnist-classifier"), ("kid", "mnist-classifier"),
                                                           ("kid", "pixels")}
    fid_ab = next(r for r in rows if (r["a"], r["b"], r["metric"]) == ("A", "B", "fid"))
    assert fid_ab["across"] == "one encoder"


def test_unknown_encoder_is_one_line_exit_2(split_runs: Path) -> None:
    res = _compare(split_runs, "--encoder", "nope-encoder")
    assert res.exit_code == 2 and "nope-encoder" in res.output and "Traceback" not in res.output


def test_named_encoder_without_weights_is_one_line_exit_2(split_runs: Path) -> None:
    res = _compare(split_runs, "--encoder", "left-test", "--encoder", "missing-weights-test")
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert res.output.strip().splitlines() == [next(line for line in res.output.splitlines() if "Error" in line)]
    assert "missing-weights-test.safetensors is missing" in res.output  # checked before any work


def test_api_compare_has_encoder_and_across_columns(split_runs: Path) -> None:
    from denoisebench.api import compare as api_compare

    frame = api_compare(split_runs / "results", metrics=["kid"], encoders=["left-test", "right-test"],
                                 bootstrap=100)
    assert {"encoder", "across", "across_detail"} <= set(frame.columns)
    ab = frame[(frame.a == "A") & (frame.b == "B")]
    assert set(ab.encoder) == {"left-test", "right-test"} and set(ab.across) == {"split"}


def test_leaderboard_marks_verdicts_across_encoders(split_runs: Path, tmp_path: Path) -> None:
    out = tmp_path / "board.html"
    res = CliRunner().invoke(cli, ["leaderboard", str(split_runs / "results"), "--output", str(out),
                                   "--bootstrap", "100"])
    assert res.exit_code == 0, res.output
    page = out.read_text(encoding="utf-8")
    assert "class='across'" in page and "across encoders" in page.lower()
    assert "mnist-classifier" in page and "pixels" in page
