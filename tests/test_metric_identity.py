"""One metric identity: a plugin metric that declares how it pairs reaches ``compare`` and the
leaderboard from its declaration alone (no core list names it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from click.testing import CliRunner
from oracles import GaussianOracle
from shared_kit import benched_blob_suite

import denoisebench
from denoisebench.cli import cli
from denoisebench.metrics import Metric, MetricColumn
from denoisebench.plugins import register_plugin, unregister_plugin

SUITE = """\
[suite]
dataset = "tiny-blobs-id"
num_samples = 12
seeds = [0]
results_dir = "results"

[[entry]]
provider = "empirical"

[[entry]]
label = "noise"
provider = "gauss-oracle"

[[sampler]]
name = "ddim"
steps = [2]
"""


class MeanShift(Metric):
    """Distance between the mean feature vectors of the samples and the reference."""

    name = "meanshift"
    description = "test metric: |mean(features) - mean(reference)|"
    columns = (MetricColumn("meanshift", "mean shift", "min", digits=4, headline=True),)
    uses_features = True
    pairing = "features"

    @classmethod
    def paired_value(cls, features: Any, reference: Any) -> float:
        return float(np.linalg.norm(np.mean(features, 0) - np.mean(reference, 0)))

    def compute(self, evaluation: Any) -> dict[str, float]:
        return {"value": self.paired_value(evaluation.features, evaluation.reference_features)}


class Plugin:
    @denoisebench.hookimpl
    def register_metrics(self, register):  # noqa: ANN001, ANN201
        register(MeanShift)


def test_plugin_metric_reaches_compare_and_leaderboard(tmp_path: Path) -> None:
    register_plugin(Plugin(), "meanshift-plugin")
    try:
        with benched_blob_suite(tmp_path, SUITE, "tiny-blobs-id", "identity-test-plugin", [GaussianOracle]) as root:
            results = root / "results"
            res = CliRunner().invoke(cli, ["compare", str(results), "--format", "json", "--bootstrap", "100"])
            assert res.exit_code == 0, res.output
            data = json.loads(res.stdout)
            text = json.dumps(data)
            assert '"meanshift"' in text
            pairs = [p for p in data if p.get("metric") == "meanshift"]  # one record per pair and metric
            assert pairs and pairs[0]["lower_is_better"] is True
            out = tmp_path / "board.html"
            res = CliRunner().invoke(cli, ["leaderboard", str(results), "--output", str(out), "--bootstrap", "50"])
            assert res.exit_code == 0, res.output
            assert "mean shift ↓" in out.read_text(encoding="utf-8")
            res = CliRunner().invoke(cli, ["compare", str(results), "--metric", "nope"])
            assert res.exit_code == 2 and "cannot be paired" in res.output
    finally:
        unregister_plugin("meanshift-plugin")
