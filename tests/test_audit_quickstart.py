"""Issue 21, newcomer item: `denoisebench quickstart` compares the shipped U-Net, the KBNet and the
memorisation reference on the embedded data, then writes the leaderboard page."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from denoisebench.cli import cli


def test_the_shipped_suite_compares_unet_kbnet_and_the_memorisation_reference() -> None:
    from denoisebench.cli.quickstart import quickstart_suite
    from denoisebench.suite import expand

    suite = quickstart_suite()
    assert [e.provider for e in suite.entries] == ["unet", "kbnet", "empirical"]
    assert suite.dataset == "mnist-5k" and suite.num_samples == 1000
    cells = expand(suite)
    assert len(cells) == 3 and {c.nfe for c in cells} == {20}


def test_quickstart_refuses_an_unwritable_page_before_any_work(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    res = CliRunner().invoke(cli, ["quickstart", "--results-dir", str(tmp_path / "r"), "-o", str(blocker / "q.html")])
    assert res.exit_code == 2 and res.output.startswith("Error: cannot write") and res.output.count("\n") == 1
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_quickstart_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "q.html"
    res = CliRunner().invoke(cli, ["quickstart", "--results-dir", str(tmp_path / "r"), "-o", str(out), "-n", "40",
                                   "--workers", "1"])
    assert res.exit_code == 0, res.output
    page = out.read_text()
    assert "<b>unet</b>" in page and "kbnet" in page and "<span class='copies'>copies</span>" in page
    assert "<b>empirical</b> has the best" not in page
