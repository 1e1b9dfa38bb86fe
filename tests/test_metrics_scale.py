"""The block-wise metrics (bounded memory at any N) against full-matrix definitions and references.

Every test forces tiny blocks that do not divide the set sizes, so partial blocks, blocks that hold
the diagonal and merges of per-block neighbours are all exercised.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist

from denoisebench.metrics.blocks import merge_smallest, merge_smallest_indexed, spans
from denoisebench.metrics.kid import kid, kid_subsets, polynomial_kernel
from denoisebench.metrics.nearest import nearest_train
from denoisebench.metrics.prdc import kth_neighbour_radii, prdc

BLOCKS = [(1, 1), (3, 5), (7, 4), (16, 9), (1000, 1000)]  # (rows, columns) per block; the last is one block


def full_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances from the differences themselves (no |a|^2 + |b|^2 - 2 a.b expansion)."""
    return cdist(a, b)


def full_radii(x: np.ndarray, k: int) -> np.ndarray:
    """k-th nearest other row, from the whole distance matrix (the point itself at index 0)."""
    d = full_distances(x, x)
    np.fill_diagonal(d, 0.0)
    return np.sort(d, axis=1)[:, k]


def full_prdc(real: np.ndarray, fake: np.ndarray, k: int) -> dict[str, float]:
    """clovaai/generative-evaluation-prdc's formulas on the full real x fake distance matrix."""
    rr, rf = full_radii(real, k), full_radii(fake, k)
    d = full_distances(real, fake)  # reals x fakes, as the reference lays it out
    return {"precision": float((d < rr[:, None]).any(axis=0).mean()),
            "recall": float((d < rf[None, :]).any(axis=1).mean()),
            "density": float((1.0 / k) * (d < rr[:, None]).sum(axis=0).mean()),
            "coverage": float((d.min(axis=1) < rr).mean())}


@pytest.mark.parametrize(("rows", "columns"), BLOCKS)
def test_radii_in_blocks_match_the_full_matrix(rows: int, columns: int) -> None:
    x = np.random.default_rng(0).standard_normal((29, 6))
    for k in (1, 5):
        np.testing.assert_allclose(kth_neighbour_radii(x, k, rows, columns), full_radii(x, k), rtol=1e-12)


def test_radii_count_duplicates_but_never_the_point_itself() -> None:
    x = np.repeat(np.arange(5.0)[:, None], 3, axis=0)  # every value three times
    np.testing.assert_array_equal(kth_neighbour_radii(x, 2, 4, 3), np.zeros(15))  # two copies at distance 0
    np.testing.assert_allclose(kth_neighbour_radii(x, 3, 4, 3), np.ones(15))  # then the neighbours at 1


@pytest.mark.parametrize(("rows", "columns"), BLOCKS)
def test_prdc_in_blocks_matches_the_full_matrix(rows: int, columns: int) -> None:
    rng = np.random.default_rng(1)
    real, fake = rng.standard_normal((41, 5)), rng.standard_normal((37, 5)) * 1.2 + 0.3
    for k in (1, 5):
        # counts are exact; only density's mean / k vs (1 / k) * mean may differ by round-off
        assert prdc(real, fake, k=k, chunk=rows, column_chunk=columns) == pytest.approx(full_prdc(real, fake, k),
                                                                                        rel=1e-14, abs=0)


def test_prdc_default_blocks_span_several_blocks() -> None:
    rng = np.random.default_rng(2)
    real, fake = rng.standard_normal((2100, 4)), rng.standard_normal((1100, 4)) + 0.1  # > one default block
    assert prdc(real, fake, k=3) == pytest.approx(full_prdc(real, fake, 3), rel=1e-14, abs=0)


@pytest.mark.parametrize(("queries_per_chunk", "train_per_chunk"), [(1, 2), (3, 7), (5, 11), (4096, 4096)])
def test_nearest_in_blocks_is_exact(queries_per_chunk: int, train_per_chunk: int) -> None:
    rng = np.random.default_rng(3)
    train = rng.integers(0, 256, (53, 28, 28), dtype=np.uint8)
    train[40:] = train[7]  # 14 equal images: ties, which may go to any of them
    queries = np.concatenate([rng.integers(0, 256, (17, 28, 28), dtype=np.uint8), train[[7, 3]]])
    nb = nearest_train(queries, train, query_chunk=queries_per_chunk, train_chunk=train_per_chunk)
    d = np.sqrt(((queries.reshape(len(queries), -1)[:, None].astype(np.float64) / 255
                  - train.reshape(len(train), -1)[None].astype(np.float64) / 255) ** 2).mean(2))
    np.testing.assert_allclose(nb.distance, np.sort(d, axis=1)[:, :2], rtol=1e-12, atol=0)
    np.testing.assert_allclose(np.take_along_axis(d, nb.index, 1), nb.distance, rtol=1e-12, atol=0)
    assert (nb.index[:, 0] != nb.index[:, 1]).all()
    copies = np.r_[7, 40:53]
    assert (nb.distance[17] == 0.0).all() and np.isin(nb.index[17], copies).all()
    assert nb.index[18, 0] == 3 and nb.distance[18, 0] == 0.0
    unique = ~np.isin(np.argsort(d, axis=1, kind="stable")[:, :3], copies).any(axis=1)
    np.testing.assert_array_equal(nb.index[unique], np.argsort(d, axis=1, kind="stable")[unique, :2])


