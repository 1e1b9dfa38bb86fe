"""The Python API (denoisebench.api): the CLI's verbs as functions returning DataFrames."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from shared_kit import blob_images, plugin_registered

import denoisebench as db
from denoisebench.cli import cli
from denoisebench.datasets.base import DatasetSpec, ImageDataset
from denoisebench.runs.records import RUN_FILE, load_samples

ROOT = Path(__file__).resolve().parents[1]


def readme_api_example() -> str:
    """The first python block of README.md's 'Python API' section."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow  # two runs with metrics and a comparison: about 8 s
def test_the_readme_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = readme_api_example()
    assert "num_samples=256" in code
    code = code.replace("num_samples=256", "num_samples=6")  # tiny N, same calls
    code = code.replace('db.compare("results")', 'db.compare("results", bootstrap=100)')
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - our own README
    runs, cmp = scope["runs"], scope["cmp"]
    assert sorted(runs["provider"]) == ["empirical", "wiener"]
    assert {"a", "b", "metric", "diff", "ci_low", "ci_high", "verdict"} <= set(cmp.columns)
    assert len(cmp) > 0 and set(cmp["verdict"]) <= {"a better", "b better", "tied"}


def test_run_gives_the_cli_samples_and_metrics(tmp_path: Path) -> None:
    args = dict(provider="empirical", sampler="ddim", steps=3, num_samples=6, batch_size=4, seed=3,
                sampler_options={"eta": 0.5})
    res = CliRunner().invoke(cli, ["run", "--provider", "empirical", "--sampler", "ddim", "--steps", "3", "-n", "6",
                                   "--batch-size", "4", "--seed", "3", "-s", "eta=0.5",
                                   "--results-dir", str(tmp_path / "cli")])
    assert res.exit_code == 0, res.output
    cli_dir = Path(res.stdout.strip().splitlines()[-1])
    r = db.run(results_dir=tmp_path / "api", **args)
    assert r.path.parent == tmp_path / "api" and (r.path / RUN_FILE).is_file()
    assert r.samples.dtype == np.uint8
    assert r.samples.tobytes() == load_samples(cli_dir).tobytes()
    assert (r.path / "samples.npz").read_bytes() == (cli_dir / "samples.npz").read_bytes()
    cli_metrics = json.loads((cli_dir / RUN_FILE).read_text())["metrics"]
    assert r.metrics == json.loads((r.path / RUN_FILE).read_text())["metrics"]
    drop = {"timing_s"}  # the evaluation's own wall times
    assert {k: v for k, v in r.metrics.items() if k not in drop} == {k: v for k, v in cli_metrics.items()
                                                                      if k not in drop}
    assert r.metrics["fid"]["value"] == cli_metrics["fid"]["value"]
    assert r.record["sampler"]["label"] == "ddim eta=0.5"


@pytest.mark.parametrize(("kwargs", "cli_args"), [
    ({"provider": "no-such"}, ["--provider", "no-such"]),
    ({"provider": "empirical", "steps": 0}, ["--provider", "empirical", "--steps", "0"]),
    ({"provider": "empirical", "sampler": "ddim", "sampler_options": {"bogus": 1}},
     ["--provider", "empirical", "--sampler", "ddim", "-s", "bogus=1"]),
    ({"provider": "empirical", "seed": -1}, ["--provider", "empirical", "--seed", "-1"]),
])
def test_errors_are_the_cli_line(tmp_path: Path, kwargs: dict, cli_args: list[str]) -> None:
    with pytest.raises(db.DenoisebenchError) as err:
        db.run(results_dir=tmp_path, num_samples=2, **kwargs)
    res = CliRunner().invoke(cli, ["run", *cli_args, "-n", "2", "--results-dir", str(tmp_path)])
    assert res.exit_code == 2
    line = res.output.strip().splitlines()[-1]
    if "--steps" in cli_args:  # click refuses 0 itself, in its own words; both name --steps
        assert "--steps" in str(err.value) and "--steps" in line
    else:
        assert line == f"Error: {err.value}"
    assert "\n" not in str(err.value)
    assert not list(tmp_path.glob("*/run.json"))


def test_unknown_run_argument_is_one_line() -> None:
    with pytest.raises(db.DenoisebenchError, match="unknown run argument.*num_steps"):
        db.run(provider="empirical", num_steps=3)


