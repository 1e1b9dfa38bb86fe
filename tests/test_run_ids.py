"""Run ids and sampler labels: option values never run into the step count, one spelling per value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import denoisebench as db
from denoisebench.cli import cli
from denoisebench.options import canonical_label, canonical_value


@pytest.mark.parametrize(("raw", "canonical"), [
    ("0", "0"), ("0.0", "0"), ("0.00", "0"), (0.0, "0"), (0, "0"), ("0.50", "0.5"), ("1e-3", "0.001"),
    ("10", "10"), ("1.10", "1.1"), ("0.1234567", "0.1234567"), (True, "1"), ("karras", "karras"),
    (" midpoint ", "midpoint"), ("-1.0", "-1"), ("inf", "inf"),
])
def test_canonical_values(raw: object, canonical: str) -> None:
    assert canonical_value(raw) == canonical


def test_canonical_labels_of_older_runs() -> None:
    assert canonical_label("ddim eta=0.0") == "ddim eta=0"
    assert canonical_label("dpmpp-2m-sde eta=0.50 solver=heun clip") == "dpmpp-2m-sde eta=0.5 solver=heun clip"
    assert canonical_label("kbnet (tweedie)") == "kbnet (tweedie)"


def run(tmp_path: Path, *extra: str) -> dict:
    res = CliRunner().invoke(cli, ["run", "--provider", "empirical", "--sampler", "dpmpp-2m-sde", "--steps", "10",
                                   "-n", "3", "--no-metrics", "--results-dir", str(tmp_path), *extra])
    assert res.exit_code == 0, res.output
    run_dir = Path(res.stdout.strip().splitlines()[-1])
    return {"id": run_dir.name, **json.loads((run_dir / "run.json").read_text())}


def test_eta_shorthand_and_option_give_one_label_and_one_id(tmp_path: Path) -> None:
    by_flag = run(tmp_path / "a", "--eta", "0")
    by_option = run(tmp_path / "b", "-s", "eta=0")
    both = run(tmp_path / "c", "--eta", "0", "-s", "eta=0.0")  # the same value: no contradiction
    labels = {r["sampler"]["label"] for r in (by_flag, by_option, both)}
    assert labels == {"dpmpp-2m-sde eta=0"}
    for record in (by_flag, by_option, both):
        # 'eta0' and '10steps': the value 0 and the step count 10 cannot be read as 'eta=010'
        assert record["id"].endswith("-empirical-dpmpp-2m-sde-eta0-10steps-n3-seed0"), record["id"]
    rows = db.load_runs([tmp_path / "a", tmp_path / "b", tmp_path / "c"])
    assert set(rows["sampler"]) == {"dpmpp-2m-sde eta=0"}


def test_an_id_without_options(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["run", "--provider", "empirical", "--sampler", "ddim", "--steps", "4", "-n", "2",
                                   "--no-metrics", "--results-dir", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert Path(res.stdout.strip().splitlines()[-1]).name.endswith("-empirical-ddim-4steps-n2-seed0")


def test_contradicting_values_are_still_refused(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["run", "--provider", "empirical", "--sampler", "dpmpp-2m-sde", "--eta", "0",
                                   "-s", "eta=0.5", "-n", "2", "--results-dir", str(tmp_path)])
    assert res.exit_code == 2 and "contradicts" in res.output


def test_older_run_dirs_stay_readable_and_their_labels_match(tmp_path: Path) -> None:
    old = tmp_path / "20260101-000000-empirical-dpmpp-2m-sde-eta-0.010-n3-seed0"  # the old id format
    old.mkdir()
    record = json.loads(next((Path(__file__).parents[1] / "results" / "reference").rglob("run.json")).read_text())
    record["sampler"] = {**record["sampler"], "name": "dpmpp-2m-sde", "label": "dpmpp-2m-sde eta=0.0", "steps": 10}
    (old / "run.json").write_text(json.dumps(record))
    rows = db.load_runs(tmp_path)
    assert list(rows["sampler"]) == ["dpmpp-2m-sde eta=0"] and list(rows["steps"]) == [10]
