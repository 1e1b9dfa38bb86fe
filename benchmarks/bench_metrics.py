"""Time each part of the evaluation harness for 10,000 samples against a 60,000-image train set.

Not a test. Data: mnist-5k digits tiled to 60,000 train / 10,000 held-out / 10,000 "generated"
images, each copy with its own small random pixel noise (so no two are identical), which gives the
search and the metrics the sizes of full MNIST without any download.

    OMP_NUM_THREADS=2 python benchmarks/bench_metrics.py [--n 10000] [--train 60000]

``--degradations`` instead prints FID-/KID-proxy of the 1,000 mnist-5k held-out digits with added
Gaussian noise or blur of increasing strength, against 1,000 real train digits (the sanity check
that the metrics rank degradations correctly).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np


def tiled(images: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    idx = rng.integers(0, len(images), n)
    noisy = images[idx].astype(np.int16) + rng.integers(-8, 9, (n, *images.shape[1:]), dtype=np.int16)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="generated samples")
    parser.add_argument("--train", type=int, default=60_000, help="train images")
    parser.add_argument("--heldout", type=int, default=10_000, help="held-out images")
    parser.add_argument("--degradations", action="store_true", help="print the degradation table instead")
    parser.add_argument("--parts-only", action="store_true", help="skip the end-to-end evaluate() calls")
    args = parser.parse_args()
    if args.degradations:
        degradations()
        return

    import torch

    from denoisebench.datasets.base import DatasetOptions, ImageDataset
    from denoisebench.datasets.mnist5k import load_mnist5k
    from denoisebench.metrics.features import load_feature_network
    from denoisebench.metrics import evaluate
    from denoisebench.metrics.classifier_view import classifier_view
    from denoisebench.metrics.frechet import fid_with_uncertainty
    from denoisebench.metrics.kid import kid_subsets
    from denoisebench.metrics.nearest import memorisation_stats, nearest_train
    from denoisebench.metrics.prdc import prdc

    rng = np.random.default_rng(0)
    base = load_mnist5k(DatasetOptions())
    train = tiled(base.train_images, args.train, rng)
    held = tiled(base.heldout_images, args.heldout, rng)
    gen = tiled(base.heldout_images, args.n, rng)
    data = ImageDataset("bench", train, np.zeros(len(train), np.int64), held, np.zeros(len(held), np.int64))
    print(f"{args.n} samples, {args.train} train, {args.heldout} held-out; torch threads "
          f"{torch.get_num_threads()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")

    times: dict[str, float] = {}

    def timed(name: str, fn):  # type: ignore[no-untyped-def]
        start, cpu = time.perf_counter(), time.process_time()
        out = fn()
        times[name] = time.perf_counter() - start
        print(f"  {name:<50} {times[name]:7.2f} s wall {time.process_time() - cpu:7.2f} s cpu", flush=True)
        return out

    net = timed("load feature network", load_feature_network)
    feats, probs = timed(f"features of {args.n} samples", lambda: net.embed(gen))
    ref, _ = timed(f"features of {args.heldout} held-out", lambda: net.embed(held))
    timed("FID-proxy + 50 bootstrap resamples", lambda: fid_with_uncertainty(feats, ref, 50))
    timed("KID-proxy, 100 subsets of 1000", lambda: kid_subsets(feats, ref, subsets=100))
    timed("precision/recall/density/coverage (k=5)", lambda: prdc(ref, feats, k=5))
    timed("classifier view", lambda: classifier_view(probs))
    nb = timed(f"nearest train image, {args.n} x {args.train}", lambda: nearest_train(gen, train))
    timed("memorisation stats", lambda: memorisation_stats(nb))
    print(f"  parts total {sum(times.values()):.1f} s wall; load average {os.getloadavg()[0]:.1f}")
    if args.parts_only:
        return
    with tempfile.TemporaryDirectory() as cache:
        os.environ["DENOISEBENCH_CACHE"] = cache
        out = timed("evaluate() end to end, cold cache (+floor, baseline)", lambda: evaluate(gen, data, seed=0))
        print("  evaluate parts:", {k: round(v, 1) for k, v in out["timing_s"].items()})
        timed("evaluate() again, warm cache", lambda: evaluate(gen, data, seed=0))


def degradations() -> None:
    """FID/KID-proxy (± bootstrap / subset std) of noisy and blurred held-out digits vs real train digits."""
    from scipy.ndimage import gaussian_filter

    from denoisebench.datasets.base import DatasetOptions
    from denoisebench.datasets.mnist5k import load_mnist5k
    from denoisebench.metrics.features import load_feature_network
    from denoisebench.metrics.floor import floor_subset
    from denoisebench.metrics.frechet import fid_with_uncertainty
    from denoisebench.metrics.kid import kid_subsets

    data = load_mnist5k(DatasetOptions())
    net = load_feature_network()
    ref, _ = net.embed(floor_subset(data, len(data.heldout_images)))
    held = data.heldout_images.astype(np.float64) / 255
    noise = np.random.default_rng(0).standard_normal(held.shape)
    print("| degradation | strength | FID-proxy | KID-proxy x1000 |\n|---|---:|---:|---:|")
    for kind, strengths in (("noise sigma", (0.0, 0.05, 0.1, 0.2, 0.3, 0.5)),
                            ("blur sigma (px)", (0.5, 1.0, 1.5, 2.0, 3.0))):
        for s in strengths:
            x = held + s * noise if kind.startswith("noise") else gaussian_filter(held, sigma=(0, s, s))
            f, _ = net.embed((np.clip(x, 0, 1) * 255).round().astype(np.uint8))
            fd = fid_with_uncertainty(f, ref, 50)
            kd = kid_subsets(f, ref)
            print(f"| {kind} | {s:g} | {fd['value']:.2f} ± {fd['std']:.2f} | "
                  f"{1000 * kd['value']:.2f} ± {1000 * kd['std']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
