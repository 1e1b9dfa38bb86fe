"""FID-proxy: the Frechet distance between Gaussians fitted to two feature sets (float64).

d^2 = ||mu_1 - mu_2||^2 + Tr(S_1) + Tr(S_2) - 2 Tr(sqrtm(S_1 S_2)), computed as pytorch-fid's
``calculate_frechet_distance`` does: scipy's ``sqrtm`` of the product; if it is not finite, eps is
added to both diagonals and it is tried again; a small imaginary part from round-off is dropped,
a large one (|imag| of a diagonal entry > 1e-3) is an error.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import linalg

from ..errors import DenoisebenchError
from ._threads import single_blas_thread
from .base import MetricColumn, MetricSkipped
from .classifier_metric import ClassifierFeatureMetric

if TYPE_CHECKING:
    from .evaluation import Evaluation


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased, N - 1) covariance of N x d features, in float64."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise DenoisebenchError(f"the FID-proxy needs at least 2 feature vectors, got shape {f.shape}")
    return f.mean(axis=0), np.atleast_2d(np.cov(f, rowvar=False))


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                     eps: float = 1e-6) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2)."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError("means and covariances must have matching dimensions")
    diff = mu1 - mu2
    with warnings.catch_warnings():  # like pytorch-fid's disp=False: the checks below decide
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        warnings.warn(f"FID: singular product of covariances; adding {eps} to their diagonals",
                      RuntimeWarning, stacklevel=2)
        offset = np.eye(sigma1.shape[0]) * eps
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", linalg.LinAlgWarning)
            covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise DenoisebenchError(f"FID: sqrtm has an imaginary component of "
                                    f"{np.max(np.abs(covmean.imag)):.3g}; the feature sets are degenerate")
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """Tr(sqrtm(S1 S2)) for symmetric PSD S1, S2 through symmetric eigenproblems.

    S1 S2 is similar to S1^(1/2) S2 S1^(1/2), which is symmetric PSD, so the trace of the square root
    is the sum of the square roots of its eigenvalues. Mathematically the same as pytorch-fid's
    ``sqrtm`` path and several times faster; used for the bootstrap replicates.
    """
    w, v = np.linalg.eigh(sigma1)
    root = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    m = root @ sigma2 @ root
    return float(np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0.0, None)).sum())


def frechet_distance_eigh(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """The Frechet distance with :func:`trace_sqrt_product` in place of ``sqrtm``."""
    diff = np.asarray(mu1, np.float64) - np.asarray(mu2, np.float64)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt_product(sigma1, sigma2))


def fid(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """FID-proxy between two N x d feature sets."""
    return frechet_distance(*gaussian_stats(features_a), *gaussian_stats(features_b))


def fid_with_uncertainty(generated: np.ndarray, reference: np.ndarray, n_bootstrap: int = 50,
                         seed: int = 0) -> dict[str, object]:
    """FID-proxy and its bootstrap std.

    Both sets are resampled with replacement (each at its own size) ``n_bootstrap`` times; the std of
    the replicate FIDs estimates the sampling std of the FID at these N. The value itself is
    pytorch-fid's computation on the full sets; replicates use :func:`frechet_distance_eigh`.
    """
    with single_blas_thread():  # small LAPACK calls: threads only add contention
        value = fid(generated, reference)
        rng = np.random.default_rng(seed)
        reps = []
        for _ in range(n_bootstrap):
            g = generated[rng.integers(0, len(generated), len(generated))]
            r = reference[rng.integers(0, len(reference), len(reference))]
            reps.append(frechet_distance_eigh(*gaussian_stats(g), *gaussian_stats(r)))
    std = float(np.std(reps, ddof=1)) if len(reps) > 1 else None
    return {"value": value, "std": std, "n_bootstrap": n_bootstrap, "method": "bootstrap (both sets)"}


class FIDProxy(ClassifierFeatureMetric):
    """The FID-proxy of the samples against the held-out split, with its bootstrap std."""

    name = "fid"
    description = "FID-proxy: Frechet distance of the pinned classifier's features, samples vs held-out digits"
    note = ("FID-proxy: Frechet distance between Gaussians fitted to the pinned MNIST classifier's features "
            "(penultimate layer), generated vs the held-out split; ± is its bootstrap std (both sets resampled).")
    columns = (MetricColumn("fid", "FID-proxy", "min", std_path=("std",), digits=2, headline=True),
               MetricColumn("fid_bootstrap", "FID bootstrap resamples", path=("n_bootstrap",), digits=0,
                            shown=False))
    depends_on_n = True
    uses_features = True
    pairing = "features"

    @classmethod
    def paired_value(cls, features: Any, reference: Any) -> float:
        return fid(features, reference)

    def compute(self, evaluation: Evaluation) -> dict[str, Any]:
        if evaluation.n < 2:
            raise MetricSkipped("needs at least 2 samples")
        return fid_with_uncertainty(evaluation.features, evaluation.reference_features,
                                    n_bootstrap=evaluation.settings.n_bootstrap, seed=evaluation.seed)
