"""Issue 21, item 1: compare and the leaderboard group runs by configuration, not by label.

Three suites benched into one results dir reuse the entry label ``m`` (empirical in a.toml,
wiener in b.toml) and the sampler label ``fast`` (ddim 10 steps in a.toml and b.toml,
dpmpp-2m-sde 10 steps in c.toml). Grouped by labels, ``m`` mixed empirical (seed 0) with wiener
(seed 1) and the two samplers were one setting: a silent wrong verdict.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from shared_kit import blob_images, plugin_registered

from denoisebench.cli import cli
from denoisebench.datasets.base import DatasetSpec, ImageDataset

HEAD = """\
[suite]
dataset = "tiny-blobs-g"
num_samples = 10
seeds = [{seed}]
metrics = false
results_dir = "results"
"""
A = HEAD.format(seed=0) + """
[[entry]]
label = "m"
provider = "empirical"

[[entry]]
label = "e2"
provider = "empirical"
options = { chunk = 16 }

[[sampler]]
label = "fast"
name = "ddim"
steps = 4
"""
B = HEAD.format(seed=1) + """
[[entry]]
label = "m"
provider = "wiener"

[[entry]]
label = "e2"
provider = "empirical"
options = { chunk = 16 }

[[sampler]]
label = "fast"
name = "ddim"
steps = 4
"""
C = HEAD.format(seed=0) + """
[[entry]]
label = "e2"
provider = "empirical"
options = { chunk = 16 }

[[entry]]
label = "w"
provider = "wiener"

[[sampler]]
label = "fast"
name = "dpmpp-2m-sde"
steps = 4
"""


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("grouping")
    data = ImageDataset("tiny-blobs-g", blob_images(40, 1), np.arange(40) % 4, blob_images(30, 2),
                        np.arange(30) % 4)
    with plugin_registered("grouping-test-plugin", [DatasetSpec("tiny-blobs-g", "test blobs", lambda o: data)]):
        for name, text in (("a", A), ("b", B), ("c", C)):
            (root / f"{name}.toml").write_text(text)
            res = CliRunner().invoke(cli, ["bench", str(root / f"{name}.toml")])
            assert res.exit_code == 0, res.output
        yield root


def test_compare_keeps_two_configurations_under_one_label_apart(mixed: Path) -> None:
    res = CliRunner().invoke(cli, ["compare", str(mixed / "results"), "--format", "json", "-m", "kid",
                                   "--bootstrap", "100"])
    assert res.exit_code == 0, res.output
    pairs = {(r["sampler"], r["a"], r["b"]): r["seeds"] for r in json.loads(res.stdout)}
    ddim = next(s for s, _a, _b in pairs if s.startswith("fast [ddim"))
    sde = next(s for s, _a, _b in pairs if s.startswith("fast [dpmpp-2m-sde"))
    # each pair compares one provider configuration with another at the seeds both have
    assert pairs == {(ddim, "e2", "m [empirical]"): [0], (ddim, "e2", "m [wiener]"): [1], (sde, "e2", "w"): [0]}
    warnings = [line for line in res.stderr.splitlines() if line.startswith("warning:")]
    assert any("entry label 'm' names 2 different configurations" in w for w in warnings), res.stderr
    assert any("sampler label 'fast' names 2 different configurations" in w for w in warnings), res.stderr


def test_leaderboard_keeps_them_apart_too(mixed: Path) -> None:
    out = mixed / "board.html"
    res = CliRunner().invoke(cli, ["leaderboard", str(mixed / "results"), "-o", str(out), "--bootstrap", "50"])
    assert res.exit_code == 0, res.output
    page = out.read_text()
    assert "m [empirical]" in page and "m [wiener]" in page
    assert "entry label &#x27;m&#x27; names 2 different configurations" in page
    assert "names 2 different configurations" in res.stderr


def test_report_rows_never_average_two_configurations(mixed: Path) -> None:
    res = CliRunner().invoke(cli, ["report", str(mixed / "results"), "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = [r for t in json.loads(res.stdout)["tables"] for r in t["rows"] if r["kind"] == "run"]
    shown = {(r["label"], r["sampler"]): r["runs"] for r in rows}
    # e2 is one configuration at seeds 0 and 1 (two runs); m is two configurations of one run each
    assert shown == {("m [empirical]", "ddim"): 1, ("m [wiener]", "ddim"): 1, ("e2", "ddim"): 2,
                     ("e2", "dpmpp-2m-sde"): 1, ("w", "dpmpp-2m-sde"): 1}
    notes = [n for t in json.loads(res.stdout)["tables"] for n in t["notes"]]
    assert any("entry label 'm' names 2 different configurations" in n for n in notes)
