"""Throughput of one process with T threads against T torchrun processes with one thread each.

    .venv/bin/python benchmarks/bench_sharding.py [--providers unet,kbnet] [-n 200]
        [--sampler dpmpp-2m-sde] [--steps 20] [--procs 2] [--json PATH] [--quick]

For each provider (its shipped default weights) the same ``denoisebench run`` (N samples, one
sampler, ``--no-metrics``) is launched twice as a subprocess: once as one process with
``OMP_NUM_THREADS=procs`` (or ``--threads``), once under ``torchrun --nproc_per_node=procs`` with one thread per
rank. The batch size is N / procs (rounded up), so both layouts compute the same batches and the
samples are byte-identical where the provider's arithmetic does not depend on the thread count
(checked and printed; ``--threads 1`` compares like with like). Reported per layout: images/s and ms per image of the
generation (run.json's timing, for torchrun the wall time across ranks), each rank's own time,
and the whole command's wall time including start-up. The load average before and after is
printed: figures taken on a busy machine are not final.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PYTHON = sys.executable
DENOISEBENCH = str(Path(sys.executable).with_name("denoisebench"))


def launch(layout: str, procs: int, threads: int, args: list[str], results: Path) -> dict[str, object]:
    """Run one layout; returns its run.json figures."""
    env = dict(os.environ)
    if layout == "threads":
        env["OMP_NUM_THREADS"] = str(threads)
        cmd = [DENOISEBENCH, *args]
    else:
        env["OMP_NUM_THREADS"] = "1"
        cmd = [PYTHON, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={procs}", "--no-python",
               DENOISEBENCH, *args]
    started = time.perf_counter()
    proc = subprocess.run([*cmd, "--results-dir", str(results)], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"{layout} run failed: {proc.stderr.strip().splitlines()[-1:] or proc.returncode}")
    run_dir = Path(proc.stdout.strip().splitlines()[-1])
    record = json.loads((run_dir / "run.json").read_text())
    timing, dist = record["timing"], record["distributed"]
    return {"layout": f"1 process x {threads} threads" if layout == "threads" else f"{procs} processes x 1 thread",
            "images_per_s": timing["images_per_s"], "ms_per_image": timing["ms_per_image"],
            "sampling_s": timing["sampling_s"], "command_wall_s": round(wall, 2),
            "rank_sampling_s": [r["sampling_s"] for r in dist["ranks"]],
            "rank_threads": [r["torch_threads"] for r in dist["ranks"]],
            "samples": (run_dir / "samples.npz").read_bytes()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--providers", default="unet,kbnet")
    parser.add_argument("-n", "--num-samples", type=int, default=200)
    parser.add_argument("--sampler", default="dpmpp-2m-sde")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--procs", type=int, default=2, help="threads of the one process = ranks of torchrun")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads of the one process (default: --procs); 1 checks that the samples match")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--quick", action="store_true", help="N=8, 4 steps: a check that it runs")
    a = parser.parse_args()
    if a.quick:
        a.num_samples, a.steps = 8, 4
    batch = -(-a.num_samples // a.procs)
    threads = a.threads or a.procs
    load_before = os.getloadavg()
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} "
          f"({os.cpu_count()} cores); N={a.num_samples}, {a.sampler} {a.steps}, batch {batch}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-sharding-") as tmp:
        for provider in a.providers.split(","):
            args = ["run", "-p", provider, "-n", str(a.num_samples), "--sampler", a.sampler, "--steps", str(a.steps),
                    "--batch-size", str(batch), "--seed", str(a.seed), "--no-metrics"]
            pair = [launch(layout, a.procs, threads, args, Path(tmp) / f"{provider}-{layout}") for layout in ("threads", "ranks")]
            identical = pair[0].pop("samples") == pair[1].pop("samples")
            for row in pair:
                row.update(provider=provider, identical_samples=identical)
                rows.append(row)
                print(f"{provider:6s} {row['layout']:24s} {row['images_per_s']:8.2f} images/s "
                      f"{row['ms_per_image']:8.2f} ms/image  generation {row['sampling_s']:7.2f} s "
                      f"(ranks {row['rank_sampling_s']})  command {row['command_wall_s']:6.1f} s")
            print(f"{provider:6s} {a.procs} processes against 1: {pair[1]['images_per_s'] / pair[0]['images_per_s']:.2f}x;"
                  f" samples byte-identical: {identical}")
    load_after = os.getloadavg()
    print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    if a.json is not None:
        from denoisebench.fileio import write_text_atomic

        payload = {"num_samples": a.num_samples, "sampler": a.sampler, "steps": a.steps, "batch_size": batch,
                   "procs": a.procs, "load_before": load_before, "load_after": load_after, "rows": rows}
        write_text_atomic(a.json, json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
