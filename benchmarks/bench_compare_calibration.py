"""Are the paired intervals of ``denoisebench compare`` honest? A simulation with the shipped U-Net.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_compare_calibration.py \
        [--num-samples 1000] [--repeats 20] [--seeds-per-entry 1] [--steps 50] [--blur 0.002,0.005,0.01] \
        [--bootstrap 1000] [--device cpu] [--workers 1] [--json OUT.json]

Each repeat draws fresh seeds and generates, with DDIM, three kinds of entries:

- ``unet``: the shipped U-Net at seeds S (``--seeds-per-entry`` of them);
- ``unet'``: the same U-Net at other seeds S' (an identical denoiser: the comparison must say ``tied``);
- ``blur L``: the same U-Net whose x0 estimate is blurred at every step,
  x0' = (1 - L) x0 + L * blur3x3(x0), eps' from x0' (a slightly worse denoiser), at seeds S, so it
  is paired with ``unet`` sample by sample.

Each repeat runs the comparison engine (:func:`denoisebench.compare.bootstrap_entries` and
:func:`denoisebench.compare.paired.compare_pairs`, the code ``denoisebench compare`` runs) and the
script prints, per metric: the share of repeats in which ``unet`` vs ``unet'`` is ``tied`` (should
be about 95%, with its Wilson 95% interval), the detection rate of each degradation (``unet
better``), the mean difference and the mean half-width of the interval; 2.8 / 1.96 x the
half-width is the difference detected with 80% power (the minimal detectable difference). The
spread of the difference over repeats (whose reference set is always the same held-out split) is
what an interval that holds the reference fixed should match; each table is printed for the
reference resampled (the default of ``compare``) and held fixed (``--fixed-reference``). Run it
at several ``--num-samples`` and ``--seeds-per-entry`` for the power table. Not a test: it prints.

Cost: the bootstrap takes about 2 x entries x seeds x repeats x ``--bootstrap`` x 5 ms of CPU (the
FID-proxy's eigendecompositions), spread over ``--workers`` processes; sampling is the U-Net's.
On one H100 with 15 workers, N = 1000, 20 repeats and 5 entries sampled in 32 s and bootstrapped
(reference resampled only) in 50 s.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from denoisebench.compare import TIED, EntryMetrics, SampleSet, Setting, bootstrap_entries
from denoisebench.compare.paired import compare_pairs
from denoisebench.datasets.base import DatasetOptions
from denoisebench.diffusion.forward import eps_from_x0, x0_from_eps
from denoisebench.diffusion.loop import generate
from denoisebench.diffusion.samplers import make_sampler
from denoisebench.diffusion.schedule import NoiseSchedule, make_schedule
from denoisebench.providers.base import EpsilonProvider, ProviderContext

METRICS = ["fid", "kid"]
BASE_SEED = 10_000  # far from the seeds of the reference runs


class BlurredX0(EpsilonProvider):
    """A provider whose x0 estimate is mixed with its own 3x3 binomial blur: a slightly worse denoiser."""

    name: ClassVar[str] = "blurred"
    description: ClassVar[str] = "another provider with a blurred x0 estimate (benchmark only)"

    def __init__(self, inner: EpsilonProvider, amount: float) -> None:
        super().__init__(inner.context)
        self.inner, self.amount = inner, amount
        k = torch.tensor([1.0, 2.0, 1.0])
        self.kernel = (torch.outer(k, k) / 16).view(1, 1, 3, 3)

    def predict_eps(self, x_t: torch.Tensor, t: torch.Tensor, schedule: NoiseSchedule) -> torch.Tensor:
        eps = self.inner.predict_eps(x_t, t, schedule)
        x0 = x0_from_eps(x_t, eps, t, schedule)
        blurred = F.conv2d(F.pad(x0, (1, 1, 1, 1), mode="replicate"), self.kernel.to(x0), groups=1)
        return eps_from_x0(x_t, (1 - self.amount) * x0 + self.amount * blurred, t, schedule)


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a binomial share k / n."""
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def compare_one(sets: dict[tuple[str, int], SampleSet], reference: np.ndarray, n_bootstrap: int,
                seed: int) -> list[dict[str, Any]]:
    """The engine's pairs of 'unet' against every other entry, with the reference resampled and held
    fixed (run in a worker process)."""
    return [row for resample in (True, False) for row in _pairs(sets, reference, n_bootstrap, seed, resample)]


