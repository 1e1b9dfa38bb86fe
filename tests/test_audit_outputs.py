"""Issue 21, items 3 and 6: a label with '$...$' is text on the leaderboard and in the report's plot;
read-only outputs of `compare -O` and `figure forward --output` are one line, exit 2, before any work."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from shared_kit import benched_blob_suite

from denoisebench.cli import cli

SUITE = r"""
[suite]
dataset = "tiny-blobs-tex"
num_samples = 10
results_dir = "results"

[[entry]]
label = 'exact $\eps$-optimal'
provider = "empirical"

[[entry]]
label = "$x^{2$"
provider = "wiener"

[[sampler]]
name = "ddim"
label = 'ddim $\alpha$'
steps = [2, 3]
"""


@pytest.fixture(scope="module")
def dollars(tmp_path_factory: pytest.TempPathFactory) -> Path:
    with benched_blob_suite(tmp_path_factory.mktemp("tex"), SUITE, "tiny-blobs-tex", "tex-test-plugin") as root:
        yield root


def test_leaderboard_draws_dollar_labels_as_text(dollars: Path) -> None:
    out = dollars / "board.html"
    res = CliRunner().invoke(cli, ["leaderboard", str(dollars / "results"), "-o", str(out), "--bootstrap", "50"])
    assert res.exit_code == 0, res.output
    page = out.read_text()
    assert "exact $\\eps$-optimal" in page and "data:image/png;base64," in page


def test_report_plot_draws_dollar_labels_as_text(dollars: Path) -> None:
    out = dollars / "report.md"
    res = CliRunner().invoke(cli, ["report", str(dollars / "results"), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert (dollars / "report-nfe.png").stat().st_size > 1000


def _read_only_dir(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        return ro
    for candidate in (Path("/sys"), Path("/proc/sys")):  # read-only mounts, even for root
        try:
            fd, name = tempfile.mkstemp(dir=candidate)
        except OSError:
            return candidate
        os.close(fd)
        os.unlink(name)
    pytest.skip("no read-only directory available to this user")


@pytest.mark.parametrize("verb", ["compare", "figure"])
def test_a_read_only_output_is_one_line_before_any_work(verb: str, tmp_path: Path, dollars: Path) -> None:
    target = _read_only_dir(tmp_path) / ("c.md" if verb == "compare" else "f.png")
    args = (["compare", str(dollars / "results"), "-O", str(target)] if verb == "compare"
            else ["figure", "forward", "--output", str(target)])
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2, res.output
    assert res.output.startswith(f"Error: cannot write {target}") and res.output.count("\n") == 1
    assert "choose another --output" in res.output and "compare:" not in res.output  # refused before the work
