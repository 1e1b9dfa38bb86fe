"""Per-level statistics of a probe: MSE and PSNR on train and held-out, the generalisation gap,
and percentile-bootstrap 95 % intervals over images.

MSE is per pixel in [0, 1] units (the [-1, 1] squared error / 4), averaged over images; PSNR is
10 log10(1 / MSE) of that mean (data range 1). The gap is (MSE_heldout - MSE_train) / MSE_heldout:
0 when the denoiser does as well on images it never saw, 1 when it is exact on its training images
only. A bootstrap replicate resamples the train images and the held-out images independently;
the same replicate indices serve every level and every provider probed with the same seed and
image counts, so curves and providers are paired.
"""

from __future__ import annotations

import numpy as np
import torch

BOOTSTRAP = 2000
ALPHA = 0.05


def per_image_mse(estimate: torch.Tensor, clean: torch.Tensor) -> np.ndarray:
    """Mean squared error per image in [0, 1] pixel units (inputs in [-1, 1])."""
    return (((estimate.double() - clean.double()) / 2) ** 2).flatten(1).mean(dim=1).numpy()


def psnr(mse: float | np.ndarray) -> float | np.ndarray:
    """10 log10(1 / mse), data range 1 (inf at 0)."""
    with np.errstate(divide="ignore"):
        return 10 * np.log10(1.0 / np.asarray(mse, dtype=np.float64))


def gap(mse_train: float | np.ndarray, mse_heldout: float | np.ndarray) -> float | np.ndarray:
    """(held-out - train) / held-out (nan where the held-out MSE is 0)."""
    mt, mh = np.asarray(mse_train, dtype=np.float64), np.asarray(mse_heldout, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mh > 0, (mh - mt) / np.where(mh > 0, mh, 1), np.nan)


def bootstrap_indices(n: int, seed: int, split: str, replicates: int = BOOTSTRAP) -> np.ndarray:
    """replicates x n resample indices, seeded by (seed, split)."""
    code = {"train": 0, "heldout": 1}[split]
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x626F6F74, code]))
    return rng.integers(0, n, size=(replicates, n)) if n else np.zeros((replicates, 0), dtype=np.int64)


def interval(replicates: np.ndarray) -> tuple[float, float]:
    """The percentile 95 % interval of finite replicates (nan, nan when there are none)."""
    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.quantile(finite, [ALPHA / 2, 1 - ALPHA / 2])
    return float(lo), float(hi)


def level_statistics(mse_train: np.ndarray, mse_heldout: np.ndarray, boot_train: np.ndarray,
                     boot_heldout: np.ndarray) -> dict[str, float]:
    """Point values and 95 % intervals of one level from per-image MSEs and resample indices."""
    mt, mh = float(mse_train.mean()), float(mse_heldout.mean())
    rt, rh = mse_train[boot_train].mean(axis=1), mse_heldout[boot_heldout].mean(axis=1)
    out: dict[str, float] = {"mse_train": mt, "mse_heldout": mh, "psnr_train": float(psnr(mt)),
                             "psnr_heldout": float(psnr(mh)), "gap": float(gap(mt, mh))}
    for key, reps in (("mse_train", rt), ("mse_heldout", rh), ("psnr_train", psnr(rt)),
                      ("psnr_heldout", psnr(rh)), ("gap", gap(rt, rh))):
        out[f"{key}_ci_low"], out[f"{key}_ci_high"] = interval(np.asarray(reps))
    return out
