"""Probe records on the leaderboard: their own section, drawn as the report draws them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from denoisebench.cli import cli
from denoisebench.leaderboard.probes import probes_html

SUITE = """\
[suite]
dataset = "tiny-blobs"
num_samples = 4
metrics = false

[[entry]]
provider = "empirical"

[[entry]]
provider = "wiener"

[[sampler]]
name = "ddim"
steps = 2

[[probe]]
images = 5
levels = 3
jacobian = "none"
"""


@pytest.mark.slow  # about 5 s: two probes and a plot
def test_probe_section_draws_every_entry_and_warns_about_unreadable_records(tiny_registered, tmp_path: Path) -> None:
    from denoisebench.probe.runner import ProbeConfig, run_probe

    for provider in ("empirical", "wiener"):
        run_probe(ProbeConfig(provider=provider, dataset="tiny-blobs", images=5, levels=3, jacobian="none",
                              results_dir=tmp_path / "res"))
    broken = tmp_path / "res" / "probe-broken"
    broken.mkdir()
    (broken / "probe.json").write_text("{not json")
    warnings: list[str] = []
    html = probes_html([tmp_path / "res"], warnings.append)
    assert html.startswith("<h2>Probes") and html.count("data:image/png;base64,") == 1  # one dataset, one plot
    assert html.count("<h3>") == 3  # the plot's dataset heading and one table per entry
    assert "empirical" in html and "wiener" in html and "gap [95% CI]" in html
    assert len(warnings) == 1 and "probe-broken" in warnings[0]
    assert probes_html([tmp_path / "empty"]) == ""


@pytest.mark.slow  # about 7 s: a suite with probes, then the leaderboard
def test_bench_probe_cells_appear_on_the_leaderboard_and_are_not_rerun(tiny_registered, tmp_path: Path) -> None:
    suite, results = tmp_path / "suite.toml", tmp_path / "results"
    suite.write_text(SUITE)
    first = CliRunner().invoke(cli, ["bench", str(suite), "--results-dir", str(results)])
    assert first.exit_code == 0, first.output
    records = sorted(results.glob("*/probe.json"))
    assert len(records) == 2
    assert {json.loads(p.read_text())["suite"]["entry"] for p in records} == {"empirical", "wiener"}
    again = CliRunner().invoke(cli, ["bench", str(suite), "--results-dir", str(results)])
    assert again.exit_code == 0 and sorted(results.glob("*/probe.json")) == records
    out = tmp_path / "board.html"
    board = CliRunner().invoke(cli, ["leaderboard", str(results), "-o", str(out), "--bootstrap", "50"])
    assert board.exit_code == 0, board.output
    page = out.read_text()
    headings = re.findall(r"<h2>([^<]*)</h2>", page)
    assert headings[-1].startswith("Probes") and "tiny-blobs, ddim 2 steps" in " ".join(headings)
    section = page.split("<h2>Probes")[1]
    assert "empirical" in section and "wiener" in section and "data:image/png;base64," in section
