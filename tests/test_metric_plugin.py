"""A sampler and a metric from a plugin outside the core: run uses the sampler, the metric reaches run.json
and every report format, with no core edit."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import plugin_example
from denoisebench import Evaluation, Metric, MetricColumn
from denoisebench.cli import cli, main  # noqa: F401  (main registers the verbs)
from denoisebench.datasets.base import ImageDataset
from denoisebench.metrics import evaluate
from denoisebench.metrics.floor import floor_subset
from denoisebench.plugins import register_plugin, unregister_plugin
from denoisebench.runs.records import load_samples

PLUGIN = "plugin-example"


@pytest.fixture(scope="module")
def plugin_run(tmp_path_factory: pytest.TempPathFactory, mnist5k: ImageDataset) -> Path:
    """One `denoisebench run` (12 samples, metrics on) with the plugin registered; returns the run dir."""
    results = tmp_path_factory.mktemp("results")
    register_plugin(plugin_example, PLUGIN)
    try:
        res = CliRunner().invoke(cli, ["run", "--provider", "empirical", "-n", "12", "--steps", "3",
                                       "--sampler", "euler-a", "-s", "eta=0.5", "--batch-size", "12",
                                       "--results-dir", str(results)], catch_exceptions=False)
    finally:
        unregister_plugin(PLUGIN)
    assert res.exit_code == 0, res.output
    return Path(res.stdout.strip().splitlines()[-1])


def test_plugin_sampler_ran(plugin_run: Path) -> None:
    sampler = json.loads((plugin_run / "run.json").read_text())["sampler"]
    assert (sampler["name"], sampler["label"], sampler["plugin"]) == ("euler-a", "euler-a eta=0.5", PLUGIN)
    assert sampler["nfe"] == 3 and sampler["options"] == {"eta": "0.5"}


def test_plugin_metric_is_in_run_json(plugin_run: Path, mnist5k: ImageDataset) -> None:
    metrics = json.loads((plugin_run / "run.json").read_text())["metrics"]
    images = load_samples(plugin_run)
    assert metrics["brightness"] == {"value": float(images.mean() / 255.0)}
    real = floor_subset(mnist5k, 12)
    assert metrics["floor"]["brightness"] == {"value": float(real.mean() / 255.0)}  # scored like a provider
    gap = metrics["ink_gap"]
    assert gap["value"] == abs(plugin_example.ink(images).mean() - plugin_example.ink(mnist5k.heldout_images).mean())
    declared = metrics["declared"]
    assert list(declared)[:5] == ["fid", "kid", "prdc", "classifier", "nearest"]  # builtins first
    assert declared["brightness"]["plugin"] == PLUGIN and declared["brightness"]["depends_on_n"] is False
    assert declared["ink_gap"]["columns"][0] == {
        "key": "ink_gap", "header": "ink gap ×100", "better": "min", "path": ["value"], "std_path": ["std"],
        "digits": 2, "scale": 100.0, "headline": False, "shown": True, "summary": False}
    assert metrics["fid"]["value"] > 0 and "brightness" in metrics["timing_s"]


def _report(results: Path, fmt: str) -> str:
    res = CliRunner().invoke(cli, ["report", "--results-dir", str(results), "--format", fmt], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.stdout


def test_report_shows_the_plugin_columns_even_without_the_plugin(plugin_run: Path) -> None:
    """The plugin is unregistered by now: the report renders its columns from run.json's declarations."""
    results = plugin_run.parent
    metrics = json.loads((plugin_run / "run.json").read_text())["metrics"]
    brightness = f"{metrics['brightness']['value']:.4f}"
    gap = f"{100 * metrics['ink_gap']['value']:.2f} ± {100 * metrics['ink_gap']['std']:.2f}"

    md = _report(results, "markdown")
    header = next(line for line in md.splitlines() if line.startswith("| provider"))
    cells = [c.strip() for c in header.strip("|").split("|")]
    assert "brightness" in cells and "ink gap ×100 ↓" in cells  # no arrow: better is None; ↓: min
    row = next(line for line in md.splitlines() if line.startswith("| empirical"))
    values = dict(zip(cells, (c.strip() for c in row.strip("|").split("|"))))
    assert values["brightness"] == brightness and values["ink gap ×100 ↓"] == gap
    assert "and ink gap ×100 depend on N" in md
    assert f"plugin {PLUGIN}" in md  # the legend says where the metric came from

    page = _report(results, "html")
    assert "<th>brightness</th>" in page and "<th>ink gap ×100 ↓</th>" in page and f"<td>{gap}</td>" in page

    frame = pd.read_csv(io.StringIO(_report(results, "csv")))
    run = frame[frame["kind"] == "run"].iloc[0]
    assert run["brightness"] == pytest.approx(metrics["brightness"]["value"], rel=1e-12)
    assert run["ink_gap_std"] == pytest.approx(metrics["ink_gap"]["std"], rel=1e-12)
    floor = frame[frame["kind"] == "floor"].iloc[0]
    assert floor["brightness"] == pytest.approx(metrics["floor"]["brightness"]["value"], rel=1e-12)

    (table,) = json.loads(_report(results, "json"))["tables"]
    assert table["better"]["brightness"] is None and table["better"]["ink_gap"] == "min"
    columns = {c["key"]: c for c in table["columns"]}
    assert columns["ink_gap"]["plugin"] == PLUGIN and columns["ink_gap"]["depends_on_n"] is True
    assert table["rows"][0]["brightness"] == metrics["brightness"]["value"]


class Broken(Metric):
    name = "broken"
    description = "always raises"
    columns = (MetricColumn("broken", "broken", "max"),)

    def compute(self, evaluation: Evaluation) -> dict[str, Any]:
        raise RuntimeError("division by zero, deliberately\nsecond line")


def test_a_failing_metric_is_null_with_one_warning(tiny_dataset: ImageDataset) -> None:
    said: list[str] = []
    images = tiny_dataset.heldout_images[:6]
    out = evaluate(images, tiny_dataset, seed=0, progress=said.append,
                   metrics=[Broken, plugin_example.MeanBrightness, plugin_example.InkGap])
    warnings = [line for line in said if line.startswith("Warning")]
    assert len(warnings) == 2  # the samples and the floor's real digits: once each, each naming the metric
    assert all("'broken'" in w and "RuntimeError: division by zero, deliberately" in w for w in warnings)
    assert all("second line" not in w for w in warnings)
    assert out["broken"] is None and out["floor"]["broken"] is None
    assert out["brightness"]["value"] == float(images.mean() / 255.0) and out["ink_gap"]["value"] >= 0
    assert out["failed"] == ["broken: RuntimeError: division by zero, deliberately",
                             "broken (floor digits): RuntimeError: division by zero, deliberately"]
    with pytest.warns(RuntimeWarning, match="'broken'"):
        again = evaluate(images, tiny_dataset, seed=0, metrics=[Broken], with_floor=False)
    assert again["broken"] is None
    assert np.isfinite(again["timing_s"]["broken"])
