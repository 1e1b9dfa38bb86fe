"""Issue 21, item 7: Ctrl-C during a dataset load, samples.npz of the wrong dtype or shape, a seed
with NaN metrics in the report, and a lock file per cell for two concurrent `bench`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from shared_kit import blob_images, plugin_registered

from denoisebench.cli import cli
from denoisebench.datasets.base import DatasetSpec, ImageDataset
from denoisebench.runs.records import RUN_FILE, SAMPLES_FILE, save_npz_deterministic

DATA = ImageDataset("tiny-blobs-s", blob_images(40, 1), np.arange(40) % 4, blob_images(30, 2), np.arange(30) % 4)
SUITE = """\
[suite]
dataset = "tiny-blobs-s"
num_samples = 6
seeds = [0, 1]
metrics = {metrics}
results_dir = "results"

[[entry]]
provider = "empirical"

[[sampler]]
name = "ddim"
steps = 2
"""


@pytest.fixture
def blobs():
    with plugin_registered("small-test-plugin", [DatasetSpec("tiny-blobs-s", "test blobs", lambda o: DATA)]):
        yield


def _bench(root: Path, *args: str, metrics: bool = False):
    suite = root / "suite.toml"
    if not suite.exists():
        suite.write_text(SUITE.format(metrics="true" if metrics else "false"))
    return CliRunner().invoke(cli, ["bench", str(suite), *args])


def _runs(root: Path) -> list[Path]:
    return sorted(p.parent for p in (root / "results").glob(f"*/{RUN_FILE}"))


def test_ctrl_c_during_a_dataset_load_is_a_clean_interrupt(tmp_path: Path) -> None:
    def load(options):  # noqa: ANN001, ANN202 - like pandas: an interrupt inside the reader becomes its own error
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)
        except KeyboardInterrupt:
            raise ValueError("Error tokenizing data. C error: interrupted") from None
        return DATA

    with plugin_registered("slow-load-plugin", [DatasetSpec("slow-blobs", "test blobs", load)]):
        res = CliRunner().invoke(cli, ["run", "--provider", "empirical", "--dataset", "slow-blobs", "-n", "2",
                                       "--steps", "1", "--results-dir", str(tmp_path / "r")])
    assert res.exit_code == 130, res.output
    lines = [x for x in res.output.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0] in ("Aborted.", "Interrupted: a run writes nothing; train keeps its last "
                                            "saved checkpoint."), res.output
    assert "Traceback" not in res.output and "tokenizing" not in res.output and res.exception.code == 130


@pytest.mark.parametrize("bad", ["float32", "14x14", "short"])
def test_samples_of_the_wrong_dtype_or_shape_are_not_a_complete_cell(blobs, tmp_path: Path, bad: str) -> None:
    assert _bench(tmp_path).exit_code == 0
    victim = _runs(tmp_path)[0]
    images = np.load(victim / SAMPLES_FILE)["images"]
    broken = {"float32": images.astype(np.float32), "14x14": images[:, ::2, ::2], "short": images[:-1]}[bad]
    save_npz_deterministic(victim / SAMPLES_FILE, images=broken)
    res = _bench(tmp_path, "--dry-run")
    assert res.exit_code == 0, res.output
    line = next(x for x in res.output.splitlines() if victim.name in x)
    assert line.startswith("re-run") and "samples.npz holds" in line
    assert ("expected uint8" in line) if bad == "float32" else ("expected 6 x 28 x 28" in line)


def test_a_seed_with_nan_metrics_is_counted_honestly(blobs, tmp_path: Path) -> None:
    assert _bench(tmp_path, metrics=True).exit_code == 0
    seed1 = next(p for p in _runs(tmp_path) if json.loads((p / RUN_FILE).read_text())["seed"] == 1)
    record = json.loads((seed1 / RUN_FILE).read_text())
    record["metrics"]["fid"]["value"] = float("nan")
    (seed1 / RUN_FILE).write_text(json.dumps(record))
    res = CliRunner().invoke(cli, ["report", str(tmp_path / "results"), "--format", "json"])
    assert res.exit_code == 0, res.output
    table = json.loads(res.stdout)["tables"][0]
    row = next(r for r in table["rows"] if r["kind"] == "run")
    seed0 = next(json.loads((p / RUN_FILE).read_text()) for p in _runs(tmp_path) if p != seed1)
    assert row["runs"] == 2 and row["fid"] == pytest.approx(seed0["metrics"]["fid"]["value"])
    assert any("FID-proxy: mean of 1 of 2 seeds (no value at seed 1)" in n for n in table["notes"]), table["notes"]


def test_a_cell_locked_by_a_live_process_is_skipped_and_a_stale_lock_is_taken(blobs, tmp_path: Path) -> None:
    from denoisebench.suite import load_suite, plan_suite
    from denoisebench.suite.lock import lock_path

    (tmp_path / "suite.toml").write_text(SUITE.format(metrics="false"))
    plan = plan_suite(load_suite(tmp_path / "suite.toml"))
    (tmp_path / "results").mkdir()
    live, stale = plan.pending
    lock_path(plan.results_dir, live).write_text(f"{os.getpid()}\n")  # this very process: alive
    dead = subprocess.Popen(["true"])
    dead.wait()
    lock_path(plan.results_dir, stale).write_text(f"{dead.pid}\n")
    res = _bench(tmp_path)
    assert res.exit_code == 0, res.output
    assert f"being run by process {os.getpid()}" in res.stderr
    seeds = [json.loads((p / RUN_FILE).read_text())["seed"] for p in _runs(tmp_path)]
    assert seeds == [stale.seed]  # the live lock's cell was left to its holder, the stale one was run
    assert lock_path(plan.results_dir, live).exists() and not lock_path(plan.results_dir, stale).exists()
