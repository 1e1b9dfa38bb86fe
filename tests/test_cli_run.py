"""`denoisebench run` end to end: the record, reproducibility and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from denoisebench.cli import cli, main  # noqa: F401  (main registers the verbs)
from denoisebench.runs.records import load_samples


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    from denoisebench.cli import cli  # noqa: F401

    return CliRunner()


def invoke(runner: CliRunner, *args: str):
    return runner.invoke(cli, list(args), catch_exceptions=False)


def run_args(results: Path, *extra: str) -> list[str]:
    return ["run", "--provider", "empirical", "-n", "6", "--steps", "4", "--batch-size", "4",
            "--no-metrics", "--results-dir", str(results), *extra]


def test_run_writes_a_complete_record(runner: CliRunner, tmp_path: Path) -> None:
    res = invoke(runner, *run_args(tmp_path))
    assert res.exit_code == 0, res.output
    run_dir = Path(res.stdout.strip().splitlines()[-1])
    assert sorted(p.name for p in run_dir.iterdir()) == ["grid.png", "run.json", "samples.npz"]
    record = json.loads((run_dir / "run.json").read_text())
    assert record["schema_version"] == 1
    assert record["provider"]["name"] == "empirical"
    assert record["provider"]["plugin"] == "denoisebench.builtin"
    assert record["sampler"]["name"] == "dpmpp-2m-sde" and record["sampler"]["steps"] == 4  # the default sampler
    assert record["sampler"]["nfe"] == 4
    assert record["dataset"]["id"] == "mnist-5k" and len(record["dataset"]["hash"]) == 64
    assert record["seed"] == 0 and "torch" in record["environment"]
    assert record["timing"]["images_per_s"] > 0
    assert "metrics" in record
    images = load_samples(run_dir)
    assert images.shape == (6, 28, 28) and images.dtype == np.uint8
    assert not list(tmp_path.glob(".staging-*"))


def test_same_command_twice_gives_byte_identical_samples(runner: CliRunner, tmp_path: Path) -> None:
    dirs = []
    for _ in range(2):
        res = invoke(runner, *run_args(tmp_path, "--sampler", "ddpm"))
        dirs.append(Path(res.stdout.strip().splitlines()[-1]))
    assert dirs[0] != dirs[1]
    assert (dirs[0] / "samples.npz").read_bytes() == (dirs[1] / "samples.npz").read_bytes()


def test_samples_do_not_depend_on_batch_size(runner: CliRunner, tmp_path: Path) -> None:
    out = []
    for batch in ("6", "4", "1"):
        args = run_args(tmp_path / batch, "--sampler", "ddpm")
        args[args.index("--batch-size") + 1] = batch
        out.append(load_samples(Path(invoke(runner, *args).stdout.strip().splitlines()[-1])))
    for other in out[1:]:
        assert np.abs(out[0].astype(int) - other.astype(int)).max() <= 1


@pytest.mark.parametrize("args, needle", [
    (["--provider", "nope"], "available providers are"),
    (["--steps", "0"], "--steps"),
    (["--steps", "1001"], "between 1 and T = 1000"),
    (["--num-samples", "0"], "--num-samples"),
    (["--dataset", "nope"], "available datasets are"),
    (["--device", "tpu9"], "device"),
    (["--device", "cuda:0"], "device"),
    (["--option", "novalue"], "KEY=VALUE"),
    (["--option", "bogus=1"], "has no option 'bogus'"),
    (["--checkpoint", "/nonexistent.safetensors"], "does not exist"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path: Path, args: list[str], needle: str) -> None:
    import subprocess
    import sys

    results = tmp_path / "results"
    base = ["run", "--provider", "empirical", "-n", "2", "--steps", "2", "--results-dir", str(results)]
    if args[0] == "--provider":
        base = base[:1] + base[3:]
    proc = subprocess.run([sys.executable, "-c", "from denoisebench.cli import main; main()", *base, *args],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), proc.stderr
    assert needle in lines[0]
    assert not results.exists() or not any(results.iterdir())


def test_unwritable_results_dir(tmp_path: Path) -> None:
    import subprocess
    import sys

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    proc = subprocess.run([sys.executable, "-c", "from denoisebench.cli import main; main()", "run",
                           "--provider", "empirical", "-n", "2", "--steps", "2", "--no-metrics",
                           "--results-dir", str(blocker / "results")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("Error: results dir") and "--results-dir" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_failed_run_leaves_no_half_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from denoisebench.runs import records
    from denoisebench.runs.runner import RunConfig, execute

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(records, "save_grid", boom)
    with pytest.raises(KeyboardInterrupt):
        execute(RunConfig(provider="empirical", num_samples=2, steps=2, metrics=False, results_dir=tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_providers_lists_builtin_with_origin(runner: CliRunner) -> None:
    res = invoke(runner, "providers", "--json")
    data = json.loads(res.stdout)
    row = next(r for r in data["providers"] if r["name"] == "empirical")
    assert row["distribution"] == "denoisebench" and row["plugin"] == "denoisebench.builtin"
