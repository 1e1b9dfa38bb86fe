"""`denoisebench compare` end to end on a small suite: identical entries tie, a bad one loses."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from shared_kit import benched_blob_suite
from oracles import GaussianOracle

from denoisebench.cli import cli
from denoisebench.runs.records import RUN_FILE, SAMPLES_FILE

SUITE = """\
[suite]
dataset = "tiny-blobs"
num_samples = 12
seeds = [0, 1]
metrics = false
results_dir = "results"

[[entry]]
provider = "empirical"

[[entry]]
label = "empirical-chunked"
provider = "empirical"
options = { chunk = 16 }

[[entry]]
label = "noise"
provider = "gauss-oracle"

[[sampler]]
name = "ddim"
steps = 3
"""
KEYS = {"a", "b", "metric", "diff", "ci_low", "ci_high", "verdict", "dataset", "sampler", "steps", "n", "seeds",
        "n_bootstrap"}


@pytest.fixture(scope="module")
def benched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A suite with its six cells run (module-wide: later tests only read it, or copy it)."""
    with benched_blob_suite(tmp_path_factory.mktemp("compare"), SUITE, "tiny-blobs", "compare-test-plugin",
                            [GaussianOracle]) as root:
        yield root


def compare(*args: str):
    return CliRunner().invoke(cli, ["compare", *args, "--bootstrap", "100"])


def by_pair(records: list[dict]) -> dict[tuple[str, str, str], dict]:
    return {(r["a"], r["b"], r["metric"]): r for r in records}


def test_identical_entries_tie_and_a_worse_one_loses(benched: Path) -> None:
    res = compare(str(benched / "suite.toml"), "--format", "json")
    assert res.exit_code == 0, res.output
    records = json.loads(res.stdout)
    assert all(KEYS <= set(r) for r in records)
    pairs = by_pair(records)
    assert {(a, b) for a, b, _m in pairs} == {("empirical", "empirical-chunked"), ("empirical", "noise"),
                                              ("empirical-chunked", "noise")}
    assert {m for _a, _b, m in pairs} == {"fid", "kid", "entropy", "memorised"}
    for metric in ("fid", "kid", "entropy", "memorised"):
        same = pairs[("empirical", "empirical-chunked", metric)]
        assert same["verdict"] == "tied" and same["seeds"] == [0, 1] and same["n"] == 12
        assert same["ci_low"] <= same["diff"] <= same["ci_high"]
    for metric in ("fid", "kid"):
        assert pairs[("empirical", "noise", metric)]["verdict"] == "a better"
        assert pairs[("empirical", "noise", metric)]["diff"] < 0
    assert pairs[("empirical", "noise", "memorised")]["verdict"] == "b better"  # the optimum copies the train set


def test_results_dir_and_suite_give_the_same_comparison(benched: Path) -> None:
    from_suite = json.loads(compare(str(benched / "suite.toml"), "--format", "json", "-m", "kid").stdout)
    from_dir = json.loads(compare(str(benched / "results"), "--format", "json", "-m", "kid").stdout)
    assert from_suite == from_dir and len(from_dir) == 6  # 3 pairs on the classifier and on pixels (the defaults)
    assert sorted(r["encoder"] for r in from_dir) == ["mnist-classifier"] * 3 + ["pixels"] * 3


def test_other_formats(benched: Path, tmp_path: Path) -> None:
    md = compare(str(benched / "suite.toml"), "-m", "kid").stdout
    assert "| rank | entry |" in md and "| empirical | empirical-chunked |" in md and "tied" in md
    text = compare(str(benched / "suite.toml"), "--format", "csv", "-m", "kid").stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 6 and KEYS <= set(rows[0]) and rows[0]["seeds"] == "0 1"
    out = tmp_path / "cmp.html"
    res = compare(str(benched / "suite.toml"), "--format", "html", "--output", str(out), "-m", "kid", "-m", "entropy")
    assert res.exit_code == 0 and res.stdout.strip() == str(out)
    page = out.read_text()
    assert page.startswith("<!doctype html>") and "</html>" in page and "http" not in page
    assert "empirical-chunked" in page and "a better" in page


def test_runs_with_broken_samples_are_left_out_with_a_warning(benched: Path, tmp_path: Path) -> None:
    import shutil

    results = tmp_path / "results"
    shutil.copytree(benched / "results", results)
    victim = next(p.parent for p in sorted(results.glob(f"*/{RUN_FILE}"))
                  if json.loads(p.read_text())["suite"]["entry"] == "noise" and json.loads(p.read_text())["seed"] == 1)
    (victim / SAMPLES_FILE).write_bytes(b"not a zip")
    res = compare(str(results), "--format", "json", "-m", "kid")
    assert res.exit_code == 0, res.output
    assert str(victim) in res.stderr
    pairs = by_pair(json.loads(res.stdout))
    assert pairs[("empirical", "noise", "kid")]["seeds"] == [0]
    assert pairs[("empirical", "empirical-chunked", "kid")]["seeds"] == [0, 1]


@pytest.mark.parametrize("args, needle", [(["nowhere"], "neither a results dir nor a suite"),
                                          (["missing.toml"], "cannot read suite file")])
def test_bad_target_is_one_line_exit_2(tmp_path: Path, args: list[str], needle: str) -> None:
    res = CliRunner().invoke(cli, ["compare", *[str(tmp_path / a) for a in args]])
    assert res.exit_code == 2
    lines = [x for x in res.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and needle in lines[0]


def test_speed_only_options_do_not_split_an_entry() -> None:
    from denoisebench.compare.collect import entry_label

    def record(options: dict[str, str]) -> dict:
        return {"provider": {"name": "nlmeans", "options": options, "speed_options": ["workers"]}}

    assert entry_label(record({"workers": "2", "strength": "1.5"})) == "nlmeans strength=1.5"
    assert entry_label(record({"workers": "1", "strength": "1.5"})) == "nlmeans strength=1.5"
    assert entry_label({"provider": {"name": "nlmeans", "options": {"workers": "2"}}}) == "nlmeans workers=2"


def test_a_run_records_the_providers_speed_only_options(tmp_path: Path) -> None:
    from denoisebench.runs.runner import RunConfig, prepare

    pytest.importorskip("denoisebench_skimage")
    prepared = prepare(RunConfig(provider="nlmeans", dataset="mnist-5k", num_samples=2, steps=2,
                                 results_dir=tmp_path))
    assert prepared.provider_meta["speed_options"] == ["workers"]
