"""`denoisebench report`: tables from run.json files, corrupt files skipped, escaping, formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from denoisebench.cli import cli
from denoisebench.report import build_report, build_tables, load_runs


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    from denoisebench.cli import cli  # noqa: F401

    return CliRunner()


def metrics(fid: float, kid: float = 0.01, sha: str = "b" * 64, floor_fid: float = 1.0, n: int = 100) -> dict[str, Any]:
    def block(f: float, k: float) -> dict[str, Any]:
        return {"fid": {"value": f, "std": 0.5, "n_bootstrap": 50}, "kid": {"value": k, "std": 0.002, "subsets": 100,
                                                                            "subset_size": 50},
                "prdc": {"k": 5, "precision": 0.8, "recall": 0.7, "density": 0.9, "coverage": 0.6},
                "classifier": {"histogram": [10] * 10, "entropy_bits": 3.3, "mean_confidence": 0.9,
                               "ambiguous_share": 0.05}}

    return {"n": n, "feature_network_sha256": sha, **block(fid, kid),
            "nearest": {"d1_median": 0.15, "memorised_share": 0.02},
            "nearest_heldout": {"d1_median": 0.17, "memorised_share": 0.0},
            "floor": {"n": n, **block(floor_fid, 0.0001)}}


def write_run(root: Path, name: str, *, provider: str = "empirical", mode: str | None = None, steps: int = 50,
              fid: float = 10.0, created: str = "2026-01-01T00:00:00+00:00", dataset: str = "mnist-5k",
              sha: str = "b" * 64, grid: bool = False, sampler: dict[str, Any] | None = None) -> Path:
    run_dir = root / name
    run_dir.mkdir(parents=True)
    record = {"schema_version": 1, "created": created,
              "provider": {"name": provider, "options": {"mode": mode} if mode else {}},
              "sampler": sampler or {"name": "ddim", "steps": steps}, "dataset": {"id": dataset, "hash": dataset[0] * 64},
              "num_samples": 100, "timing": {"images_per_s": 12.5}, "metrics": metrics(fid, sha=sha)}
    (run_dir / "run.json").write_text(json.dumps(record))
    if grid:
        (run_dir / "grid.png").write_bytes(b"\x89PNG fake")
    return run_dir


def test_corrupt_run_json_is_skipped_with_a_warning_naming_it(runner: CliRunner, tmp_path: Path) -> None:
    write_run(tmp_path, "good", fid=7.5)
    bad = tmp_path / "truncated" / "run.json"
    bad.parent.mkdir()
    bad.write_text('{"schema_version": 1, "provider": {"na')
    (tmp_path / "list" ).mkdir()
    (tmp_path / "list" / "run.json").write_text("[1, 2]")
    (tmp_path / "nokeys").mkdir()
    (tmp_path / "nokeys" / "run.json").write_text('{"created": "x"}')
    res = runner.invoke(cli, ["report", "--results-dir", str(tmp_path)], catch_exceptions=False)
    assert res.exit_code == 0
    for name in ("truncated", "list", "nokeys"):
        assert str(tmp_path / name / "run.json") in res.stderr
    assert "7.50 ± 0.50" in res.stdout and "empirical" in res.stdout


def test_newest_run_per_key_and_floor_row(tmp_path: Path) -> None:
    write_run(tmp_path, "old", fid=20.0, created="2026-01-01T00:00:00+00:00")
    write_run(tmp_path, "new", fid=8.0, created="2026-02-01T00:00:00+00:00")
    write_run(tmp_path, "kb", provider="kbnet", mode="tweedie", fid=30.0)
    (table,) = build_tables(load_runs(tmp_path, lambda m: None))
    runs = table.runs()
    assert sorted(runs["label"]) == ["empirical", "kbnet (tweedie)"]
    assert float(runs[runs["label"] == "empirical"]["fid"].iloc[0]) == 8.0
    assert any("newest of 2 runs" in note and "new" in note for note in table.notes)
    floor = table.rows[table.rows["kind"] == "floor"]
    assert len(floor) == 1 and float(floor["fid"].iloc[0]) == 1.0
    assert float(floor["memorised"].iloc[0]) == 0.0  # held-out real digits' baseline
    (kb,) = build_tables(load_runs(tmp_path, lambda m: None), provider="kbnet")
    assert list(kb.runs()["label"]) == ["kbnet (tweedie)"]
    text = build_report(tmp_path)
    assert "**8.00 ± 0.50**" in text and "30.00 ± 0.50" in text  # best FID in bold, the other not
    assert "FID-proxy ↓" in text and "recall ↑" in text and "real images (floor, N=100)" in text


def test_datasets_and_feature_networks_are_never_mixed(tmp_path: Path) -> None:
    write_run(tmp_path, "a", dataset="mnist-5k")
    write_run(tmp_path, "b", dataset="mnist")
    write_run(tmp_path, "c", dataset="mnist-5k", sha="c" * 64)
    tables = build_tables(load_runs(tmp_path, lambda m: None))
    assert len(tables) == 3
    assert all(len(t.runs()) == 1 for t in tables)
    only = build_tables(load_runs(tmp_path, lambda m: None), dataset="mnist")
    assert [t.dataset for t in only] == ["mnist"]


def test_html_escapes_plugin_strings(tmp_path: Path) -> None:
    evil = '<script>alert("x")</script>'
    write_run(tmp_path, "evil", provider=evil, mode="<b>m</b>", grid=True)
    write_run(tmp_path, "plain", fid=3.0)
    out = tmp_path / "report" / "index.html"
    text = build_report(tmp_path, "html", out)
    assert out.read_text() == text
    assert "<script>" not in text and "<b>m</b>" not in text
    assert "&lt;script&gt;" in text and "<strong>3.00 ± 0.50</strong>" in text
    assert 'src="../evil/grid.png"' in text
    md = build_report(tmp_path, "markdown")
    assert "<script>" not in md


def test_csv_json_and_nfe_plot(tmp_path: Path) -> None:
    import pandas as pd

    results = tmp_path / "results"
    for steps, fid in ((10, 30.0), (50, 12.0), (200, 9.0)):
        write_run(results, f"run{steps}", steps=steps, fid=fid)
    out = tmp_path / "report.md"
    build_report(results, "markdown", out)
    assert (tmp_path / "report-nfe.png").read_bytes()[:4] == b"\x89PNG"
    assert "report-nfe.png" in out.read_text()
    assert not list(tmp_path.glob(".*.tmp"))
    csv = build_report(results, "csv", tmp_path / "r.csv")
    frame = pd.read_csv(tmp_path / "r.csv")
    assert csv and list(frame["kind"]) == ["run", "run", "run", "floor"]
    assert set(frame["dataset"]) == {"mnist-5k"}
    payload = json.loads(build_report(results, "json"))
    (table,) = payload["tables"]
    assert table["better"]["fid"] == "min" and table["best"]["fid"] == ["empirical ddim 200"]


def test_missing_results_dir_is_a_one_line_error(runner: CliRunner, tmp_path: Path) -> None:
    res = runner.invoke(cli, ["report", "--results-dir", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "does not exist" in res.stderr


def test_ddpm_variances_are_separate_rows(tmp_path: Path) -> None:
    for variance, fid in (("large", 3.0), ("small", 2.0)):
        write_run(tmp_path, f"ddpm-{variance}", fid=fid,
                  sampler={"name": "ddpm", "steps": 1000, "variance": variance})
    (table,) = build_tables(load_runs(tmp_path, lambda msg: None))
    runs = table.rows[table.rows["kind"] == "run"]
    assert sorted(runs["sampler"]) == ["ddpm large", "ddpm small"]
    assert sorted(runs["fid"]) == [2.0, 3.0]


def test_runs_with_another_checkpoint_get_their_own_row(tmp_path: Path) -> None:
    write_run(tmp_path, "default", provider="kbnet", mode="tweedie", fid=30.0)
    other = write_run(tmp_path, "l1", provider="kbnet", mode="tweedie", fid=90.0)
    record = json.loads((other / "run.json").read_text())
    record["provider"]["checkpoint"] = "/somewhere/kbnet-l1.safetensors"
    (other / "run.json").write_text(json.dumps(record))
    (table,) = build_tables(load_runs(tmp_path, lambda m: None))
    labels = dict(zip(table.runs()["label"], table.runs()["fid"]))
    assert labels == {"kbnet (tweedie)": 30.0, "kbnet (tweedie) [kbnet-l1]": 90.0}


def test_suite_entries_of_one_provider_with_other_options_get_their_own_rows(tmp_path: Path) -> None:
    for name, entry, fid in (("plain", "els", 43.0), ("small", "els (patches=1024)", 54.0),
                             ("large", "els patches=16384", 42.0)):
        run = write_run(tmp_path, name, provider="els", fid=fid)
        record = json.loads((run / "run.json").read_text())
        record["suite"] = {"name": "s", "entry": entry}
        (run / "run.json").write_text(json.dumps(record))
    (table,) = build_tables(load_runs(tmp_path, lambda m: None))
    labels = dict(zip(table.runs()["label"], table.runs()["fid"]))
    assert labels == {"els": 43.0, "els (patches=1024)": 54.0, "els patches=16384": 42.0}
