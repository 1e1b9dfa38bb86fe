"""Issue 21, item 4 and the suite items of 7: every cell is checked before the first one runs; an
empty top-level entry list and a huge matrix are one line each."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from denoisebench.cli import cli

BOGUS = """\
[suite]
num_samples = 4
metrics = false
results_dir = "results"

[[entry]]
provider = "empirical"

[[entry]]
label = "kb"
provider = "kbnet"
options = { mode = "bogus" }

[[sampler]]
name = "ddim"
steps = 2
"""


def _one_line_error(res) -> str:  # noqa: ANN001
    assert res.exit_code == 2, res.output
    lines = [x for x in res.output.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in res.output, res.output
    return lines[0]


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_bad_option_value_fails_before_the_first_cell(tmp_path: Path, dry_run: bool) -> None:
    suite = tmp_path / "bogus.toml"
    suite.write_text(BOGUS)
    res = CliRunner().invoke(cli, ["bench", str(suite), *(["--dry-run"] if dry_run else [])])
    line = _one_line_error(res)
    assert str(suite) in line and "line 12" in line and "[[entry]] 2" in line and "'kb'" in line and "bogus" in line
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").glob("*/run.json"))


def test_a_top_level_empty_entry_list_is_one_line(tmp_path: Path) -> None:
    suite = tmp_path / "empty.toml"
    suite.write_text('entry = []\n\n[[sampler]]\nname = "ddim"\nsteps = 2\n')
    line = _one_line_error(CliRunner().invoke(cli, ["bench", str(suite), "--dry-run"]))
    assert str(suite) in line and "'entry' is an empty list" in line


def test_a_huge_matrix_is_refused_at_once(tmp_path: Path) -> None:
    import time

    suite = tmp_path / "huge.toml"
    suite.write_text(f'[suite]\nseeds = {list(range(200_000))}\n\n[[entry]]\nprovider = "empirical"\n\n'
                     '[[sampler]]\nname = "ddim"\nsteps = [2, 3, 4, 5, 6]\n')
    started = time.perf_counter()
    line = _one_line_error(CliRunner().invoke(cli, ["bench", str(suite), "--dry-run"]))
    assert "1,000,000 cells" in line and "split it" in line
    assert time.perf_counter() - started < 10
