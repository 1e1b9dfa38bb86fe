"""`denoisebench leaderboard`: one offline HTML page from tiny runs; rank bands and the Pareto front."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from shared_kit import benched_blob_suite
from oracles import GaussianOracle

from denoisebench.cli import cli
from denoisebench.leaderboard import pareto_front, rank_bands

SUITE = """\
[suite]
dataset = "tiny-blobs-lb"
num_samples = 12
seeds = [0, 1]
results_dir = "results"

[[entry]]
provider = "empirical"

[[entry]]
label = "empirical-chunked"
provider = "empirical"
options = { chunk = 16 }

[[entry]]
label = "noise"
provider = "gauss-oracle"

[[sampler]]
name = "ddim"
steps = [2, 3]
"""
ENTRIES = ("empirical", "empirical-chunked", "noise")


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three entries x two samplers x two seeds, with metrics (module-wide; tests only read it)."""
    with benched_blob_suite(tmp_path_factory.mktemp("leaderboard"), SUITE, "tiny-blobs-lb", "leaderboard-test-plugin",
                            [GaussianOracle]) as root:
        yield root / "results"


@pytest.fixture(scope="module")
def page(results: Path) -> str:
    out = results.parent / "board.html"
    res = CliRunner().invoke(cli, ["leaderboard", str(results), "--output", str(out), "--bootstrap", "50"])
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == str(out)
    return out.read_text(encoding="utf-8")


def test_page_is_one_offline_file(page: str) -> None:
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert "http" not in page and "<link" not in page and "url(" not in page
    sources = re.findall(r"src=['\"]([^'\"]*)", page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)


def test_page_ranks_every_entry_with_verdicts_groups_plot_and_grids(page: str) -> None:
    sections = re.findall(r"<section id='s\d+'>(.*?)</section>", page, re.S)
    assert len(sections) == 2  # ddim 2 and ddim 3 steps, three entries each
    for body in sections:
        for entry in ENTRIES:
            assert f"<b>{entry}</b>" in body
        assert "class='matrix'" in body and "95% interval" in body
        assert "class='tied'" in body  # the two identical optima cannot be separated ...
        assert "class='better'" in body and "class='worse'" in body  # ... and both beat the noise
        rows = re.findall(r"<tr style='background:[^']*'><td><span class='band'>([a-z]+)</span></td><td>(\d+)</td>"
                          r"<td><b>([^<]+)</b>", body)
        # the two optima copy the training set: marked, listed after the generators, unranked (issue 21)
        copying = re.findall(r"<tr class='copying'[^>]*><td><span class='copies'>copies</span></td><td>–</td>"
                             r"<td><b>([^<]+)</b>", body)
        assert [r[2] for r in rows] == ["noise"] and rows[0][:2] == ("a", "1")
        assert sorted(copying) == ["empirical", "empirical-chunked"]
        fids = [float(v) for v in re.findall(r"</b></td><td>(-?[\d.]+) ± ", body)]
        assert len(fids) == 3 and fids[1:] == sorted(fids[1:]) and fids[0] > max(fids[1:])  # copies score best
        assert body.count("<figure>") == 3 and body.count("data:image/png") == 3  # a grid per entry
        assert "real digits (floor, N = 12)" in body
    assert "Quality against cost" in page and "alt='quality against cost" in page


def test_bad_input_is_one_line_exit_2(results: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for args in (["leaderboard", str(empty), "-o", str(tmp_path / "b.html")],
                 ["leaderboard", str(tmp_path / "missing"), "-o", str(tmp_path / "b.html")],
                 ["leaderboard", str(results), "-o", str(tmp_path)]):
        res = CliRunner().invoke(cli, args)
        assert res.exit_code == 2, res.output
        assert res.output.startswith("Error: ") and res.output.count("\n") == 1 and "Traceback" not in res.output
    assert not (tmp_path / "b.html").exists()


def test_unwritable_output_fails_before_any_work(results: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    res = CliRunner().invoke(cli, ["leaderboard", str(results), "-o", str(blocker / "b.html")])
    assert res.exit_code == 2 and res.output.startswith("Error: cannot write") and res.output.count("\n") == 1
    assert "leaderboard:" not in res.output  # refused before any run was read


def test_rank_bands_are_maximal_runs_of_mutual_ties() -> None:
    ties = {frozenset(p) for p in [("a", "b"), ("b", "c")]}
    bands = rank_bands(["a", "b", "c", "d"], lambda x, y: frozenset((x, y)) in ties)
    assert bands == {"a": [0], "b": [0, 1], "c": [1], "d": [2]}  # a and c are separated: no shared band
    assert rank_bands(["x", "y"], lambda _x, _y: True) == {"x": [0], "y": [0]}
    assert rank_bands(["x", "y"], lambda _x, _y: False) == {"x": [0], "y": [1]}


def test_pareto_front_keeps_points_nothing_beats_on_both() -> None:
    costs = [1.0, 2.0, 3.0, 4.0, 2.0, float("nan")]
    values = [5.0, 3.0, 4.0, 1.0, 6.0, 0.0]
    assert pareto_front(costs, values) == [0, 1, 3]
    rng = np.random.default_rng(0)
    c, v = rng.uniform(size=30), rng.uniform(size=30)
    front = set(pareto_front(list(c), list(v)))
    for i in range(30):  # brute force: on the front exactly when no point is <= on both and < on one
        dominated = any(c[j] <= c[i] and v[j] <= v[i] and (c[j] < c[i] or v[j] < v[i]) for j in range(30))
        assert (i in front) == (not dominated)