def test_load_runs_reads_every_reference_run() -> None:
    reference = ROOT / "results" / "reference"
    files = sorted(reference.rglob(RUN_FILE))
    assert len(files) > 100
    with __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("error")  # no run may be skipped
        df = db.load_runs(reference)
    assert len(df) == len(files)
    assert sorted(Path(p) for p in df["path"]) == sorted(f.parent for f in files)
    for col in ("provider", "label", "sampler", "steps", "nfe", "seed", "n", "dataset", "fid", "kid",
                "ms_per_image", "path"):
        assert col in df.columns
    for col in ("fid", "kid", "memorised", "entropy_bits", "ms_per_image"):
        assert df[col].dtype == float
    assert df["fid"].notna().sum() > 100
    assert (df["n"] > 0).all() and (df["steps"] > 0).all()
    # a run of the oldest format (no sampler label, no NFE): named and counted from its fields
    old = df[df["path"].str.endswith("20261125-141735-unet-ddpm1000-n1000-seed0")].iloc[0]
    assert (old["sampler"], old["nfe"], old["n"]) == ("ddpm small", 1000, 1000)


def test_load_runs_of_a_missing_dir_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(db.DenoisebenchError, match="does not exist"):
        db.load_runs(tmp_path / "nope")
    empty = db.load_runs(tmp_path)
    assert len(empty) == 0 and {"provider", "label", "path"} <= set(empty.columns)


SUITE = """\
[suite]
name = "api"
dataset = "api-blobs"
num_samples = 12
seeds = [0, 1]
metrics = false
results_dir = "results"

[[entry]]
provider = "empirical"

[[entry]]
provider = "wiener"

[[sampler]]
name = "ddim"
steps = 3
"""


@pytest.fixture(scope="module")
def benched(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("api-bench")
    (root / "suite.toml").write_text(SUITE)
    data = ImageDataset("api-blobs", blob_images(40, 1), np.arange(40) % 4, blob_images(30, 2), np.arange(30) % 4)
    from denoisebench.plugins import manager

    manager.reset()
    with plugin_registered("api-test-plugin", [DatasetSpec("api-blobs", "test blobs", lambda options: data)]):
        df = db.bench(root / "suite.toml")
        yield root, df
    manager.reset()


def test_bench_fills_the_suite_and_returns_its_cells(benched) -> None:
    root, df = benched
    assert len(df) == 4
    assert sorted(zip(df["provider"], df["seed"])) == [("empirical", 0), ("empirical", 1), ("wiener", 0),
                                                       ("wiener", 1)]
    assert all(Path(p).parent == root / "results" for p in df["path"])
    again = db.bench(root / "suite.toml")  # complete: nothing runs, the same rows
    assert sorted(again["path"]) == sorted(df["path"])


def test_compare_is_the_cli_comparison_as_a_dataframe(benched) -> None:
    root, _ = benched
    cmp = db.compare(root / "results", bootstrap=100)
    assert isinstance(cmp, pd.DataFrame)
    assert {"a", "b", "metric", "diff", "ci_low", "ci_high", "verdict"} <= set(cmp.columns)
    res = CliRunner().invoke(cli, ["compare", str(root / "results"), "--bootstrap", "100", "--format", "json"])
    assert res.exit_code == 0, res.output
    records = json.loads(res.stdout)
    records = records["pairs"] if isinstance(records, dict) else records
    assert len(records) == len(cmp) > 0
    for rec, (_, row) in zip(records, cmp.iterrows()):
        assert (rec["a"], rec["b"], rec["metric"], rec["verdict"]) == (row["a"], row["b"], row["metric"],
                                                                      row["verdict"])
        assert rec["diff"] == pytest.approx(row["diff"]) and rec["ci_low"] == pytest.approx(row["ci_low"])
    suite_cmp = db.compare(root / "suite.toml", bootstrap=100)
    assert len(suite_cmp) == len(cmp)


def test_compare_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(db.DenoisebenchError, match="neither a results dir nor a suite file"):
        db.compare(tmp_path / "nope")
    with pytest.raises(db.DenoisebenchError, match="cannot be paired"):
        db.compare(tmp_path, metrics=["fidd"])
