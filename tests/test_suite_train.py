"""Suites with trained entries: ``[[train]]`` cells train checkpoints into the results dir, entries
sample them through ``checkpoint = "@label"``, ``[[probe]]`` cells probe the entries."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from denoisebench.cli import cli
from denoisebench.runs.records import RUN_FILE
from denoisebench.suite import load_suite, plan_suite

MODEL = 'model = { channels = "8,16", heads = 2, groups = 4 }'
SUITE = f"""\
[suite]
dataset = "tiny-blobs"
num_samples = 3
batch_size = 3
metrics = false

[[train]]
label = "u-n8-k0"
provider = "unet"
steps = 2
batch_size = 4
warmup = 1
train_size = 8
{MODEL}

[[train]]
label = "u-n8-k1"
provider = "unet"
steps = 2
batch_size = 4
warmup = 1
train_size = 8
train_subset = 1
seed = 1
{MODEL}

[[entry]]
label = "n8-k0"
provider = "unet"
checkpoint = "@u-n8-k0"

[[entry]]
label = "n8-k1"
provider = "unet"
checkpoint = "@u-n8-k1"

[[sampler]]
name = "ddim"
steps = 2

[[probe]]
images = 3
levels = 2
jacobian = "none"
"""


@pytest.fixture
def suite_file(tmp_path: Path, tiny_registered) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(SUITE)
    return path


def bench(suite: Path, results: Path, *extra: str):
    return CliRunner().invoke(cli, ["bench", str(suite), "--results-dir", str(results), *extra])


def metadata(path: Path) -> dict[str, str]:
    from denoisebench.training.checkpoint import read_metadata

    return read_metadata(path)


def outputs(results: Path) -> set[Path]:
    return {p.parent for p in results.glob(f"*/{RUN_FILE}")} | {p.parent for p in results.glob("*/probe.json")}


@pytest.mark.slow  # about 8 s: two trainings, two runs, two probes
def test_one_bench_trains_samples_and_probes_then_a_rerun_does_nothing(suite_file: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    result = bench(suite_file, results)
    assert result.exit_code == 0, result.output
    ckpts = {k: results / "checkpoints" / f"u-n8-k{k}.safetensors" for k in (0, 1)}
    subsets = {}
    for k, path in ckpts.items():
        meta = metadata(path)
        assert int(meta["step"]) == 2
        subset = json.loads(meta["train_subset"])
        assert (subset["size"], subset["subset"]) == (8, k)
        subsets[k] = set(subset["indices"])
    assert len(subsets[0]) == 8 and not subsets[0] & subsets[1]  # disjoint training sets
    runs = [json.loads(p.read_text()) for p in results.glob(f"*/{RUN_FILE}")]
    assert sorted(r["suite"]["entry"] for r in runs) == ["n8-k0", "n8-k1"]
    for r in runs:  # each sample cell used its entry's trained checkpoint and names its train cell
        k = r["suite"]["entry"][-1]
        assert Path(r["provider"]["checkpoint"]).name == f"u-n8-k{k}.safetensors"
        assert len(r["suite"]["cell"]["trained"]) == 64
    probes = [json.loads(p.read_text()) for p in results.glob("*/probe.json")]
    assert sorted(p["suite"]["entry"] for p in probes) == ["n8-k0", "n8-k1"]
    for p in probes:  # the probe's train images come from the checkpoint's own subset
        k = int(p["suite"]["entry"][-1])
        assert set(p["images"]["train"]) <= subsets[k] and p["images"]["train_pool_size"] == 8
    before = outputs(results)
    stamps = {k: path.stat().st_mtime_ns for k, path in ckpts.items()}
    again = bench(suite_file, results)
    assert again.exit_code == 0, again.output
    assert outputs(results) == before
    assert {k: path.stat().st_mtime_ns for k, path in ckpts.items()} == stamps
    assert "train u-n8" not in again.output and "probe n8" not in again.output


def test_interrupted_after_the_train_cells_the_rerun_skips_them(suite_file: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from denoisebench.suite import runner

    results = tmp_path / "results"

    def interrupted(*args, **kwargs):  # noqa: ANN002, ANN003
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_cells", interrupted)
    first = bench(suite_file, results)
    assert first.exit_code == 130 and "run the same command again to resume" in first.output
    assert all(int(metadata(results / "checkpoints" / f"u-n8-k{k}.safetensors")["step"]) == 2 for k in (0, 1))
    assert not list(results.glob(f"*/{RUN_FILE}"))
    monkeypatch.undo()

    def no_training(*args, **kwargs):  # noqa: ANN002, ANN003
        raise AssertionError("a complete train cell was trained again")

    monkeypatch.setattr("denoisebench.training.trainer.train", no_training)
    dry = bench(suite_file, results, "--dry-run")
    assert dry.output.count("complete  u-n8-k") == 2, dry.output
    second = bench(suite_file, results)
    assert second.exit_code == 0, second.output
    assert len(list(results.glob(f"*/{RUN_FILE}"))) == 2 and len(list(results.glob("*/probe.json"))) == 2


def test_a_partial_train_cell_is_resumed_exactly(suite_file: Path, tmp_path: Path) -> None:
    """A training stopped at step 1 of 2 is continued by the trainer's --resume, and ends with the
    weights of an uninterrupted training."""
    from denoisebench.suite.trains import build_train_cell
    from denoisebench.training.checkpoint import read_tensors
    from denoisebench.training.trainer import train

    results = tmp_path / "results"
    suite = load_suite(suite_file)
    cell = build_train_cell(suite, suite.trains[0], results)
    train(cell.config, interrupt_after=1, log=lambda _m: None)
    assert int(metadata(cell.output)["step"]) == 1
    dry = bench(suite_file, results, "--dry-run")
    assert "resume at 1" in dry.output, dry.output
    result = bench(suite_file, results)
    assert result.exit_code == 0, result.output
    assert "resuming" in result.output and int(metadata(cell.output)["step"]) == 2
    fresh = build_train_cell(suite, suite.trains[0], tmp_path / "fresh")
    train(fresh.config, log=lambda _m: None)
    resumed, uninterrupted = read_tensors(cell.output)[0], read_tensors(fresh.output)[0]
    assert resumed.keys() == uninterrupted.keys()
    assert all(np.allclose(resumed[k].numpy(), uninterrupted[k].numpy(), atol=1e-6) for k in resumed)


def test_a_checkpoint_of_another_configuration_is_refused_not_overwritten(suite_file: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    assert bench(suite_file, results).exit_code == 0
    ckpt = results / "checkpoints" / "u-n8-k0.safetensors"
    data = ckpt.read_bytes()
    changed = suite_file.parent / "changed.toml"
    changed.write_text(SUITE.replace("warmup = 1\ntrain_size = 8\n" + MODEL, "warmup = 1\nlr = 0.01\ntrain_size = 8\n"
                                     + MODEL, 1))
    result = bench(changed, results)
    assert result.exit_code == 2
    line = result.output.strip()
    assert "\n" not in line and f"{changed} line 8" in line and "lr" in line and "another label" in line
    assert ckpt.read_bytes() == data


def _with(old: str, new: str) -> str:
    assert old in SUITE
    return SUITE.replace(old, new, 1)


BAD = [
    (_with("warmup = 1\ntrain_size = 8", "warmup = 1\nepochs = 3\ntrain_size = 8"), 13, "[[train]] 1, key 'epochs'"),
    (_with('checkpoint = "@u-n8-k1"', 'checkpoint = "@u-n9"'), 35, "no [[train]] has label 'u-n9'"),
    (_with("train_subset = 1", "train_subset = 5"), 22, "needs (K + 1) x N = 48"),
    (_with('label = "n8-k1"\nprovider = "unet"', 'label = "n8-k1"\nprovider = "wiener"'), 34, "trained for provider"),
    (_with('images = 3', 'images = 3\nentries = ["n8-k2"]'), 43, "no [[entry]] has label 'n8-k2'"),
    (_with('channels = "8,16"', 'chanels = "8,16"'), 14, "no model option 'chanels'"),
    (_with('label = "u-n8-k0"\nprovider = "unet"', 'label = "u-n8-k0"\nprovider = "empirical"').replace(
        'label = "n8-k0"\nprovider = "unet"', 'label = "n8-k0"\nprovider = "empirical"'), 9, "not trainable"),
    (_with("steps = 2\nbatch_size = 4\nwarmup = 1\ntrain_size = 8\n" + MODEL + "\n\n[[train]]",
           "batch_size = 4\nwarmup = 1\ntrain_size = 8\n" + MODEL + "\n\n[[train]]"), 7, "key 'steps': is required"),
]


@pytest.mark.parametrize(("text", "line", "needle"), BAD)
def test_bad_trained_suites_are_one_line_errors_naming_file_and_line(tmp_path: Path, tiny_registered, text: str,
                                                                     line: int, needle: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    for extra in ((), ("--dry-run",)):
        result = bench(path, tmp_path / "results", *extra)
        assert result.exit_code == 2, result.output
        message = result.output.strip()
        assert "\n" not in message and "Traceback" not in message, message
        assert f"{path} line {line}" in message and needle in message, message
    assert not (tmp_path / "results" / "checkpoints").exists()


def test_trained_sample_cells_keep_their_identity_before_and_after_training(suite_file: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    before = [s.cell.hash for s in plan_suite(load_suite(suite_file), results).statuses]
    assert bench(suite_file, results).exit_code == 0
    after = plan_suite(load_suite(suite_file), results)
    assert [s.cell.hash for s in after.statuses] == before and after.complete == 2


def test_the_reference_sweep_declares_two_disjoint_subsets_per_size(tmp_path: Path) -> None:
    sweep = Path(__file__).resolve().parents[1] / "results" / "reference" / "size-sweep" / "sweep.toml"
    plan = plan_suite(load_suite(sweep), tmp_path)
    sizes = {(t.cell.config.train_size, t.cell.config.train_subset, t.cell.config.seed) for t in plan.trains}
    assert sizes == {(n, k, k) for n in (16, 128, 1024, 2000) for k in (0, 1)}
    assert all(t.state == "missing" for t in plan.trains) and len(plan.pending) == len(plan.probes) == 8
    assert {s.cell.checkpoint.name for s in plan.statuses} == {f"{t.cell.label}.safetensors" for t in plan.trains}


def test_a_train_cell_another_process_holds_is_waited_for(suite_file: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A second bench waits for the first one's training instead of sampling a missing checkpoint."""
    import io

    from denoisebench.suite import runner
    from denoisebench.suite.lock import lock_path

    results = tmp_path / "results"
    plan = plan_suite(load_suite(suite_file), results)
    cell = plan.trains[0].cell
    lock = lock_path(results, cell)  # type: ignore[arg-type]
    lock.parent.mkdir(parents=True)
    lock.write_text("1\n")  # pid 1 is alive: the lock is held
    trained: list[str] = []

    def fake_train(status, say):  # noqa: ANN001
        trained.append(status.cell.label)
        return status.cell.output

    monkeypatch.setattr(runner, "run_train_cell", fake_train)
    polls = iter(range(3))

    def sleep(_seconds: float) -> None:
        if next(polls) == 1:
            lock.unlink()  # the other process finished (without training: this one trains it)

    monkeypatch.setattr("time.sleep", sleep)
    progress = runner.SuiteProgress(0, 0, [], stream=io.StringIO(), interactive=False)
    runner.run_trains(plan, progress)
    assert trained == ["u-n8-k0", "u-n8-k1"]
    assert "waiting for process 1 to train u-n8-k0" in progress.stream.getvalue()


def test_train_and_probe_cells_are_refused_under_torchrun(suite_file: Path, tmp_path: Path) -> None:
    """Rank 0 plans under torchrun; a plan with pending train or probe cells is one line, before any cell."""
    from denoisebench.cli.bench import _plan
    from denoisebench.errors import DenoisebenchError

    with pytest.raises(DenoisebenchError, match=r"run without torchrun: run 'denoisebench bench' once without it"):
        _plan(suite_file, tmp_path / "results", False, None, sharded=True)
    assert _plan(suite_file, tmp_path / "results", True, None, sharded=True).pending_trains  # --dry-run lists them
