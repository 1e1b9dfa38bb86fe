"""KID-proxy against its definition: the unbiased MMD^2 with the cubic polynomial kernel."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from denoisebench.metrics.kid import kid, kid_subsets, mmd2_unbiased, polynomial_kernel


def brute_force_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """(1/m(m-1)) sum_{i!=j} k(x_i,x_j) + (1/n(n-1)) sum_{i!=j} k(y_i,y_j) - (2/mn) sum k(x_i,y_j)."""
    d = x.shape[1]

    def k(a: np.ndarray, b: np.ndarray) -> float:
        return float((a @ b / d + 1.0) ** 3)

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i, j in itertools.permutations(range(n), 2)) / (n * (n - 1))
    xy = sum(k(a, b) for a in x for b in y) / (m * n)
    return xx + yy - 2 * xy


def test_kernel_is_cubic_with_gamma_one_over_d() -> None:
    x = np.array([[1.0, 2.0, 3.0, 4.0]])
    y = np.array([[0.5, -1.0, 2.0, 0.0]])
    assert polynomial_kernel(x, y)[0, 0] == pytest.approx((4.5 / 4 + 1) ** 3)  # x.y = 0.5 - 2 + 6 + 0


def test_unbiased_estimate_matches_the_definition() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((6, 3)), rng.standard_normal((7, 3)) + 0.2
    assert kid(x, y) == pytest.approx(brute_force_mmd2(x, y), rel=1e-10)
    k = polynomial_kernel
    assert mmd2_unbiased(k(x, x), k(x, y), k(y, y)) == pytest.approx(brute_force_mmd2(x, y), rel=1e-10)


def test_same_distribution_is_zero_within_its_std() -> None:
    rng = np.random.default_rng(1)
    out = kid_subsets(rng.standard_normal((400, 16)), rng.standard_normal((400, 16)), subsets=50, seed=0)
    assert out["subset_size"] == 200 and out["std"] > 0
    assert abs(out["value"]) < 2 * out["std"]


def test_shifted_distribution_is_positive() -> None:
    rng = np.random.default_rng(2)
    out = kid_subsets(rng.standard_normal((400, 16)), rng.standard_normal((400, 16)) + 0.5, subsets=50, seed=0)
    assert out["value"] > 3 * out["std"] > 0


def test_subsets_are_reproducible_and_paths_agree() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((60, 8)), rng.standard_normal((50, 8)) + 0.1
    a = kid_subsets(x, y, subsets=10, seed=7)
    b = kid_subsets(x, y, subsets=10, seed=7, full_gram_limit=0)  # per-subset kernels
    assert a["value"] == pytest.approx(b["value"], rel=1e-12) and a["std"] == pytest.approx(b["std"], rel=1e-9)
