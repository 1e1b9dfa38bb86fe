"""FID-proxy against its definition: the Frechet distance between two Gaussians."""

from __future__ import annotations

import numpy as np
import pytest

from denoisebench.metrics.frechet import (fid, fid_with_uncertainty, frechet_distance, frechet_distance_eigh,
                                          gaussian_stats)


def _psd(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.standard_normal((d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def _sym_sqrt(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(s)
    return (v * np.sqrt(w)) @ v.T


def closed_form(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """|mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2), written out directly."""
    r = _sym_sqrt(s1)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(_sym_sqrt(r @ s2 @ r)))


def test_fid_of_a_set_with_itself_is_zero() -> None:
    x = np.random.default_rng(0).standard_normal((300, 16))
    assert abs(fid(x, x)) < 1e-8 * np.trace(np.cov(x, rowvar=False))


def test_matches_closed_form_for_known_gaussians() -> None:
    rng = np.random.default_rng(1)
    for d in (1, 3, 12):
        mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
        s1, s2 = _psd(rng, d), _psd(rng, d)
        assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(closed_form(mu1, s1, mu2, s2), rel=1e-9, abs=1e-9)
        assert frechet_distance_eigh(mu1, s1, mu2, s2) == pytest.approx(closed_form(mu1, s1, mu2, s2), rel=1e-9,
                                                                        abs=1e-9)


def test_diagonal_gaussians_reduce_to_the_scalar_formula() -> None:
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    mu1, mu2 = np.zeros(3), np.array([1.0, 2.0, 2.0])
    expected = 9.0 + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)  # |dmu|^2 + sum (sqrt a - sqrt b)^2
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-12)


def test_sample_fid_converges_to_the_population_value() -> None:
    rng = np.random.default_rng(2)
    d = 4
    mu1, mu2 = np.zeros(d), np.full(d, 0.5)
    s1, s2 = _psd(rng, d), _psd(rng, d)
    x = rng.multivariate_normal(mu1, s1, 20000)
    y = rng.multivariate_normal(mu2, s2, 20000)
    assert fid(x, y) == pytest.approx(closed_form(mu1, s1, mu2, s2), rel=0.05)


def test_stats_are_float64_with_unbiased_covariance() -> None:
    x = np.random.default_rng(3).standard_normal((50, 5)).astype(np.float32)
    mu, sigma = gaussian_stats(x)
    assert mu.dtype == np.float64 and sigma.dtype == np.float64
    xc = x.astype(np.float64) - x.astype(np.float64).mean(0)
    np.testing.assert_allclose(sigma, xc.T @ xc / 49, rtol=1e-12)


def test_singular_covariances_stay_finite() -> None:
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((10, 32)), rng.standard_normal((10, 32))  # rank-9 covariances in 32-d
    with np.errstate(all="ignore"):
        value = fid(x, y)
    assert np.isfinite(value) and value > 0


def test_bootstrap_std_shrinks_with_more_samples() -> None:
    rng = np.random.default_rng(5)
    small = fid_with_uncertainty(rng.standard_normal((100, 4)), rng.standard_normal((100, 4)) + 0.3, 30)
    large = fid_with_uncertainty(rng.standard_normal((1600, 4)), rng.standard_normal((1600, 4)) + 0.3, 30)
    assert small["n_bootstrap"] == 30 and 0 < large["std"] < small["std"]
