"""Calibrate the ELS machine's patch size per noise level against the shipped U-Net.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/calibrate_els.py [--images 8] [--patches 4096]
        [--padding zeros] [--t 5,10,...] [--sizes 1,3,...,13,55] [--threads 1]

For each t of the grid: ``--images`` held-out mnist-5k digits, noised to x_t with a fixed seed
(the same noise for every patch size). The U-Net's x0 prediction u and the ELS machine's e for
every candidate size P are compared per image by

    r^2 = 1 - sum (e - u)^2 / sum (u - mean u)^2     (the share of u's variance that e explains)

and P(t) is the size with the largest median r^2 over the images. Also printed: the median
Pearson correlation of the winner (the statistic the paper's evaluation script reports as
"r^2"). The last lines give the median over t and the schedule string for
``-o patch=...`` / the provider's ``DEFAULT_SCHEDULE`` (keyed by sigma = sqrt((1 - abar) / abar)).

``--subsample-cost M1,M2,...``: instead of calibrating, measure what the patch subsample costs:
with the provider's default schedule, the median r^2 of ELS with ``patches=M`` against ELS with
every training patch (``patches=all``), per t.

This differs from Kamb & Ganguli's calibration in two ways: they compare scores (cosine) along
the network's own 20-step sampling trajectory from noise and take the median of the per-sample
best sizes; here the inputs are noised held-out digits and the criterion is the median r^2 of
x0 predictions (``benchmarks/els_vs_unet.py`` measures r^2 along the U-Net's trajectory).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from denoisebench.datasets.base import DatasetOptions, ImageDataset
from denoisebench.datasets.mnist5k import load_mnist5k
from denoisebench.diffusion.forward import q_sample, x0_from_eps
from denoisebench.diffusion.schedule import NoiseSchedule, linear_schedule
from denoisebench.providers.base import ProviderContext
from denoisebench.providers.els import ELSProvider
from denoisebench.providers.unet import UNetProvider

DEFAULT_T = "5,10,25,50,100,200,300,400,500,600,700,800,900,1000"
DEFAULT_SIZES = "1,3,5,7,9,11,13,55"


def r_squared(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per image: 1 - SS_res / SS_tot of ``pred`` as a predictor of ``target`` (B x ...)."""
    p, y = pred.flatten(1).double(), target.flatten(1).double()
    ss_tot = ((y - y.mean(dim=1, keepdim=True)) ** 2).sum(dim=1).clamp_min(1e-12)
    return 1 - ((p - y) ** 2).sum(dim=1) / ss_tot


def pearson(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per image Pearson correlation (the centred cosine)."""
    a, b = a.flatten(1).double(), b.flatten(1).double()
    a, b = a - a.mean(dim=1, keepdim=True), b - b.mean(dim=1, keepdim=True)
    return (a * b).sum(dim=1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-12)


def noisy_heldout(dataset: ImageDataset, t_grid: list[int], images: int, sched: NoiseSchedule, seed: int
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """x_t for every (t, image) pair, t-major: the same ``images`` held-out digits at every t."""
    g = torch.Generator().manual_seed(seed)
    pick = torch.randperm(len(dataset.heldout_images), generator=g)[:images]
    x0 = dataset.heldout_tensor()[pick].repeat(len(t_grid), 1, 1, 1)
    t = torch.tensor(t_grid).repeat_interleave(images)
    return q_sample(x0, t, sched, torch.randn(x0.shape, generator=g)), t


def subsample_cost(dataset: ImageDataset, sched: NoiseSchedule, x_t: torch.Tensor, t: torch.Tensor,
                   t_grid: list[int], images: int, samples: list[str], padding: str) -> None:
    """Median r^2 per t of ELS with each patch sample size against ELS with all patches."""
    def x0(patches: str) -> torch.Tensor:
        start = time.perf_counter()
        els = ELSProvider(ProviderContext(dataset, options={"patches": patches, "padding": padding}))
        with torch.inference_mode():
            out = els.predict_x0(x_t, t, sched)
        print(f"# patches = {patches}: {time.perf_counter() - start:.1f} s, banks {els.info()['banks']}", flush=True)
        return out, els

    full, els = x0("all")
    print("\n| t | patch size | " + " | ".join(f"median r^2, patches={m}" for m in samples) + " |")
    print("|---|---|" + "---|" * len(samples))
    results = [r_squared(x0(m)[0], full).view(len(t_grid), images).median(dim=1).values for m in samples]
    for j, step in enumerate(t_grid):
        size = els.sizes_for(sched.alpha_bars[torch.tensor([step])])[0]
        print(f"| {step} | {size} | " + " | ".join(f"{float(r[j]):.4f}" for r in results) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--patches", default="4096", help="ELS option patches (an integer or all)")
    parser.add_argument("--t", default=DEFAULT_T)
    parser.add_argument("--sizes", default=DEFAULT_SIZES)
    parser.add_argument("--padding", default="zeros", help="ELS option padding (zeros or circular)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--subsample-cost", default="", help="M1,M2,...: r^2 of patches=M against patches=all")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    t_grid = [int(v) for v in args.t.split(",")]
    sizes = [int(v) for v in args.sizes.split(",")]
    dataset, sched = load_mnist5k(DatasetOptions()), linear_schedule(1000)
    x_t, t = noisy_heldout(dataset, t_grid, args.images, sched, args.seed)
    if args.subsample_cost:
        subsample_cost(dataset, sched, x_t, t, t_grid, args.images, args.subsample_cost.split(","), args.padding)
        return

    unet = UNetProvider.from_context(ProviderContext(dataset))
    with torch.inference_mode():
        u = torch.cat([x0_from_eps(x_t[i:i + 256], unet.predict_eps(x_t[i:i + 256], t[i:i + 256], sched),
                                   t[i:i + 256], sched) for i in range(0, len(t), 256)])
    r2 = np.zeros((len(sizes), len(t_grid)))
    corr = np.zeros_like(r2)
    for k, size in enumerate(sizes):
        start = time.perf_counter()
        options = {"patch": str(size), "patches": args.patches, "padding": args.padding}
        els = ELSProvider(ProviderContext(dataset, options=options))
        with torch.inference_mode():
            e = els.predict_x0(x_t, t, sched)
        r2[k] = r_squared(e, u).view(len(t_grid), args.images).median(dim=1).values.numpy()
        corr[k] = pearson(e, u).view(len(t_grid), args.images).median(dim=1).values.numpy()
        banks = els.info()["banks"].get(str(size), {"distinct": "all train images"})
        print(f"# P = {size}: {time.perf_counter() - start:.1f} s, {banks}", flush=True)

    print("\n| t | sigma | best P | median r^2 | median corr | r^2 for P = " + " / ".join(map(str, sizes)) + " |")
    print("|---|---|---|---|---|---|")
    schedule, best_r2 = [], []
    for j, step in enumerate(t_grid):
        ab = float(sched.alpha_bars[step])
        sigma = ((1 - ab) / ab) ** 0.5
        k = int(np.argmax(r2[:, j]))
        schedule.append(f"{sigma:.4g}:{sizes[k]}")
        best_r2.append(r2[k, j])
        row = " / ".join(f"{v:.3f}" for v in r2[:, j])
        print(f"| {step} | {sigma:.4g} | {sizes[k]} | {r2[k, j]:.3f} | {corr[k, j]:.3f} | {row} |")
    print(f"\nmedian over t of the best median r^2: {np.median(best_r2):.3f}")
    print(f"schedule: {','.join(schedule)}")


if __name__ == "__main__":
    main()
