"""`denoisebench bench`: complete cells are skipped, interrupted suites resume, broken cells re-run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from denoisebench.cli import cli
from denoisebench.runs.records import RUN_FILE, SAMPLES_FILE
from denoisebench.suite import load_suite, plan_suite
from denoisebench.suite.cells import key_hash

SUITE = """\
[suite]
dataset = "tiny-blobs"
num_samples = 4
seeds = [0, 1]
batch_size = 3
metrics = false

[[entry]]
provider = "empirical"

[[entry]]
label = "empirical-chunked"
provider = "empirical"
options = { chunk = 16 }

[[sampler]]
name = "ddim"
steps = 2
"""
EXTRA_ENTRY = '\n[[entry]]\nlabel = "third"\nprovider = "empirical"\noptions = { chunk = 7 }\n'



@pytest.fixture
def suite_file(tmp_path: Path, tiny_registered) -> Path:
    path = tmp_path / "suite.toml"
    path.write_text(SUITE)
    return path


def bench(suite: Path, results: Path, *extra: str):
    return CliRunner().invoke(cli, ["bench", str(suite), "--results-dir", str(results), *extra])


def run_dirs(results: Path) -> set[Path]:
    return {p.parent for p in results.glob(f"*/{RUN_FILE}")}


def test_bench_runs_every_cell_once_and_records_its_key(suite_file: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    res = bench(suite_file, results)
    assert res.exit_code == 0, res.output
    dirs = run_dirs(results)
    assert len(dirs) == 4 and set(res.stdout.split()) == {str(d) for d in dirs}
    assert "4/4 done" in res.stderr and "ETA" in res.stderr
    cells = set()
    for d in dirs:
        suite = json.loads((d / RUN_FILE).read_text())["suite"]
        assert suite["cell_hash"] == key_hash(suite["cell"]) and suite["name"] == "suite"
        cells.add((suite["entry"], suite["cell"]["seed"]))
    assert cells == {(e, s) for e in ("empirical", "empirical-chunked") for s in (0, 1)}
    again = bench(suite_file, results)
    assert again.exit_code == 0 and again.stdout == ""
    assert "4 complete, 0 to run" in again.stderr
    assert run_dirs(results) == dirs


def test_interrupted_suite_resumes_with_the_missing_cells(suite_file: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from denoisebench.runs import runner

    real_execute = runner.execute
    calls = []

    def interrupt_third(prepared, on_step=None, log=None):  # noqa: ANN001
        calls.append(prepared.config.extra["entry"])
        if len(calls) == 3:  # Ctrl-C in the middle of the third cell's sampling
            def on_step_then_interrupt(k: int) -> None:
                raise KeyboardInterrupt
            return real_execute(prepared, on_step_then_interrupt, log)
        return real_execute(prepared, on_step, log)

    monkeypatch.setattr(runner, "execute", interrupt_third)
    results = tmp_path / "results"
    res = bench(suite_file, results)
    assert res.exit_code == 130
    assert "2 of 4 cells are complete" in res.stderr and "resume" in res.stderr
    first = run_dirs(results)
    assert len(first) == 2 and not list(results.glob(".staging-*"))
    monkeypatch.setattr(runner, "execute", real_execute)
    res = bench(suite_file, results)
    assert res.exit_code == 0, res.output
    assert "2 complete, 2 to run" in res.stderr
    assert len(run_dirs(results)) == 4 and first < run_dirs(results)


def test_corrupt_or_partial_cells_are_rerun_not_counted(suite_file: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    assert bench(suite_file, results).exit_code == 0
    d0, d1, d2, d3 = sorted(run_dirs(results))
    (d0 / RUN_FILE).write_text((d0 / RUN_FILE).read_text()[:200])  # truncated run.json
    (d1 / SAMPLES_FILE).unlink()  # samples gone
    (d2 / SAMPLES_FILE).write_bytes((d2 / SAMPLES_FILE).read_bytes()[:100])  # truncated samples
    staging = results / ".staging-123-partial"  # what a killed writer leaves
    staging.mkdir()
    (staging / RUN_FILE).write_text((d3 / RUN_FILE).read_text())
    plan = plan_suite(load_suite(suite_file), results)
    assert plan.complete == 1
    states = {s.run_dir: s.state for s in plan.statuses if s.run_dir is not None}
    assert states == {d1: "incomplete", d2: "incomplete", d3: "complete"}
    assert any(str(d0) in w for w in plan.warnings)
    dry = bench(suite_file, results, "--dry-run")
    assert dry.exit_code == 0 and "1 complete, 3 to run" in dry.stdout
    assert dry.stdout.count("re-run") == 2 and "samples.npz is missing" in dry.stdout
    res = bench(suite_file, results)
    assert res.exit_code == 0, res.output
    assert len(res.stdout.split()) == 3
    assert plan_suite(load_suite(suite_file), results).complete == 4


def test_adding_an_entry_runs_only_its_cells(suite_file: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    assert bench(suite_file, results).exit_code == 0
    before = run_dirs(results)
    suite_file.write_text(SUITE + EXTRA_ENTRY)
    res = bench(suite_file, results)
    assert res.exit_code == 0, res.output
    new = run_dirs(results) - before
    assert len(new) == 2
    assert {json.loads((d / RUN_FILE).read_text())["suite"]["entry"] for d in new} == {"third"}


def test_a_changed_configuration_is_a_new_cell(suite_file: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    assert bench(suite_file, results).exit_code == 0
    suite_file.write_text(SUITE.replace("num_samples = 4", "num_samples = 5"))
    plan = plan_suite(load_suite(suite_file), results)
    assert plan.complete == 0 and len(plan.pending) == 4
    suite_file.write_text(SUITE.replace('label = "empirical-chunked"', 'label = "renamed"')
                          .replace("batch_size = 3", "batch_size = 4"))
    assert plan_suite(load_suite(suite_file), results).complete == 4


def test_dry_run_lists_cells_with_cost_and_runs_nothing(suite_file: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    dry = bench(suite_file, results, "--dry-run")
    assert dry.exit_code == 0, dry.output
    lines = dry.stdout.splitlines()
    assert "4 cells, 0 complete, 4 to run" in lines[0] and "unknown cost" in lines[0]
    assert sum(line.startswith("to run") for line in lines) == 4 and "unknown" in lines[3]
    assert not results.exists()
    suite_file.write_text(SUITE.replace("seeds = [0, 1]", "seeds = [0]"))
    assert bench(suite_file, results).exit_code == 0
    suite_file.write_text(SUITE)
    dry = bench(suite_file, results, "--dry-run")
    lines = dry.stdout.splitlines()
    assert "2 complete, 2 to run" in lines[0] and "unknown" not in dry.stdout
    rows = [line.split() for line in lines[3:]]
    assert [r[0] for r in rows] == ["complete", "complete", "to", "to"]
    assert all(r[-1].endswith("s") for r in rows[2:])  # an estimated cost such as '0s'
    assert len(run_dirs(results)) == 2


def test_progress_counts_cells_and_estimates_the_time_left(suite_file: Path) -> None:
    import io

    from denoisebench.suite import expand
    from denoisebench.suite.progress import SuiteProgress

    cells = expand(load_suite(suite_file))  # 4 cells of 4 images x 2 steps = 8 image-steps each
    now = [0.0]
    stream = io.StringIO()
    progress = SuiteProgress(total_cells=5, done_cells=1, pending=cells, stream=stream, interactive=True,
                             clock=lambda: now[0])
    assert progress.eta() is None
    progress.start_cell(cells[0])
    now[0] = 10.0
    progress.advance(4)  # 4 of 32 image-steps in 10 s: 28 left at the same pace
    assert progress.eta() == pytest.approx(70.0)
    assert "1/5 cells done" in progress.line() and "50%" in progress.line() and "ETA 1m10s" in progress.line()
    progress.advance(4)
    progress.finish_cell("run-dir")
    assert progress.done_cells == 2 and progress.units_left == 24
    assert "2/5 done" in stream.getvalue() and "\r" in stream.getvalue()


def test_parallel_workers_give_the_same_cells_and_samples(tmp_path: Path) -> None:
    """--workers 2 runs cells in spawned processes; every cell's samples equal the one-process run's."""
    path = tmp_path / "suite.toml"
    path.write_text(SUITE.replace('dataset = "tiny-blobs"', 'dataset = "mnist-5k"'))
    one, two = tmp_path / "one", tmp_path / "two"
    assert bench(path, one).exit_code == 0
    res = bench(path, two, "--workers", "2", "--threads", "1")
    assert res.exit_code == 0, res.output
    assert "4/4 done" in res.stderr

    def by_cell(results: Path) -> dict[str, bytes]:
        return {json.loads((d / RUN_FILE).read_text())["suite"]["cell_hash"]: (d / SAMPLES_FILE).read_bytes()
                for d in run_dirs(results)}

    assert by_cell(one) == by_cell(two) and len(by_cell(two)) == 4


def test_a_plain_run_of_the_same_configuration_completes_its_cell(suite_file: Path, tmp_path: Path) -> None:
    """A cell already run by `denoisebench run` (no suite key) with the same configuration is skipped."""
    results = tmp_path / "results"
    res = CliRunner().invoke(cli, ["run", "-p", "empirical", "--dataset", "tiny-blobs", "-n", "4", "--steps", "2",
                                   "--sampler", "ddim", "--seed", "1", "--no-metrics", "--results-dir", str(results)])
    assert res.exit_code == 0, res.output
    plan = plan_suite(load_suite(suite_file), results)
    assert plan.complete == 1 and len(plan.pending) == 3
