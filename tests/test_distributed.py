"""Sharded `run` and `bench` under torchrun (gloo, 2 CPU processes) against one process.

The torchrun tests start real process groups: ``python -m torch.distributed.run --standalone
--nproc_per_node=2 --no-python <the venv's denoisebench> ...``. The failing-rank test needs a
provider that only a test has; torchrun runs ``python -c <code>``, which registers it at run time
and then calls the same CLI entry point as the console script.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from denoisebench.cli import cli
from denoisebench.errors import DenoisebenchError
from denoisebench.runs import distributed
from denoisebench.runs.records import RUN_FILE, SAMPLES_FILE, load_samples

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "--no-python"]
DENOISEBENCH = Path(sys.executable).with_name("denoisebench")  # the console script of this environment

FAILING_PROVIDER = textwrap.dedent("""
    import os, sys, torch, denoisebench
    from denoisebench.plugins import register_plugin
    from denoisebench.plugins.hookspecs import hookimpl

    class FailsOnRank(denoisebench.EpsilonProvider):
        name = "fails-on-rank"
        description = "zero noise, but raises on the torchrun rank named by option rank"
        options = {"rank": "the rank that raises"}

        def predict_eps(self, x_t, t, schedule):
            if os.environ["RANK"] == self.context.options["rank"]:
                raise RuntimeError("boom on purpose\\nsecond line")
            return torch.zeros_like(x_t)

    class Plugin:
        @hookimpl
        def register_providers(self, register):
            register(FailsOnRank)

    register_plugin(Plugin(), "fails-on-rank-plugin")
    from denoisebench.cli import main
    sys.argv[0] = "denoisebench"
    main()
""")


def torchrun(*args: str, program: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [*TORCHRUN, *(program or [str(DENOISEBENCH)]), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


slow = pytest.mark.slow  # each starts a 2-process torchrun job: about 10 s on a quiet 2-core machine


def one_process(*args: str) -> Path:
    """The reference run, in this process with one torch thread like each torchrun rank: the metrics'
    float sums depend on the thread count (by about 1e-8), the samples do not."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        res = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    finally:
        torch.set_num_threads(threads)
    assert res.exit_code == 0, res.output
    return Path(res.stdout.strip().splitlines()[-1])