def _pairs(sets: dict[tuple[str, int], SampleSet], reference: np.ndarray, n_bootstrap: int, seed: int,
           resample_reference: bool) -> list[dict[str, Any]]:
    boot = bootstrap_entries(sets, reference, METRICS, n_bootstrap, seed, resample_reference=resample_reference)
    out = []
    setting = Setting("mnist-5k", "", "linear", "ddim", 0, len(next(iter(sets.values()))))
    for metric in METRICS:
        per_seed: dict[str, dict[int, EntryMetrics]] = {}
        for (entry, s, m), value in boot.items():
            if m == metric:
                per_seed.setdefault(entry, {})[s] = value
        others = sorted(e for e in per_seed if e != "unet")
        for p in compare_pairs(setting, metric, per_seed, ["unet", *others]):
            if p.a == "unet":
                out.append({"b": p.b, "metric": metric, "diff": p.diff, "ci_low": p.ci_low, "ci_high": p.ci_high,
                            "verdict": p.verdict, "reference": "resampled" if resample_reference else "fixed"})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--num-samples", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--seeds-per-entry", type=int, default=1)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--blur", default="0.002,0.005,0.01", help="degradation amounts L, comma-separated")
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--workers", type=int, default=1, help="processes for the bootstrap")
    ap.add_argument("--json", type=Path, default=None, help="also write every pair here")
    args = ap.parse_args()

    from denoisebench.compare import SampleSource
    from denoisebench.plugins import get_registry

    started = time.perf_counter()
    device = torch.device(args.device)
    dataset = get_registry().dataset("mnist-5k").load(DatasetOptions())
    unet_cls, _ = get_registry().provider("unet")
    unet = unet_cls.from_context(ProviderContext(dataset=dataset, device=device))
    sampler = make_sampler("ddim", make_schedule("linear", 1000), args.steps)
    blurs = [float(b) for b in args.blur.split(",") if b.strip()]
    providers = {"unet": unet, **{f"blur {b:g}": BlurredX0(unet, b) for b in blurs}}
    source = SampleSource(memorisation=False)
    setting = Setting("mnist-5k", dataset.content_hash, "linear", "ddim", args.steps, args.num_samples)
    reference = source.reference(setting)
    k = args.seeds_per_entry
    sampling_s = 0.0

    def samples(provider: EpsilonProvider, seed: int) -> SampleSet:
        nonlocal sampling_s
        t0 = time.perf_counter()
        images = generate(provider, sampler, args.num_samples, seed, args.batch_size, dataset.image_shape, device)
        sampling_s += time.perf_counter() - t0
        return source.from_images(images, setting)

    jobs = []
    for r in range(args.repeats):
        seeds_a = [BASE_SEED + (2 * r) * k + j for j in range(k)]
        seeds_b = [BASE_SEED + (2 * r + 1) * k + j for j in range(k)]
        sets: dict[tuple[str, int], SampleSet] = {}
        for j in range(k):  # keyed by position: 'unet' and the blurred copies share seed seeds_a[j]
            for name, provider in providers.items():
                sets[(name, j)] = samples(provider, seeds_a[j])
            sets[("unet'", j)] = samples(unet, seeds_b[j])
        jobs.append(sets)
        print(f"repeat {r + 1}/{args.repeats}: sampled ({sampling_s:.0f} s of sampling so far)", file=sys.stderr)

    t0 = time.perf_counter()
    if args.workers > 1:
        with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
            results = list(pool.map(compare_one, jobs, [reference] * len(jobs), [args.bootstrap] * len(jobs),
                                    range(len(jobs))))
    else:
        results = [compare_one(sets, reference, args.bootstrap, r) for r, sets in enumerate(jobs)]
    bootstrap_s = time.perf_counter() - t0

    print(f"\nU-Net, DDIM {args.steps}, N = {args.num_samples}, {k} seed(s) per entry, {args.repeats} repeats, "
          f"{args.bootstrap} bootstrap replicates; device {args.device}; sampling {sampling_s:.0f} s, "
          f"bootstrap {bootstrap_s:.0f} s, total {time.perf_counter() - started:.0f} s\n")
    print("| reference | metric | b | tied (unet vs b) | 95% interval of the share | unet better | mean diff "
          "(unet - b) | sd of diff over repeats | mean CI half-width | half-width / (1.96 sd) | MDD 80% |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    rows = [p for res in results for p in res]
    for reference_mode, metric in ((r, m) for r in ("resampled", "fixed") for m in METRICS):
        for b in ["unet'", *(f"blur {x:g}" for x in blurs)]:
            sel = [p for p in rows if p["metric"] == metric and p["b"] == b and p["reference"] == reference_mode]
            tied = sum(p["verdict"] == TIED for p in sel)
            better = sum(p["verdict"] == "a better" for p in sel)
            lo, hi = wilson(tied, len(sel))
            half = float(np.mean([(p["ci_high"] - p["ci_low"]) / 2 for p in sel]))
            sd = float(np.std([p["diff"] for p in sel], ddof=1)) if len(sel) > 1 else math.nan
            print(f"| {reference_mode} | {metric} | {b} | {tied}/{len(sel)} = {tied / len(sel):.0%} | "
                  f"[{lo:.0%}, {hi:.0%}] | {better / len(sel):.0%} | {np.mean([p['diff'] for p in sel]):.4g} | "
                  f"{sd:.4g} | {half:.4g} | {half / (1.96 * sd):.2f} | {half * 2.8 / 1.96:.4g} |")
    if args.json is not None:
        from denoisebench.fileio import write_text_atomic

        settings = {key: str(value) for key, value in vars(args).items()}
        write_text_atomic(args.json, json.dumps({"args": settings, "pairs": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
