"""Images per second of a per-image restoration provider with 1, 2, ... worker processes.

    .venv/bin/python benchmarks/bench_restoration_workers.py [--provider nlmeans] [--workers 1 2 auto]
        [--batch 256] [--calls 5] [--json results/bench_restoration_workers.json]

Denoises ``--calls`` batches of ``--batch`` noisy 28 x 28 images (a fixed draw: clean digits
of ``mnist-5k``'s held-out split, or random images without it, plus noise of std s spread over
the tuned range) through the provider's ``denoise``, the call the sampler makes once per step,
for each ``workers`` value, and prints images/s and the speed-up over one worker. The pool is
started before the clock (its start-up, a few seconds once per run, is printed apart). The
outputs of every worker count are checked to be byte-identical to one worker's. The load
average is printed: figures measured while other processes load the machine are not final. On
Linux the CPU seconds spent per image (this process plus its workers, from /proc) are printed
too: they depend much less on the load than wall time does, and K times their ratio to one
worker's estimates the speed-up K processes reach when each has a core of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from denoisebench import ProviderContext
from denoisebench.datasets.base import ImageDataset
from denoisebench.fileio import atomic_path
from denoisebench.plugins import get_registry
from denoisebench.providers.per_image import PerImageRestorationProvider


def images(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, ImageDataset]:
    """``n`` noisy images (n x 1 x 28 x 28) and their noise stds, and the dataset they came from."""
    rng = np.random.default_rng(seed)
    try:
        from denoisebench.datasets.base import DatasetOptions

        data = get_registry().dataset("mnist-5k").load(DatasetOptions())
        clean = data.heldout_images[rng.integers(0, len(data.heldout_images), n)].astype(np.float32) / 255
    except Exception:  # noqa: BLE001 - any dataset problem: time random images instead
        clean = rng.random((n, 28, 28), dtype=np.float32)
        data = ImageDataset("bench", np.zeros((2, 28, 28), np.uint8), np.zeros(2), np.zeros((2, 28, 28), np.uint8),
                            np.zeros(2))
    s = np.exp(rng.uniform(np.log(0.025), np.log(3.2), n)).astype(np.float32)
    noisy = clean + s[:, None, None] * rng.standard_normal(clean.shape).astype(np.float32)
    return torch.from_numpy(noisy[:, None]), torch.from_numpy(s), data


def cpu_seconds(pids: list[int]) -> float | None:
    """User + system CPU seconds of these processes so far (Linux /proc), or None elsewhere."""
    try:
        total = 0
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def load_text() -> str:
    try:
        return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "load average unknown"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--provider", default="nlmeans")
    ap.add_argument("--workers", nargs="+", default=["1", "2", "auto"])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--calls", type=int, default=5)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args(argv)

    torch.set_num_threads(1)
    y, s, data = images(args.batch)
    cls, _ = get_registry().provider(args.provider)
    print(f"provider {args.provider}, batch {args.batch}, {args.calls} calls per setting, "
          f"{os.cpu_count()} cores; {load_text()}", flush=True)
    rows, reference, base, cpu_base = [], None, None, None
    for workers in args.workers:
        provider = cls.from_context(ProviderContext(dataset=data, options={"workers": workers}))
        if not isinstance(provider, PerImageRestorationProvider):
            print(f"{args.provider} is not a PerImageRestorationProvider: it has no workers option", file=sys.stderr)
            return 2
        t0 = time.perf_counter()
        out = provider.denoise(y[: 2 * provider.workers], s[: 2 * provider.workers])  # starts the pool
        startup = time.perf_counter() - t0
        pids = [os.getpid(), *(getattr(provider._pool, "_processes", None) or {})]  # and the pool's workers
        cpu0, t0 = cpu_seconds(pids), time.perf_counter()
        for _ in range(args.calls):
            out = provider.denoise(y, s)
        wall, cpu1 = time.perf_counter() - t0, cpu_seconds(pids)
        provider.close()
        cpu_ms = None if cpu0 is None or cpu1 is None else 1000 * (cpu1 - cpu0) / (args.calls * args.batch)
        cpu_base = cpu_ms if cpu_base is None else cpu_base
        reference = out if reference is None else reference
        identical = bool(torch.equal(out, reference))
        rate = args.calls * args.batch / wall
        base = rate if base is None else base
        own_cores = None if cpu_ms is None or not cpu_base else provider.workers * cpu_base / cpu_ms
        rows.append({"workers": workers, "processes": provider.workers, "images_per_s": rate,
                     "speedup": rate / base, "cpu_ms_per_image": cpu_ms, "speedup_with_own_cores": own_cores,
                     "startup_s": startup, "identical_to_first": identical})
        cpu_text = "" if cpu_ms is None else f"; CPU {cpu_ms:.2f} ms/image (speed-up with a core each {own_cores:.2f}x)"
        print(f"workers={workers:>4} ({provider.workers} processes): {rate:8.1f} images/s, speed-up "
              f"{rate / base:.2f}x over the first setting{cpu_text}; start-up {startup:.2f} s; "
              f"output identical: {identical}", flush=True)
    print(load_text(), flush=True)
    if args.json:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps({"provider": args.provider, "batch": args.batch, "rows": rows}, indent=2))
    return 0 if all(r["identical_to_first"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
