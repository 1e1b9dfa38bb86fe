"""Precision, recall, density and coverage on point sets whose answers are known by hand."""

from __future__ import annotations

import numpy as np
import pytest

from denoisebench.metrics.prdc import kth_neighbour_radii, prdc


def brute_force(real: np.ndarray, fake: np.ndarray, k: int) -> dict[str, float]:
    """The definitions, written with full distance matrices."""
    def radii(x: np.ndarray) -> np.ndarray:
        d = np.linalg.norm(x[:, None] - x[None], axis=2)
        return np.sort(d, axis=1)[:, k]

    rr, rf = radii(real), radii(fake)
    d = np.linalg.norm(fake[:, None] - real[None], axis=2)  # fakes x reals
    return {"precision": float((d < rr).any(1).mean()), "recall": float((d < rf[:, None]).any(0).mean()),
            "density": float((d < rr).sum(1).mean() / k), "coverage": float((d.min(0) < rr).mean())}


def test_hand_computed_line() -> None:
    real = np.arange(10.0)[:, None]  # 0..9: every 1-NN radius is 1
    fake = np.array([[0.5], [20.0]])  # 0.5 sits in the balls of 0 and 1; 20 in none
    out = prdc(real, fake, k=1)
    assert out == pytest.approx({"precision": 0.5, "recall": 1.0, "density": 1.0, "coverage": 0.2})


def test_far_away_fakes_score_zero() -> None:
    rng = np.random.default_rng(0)
    real = rng.standard_normal((50, 3))
    out = prdc(real, real + 100.0, k=5)
    assert out == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_identical_sets_have_full_precision_recall_coverage() -> None:
    real = np.random.default_rng(1).standard_normal((60, 4))
    out = prdc(real, real.copy(), k=5)
    assert out["precision"] == 1.0 and out["recall"] == 1.0 and out["coverage"] == 1.0


def test_collapsed_fakes_have_precision_but_no_recall() -> None:
    rng = np.random.default_rng(2)
    real = rng.standard_normal((200, 2))
    fake = rng.standard_normal((200, 2)) * 0.01  # all fakes in the dense middle of the real cloud
    out = prdc(real, fake, k=5)
    assert out["precision"] == 1.0 and out["recall"] < 0.1 and out["coverage"] < 0.2


def test_chunked_matches_definition() -> None:
    rng = np.random.default_rng(3)
    real, fake = rng.standard_normal((70, 5)), rng.standard_normal((45, 5)) * 1.3 + 0.2
    assert prdc(real, fake, k=5, chunk=8) == pytest.approx(brute_force(real, fake, 5))


def test_radii_exclude_the_point_itself() -> None:
    x = np.array([[0.0], [1.0], [3.0]])
    np.testing.assert_allclose(kth_neighbour_radii(x, 1), [1.0, 1.0, 2.0])
    np.testing.assert_allclose(kth_neighbour_radii(x, 2), [3.0, 2.0, 3.0])
