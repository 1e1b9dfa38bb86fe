"""AuthPct, C_T and Vendi against small reference implementations written from the papers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from denoisebench.metrics.authpct import authpct
from denoisebench.metrics.ct import c_t, cells
from denoisebench.metrics.vendi import vendi_score


def authpct_reference(gen: np.ndarray, train: np.ndarray) -> float:
    """Alaa et al. 2022: A_j = 1{d(g_j, r*) > min_{i != r*} d(r*, r_i)}, r* the nearest train point."""
    authentic = 0
    for g in gen:
        d = [math.dist(g, r) for r in train]
        star = int(np.argmin(d))
        own = min(math.dist(train[star], r) for i, r in enumerate(train) if i != star)
        authentic += d[star] > own
    return 100.0 * authentic / len(gen)


def test_authpct_matches_the_definition() -> None:
    rng = np.random.default_rng(0)
    train = rng.normal(size=(40, 3))
    gen = np.concatenate([train[:5] + 1e-3, rng.normal(size=(15, 3))])
    assert authpct(gen, train)["value"] == pytest.approx(authpct_reference(gen, train))
    assert authpct(train[:10].copy(), train)["value"] == 0.0  # exact copies are never authentic


def ct_reference(gen: np.ndarray, test: np.ndarray, train: np.ndarray, labels_of, k: int, tau: int) -> float:  # noqa: ANN001
    """Meehan et al. 2020: per cell the Mann-Whitney z of L(Q) vs L(P), weighted by P_n(cell)."""
    def dist_to_train(x: np.ndarray) -> np.ndarray:
        return np.array([min(math.dist(p, t) for t in train) for p in x])

    lg, lp = dist_to_train(gen), dist_to_train(test)
    cg, cp = labels_of(gen), labels_of(test)
    num = den = 0.0
    for c in range(k):
        q, p = lg[cg == c], lp[cp == c]
        if len(q) < tau or len(p) == 0:
            continue
        m, n = len(p), len(q)
        u = sum((qj > pi) + 0.5 * (qj == pi) for pi in p for qj in q)
        z = (u - m * n / 2) / math.sqrt(m * n * (m + n + 1) / 12)
        num += (m / len(test)) * z
        den += m / len(test)
    return num / den


def test_ct_matches_the_definition_and_detects_copies() -> None:
    rng = np.random.default_rng(1)
    train, test = rng.normal(size=(120, 2)), rng.normal(size=(80, 2))
    fresh = rng.normal(size=(90, 2))
    copies = train[rng.integers(0, 120, 90)] + rng.normal(0, 0.01, (90, 2))
    km = cells(train, 3)
    for gen in (fresh, copies):
        ours = c_t(gen, test, train, k=3, min_per_cell=5)["value"]
        assert ours == pytest.approx(ct_reference(gen, test, train, km.predict, 3, 5), rel=1e-9)
    assert c_t(copies, test, train, k=3, min_per_cell=5)["value"] < -3
    assert abs(c_t(fresh, test, train, k=3, min_per_cell=5)["value"]) < 3


def vendi_reference(x: np.ndarray) -> float:
    """Friedman & Dieng 2023: exp of the Shannon entropy of the eigenvalues of K / n."""
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    k = np.array([[float(a @ b) for b in unit] for a in unit])
    lam = np.linalg.eigvalsh(k / len(x))
    lam = lam[lam > 1e-12]
    return float(np.exp(-np.sum(lam * np.log(lam))))


def test_vendi_matches_the_definition_and_its_bounds() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(12, 5))
    assert vendi_score(x) == pytest.approx(vendi_reference(x), rel=1e-9)
    wide = rng.normal(size=(6, 40))
    assert vendi_score(wide) == pytest.approx(vendi_reference(wide), rel=1e-9)
    assert vendi_score(np.ones((7, 3))) == pytest.approx(1.0)
    assert vendi_score(np.eye(5)) == pytest.approx(5.0)
