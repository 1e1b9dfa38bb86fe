"""Time and peak memory of the whole evaluation (every builtin metric) at N = 10,000 and 50,000.

Not a test. For each N, two fresh subprocesses score N "samples" against a 60,000 / 10,000
train / held-out split with ``denoisebench.metrics.evaluate``:

- ``cold``: an empty metrics cache, so the held-out features, the held-out digits' nearest
  training images and the real-digit floor (N train digits scored like samples) are computed too;
- ``warm``: the same call again, reading those from the cache: what every later run of that N pays.

Each prints the seconds of every piece (as recorded in run.json's ``timing_s``), the total, and
the process's peak resident memory (``ru_maxrss``; one process per line, so peaks are separate).

Data: ``--data-dir`` with the four MNIST IDX files reads the real ``mnist`` dataset. Without it a
STAND-IN of the same shapes and dtype is built from the 5,000 ``mnist-5k`` digits (random shifts
of up to 2 pixels and +-8 grey levels of noise): 60,000 train and 10,000 held-out images. The
samples are perturbed held-out digits in both cases (generation is not what is measured). The
timings do not depend on the images' content: every metric does the same arithmetic for any
pixels (the nearest-neighbour search has no pruning).

    OMP_NUM_THREADS=2 python benchmarks/bench_eval_scale.py --n 10000 50000 [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

STAND_IN_TRAIN, STAND_IN_HELDOUT = 60_000, 10_000


def perturbed(images: np.ndarray, labels: np.ndarray, n: int, seed: int,
              chunk: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    """``n`` digits drawn from ``images``, each shifted by up to 2 pixels, with +-8 grey levels of noise.

    Built ``chunk`` images at a time, so the temporaries stay small beside the result.
    """
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(images), n)
    h, w = images.shape[1:]
    out = np.empty((n, h, w), dtype=np.uint8)
    for start in range(0, n, chunk):
        part = slice(start, min(start + chunk, n))
        padded = np.pad(images[pick[part]], ((0, 0), (2, 2), (2, 2)))
        shift = rng.integers(0, 5, (len(padded), 2))
        shifted = np.empty((len(padded), h, w), dtype=np.int16)
        for dy in range(5):
            for dx in range(5):
                rows = np.flatnonzero((shift[:, 0] == dy) & (shift[:, 1] == dx))
                shifted[rows] = padded[rows, dy:dy + h, dx:dx + w]
        shifted += rng.integers(-8, 9, shifted.shape, dtype=np.int16)
        out[part] = np.clip(shifted, 0, 255)
    return out, labels[pick]


def load_data(data_dir: str | None):  # type: ignore[no-untyped-def]
    """The ``mnist`` dataset from ``data_dir``, else the stand-in; returns (dataset, description)."""
    from denoisebench.datasets.base import DatasetOptions, ImageDataset

    if data_dir:
        from denoisebench.datasets.mnist import load_mnist

        data = load_mnist(DatasetOptions(data_dir=Path(data_dir)))
        return data, f"mnist from {data_dir}"
    from denoisebench.datasets.mnist5k import load_mnist5k

    base = load_mnist5k(DatasetOptions())
    train, train_labels = perturbed(base.train_images, base.train_labels, STAND_IN_TRAIN, seed=1)
    held, held_labels = perturbed(base.heldout_images, base.heldout_labels, STAND_IN_HELDOUT, seed=2)
    data = ImageDataset("mnist-stand-in", train, train_labels, held, held_labels)
    return data, ("STAND-IN for mnist (60,000 / 10,000 perturbed mnist-5k digits; the real split is not "
                  "available offline)")


def child(n: int, data_dir: str | None, threads: int | None) -> None:
    """Score N samples once with the cache in $DENOISEBENCH_CACHE; print one JSON line."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    from denoisebench.metrics import evaluate

    start = time.perf_counter()
    data, source = load_data(data_dir)
    samples, _ = perturbed(data.heldout_images, data.heldout_labels, n, seed=3)
    prepare_s = time.perf_counter() - start
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start, cpu = time.perf_counter(), time.process_time()
    out = evaluate(samples, data, seed=0)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    failed = out.get("failed", []) + out.get("skipped", [])
    print(json.dumps({"n": n, "source": source, "threads": torch.get_num_threads(), "prepare_s": prepare_s,
                      "wall_s": wall, "cpu_s": cpu, "timing_s": out["timing_s"], "failed": failed,
                      "rss_before_mb": rss_before / 1024, "peak_rss_mb":
                      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "load": os.getloadavg()[0], "fid": (out.get("fid") or {}).get("value")}))


def run_child(n: int, args: argparse.Namespace, cache: str) -> dict[str, object]:
    env = {**os.environ, "DENOISEBENCH_CACHE": cache}
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    cmd = [sys.executable, __file__, "--child", "--n", str(n)]
    if args.data_dir:
        cmd += ["--data-dir", args.data_dir]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"the N = {n} evaluation failed:\n{done.stderr.strip()}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def show(mode: str, result: dict[str, object]) -> None:
    """One evaluation: its pieces, slowest first, then the totals and the peak memory."""
    timing: dict[str, float] = result["timing_s"]  # type: ignore[assignment]
    print(f"\nN = {result['n']:,}, {mode} cache; data: {result['source']}")
    for name, seconds in sorted(timing.items(), key=lambda kv: -kv[1]):
        if seconds >= 0.005:
            print(f"  {name:<42} {seconds:8.2f} s")
    once = sum(s for k, s in timing.items() if k.startswith(("floor:", "held-out")))
    if once:
        print(f"  {'floor and held-out pieces (cached later)':<42} {once:8.2f} s")
    print(f"  {'other (plugin registry, network, cache I/O)':<42} {result['wall_s'] - sum(timing.values()):8.2f} s")
    print(f"  {'total, evaluate()':<42} {result['wall_s']:8.2f} s wall, {result.get('cpu_s', 0):.1f} s CPU")
    print(f"  peak RSS {result['peak_rss_mb']:.0f} MB (before evaluate(): {result['rss_before_mb']:.0f} MB); "
          f"{result['threads']} torch threads; load average at the end {result['load']:.1f}")
    if result["failed"]:
        print(f"  skipped or failed: {result['failed']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10_000, 50_000], help="numbers of samples")
    parser.add_argument("--data-dir", help="folder with the MNIST IDX files (default: a stand-in split)")
    parser.add_argument("--threads", type=int, help="torch / OpenMP threads (default: as the environment says)")
    parser.add_argument("--only", choices=["cold", "warm"], help="run one of the two evaluations per N")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.n[0], args.data_dir, args.threads)
        return
    print(f"load average {os.getloadavg()}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}", flush=True)
    for n in args.n:
        with tempfile.TemporaryDirectory(prefix="bench-eval-cache-") as cache:  # one fresh cache per N
            for mode in ("cold", "warm"):
                if args.only == "cold" and mode == "warm":
                    continue
                result = run_child(n, args, cache)  # a warm-only run still fills the cache first
                if args.only in (None, mode):
                    show(mode, result)
                    sys.stdout.flush()

if __name__ == "__main__":
    main()
