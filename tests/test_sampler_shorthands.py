"""Sampler options belong to the sampler: ``--variance/--eta/--clip-x0`` are sugar for ``-s`` options,
RunConfig has no per-sampler fields, and run.json files written before (with those fields in
``config``) load and group as the same configuration as new ones."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import denoisebench as db
from denoisebench.api import run_config
from denoisebench.cli import cli
from denoisebench.compare.collect import runs_in
from denoisebench.errors import DenoisebenchError
from denoisebench.report.load import load_runs, network_evaluations, sampler_label
from denoisebench.runs.runner import RunConfig, with_sampler_shorthands


def test_run_config_knows_no_sampler() -> None:
    names = {f.name for f in dataclasses.fields(RunConfig)}
    assert not names & {"variance", "eta", "clip_x0"} and "sampler_options" in names


def test_shorthands_become_options() -> None:
    assert with_sampler_shorthands({"spacing": "karras"}, eta=0.5, clip_x0=True) == {
        "spacing": "karras", "eta": "0.5", "clip_x0": "1"}
    assert with_sampler_shorthands({"eta": "0.50"}, eta=0.5) == {"eta": "0.5"}  # the same value: no contradiction
    with pytest.raises(DenoisebenchError, match="--variance small contradicts -s variance=large"):
        with_sampler_shorthands({"variance": "large"}, variance="small")
    config = run_config(provider="empirical", sampler="ddpm", variance="small", clip_x0=True,
                        sampler_options={"spacing": "trailing"})
    assert config.sampler_options == {"spacing": "trailing", "variance": "small", "clip_x0": "1"}


def _run(root: Path, *extra: str) -> Path:
    res = CliRunner().invoke(cli, ["run", "--provider", "empirical", "--sampler", "ddim", "--steps", "3", "-n", "2",
                                   "--no-metrics", "--results-dir", str(root), *extra])
    assert res.exit_code == 0, res.output
    return Path(res.stdout.strip().splitlines()[-1])


def test_old_records_with_sampler_fields_are_the_same_configuration(tmp_path: Path) -> None:
    new = _run(tmp_path / "new", "--eta", "0.5")
    record = json.loads((new / "run.json").read_text())
    assert record["config"]["sampler_options"] == {"eta": "0.5"} and "eta" not in {
        k for k in record["config"] if k != "sampler_options"}
    old = tmp_path / "old" / new.name
    shutil.copytree(new, old)
    legacy = json.loads((old / "run.json").read_text())  # as the runner wrote it before
    legacy["config"].update(sampler_options={}, variance=None, eta=0.5, clip_x0=False)
    (old / "run.json").write_text(json.dumps(legacy))
    rows = load_runs([tmp_path / "new", tmp_path / "old"], print)  # the report's rows
    assert len(rows) == 2 and rows["config"].nunique() == 1 and rows["entry_config"].nunique() == 1
    frame = db.load_runs([tmp_path / "new", tmp_path / "old"])  # the API's
    assert len(frame) == 2 and set(frame["sampler"]) == {"ddim eta=0.5"}
    refs = [*runs_in(tmp_path / "new", print), *runs_in(tmp_path / "old", print)]
    assert len(refs) == 2 and len({(r.entry_config, r.setting) for r in refs}) == 1


@pytest.mark.parametrize(("record", "label", "nfe"), [
    ({"name": "ddpm", "steps": 1000, "variance": "large"}, "ddpm large", 1000),
    ({"name": "ddpm", "steps": 10, "variance": "small", "clip_x0": True}, "ddpm small clip", 10),
    ({"name": "ddim", "steps": 50, "eta": 0.0}, "ddim", 50),
    ({"name": "ddim", "steps": 50, "eta": 0.5}, "ddim eta=0.5", 50),
    ({"name": "heun", "steps": 10}, "heun", 19),  # from the sampler's own NFE, not a list of names
    ({"name": "not-installed", "steps": 3, "clip_x0": True}, "not-installed clip", None),
])
def test_labels_of_records_without_one_come_from_the_samplers_declared_options(record: dict, label: str,
                                                                              nfe: int | None) -> None:
    assert sampler_label(record) == label and network_evaluations(record) == nfe
