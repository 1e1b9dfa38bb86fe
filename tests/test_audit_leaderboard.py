"""Issue 21, newcomer item: the leaderboard shows the memorised share beside quality and never
presents an entry that copies the training set as the best."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from shared_kit import benched_blob_suite

from denoisebench.cli import cli

SUITE = """\
[suite]
dataset = "tiny-blobs-mem"
num_samples = 12
seeds = [0, 1]
results_dir = "results"

[[entry]]
label = "copier"
provider = "empirical"

[[entry]]
label = "linear"
provider = "wiener"

[[sampler]]
name = "ddim"
steps = 10
"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The page of the runs, and of a copy of them without samples.npz (as results/reference keeps them)."""
    import shutil

    with benched_blob_suite(tmp_path_factory.mktemp("mem"), SUITE, "tiny-blobs-mem", "mem-test-plugin") as root:
        shutil.copytree(root / "results", root / "kept")
        for samples in (root / "kept").glob("*/samples.npz"):
            samples.unlink()
        out = {}
        for name in ("results", "kept"):
            res = CliRunner().invoke(cli, ["leaderboard", str(root / name), "-o", str(root / f"{name}.html"),
                                           "--bootstrap", "50"])
            assert res.exit_code == 0, res.output
            out[name] = (root / f"{name}.html").read_text()
        yield out


@pytest.fixture(scope="module")
def page(pages: dict[str, str]) -> str:
    return pages["results"]


def _rows(page: str) -> list[str]:
    table = page[page.index("<table class='rank'>"):]
    return re.findall(r"<tr[^>]*>.*?</tr>", table[:table.index("</table>")])[1:]


def test_memorised_share_is_a_column_and_copying_is_marked(page: str) -> None:
    assert "<th>memorised ↓</th>" in page
    rows = _rows(page)
    copier = next(r for r in rows if "<b>copier</b>" in r)
    linear = next(r for r in rows if "<b>linear</b>" in r)
    assert "class='copying'" in copier and "<span class='copies'>copies</span>" in copier and "100%" in copier
    assert "class='copying'" not in linear and "0%" in linear
    assert rows.index(linear) < rows.index(copier)  # the generator first, the copy after it, unranked


def test_copying_is_never_presented_as_best(page: str) -> None:
    copier_fid = float(re.search(r"<b>copier</b></td><td>([0-9.]+)", page).group(1))
    linear_fid = float(re.search(r"<b>linear</b></td><td>([0-9.]+)", page).group(1))
    assert copier_fid < linear_fid  # the copy has the better FID-proxy ...
    assert "<b>copier</b> has the best" not in page  # ... and is still not called the best
    assert "<b>linear</b> is the only entry that does not copy the training set" in page
    assert "copies the training set: copier (100% memorised)" in page


def test_runs_without_samples_are_shown_from_their_records_without_verdicts(pages: dict[str, str]) -> None:
    page, unpaired = pages["results"], pages["kept"]
    assert "the samples were not kept, so there are no paired intervals" in unpaired
    assert "class='matrix'" not in unpaired and "class='matrix'" in page
    copier = next(r for r in _rows(unpaired) if "<b>copier</b>" in r)
    assert "<span class='copies'>copies</span>" in copier and "100%" in copier
    recorded = float(re.search(r"<b>linear</b></td><td>([0-9.]+)", unpaired).group(1))
    assert recorded == pytest.approx(float(re.search(r"<b>linear</b></td><td>([0-9.]+)", page).group(1)), rel=1e-3)


def test_copying_runs_are_kept_off_the_pareto_front() -> None:
    import pandas as pd

    from denoisebench.leaderboard.plots import copying

    runs = pd.DataFrame({"memorised": [1.0, 0.0, 0.5, float("nan")]})
    assert list(copying(runs)) == [True, False, True, False]
    assert not copying(pd.DataFrame({"fid": [1.0]})).any()  # runs without the metric are generators