def test_nearest_ranks_extreme_images_exactly() -> None:
    """Black/white images give the largest dot products: the float32 ranking must still be exact."""
    rng = np.random.default_rng(4)
    train = (rng.random((40, 28, 28)) < 0.5).astype(np.uint8) * 255
    queries = train[:10].copy()
    queries[:, 0, 0] ^= 255  # one pixel away from its source: the nearest by 1/255 per pixel
    nb = nearest_train(queries, train, query_chunk=3, train_chunk=7)
    np.testing.assert_array_equal(nb.index[:, 0], np.arange(10))
    np.testing.assert_allclose(nb.distance[:, 0], np.sqrt(1 / 784), rtol=1e-12)


def test_nearest_ranks_one_grey_level_apart_without_spare_candidates() -> None:
    """Train images 1, 2, ..., 6 grey levels squared from a bright query: with only two candidates
    kept, the float32 ranking itself must be exact. (Pixels scaled to [0, 1] in float32 cannot
    tell these apart: one grey level squared is below the round-off of a bright image's norm.)"""
    rng = np.random.default_rng(9)
    query = rng.integers(200, 256, (1, 28, 28)).astype(np.uint8)
    counts = [6, 3, 1, 5, 2, 4]  # d2 in grey levels squared: that many pixels lowered by one level
    train = np.repeat(query, len(counts), axis=0)
    for row, count in enumerate(counts):
        train[row, 12, 10:10 + count] -= 1
    train = np.concatenate([rng.integers(0, 256, (20, 28, 28), dtype=np.uint8), train])
    nb = nearest_train(query, train, candidates=2, query_chunk=1, train_chunk=3)
    np.testing.assert_array_equal(nb.index[0], [20 + 2, 20 + 4])  # d2 = 1 and d2 = 2
    np.testing.assert_allclose(nb.distance[0], np.sqrt(np.array([1.0, 2.0]) / 784) / 255, rtol=1e-12)


def torchmetrics_kernel(f1: torch.Tensor, f2: torch.Tensor) -> torch.Tensor:
    """torchmetrics' ``image/kid.py`` ``poly_kernel`` (degree 3, gamma 1/d, coef 1), in torch.

    Written out rather than imported: importing torchmetrics takes seconds.
    """
    return (f1 @ f2.T * (1.0 / f1.shape[1]) + 1.0) ** 3


def torchmetrics_mmd(f_real: torch.Tensor, f_fake: torch.Tensor) -> float:
    """torchmetrics' ``poly_mmd`` / ``maximum_mean_discrepancy`` (equal set sizes m)."""
    k_xx, k_yy, k_xy = (torchmetrics_kernel(f_real, f_real), torchmetrics_kernel(f_fake, f_fake),
                        torchmetrics_kernel(f_real, f_fake))
    m = k_xx.shape[0]
    xx = (k_xx.sum(dim=-1) - torch.diag(k_xx)).sum()
    yy = (k_yy.sum(dim=-1) - torch.diag(k_yy)).sum()
    return float((xx + yy) / (m * (m - 1)) - 2 * k_xy.sum(dim=0).sum() / m**2)


def test_polynomial_kernel_is_torchmetrics_kernel() -> None:
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((30, 16)), rng.standard_normal((20, 16))
    ours = polynomial_kernel(x, y)
    np.testing.assert_allclose(ours, torchmetrics_kernel(torch.from_numpy(x), torch.from_numpy(y)).numpy(), rtol=1e-13)
    base = x @ y.T / 16 + 1.0
    np.testing.assert_array_equal(ours, base * base * base)  # what torch's ** 3 computes, bit for bit
    cube = torch.from_numpy(base) ** 3
    np.testing.assert_array_equal(ours, cube.numpy())


def test_kid_is_torchmetrics_mmd() -> None:
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((25, 8)), rng.standard_normal((25, 8)) + 0.3
    assert kid(x, y) == pytest.approx(torchmetrics_mmd(torch.from_numpy(x), torch.from_numpy(y)), rel=1e-12)


def test_kid_subset_paths_agree_beyond_the_gram_limit() -> None:
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((90, 8)), rng.standard_normal((70, 8)) + 0.1
    gram = kid_subsets(x, y, subsets=12, seed=3)
    per_subset = kid_subsets(x, y, subsets=12, seed=3, full_gram_limit=10)
    assert per_subset["value"] == pytest.approx(gram["value"], rel=1e-11)
    assert per_subset["std"] == pytest.approx(gram["std"], rel=1e-9)


def test_spans_cover_without_overlap() -> None:
    assert list(spans(10, 4)) == [(0, 4), (4, 8), (8, 10)]
    assert list(spans(0, 4)) == []
    with pytest.raises(ValueError, match="at least 1"):
        list(spans(3, 0))


def test_merges_keep_the_smallest_of_all_blocks() -> None:
    values = torch.from_numpy(np.random.default_rng(8).standard_normal((6, 23)))
    best, indexed = None, None
    for start, stop in spans(23, 5):
        best = merge_smallest(best, values[:, start:stop], 4)
        indexed = merge_smallest_indexed(indexed, values[:, start:stop], 4, offset=start)
    top = torch.topk(values, 4, dim=1, largest=False)
    torch.testing.assert_close(best, top.values, rtol=0, atol=0)
    assert indexed is not None
    torch.testing.assert_close(indexed[0], top.values, rtol=0, atol=0)
    torch.testing.assert_close(indexed[1], top.indices, rtol=0, atol=0)
