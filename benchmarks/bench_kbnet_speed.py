"""KBNet's cost per network call against the U-Net's, side by side in one process.

    .venv/bin/python benchmarks/bench_kbnet_speed.py [--batch 250 1] [--threads 1 2] [--repeats 7]
        [--compile] [--json results/bench_kbnet_speed.json]

For each thread count and batch size, one ``predict_eps`` call (a DDPM step at t = 500 on
the linear schedule, what a sampler pays per step) of each provider, with the shipped weights:

* ``unet``: the U-Net provider as a run builds it (channels-last);
* ``kbnet before``: the KBNet provider computing the plain forward kept in
  ``denoisebench.providers.kbnet.reference`` (the implementation before the speed work);
* ``kbnet``: the KBNet provider as shipped;
* ``kbnet compile`` with ``--compile``: ``-o compile=1`` (slow to compile).

The calls are interleaved (U-Net, before, after, U-Net, ...) ``--repeats`` times so that load
from other processes hits all of them alike; the figure is the fastest repeat, in ms per image per
call (the median is printed beside it); with one thread the CPU time per call is printed too.
The KBNet/U-Net ratio is what the speed work is judged by. The load average is printed before
and after: figures taken while other processes load the machine are not final. The KBNet
outputs of the two forwards are compared (max |difference|).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch

from denoisebench.datasets.base import ImageDataset
from denoisebench.diffusion.schedule import make_schedule
from denoisebench.fileio import atomic_path
from denoisebench.providers.base import EpsilonProvider, ProviderContext
from denoisebench.providers.kbnet.provider import KBNetProvider
from denoisebench.providers.kbnet.reference import using_reference
from denoisebench.providers.unet import UNetProvider
from denoisebench.runs.environment import cpu_name


def _dataset() -> ImageDataset:
    z = np.zeros((2, 28, 28), np.uint8)
    return ImageDataset("bench", z, np.zeros(2), z, np.zeros(2))


def load_text() -> str:
    try:
        return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "load average unknown"


def build(cls: type[EpsilonProvider], **options: str) -> EpsilonProvider:
    return cls.from_context(ProviderContext(dataset=_dataset(), options=options))


def interleaved(calls: dict[str, Callable[[], object]], repeats: int
                ) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and CPU seconds of each call, ``repeats`` rounds, the calls taking turns in each round."""
    for call in calls.values():  # warm-up (oneDNN primitive caches, allocator)
        call()
    wall: dict[str, list[float]] = {name: [] for name in calls}
    cpu: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            t0, c0 = time.perf_counter(), time.process_time()
            call()
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    return wall, cpu


def measure(threads: int, batch: int, repeats: int, providers: dict[str, EpsilonProvider],
            kbnet: KBNetProvider) -> dict[str, object]:
    torch.set_num_threads(threads)
    schedule = make_schedule("linear", 1000)
    x = torch.randn(batch, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    t = torch.full((batch,), 500)

    def call(provider: EpsilonProvider, reference: bool = False) -> Callable[[], object]:
        def run() -> torch.Tensor:
            assert isinstance(provider, (KBNetProvider, UNetProvider))
            ctx = using_reference(provider.net) if reference else nullcontext()
            with ctx, torch.inference_mode():
                return provider.predict_eps(x, t, schedule)
        return run

    calls = {"unet": call(providers["unet"]), "kbnet before": call(kbnet, reference=True), "kbnet": call(kbnet)}
    if "kbnet compile" in providers:
        calls["kbnet compile"] = call(providers["kbnet compile"])
    times, cpu = interleaved(calls, repeats)
    row: dict[str, object] = {"threads": threads, "batch": batch}
    for name, secs in times.items():
        row[name] = {"ms_per_image": 1000 * min(secs) / batch,
                     "median_ms_per_image": 1000 * statistics.median(secs) / batch,
                     "cpu_ms_per_image": 1000 * min(cpu[name]) / batch}
    before, after = calls["kbnet before"](), calls["kbnet"]()
    row["max_abs_diff_eps"] = float((before - after).abs().max())  # type: ignore[operator]
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, nargs="+", default=[250, 1])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--compile", action="store_true", help="also time kbnet -o compile=1 (compiles for minutes)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args(argv)

    providers: dict[str, EpsilonProvider] = {"unet": build(UNetProvider), "kbnet": build(KBNetProvider)}
    if args.compile:
        providers["kbnet compile"] = build(KBNetProvider, compile="1")
    kbnet = providers["kbnet"]
    assert isinstance(kbnet, KBNetProvider)
    header = {"cpu": cpu_name(), "cores": os.cpu_count(), "torch": torch.__version__, "load_before": load_text()}
    print(f"{header['cpu']}, {header['cores']} cores, torch {header['torch']}; {header['load_before']}", flush=True)
    print("ms per image per call (fastest of the repeats; median in brackets)", flush=True)
    rows = []
    for threads in args.threads:
        for batch in args.batch:
            row = measure(threads, batch, args.repeats, providers, kbnet)
            rows.append(row)
            unet = row["unet"]["ms_per_image"]  # type: ignore[index]
            cells = []
            for name in [k for k in row if k not in ("threads", "batch", "max_abs_diff_eps")]:
                fig = row[name]  # type: ignore[index]
                ratio = "" if name == "unet" else f" = {fig['ms_per_image'] / unet:.2f}x unet"
                cells.append(f"{name} {fig['ms_per_image']:.3f} ({fig['median_ms_per_image']:.3f}){ratio}")
            speedup = row["kbnet before"]["ms_per_image"] / row["kbnet"]["ms_per_image"]  # type: ignore[index]
            print(f"threads {threads} batch {batch:4d}: " + "; ".join(cells)
                  + f"; kbnet speed-up {speedup:.2f}x; max |eps before - after| {row['max_abs_diff_eps']:.1e}",
                  flush=True)
            if threads == 1:  # one thread: CPU time is the cost, and it depends less on the load
                names = ("unet", "kbnet before", "kbnet")
                cpu = {name: row[name]["cpu_ms_per_image"] for name in names}  # type: ignore[index]
                print(f"  CPU time: unet {cpu['unet']:.3f}, kbnet before {cpu['kbnet before']:.3f} "
                      f"= {cpu['kbnet before'] / cpu['unet']:.2f}x, kbnet {cpu['kbnet']:.3f} "
                      f"= {cpu['kbnet'] / cpu['unet']:.2f}x unet", flush=True)
    header["load_after"] = load_text()
    print(header["load_after"], flush=True)
    if args.json:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps({**header, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
