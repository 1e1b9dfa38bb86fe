"""How much of the trained U-Net's behaviour does the ELS machine explain? Paired comparisons.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/els_vs_unet.py [--key results/reference/analytic/key]
        [--seeds 0,1,2] [--steps 20] [--kbnet 200] [--trajectory 32] [--threads 1]

1. Samples from the same x_T (the same seed and sampler, dpmpp-2m-sde at ``--steps``): for the
   suite's els and unet runs in ``--key`` (their samples.npz), the share of samples whose
   predicted class (the metrics' pinned classifier, argmax) agrees, the mean absolute pixel
   difference ([0, 1] units) and the median per-sample Pearson correlation (the statistic Kamb &
   Ganguli's evaluation script computes, centred cosine, and report as "r^2"). Context: the same
   for unet against kbnet (tweedie) on the first ``--kbnet`` samples of each seed, generated here
   with the same noise, and for unet against a random pairing of unet samples (fixed permutation).
2. Along the U-Net's own sampling trajectory (``--trajectory`` chains of seed 0, same sampler): at
   every network call, the U-Net's x0 prediction u and the ELS machine's e on the same x_t;
   r^2 = 1 - sum (e - u)^2 / sum (u - mean u)^2 per image, the median over images per call, and the
   median over calls.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from denoisebench.datasets.base import DatasetOptions
from denoisebench.datasets.mnist5k import load_mnist5k
from denoisebench.diffusion.forward import x0_from_eps
from denoisebench.diffusion.loop import generate, sample_batch
from denoisebench.diffusion.noise import SampleNoise
from denoisebench.diffusion.samplers import BUILTIN_SAMPLERS
from denoisebench.diffusion.schedule import NoiseSchedule, linear_schedule
from denoisebench.metrics.features import load_feature_network
from denoisebench.providers.base import EpsilonProvider, ProviderContext
from denoisebench.providers.els import ELSProvider
from denoisebench.providers.kbnet.provider import KBNetProvider
from denoisebench.providers.unet import UNetProvider
from denoisebench.runs.records import load_samples

from calibrate_els import pearson, r_squared  # noqa: E402  (benchmarks/ is the script's directory)


class Recorder(EpsilonProvider):
    """Passes calls to ``inner`` and keeps every (x_t, t, eps)."""

    name = "recorder"
    description = "records the calls of another provider"

    def __init__(self, inner: EpsilonProvider) -> None:
        self.inner, self.calls = inner, []

    def predict_eps(self, x_t: torch.Tensor, t: torch.Tensor, schedule: NoiseSchedule) -> torch.Tensor:
        eps = self.inner.predict_eps(x_t, t, schedule)
        self.calls.append((x_t.clone(), t.clone(), eps.clone()))
        return eps


def find_run(key: Path, provider: str, seed: int, steps: int) -> Path:
    for run_json in sorted(key.glob("*/run.json")):
        record = json.loads(run_json.read_text())
        if (record["provider"]["name"], record["seed"], record["sampler"]["name"], record["sampler"]["steps"]) == \
                (provider, seed, "dpmpp-2m-sde", steps) and (run_json.parent / "samples.npz").exists():
            return run_json.parent
    raise SystemExit(f"no {provider} run with seed {seed}, dpmpp-2m-sde {steps} and samples.npz in {key}: "
                     f"run 'denoisebench bench results/reference/analytic/els.toml' first")


def pair_stats(a: np.ndarray, b: np.ndarray, net) -> dict[str, float]:
    """Class agreement, mean |pixel difference| in [0, 1] units, median Pearson r of uint8 image sets."""
    pa, pb = net.embed(a)[1].argmax(axis=1), net.embed(b)[1].argmax(axis=1)
    ta, tb = torch.from_numpy(a.astype(np.float64)), torch.from_numpy(b.astype(np.float64))
    return {"n": len(a), "class_agreement": float((pa == pb).mean()),
            "mean_abs_pixel": float(np.abs(a.astype(np.float64) - b).mean() / 255),
            "median_pearson": float(pearson(ta, tb).median())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--key", type=Path, default=Path("results/reference/analytic/key"))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--kbnet", type=int, default=200, help="kbnet samples generated per seed (0: skip)")
    parser.add_argument("--trajectory", type=int, default=32, help="U-Net chains for the r^2 along its trajectory")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dataset, sched = load_mnist5k(DatasetOptions()), linear_schedule(1000)
    sampler_cls = {s.name: s for s in BUILTIN_SAMPLERS}["dpmpp-2m-sde"]
    net = load_feature_network()
    unet = UNetProvider.from_context(ProviderContext(dataset))
    kbnet = KBNetProvider.from_context(ProviderContext(dataset, options={"mode": "tweedie"})) if args.kbnet else None

    rows: dict[str, list[dict[str, float]]] = {"els vs unet": [], "kbnet vs unet": [], "unet vs unet, random pairs": []}
    for seed in [int(s) for s in args.seeds.split(",")]:
        u = load_samples(find_run(args.key, "unet", seed, args.steps))
        e = load_samples(find_run(args.key, "els", seed, args.steps))
        rows["els vs unet"].append(pair_stats(e, u, net))
        perm = np.random.default_rng(seed).permutation(len(u))
        rows["unet vs unet, random pairs"].append(pair_stats(u[perm], u, net))
        if kbnet is not None:
            sampler = sampler_cls(sched, args.steps)
            k = generate(kbnet, sampler, args.kbnet, seed, 100, dataset.image_shape)
            again = generate(unet, sampler_cls(sched, args.steps), args.kbnet, seed, 100, dataset.image_shape)
            same = float(np.abs(again.astype(int) - u[:args.kbnet]).max())
            print(f"# seed {seed}: unet regenerated here vs the run's samples, max |difference| {same:.0f}/255")
            rows["kbnet vs unet"].append(pair_stats(k, u[:args.kbnet], net))

    print(f"\n## Samples from the same x_T (dpmpp-2m-sde {args.steps}; mean over seeds {args.seeds})\n")
    print("| pair | samples per seed | class agreement | mean abs pixel difference | median Pearson r |")
    print("|---|---|---|---|---|")
    for label, stats in rows.items():
        if stats:
            mean = {k: np.mean([s[k] for s in stats]) for k in stats[0]}
            spread = {k: np.std([s[k] for s in stats]) for k in stats[0]}
            print(f"| {label} | {int(mean['n'])} | {mean['class_agreement']:.3f} ± {spread['class_agreement']:.3f} | "
                  f"{mean['mean_abs_pixel']:.4f} ± {spread['mean_abs_pixel']:.4f} | "
                  f"{mean['median_pearson']:.3f} ± {spread['median_pearson']:.3f} |")

    if args.trajectory:
        els = ELSProvider.from_context(ProviderContext(dataset))
        recorder = Recorder(unet)
        with torch.inference_mode():
            sample_batch(recorder, sampler_cls(sched, args.steps), SampleNoise(0, range(args.trajectory),
                                                                              dataset.image_shape))
            print(f"\n## r^2 of the ELS x0 prediction against the U-Net's along the U-Net's trajectory "
                  f"({args.trajectory} chains, seed 0)\n")
            print("| t | sigma | ELS patch size | median r^2 | median Pearson r |")
            print("|---|---|---|---|---|")
            medians = []
            for x_t, t, eps in recorder.calls:
                u0 = x0_from_eps(x_t, eps, t, sched)
                e0 = els.predict_x0(x_t, t, sched)
                r2 = float(r_squared(e0, u0).median())
                medians.append(r2)
                ab = float(sched.alpha_bars[int(t[0])])
                print(f"| {int(t[0])} | {((1 - ab) / ab) ** 0.5:.3g} | {els.sizes_for(sched.alpha_bars[t[:1]])[0]} | "
                      f"{r2:.3f} | {float(pearson(e0, u0).median()):.3f} |")
            print(f"\nmedian over the {len(medians)} calls of the median r^2: {np.median(medians):.3f}")


if __name__ == "__main__":
    main()
