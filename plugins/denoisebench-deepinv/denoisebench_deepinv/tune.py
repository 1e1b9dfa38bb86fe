"""Choose the classical providers' rule constants by PSNR on held-out digits.

    python -m denoisebench_deepinv.tune [--images 100]

Each rule is applied, through the shipped provider code (``denoise``), to y = x + s n for s on a
log grid from 0.025 to 3.2 (noise seed 0), and scored with the PSNR (data range 1) of the clipped
output; the printed table has one row per (provider, constant) and the mean over the grid. The
shipped constant is the row with the best mean. ``tv-iterations`` rows check that the fixed
iteration count has converged (the same rule, more iterations).
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import torch

from denoisebench import DatasetOptions, ProviderContext

from .classical import TVProvider, WaveletProvider

STDS = (0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2)
GRIDS: dict[str, tuple[type, tuple[float, ...]]] = {
    "deepinv-tv": (TVProvider, (0.5, 0.7, 1.0)),
    "deepinv-wavelet": (WaveletProvider, (1.0, 1.5, 2.0, 3.0)),
}


def psnr(clean: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Per-image PSNR in dB, data range 1."""
    mse = ((clean - out) ** 2).reshape(len(clean), -1).mean(axis=1)
    return 10 * np.log10(1.0 / np.maximum(mse, 1e-12))


def measure(images: np.ndarray, stds: tuple[float, ...] = STDS, grids: dict | None = None,
            tv_iterations: tuple[int, ...] = ()) -> pd.DataFrame:
    """Mean PSNR of every (provider, constant) at every noise std; ``images`` uint8 N x H x W."""
    from denoisebench.testing import synthetic_dataset

    clean = torch.from_numpy(images.astype(np.float32)[:, None] / 255)
    noise = torch.from_numpy(np.random.default_rng(0).standard_normal(clean.shape).astype(np.float32))
    context = ProviderContext(dataset=synthetic_dataset())
    rows = []
    configs = [(name, cls, c, {}) for name, (cls, cs) in (grids or GRIDS).items() for c in cs]
    configs += [("tv-iterations", TVProvider, TVProvider.CONSTANT, {"iterations": str(n)}) for n in tv_iterations]
    for name, cls, c, options in configs:
        provider = cls(ProviderContext(dataset=context.dataset, options=options))
        provider.CONSTANT = c  # instance attribute: the rule constant under test
        row: dict[str, object] = {"provider": name, "c": c, **options}
        for s in stds:
            y = clean + s * noise
            out = provider.denoise(y, torch.full((len(y),), s))
            row[f"s={s:g}"] = float(psnr(clean.numpy(), out.numpy()).mean())
        row["mean"] = float(np.mean([row[f"s={s:g}"] for s in stds]))
        rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100, help="held-out digits of mnist-5k (default 100)")
    args = parser.parse_args()
    from denoisebench.plugins.manager import get_registry

    torch.set_num_threads(1)
    dataset = get_registry().dataset("mnist-5k").load(DatasetOptions())
    table = measure(dataset.heldout_images[:args.images], tv_iterations=(100, 200, 1000))
    print(table.to_markdown(index=False, floatfmt=".2f"))


if __name__ == "__main__":
    main()
