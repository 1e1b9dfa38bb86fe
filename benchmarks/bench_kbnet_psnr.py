"""Restoration quality of a KBNet checkpoint: PSNR against noise level on held-out digits.

For each noise std s (in [0, 1] units) the held-out images x get y = x + s n (seeded), the
network's estimate D(y) is clamped to [0, 1] and scored with skimage's
``peak_signal_noise_ratio(x, D(y), data_range=1)``, averaged over images. Two references sit
beside it: the noisy input itself (identity, clamped to [0, 1]) and the train split's mean image
(the best constant estimate, what any denoiser tends to at s -> infinity). A noise level is
counted *trustworthy* when the network beats both references by at least ``--margin`` dB.
``brightness_bias`` is the mean of D(y) minus the mean of x: a posterior-mean (MMSE) denoiser
keeps it near 0 at every noise level, while an L1-trained one, which estimates the posterior
median, drifts toward the median image (darker, for MNIST) as the noise grows.

Writes ``psnr.csv``, ``psnr.md`` and ``psnr.png`` under ``--out`` and prints the table::

    .venv/bin/python benchmarks/bench_kbnet_psnr.py [--checkpoint PATH] [--num-images 500] [--unet]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from skimage.metrics import peak_signal_noise_ratio

from denoisebench.datasets.base import DatasetOptions
from denoisebench.plugins.manager import get_registry
from denoisebench.providers.kbnet.provider import DEFAULT_CHECKPOINT, load_network
from denoisebench.diffusion.schedule import make_schedule

#: log-spaced grid over the linear schedule's s_t (0.005 .. 79) plus the official 15/25/50 / 255.
DEFAULT_SIGMAS = sorted({*np.round(np.geomspace(0.005, 80, 17), 4).tolist(), 15 / 255, 25 / 255, 50 / 255})


def mean_psnr(clean: np.ndarray, estimate: np.ndarray) -> tuple[float, float]:
    """Mean and std over images of PSNR (data range 1); identical images count as 100 dB."""
    vals = []
    for x, e in zip(clean, estimate):
        if np.array_equal(x, e):
            vals.append(100.0)
        else:
            vals.append(peak_signal_noise_ratio(x, e, data_range=1.0))
    return float(np.mean(vals)), float(np.std(vals))


def evaluate(net: torch.nn.Module, clean: np.ndarray, mean_image: np.ndarray, sigmas: list[float],
             seed: int, batch_size: int) -> pd.DataFrame:
    x = torch.from_numpy(clean).unsqueeze(1)
    rows = []
    for i, s in enumerate(sigmas):
        g = torch.Generator().manual_seed(seed * 1000 + i)
        y = x + s * torch.randn(x.shape, generator=g)
        with torch.inference_mode():
            out = torch.cat([net(y[k:k + batch_size]) for k in range(0, len(y), batch_size)])
        d = out.clamp(0, 1).squeeze(1).double().numpy()
        noisy = y.clamp(0, 1).squeeze(1).double().numpy()
        net_m, net_sd = mean_psnr(clean, d)
        rows.append({"sigma": s, "sigma_255": s * 255, "kbnet_psnr": net_m, "kbnet_std": net_sd,
                     "noisy_psnr": mean_psnr(clean, noisy)[0],
                     "mean_image_psnr": mean_psnr(clean, np.broadcast_to(mean_image, clean.shape))[0],
                     "brightness_bias": float(out.double().mean() - x.double().mean())})
    return pd.DataFrame(rows)


def unet_psnr(dataset, clean: np.ndarray, sigmas: list[float], seed: int, batch_size: int) -> list[float]:
    """PSNR of the shipped U-Net's implicit denoiser x0_hat(x_t) at the timestep whose s_t is
    nearest each s (the same images and unit noise draws as the KBNet column)."""
    from denoisebench.providers.base import ProviderContext

    provider = get_registry().provider("unet")[0].from_context(ProviderContext(dataset))
    sched = make_schedule("linear", 1000)
    ab = sched.alpha_bars
    s_t = (((1 - ab[1:]) / ab[1:]).sqrt() / 2).double()
    x0 = torch.from_numpy(clean).unsqueeze(1) * 2 - 1
    out = []
    for i, s in enumerate(sigmas):
        t = int((s_t - s).abs().argmin()) + 1
        a = ab[t].double()
        g = torch.Generator().manual_seed(seed * 1000 + i)
        x_t = (a.sqrt() * x0 + (1 - a).sqrt() * torch.randn(x0.shape, generator=g)).float()
        with torch.inference_mode():
            eps = torch.cat([provider.predict_eps(x_t[k:k + batch_size], torch.full((len(x_t[k:k + batch_size]),), t),
                                                  sched) for k in range(0, len(x_t), batch_size)])
        est = ((x_t.double() - (1 - a).sqrt() * eps.double()) / a.sqrt() + 1) / 2
        out.append(mean_psnr(clean.astype(np.float64), est.clamp(0, 1).squeeze(1).numpy())[0])
    return out


def trustworthy_range(table: pd.DataFrame, margin: float) -> tuple[float, float] | None:
    """The widest contiguous run of noise levels where the net beats both references by ``margin``."""
    ok = (table.kbnet_psnr >= table.noisy_psnr + margin) & (table.kbnet_psnr >= table.mean_image_psnr + margin)
    best: tuple[int, int] | None = None
    start = None
    for i, flag in enumerate(list(ok) + [False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            if best is None or i - start > best[1] - best[0]:
                best = (start, i)
            start = None
    return None if best is None else (float(table.sigma.iloc[best[0]]), float(table.sigma.iloc[best[1] - 1]))


def plot(table: pd.DataFrame, path: Path, title: str, trained: tuple[float, float],
         trust: tuple[float, float] | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.errorbar(table.sigma, table.kbnet_psnr, yerr=table.kbnet_std, marker="o", ms=3, capsize=2, label="KBNet D(y)")
    if "unet_psnr" in table:
        ax.plot(table.sigma, table.unet_psnr, marker="s", ms=3, color="tab:orange", label="U-Net x0_hat (reference)")
    ax.plot(table.sigma, table.noisy_psnr, "--", color="grey", label="noisy input y")
    ax.plot(table.sigma, table.mean_image_psnr, ":", color="black", label="train mean image")
    lo, hi = trained
    ax.axvspan(max(lo, table.sigma.min()), min(hi, table.sigma.max()), color="tab:green", alpha=0.08,
               label="trained noise range")
    if trust:
        ax.axvspan(*trust, color="tab:blue", alpha=0.10, label="trustworthy (beats both by margin)")
    sched = make_schedule("linear", 1000)
    ab = sched.alpha_bars[1:]
    st = (((1 - ab) / ab).sqrt() / 2).numpy()
    ax.axvline(st[0], color="tab:red", lw=0.8)
    ax.axvline(st[-1], color="tab:red", lw=0.8, label="s_t at t=1 and t=T (linear)")
    ax.set_xscale("log")
    ax.set_xlabel("noise std s ([0, 1] units)")
    ax.set_ylabel("PSNR (dB), held-out digits")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    ap.add_argument("--dataset", default="mnist-5k")
    ap.add_argument("--num-images", type=int, default=500, help="held-out images used (first N)")
    ap.add_argument("--sigmas", type=lambda s: [float(v) for v in s.split(",")], default=DEFAULT_SIGMAS,
                    help="comma-separated noise stds in [0, 1] units")
    ap.add_argument("--margin", type=float, default=1.0, help="dB over both references to count as trustworthy")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=250)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", type=Path, default=Path("results/kbnet-psnr"))
    ap.add_argument("--unet", action="store_true",
                    help="add the shipped U-Net's implicit denoiser (x0_hat at the nearest timestep) as a column")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    net, source = load_network(args.checkpoint)
    dataset = get_registry().dataset(args.dataset).load(DatasetOptions())
    clean = dataset.heldout_images[: args.num_images].astype(np.float32) / 255.0
    mean_image = dataset.train_images.astype(np.float32).mean(axis=0) / 255.0
    t0 = time.perf_counter()
    table = evaluate(net, clean, mean_image, sorted(args.sigmas), args.seed, args.batch_size)
    if args.unet:
        table["unet_psnr"] = unet_psnr(dataset, clean, sorted(args.sigmas), args.seed, args.batch_size)
    elapsed = time.perf_counter() - t0
    cfg = net.config
    trained = (cfg.sigma_min, cfg.sigma_max) if source["format"] in ("denoisebench-train", "safetensors+config") \
        else (0.0, math.inf)
    trust = trustworthy_range(table, args.margin)

    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "psnr.csv", index=False, float_format="%.4f")
    md = table.to_markdown(index=False, floatfmt=".3f") if _has_tabulate() else table.to_string(index=False)
    summary = {"checkpoint": source["path"], "checkpoint_sha256": source["sha256"], "dataset": args.dataset,
               "num_images": len(clean), "seed": args.seed, "margin_db": args.margin,
               "trained_range": list(trained), "trustworthy_range": list(trust) if trust else None,
               "seconds": round(elapsed, 1)}
    (args.out / "psnr.md").write_text(f"{md}\n\n```json\n{json.dumps(summary, indent=1)}\n```\n")
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    title = (f"{Path(source['path']).name} ({source['sha256'][:10]}), {args.dataset} held-out n={len(clean)}")
    plot(table, args.out / "psnr.png", title, trained, trust)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"trained range: {trained}; trustworthy range (beats identity and mean image by "
          f">= {args.margin} dB): {trust}")
    print(f"wrote {args.out / 'psnr.csv'}, {args.out / 'psnr.md'}, {args.out / 'psnr.png'} in {elapsed:.0f} s")
    return 0


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
