"""The Python half of ``benchmarks/gpu_check.sh``: provider timings and the sharded-run comparison.

    python benchmarks/gpu_check.py providers --device cuda --batch-size 1024 --json OUT/providers.json
    python benchmarks/gpu_check.py compare RUN_DIR RUN_DIR ... --json OUT/sharding.json

``providers``: each provider (its default weights and options) is built for ``mnist-5k`` on the
device and called on one batch of x_t at fixed t values; after warm-up calls, ``--repeats`` calls
are timed (synchronised on CUDA). Prints and writes ms per call and images per second of the
network alone (one call = one sampling step for the batch).

``compare``: the samples of run directories made with the same seed but different process
counts: whether they are byte-identical and, where not, how many pixels differ and by how much;
plus each run's images/s and per-rank times from run.json. Reports, never fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

DEFAULT_PROVIDERS = "unet,kbnet,wiener,empirical"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_provider(name: str, device: torch.device, batch: int, repeats: int, warmup: int) -> dict[str, object]:
    """ms per call and images/s of one provider's predict_eps at ``batch`` images."""
    from denoisebench.datasets.base import DatasetOptions
    from denoisebench.diffusion.schedule import make_schedule
    from denoisebench.plugins import get_registry
    from denoisebench.providers.base import ProviderContext

    registry = get_registry()
    cls, _info = registry.provider(name)
    dataset = registry.dataset("mnist-5k").load(DatasetOptions())
    started = time.perf_counter()
    provider = cls.from_context(ProviderContext(dataset=dataset, device=device))
    build_s = time.perf_counter() - started
    schedule = make_schedule("linear", 1000)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn((batch, *dataset.image_shape), generator=gen).to(device)
    ts = [999, 500, 100, 10]  # cycled: the cost of some providers depends on t
    with torch.inference_mode():
        for i in range(warmup):
            provider.predict_eps(x, torch.full((batch,), ts[i % len(ts)], device=device), schedule)
        _sync(device)
        times = []
        for i in range(repeats):
            t = torch.full((batch,), ts[i % len(ts)], device=device)
            _sync(device)
            t0 = time.perf_counter()
            eps = provider.predict_eps(x, t, schedule)
            _sync(device)
            times.append(time.perf_counter() - t0)
    ms = 1000 * float(np.median(times))
    return {"provider": name, "label": provider.label(), "device": str(device), "batch": batch,
            "repeats": repeats, "build_s": round(build_s, 3), "ms_per_call_median": round(ms, 3),
            "ms_per_call_min": round(1000 * min(times), 3), "images_per_s": round(batch / (ms / 1000), 1),
            "finite": bool(torch.isfinite(eps).all())}


def providers_command(a: argparse.Namespace) -> None:
    device = torch.device(a.device)
    rows = []
    for name in a.providers.split(","):
        try:
            row = time_provider(name, device, a.batch_size, a.repeats, a.warmup)
        except Exception as exc:  # noqa: BLE001 - a report: one provider's failure must not hide the others
            row = {"provider": name, "error": f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}"}
        rows.append(row)
        if "error" in row:
            print(f"{name:10s} failed: {row['error']}", flush=True)
        else:
            print(f"{name:10s} batch {row['batch']:5d}: {row['ms_per_call_median']:9.2f} ms/call (min "
                  f"{row['ms_per_call_min']:.2f}), {row['images_per_s']:10.1f} images/s per call; built in "
                  f"{row['build_s']:.1f} s", flush=True)
    info = {"device": str(device), "torch": torch.__version__, "threads": torch.get_num_threads(),
            "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"}
    _write(a.json, {**info, "rows": rows})


def compare_command(a: argparse.Namespace) -> None:
    from denoisebench.runs.records import load_samples

    runs = []
    for run_dir in a.run_dirs:
        record = json.loads((run_dir / "run.json").read_text())
        runs.append({"run_dir": str(run_dir), "world_size": record["distributed"]["world_size"],
                     "images_per_s": record["timing"]["images_per_s"], "sampling_s": record["timing"]["sampling_s"],
                     "ranks": [{k: r.get(k) for k in ("rank", "device", "samples", "sampling_s")}
                               for r in record["distributed"]["ranks"]]})
    reference = load_samples(a.run_dirs[0])
    for run, run_dir in zip(runs, a.run_dirs):
        images = load_samples(run_dir)
        diff = np.abs(images.astype(np.int16) - reference.astype(np.int16))
        run.update(byte_identical=bool((run_dir / "samples.npz").read_bytes()
                                       == (a.run_dirs[0] / "samples.npz").read_bytes()),
                   differing_pixels=int((diff > 0).sum()), max_abs_diff=int(diff.max()) if diff.size else 0,
                   differing_images=int((diff.reshape(len(diff), -1).max(axis=1) > 0).sum()) if diff.size else 0)
        print(f"world size {run['world_size']}: {run['images_per_s']} images/s (ranks "
              f"{[r['sampling_s'] for r in run['ranks']]} s); vs {a.run_dirs[0].name}: byte-identical "
              f"{run['byte_identical']}, {run['differing_images']} images / {run['differing_pixels']} pixels differ "
              f"(max {run['max_abs_diff']} grey levels)", flush=True)
    _write(a.json, {"runs": runs})


def _write(path: Path | None, payload: dict[str, object]) -> None:
    if path is not None:
        from denoisebench.fileio import write_text_atomic

        write_text_atomic(path, json.dumps(payload, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("providers", help="time each provider's call at one batch size")
    p.add_argument("--device", default="cuda")
    p.add_argument("--providers", default=DEFAULT_PROVIDERS)
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--json", type=Path, default=None)
    c = sub.add_parser("compare", help="compare the samples of runs of different process counts")
    c.add_argument("run_dirs", type=Path, nargs="+")
    c.add_argument("--json", type=Path, default=None)
    a = parser.parse_args()
    {"providers": providers_command, "compare": compare_command}[a.command](a)


if __name__ == "__main__":
    sys.exit(main())
