"""The report's columns, labels, cost and marks come from what the runs recorded and declared."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from test_report import write_run

from denoisebench.report import build_report, build_tables, load_runs
from denoisebench.report.legend import BEST_NOTE, legend


def _edit(run_dir: Path, change: Any) -> None:
    record = json.loads((run_dir / "run.json").read_text())
    change(record)
    (run_dir / "run.json").write_text(json.dumps(record))


def _tables(root: Path) -> list:
    return build_tables(load_runs(root, lambda msg: None))


def test_recorded_labels_nfe_and_time_are_used(tmp_path: Path) -> None:
    new = write_run(tmp_path, "new", provider="kbnet", sampler={"name": "heun", "steps": 10})

    def recorded(r: dict[str, Any]) -> None:
        r["provider"]["label"] = "kbnet (tweedie)"
        r["sampler"].update(label="heun churn=0.5", nfe=19)
        r["timing"] = {"images_per_s": 10.0, "ms_per_image": 98.5}

    _edit(new, recorded)
    write_run(tmp_path, "old", provider="unet", sampler={"name": "ddpm", "steps": 1000, "variance": "large"})
    (table,) = _tables(tmp_path)
    runs = table.runs().set_index("label")
    assert runs.loc["kbnet (tweedie)", "sampler"] == "heun churn=0.5"
    assert runs.loc["kbnet (tweedie)", "nfe"] == 19 and runs.loc["kbnet (tweedie)", "ms_per_image"] == 98.5
    assert runs.loc["unet", "sampler"] == "ddpm large"  # an old record: the label is derived as before
    assert runs.loc["unet", "nfe"] == 1000  # an old ddpm record: one network evaluation per step
    assert runs.loc["unet", "ms_per_image"] == 1000 / 12.5  # derived from images/s
    text = build_report(tmp_path)
    assert "| kbnet (tweedie) | heun churn=0.5 | 10 | 19 | 100 | 1 |" in text
    assert "ms/image ↓" in text and "**80.0**" in text


def test_best_note_only_when_something_is_bold(tmp_path: Path) -> None:
    write_run(tmp_path / "one", "only", fid=5.0)
    (single,) = _tables(tmp_path / "one")
    assert not single.best and BEST_NOTE not in legend(single)
    assert "in bold" not in build_report(tmp_path / "one")
    write_run(tmp_path / "two", "a", fid=5.0, steps=10)
    write_run(tmp_path / "two", "b", fid=4.0, steps=20)
    (pair,) = _tables(tmp_path / "two")
    assert pair.best and legend(pair)[0] == BEST_NOTE


def test_old_runs_use_the_builtin_metadata_and_new_ones_their_declaration(tmp_path: Path) -> None:
    write_run(tmp_path, "old", fid=9.0)
    new = write_run(tmp_path, "new", fid=8.0, steps=20, created="2026-03-01T00:00:00+00:00")

    def declare(r: dict[str, Any]) -> None:
        r["metrics"]["sharpness"] = {"mean": 0.25, "sem": 0.01}
        r["metrics"]["floor"]["sharpness"] = {"mean": 0.5, "sem": 0.02}
        r["metrics"]["declared"] = {"sharpness": {
            "description": "mean gradient magnitude", "plugin": "denoisebench-sharp", "depends_on_n": True,
            "floor": "train subset", "columns": [{"key": "sharpness", "header": "sharpness", "better": "max",
                                                   "path": ["mean"], "std_path": ["sem"], "digits": 2}]}}

    _edit(new, declare)
    (table,) = _tables(tmp_path)
    keys = [c.key for c in table.shown]
    assert keys[:2] == ["fid", "kid"] and "sharpness" in keys and keys[-1] == "ms_per_image"
    text = build_report(tmp_path)
    assert "sharpness ↑" in text and "0.25 ± 0.01" in text and "0.50 ± 0.02" in text  # run and floor
    assert "sharpness: mean gradient magnitude. (from plugin denoisebench-sharp)" in text
    old_row = next(line for line in text.splitlines() if line.startswith("| empirical | ddim | 50 "))
    assert old_row.count("–") >= 1  # the old run has no sharpness value


def test_a_clashing_or_malformed_declaration_does_not_break_the_report(tmp_path: Path) -> None:
    run = write_run(tmp_path, "run", fid=3.0)

    def declare(r: dict[str, Any]) -> None:
        r["metrics"]["clash"] = {"value": 1.0}
        r["metrics"]["bad"] = {"value": 2.0}
        r["metrics"]["declared"] = {
            "clash": {"description": "reuses two keys", "columns": [{"key": "n", "header": "N again"},
                                                                    {"key": "fid", "header": "my fid"}]},
            "bad": {"description": "no columns"}}

    _edit(run, declare)
    warnings: list[str] = []
    (table,) = build_tables(load_runs(tmp_path, warnings.append))
    headers = [c.header for c in table.shown]
    assert not warnings
    assert "N again" not in headers  # a core key is never a metric's
    assert "my fid" not in headers and "FID-proxy" in headers  # the builtin keeps its key
    assert float(table.runs()["fid"].iloc[0]) == 3.0  # and its value
    assert "KID-proxy ×1000" in headers  # results not declared: the registry's metadata
    assert any("'n'" in note and "'clash'" in note for note in table.notes)
    assert any("'fid' of metric 'clash'" in note and "metric 'fid'" in note for note in table.notes)
    assert "bad" not in {c.metric for c in table.columns}  # malformed and not installed: left out
    text = build_report(tmp_path)
    assert "**" not in text and "3.00 ± 0.50" in text


def test_several_seeds_of_one_configuration_are_averaged_with_their_seed_spread(tmp_path) -> None:
    """Three seeds of one cell: the row shows their mean, ± is the seed-to-seed std, runs = 3."""
    import json as _json

    import numpy as _np

    from denoisebench.report import build_tables, load_runs

    values = {0: 3.0, 1: 2.0, 2: 4.0}
    for seed, fid in values.items():
        run = tmp_path / f"r{seed}"
        run.mkdir()
        record = {"created": f"2026-01-0{seed + 1}T00:00:00", "seed": seed, "num_samples": 10,
                  "provider": {"name": "p", "label": "p"}, "sampler": {"name": "ddim", "label": "ddim", "steps": 5},
                  "dataset": {"id": "d", "hash": "h"},
                  "metrics": {"feature_network_sha256": "f", "fid": {"value": fid, "std": 0.1}}}
        (run / "run.json").write_text(_json.dumps(record))
    table = build_tables(load_runs(tmp_path, lambda msg: None))[0]
    row = table.runs().iloc[0]
    assert row["runs"] == 3 and row["seeds"] == 3
    assert row["fid"] == _np.mean(list(values.values()))
    assert row["fid_std"] == _np.std(list(values.values()), ddof=1)
    assert any("mean over seeds" in note for note in table.notes)


def test_nfe_ticks_leave_out_labels_that_would_overlap() -> None:
    from denoisebench.report.plot import spaced_ticks

    assert spaced_ticks([5, 9, 10, 15, 19, 20, 50, 100]) == [5, 10, 15, 20, 50, 100]
    assert spaced_ticks([10, 20, 50, 1000]) == [10, 20, 50, 1000]