def same_metrics(a: Any, b: Any) -> bool:
    """Equal metrics records: wall-clock entries left out, floats equal to 1e-9 (numpy's BLAS sums
    may differ in the last bit between processes)."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = {k for k in a.keys() | b.keys() if not k.endswith("_s") and "second" not in k}
        return all(same_metrics(a.get(k), b.get(k)) for k in keys)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_metrics(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def leftovers(results: Path) -> list[str]:
    return sorted(p.name for p in results.iterdir()) if results.exists() else []


# -- torchrun, 2 processes ----------------------------------------------------------------------------

@slow
def test_sharded_run_matches_one_process_for_a_stochastic_sampler(tmp_path: Path) -> None:
    """N = 11 in batches of 4: rank 0 takes batches 0 and 2 (7 samples), rank 1 batch 1 (4)."""
    args = ["run", "-p", "empirical", "--sampler", "ddpm", "--steps", "4", "-n", "11", "--batch-size", "4",
            "--seed", "3"]
    single = one_process(*args, "--results-dir", str(tmp_path / "one"))
    proc = torchrun(*args, "--results-dir", str(tmp_path / "two"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    sharded = Path(proc.stdout.strip().splitlines()[-1])
    assert leftovers(tmp_path / "two") == [sharded.name]  # one complete run dir, nothing staged
    assert (sharded / SAMPLES_FILE).read_bytes() == (single / SAMPLES_FILE).read_bytes()
    one, two = (json.loads((d / RUN_FILE).read_text()) for d in (single, sharded))
    assert two["metrics"]["fid"]["value"] > 0
    assert same_metrics(two["metrics"], one["metrics"])
    assert two["sampler"]["nfe"] == one["sampler"]["nfe"] == 4 and two["num_samples"] == 11
    dist = two["distributed"]
    assert dist["world_size"] == 2 and one["distributed"]["world_size"] == 1
    assert [r["rank"] for r in dist["ranks"]] == [0, 1] and [r["samples"] for r in dist["ranks"]] == [7, 4]
    assert all(r["device"] == "cpu" and r["host"] and r["torch_threads"] == 1 for r in dist["ranks"])
    assert two["timing"]["sampling_s"] >= max(r["sampling_s"] for r in dist["ranks"])
    assert proc.stdout.count("FID-proxy") == 1  # only rank 0 speaks


@slow
def test_sharded_bench_runs_only_the_pending_cells_like_one_process(tmp_path: Path) -> None:
    """Rank 0 decides what is complete; the cell that runs (deterministic ddim, odd N) is sharded."""
    suite = tmp_path / "suite.toml"
    suite.write_text(textwrap.dedent("""\
        [suite]
        num_samples = 7
        seeds = [5]
        batch_size = 3
        metrics = false

        [[entry]]
        provider = "empirical"

        [[sampler]]
        name = "ddim"
        steps = 3

        [[sampler]]
        name = "dpmpp-2m-sde"
        steps = 2
        """))
    res = CliRunner().invoke(cli, ["bench", str(suite), "--results-dir", str(tmp_path / "one")])
    assert res.exit_code == 0, res.output
    cells = {json.loads((d / RUN_FILE).read_text())["sampler"]["name"]: d
             for d in (p.parent for p in (tmp_path / "one").glob(f"*/{RUN_FILE}"))}
    two = tmp_path / "two"
    two.mkdir()
    kept = cells["dpmpp-2m-sde"]
    (two / kept.name).mkdir()
    for f in kept.iterdir():
        (two / kept.name / f.name).write_bytes(f.read_bytes())
    proc = torchrun("bench", str(suite), "--results-dir", str(two))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "2 cells, 1 complete, 1 to run" in proc.stderr and proc.stderr.count("1 to run") == 1
    new = [d for d in two.iterdir() if d.name != kept.name]
    assert len(new) == 1 and [str(new[0])] == proc.stdout.split()
    record = json.loads((new[0] / RUN_FILE).read_text())
    assert record["sampler"]["name"] == "ddim" and record["distributed"]["world_size"] == 2
    assert [r["samples"] for r in record["distributed"]["ranks"]] == [4, 3]
    assert record["suite"]["cell_hash"] == json.loads((cells["ddim"] / RUN_FILE).read_text())["suite"]["cell_hash"]
    assert (new[0] / SAMPLES_FILE).read_bytes() == (cells["ddim"] / SAMPLES_FILE).read_bytes()


@slow
def test_a_rank_that_raises_fails_the_run_in_one_line_and_records_nothing(tmp_path: Path) -> None:
    results = tmp_path / "results"
    proc = torchrun("run", "-p", "fails-on-rank", "-o", "rank=1", "--sampler", "ddim", "--steps", "3", "-n", "9",
                    "--batch-size", "2", "--results-dir", str(results),
                    program=[sys.executable, "-c", FAILING_PROVIDER])
    assert proc.returncode != 0
    ours = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
    assert ours == ["Error: rank 1 of 2 failed in generate: RuntimeError: boom on purpose; no run was recorded"]
    assert "/denoisebench/" not in proc.stderr  # no traceback from our code, only torchrun's own summary
    assert leftovers(results) == []  # no run dir, no .staging-*, no .incomplete-*
    assert proc.stdout.strip() == ""


# -- in one process --------------------------------------------------------------------------------

@pytest.mark.parametrize("n, batch, world", [(11, 4, 2), (7, 3, 2), (1, 256, 3), (10, 1, 3), (9, 2, 4)])
def test_shards_cover_every_sample_once_in_single_process_batches(n: int, batch: int, world: int) -> None:
    shards = [distributed.shard_batches(n, batch, r, world) for r in range(world)]
    single = distributed.batch_ranges(n, batch)
    assert sorted((b for s in shards for b in s), key=lambda b: b.start) == single
    assert sorted(i for s in shards for b in s for i in b) == list(range(n))
    sizes = [sum(map(len, s)) for s in shards]
    assert max(sizes) - min(sizes) <= batch  # balanced to within one batch


def test_assemble_puts_the_ranks_batches_back_in_order() -> None:
    from denoisebench.runs.runner import assemble

    n, batch, world = 11, 4, 2
    truth = np.arange(n * 4, dtype=np.uint8).reshape(n, 2, 2)
    parts = []
    for r in range(world):
        mine = distributed.shard_batches(n, batch, r, world)
        parts.append({"batches": [b.start for b in mine], "images": np.concatenate([truth[b.start:b.stop] for b in mine])})
    assert np.array_equal(assemble(parts, n, batch, (1, 2, 2)), truth)
    with pytest.raises(RuntimeError, match="no rank"):
        assemble(parts[:1], n, batch, (1, 2, 2))


def test_launch_is_read_from_torchruns_environment() -> None:
    env = {"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2",
           "MASTER_ADDR": "h", "MASTER_PORT": "1"}
    assert distributed.launch_from_env(env) == distributed.Launch(3, 4, 1, 2)
    assert distributed.launch_from_env({}) is None
    assert distributed.launch_from_env({**env, "WORLD_SIZE": "1", "RANK": "0"}) is None
    for bad in ({**env, "RANK": "4"}, {**env, "RANK": "x"}, {"WORLD_SIZE": "2", "RANK": "0"}):
        with pytest.raises(DenoisebenchError):
            distributed.launch_from_env(bad)


def run_ranks(world: int, work: list[Any], abortable: bool = False, timeout_s: float = 30.0) -> list[Any]:
    """Each rank's outcome of one phase, ranks as threads sharing an in-memory store."""
    import torch.distributed as dist

    store = dist.HashStore()
    out: list[Any] = [None] * world

    def rank(r: int) -> None:
        session = distributed.Session(distributed.Launch(r, world, r, world), store, timeout_s)
        try:
            out[r] = session.phase("generate", work[r](session) if work[r] else None, abortable=abortable)
        except DenoisebenchError as exc:
            out[r] = exc

    threads = [threading.Thread(target=rank, args=(r,)) for r in range(world)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def test_a_failure_on_one_rank_fails_every_rank_and_stops_the_others_early() -> None:
    import time

    def slow(session: distributed.Session):  # would take 30 s unless the abort flag stops it
        def work() -> str:
            for _ in range(600):
                session.check_abort()
                time.sleep(0.05)
            return "finished"
        return work

    def broken(session: distributed.Session):
        def work() -> None:
            time.sleep(0.2)
            raise ValueError("bad weights\nmore")
        return work

    started = time.monotonic()
    out = run_ranks(3, [slow, broken, slow], abortable=True)
    assert time.monotonic() - started < 10
    assert all(isinstance(e, distributed.RankFailure) for e in out)
    assert {str(e) for e in out} == {"rank 1 of 3 failed in generate: ValueError: bad weights; no run was recorded"}


def test_the_same_user_error_on_every_rank_reads_as_in_one_process() -> None:
    def bad(session: distributed.Session):
        def work() -> None:
            raise DenoisebenchError("unknown provider 'nope': available providers are x")
        return work

    out = run_ranks(2, [bad, bad])
    assert [str(e) for e in out] == ["unknown provider 'nope': available providers are x"] * 2


def test_a_rank_that_never_reports_times_out_instead_of_hanging() -> None:
    import time

    def ok(session: distributed.Session):
        return lambda: "done"

    def hung(session: distributed.Session):
        def work() -> None:
            time.sleep(1.5)  # posts only after the others gave up waiting
        return work

    out = run_ranks(2, [ok, hung], timeout_s=0.5)
    assert isinstance(out[0], distributed.RankFailure) and "rank(s) 1 of 2 made no progress" in str(out[0])
    assert out[0].speaker == 0


def test_bench_workers_under_torchrun_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
                       "MASTER_PORT": "1"}.items():
        monkeypatch.setenv(key, value)
    suite = tmp_path / "suite.toml"
    suite.write_text('[suite]\n[[entry]]\nprovider = "empirical"\n[[sampler]]\nname = "ddim"\nsteps = 2\n')
    res = CliRunner().invoke(cli, ["bench", str(suite), "--workers", "2"])
    assert res.exit_code == 2
    assert res.stderr.strip().splitlines() == [
        "Error: --workers 2 cannot be used under torchrun (WORLD_SIZE=2): each cell is already shared by the "
        "ranks; drop --workers"]
    monkeypatch.setenv("RANK", "1")  # the other ranks say nothing
    res = CliRunner().invoke(cli, ["bench", str(suite), "--workers", "2"])
    assert res.exit_code == 2 and res.stderr == ""
