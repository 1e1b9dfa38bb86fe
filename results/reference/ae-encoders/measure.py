"""Measure the autoencoder proxy encoders: ms per image, and FD sanity checks in each feature space.

    OMP_NUM_THREADS=1 nice -n 10 python results/reference/ae-encoders/measure.py [--encoders=A,B] [RUN_DIR ...] > out.json

FD(held-out vs train) should be small and FD(held-out vs a noised / blurred held-out) large.
RUN_DIRs (mnist-5k runs) are scored per encoder against the held-out split.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import gaussian_filter

from denoisebench.datasets.base import DatasetOptions
from denoisebench.encoders import get_encoder
from denoisebench.metrics.frechet import fid
from denoisebench.plugins import get_registry
from denoisebench.runs.records import load_samples

torch.set_num_threads(1)


def noised(images: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(images + rng.normal(0, sigma, images.shape), 0, 255).round().astype(np.uint8)


def blurred(images: np.ndarray, sigma: float) -> np.ndarray:
    axes = (0, sigma, sigma) if images.ndim == 3 else (0, sigma, sigma, 0)
    return np.clip(gaussian_filter(images.astype(np.float64), axes), 0, 255).round().astype(np.uint8)


def ms_per_image(encoder, images: np.ndarray, repeats: int = 3) -> float:
    encoder.encode(images[:8])  # load weights, warm up
    best = min(_time(encoder, images) for _ in range(repeats))
    return 1000 * best / len(images)


def _time(encoder, images: np.ndarray) -> float:
    t = time.perf_counter()
    encoder.encode(images)
    return time.perf_counter() - t


def sanity(encoder, data) -> dict[str, float]:
    held, train = data.heldout_images, data.train_images
    f_held = encoder.encode(held)
    out = {"heldout_vs_train": fid(f_held, encoder.encode(train))}
    out["heldout_even_vs_odd"] = fid(f_held[::2], f_held[1::2])  # interleaved: the split is ordered by class
    for s in (5, 15, 40):
        out[f"heldout_vs_noised_sigma{s}"] = fid(f_held, encoder.encode(noised(held, s)))
    for s in (0.5, 1.0):
        out[f"heldout_vs_blurred_sigma{s}"] = fid(f_held, encoder.encode(blurred(held, s)))
    return {k: round(v, 4) for k, v in out.items()}


def main(run_dirs: list[str], only: list[str]) -> None:
    reg = get_registry()
    mnist = reg.dataset("mnist-5k").load(DatasetOptions())
    colour = reg.dataset("skimage-patches-32").load(DatasetOptions())
    result: dict[str, object] = {"threads": torch.get_num_threads()}
    plan = [("mnist-classifier", mnist), ("ae-mnist-5k", mnist), ("ae-skimage-patches-32", colour)]
    for name, data in plan:
        if only and name not in only:
            continue
        enc = get_encoder(name)
        result[name] = {"dataset": data.id, "ms_per_image": round(ms_per_image(enc, data.heldout_images), 4),
                        "fd": sanity(enc, data)}
        print(name, json.dumps(result[name]), file=sys.stderr)
    runs = {}
    for run_dir in map(Path, run_dirs):
        record = json.loads((run_dir / "run.json").read_text())
        samples = load_samples(run_dir)
        row = {"provider": record["provider"]["name"], "sampler": record["sampler"]["name"],
               "steps": record["sampler"].get("steps"), "n": len(samples), "seed": record.get("seed"),
               "fid_in_run_json": record["metrics"]["fid"]["value"]}
        for name in ("mnist-classifier", "ae-mnist-5k"):
            enc = get_encoder(name)
            row[f"fd_{name}"] = round(fid(enc.encode(samples), enc.encode(mnist.heldout_images)), 4)
        runs[run_dir.name] = row
        print(run_dir.name, json.dumps(row), file=sys.stderr)
    result["runs"] = runs
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    args = sys.argv[1:]
    only = [a.split("=", 1)[1].split(",") for a in args if a.startswith("--encoders=")]
    main([a for a in args if not a.startswith("--")], only[0] if only else [])
