"""Probe records in ``report``: the section, its plot, and filtering."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from denoisebench.cli import cli
from denoisebench.report.probes import load_probe_records


def _probe(tmp_path: Path, provider: str) -> None:
    from denoisebench.probe.runner import ProbeConfig, run_probe

    run_probe(ProbeConfig(provider=provider, dataset="tiny-blobs", images=6, levels=3, jacobian="none",
                          results_dir=tmp_path / "res"))


def test_report_shows_probe_records_side_by_side(tiny_registered, tmp_path: Path) -> None:
    _probe(tmp_path, "wiener")
    _probe(tmp_path, "empirical")
    records = load_probe_records(tmp_path / "res")
    assert [r["provider"]["name"] for r in records] == ["empirical", "wiener"]
    out = tmp_path / "rep" / "report.md"
    result = CliRunner().invoke(cli, ["report", str(tmp_path / "res"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "## Probes" in text and text.count("### ") == 2 and "gap [95% CI]" in text
    assert "](report-probes.png)" in text and (out.parent / "report-probes.png").stat().st_size > 1000
    rows = [line for line in text.splitlines() if line.startswith("| 0.01 |")]
    assert len(rows) == 2  # the lowest level of each entry
    html_out = tmp_path / "rep" / "report.html"
    result = CliRunner().invoke(cli, ["report", str(tmp_path / "res"), "--format", "html", "-o", str(html_out),
                                      "--provider", "wiener"])
    assert result.exit_code == 0, result.output
    page = html_out.read_text()
    assert page.index("<h2>Probes") < page.index("</body>") and "empirical" not in page.split("<h2>Probes")[1]


def test_compare_gives_paired_verdicts_per_level_for_probes(tiny_registered, tmp_path: Path) -> None:
    from denoisebench.probe.paired import comparable, paired_levels

    _probe(tmp_path, "wiener")
    _probe(tmp_path, "empirical")
    empirical, wiener = load_probe_records(tmp_path / "res")
    assert comparable(empirical, wiener)
    rows = paired_levels(empirical, wiener)
    for row, a, b in zip(rows, empirical["levels"], wiener["levels"]):
        assert row["psnr_heldout_diff"] == pytest.approx(a["psnr_heldout"] - b["psnr_heldout"], abs=1e-4)
        assert row["gap_diff"] == pytest.approx(a["gap"] - b["gap"], abs=1e-4)
        assert row["psnr_ci_low"] <= row["psnr_heldout_diff"] <= row["psnr_ci_high"]
    assert rows[0]["verdict"] == "b better"  # at sigma 0.01 the Wiener filter beats the nearest training image
    result = CliRunner().invoke(cli, ["compare", str(tmp_path / "res")])
    assert result.exit_code == 0, result.output
    assert "paired per level" in result.stdout and "| b better |" in result.stdout
    other = dict(wiener, seed=1)
    assert not comparable(empirical, other)
