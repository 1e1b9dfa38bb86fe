"""Nearest training images and the memorisation rule d1/d2 < 1/3."""

from __future__ import annotations

import numpy as np
import pytest

from denoisebench.datasets.base import ImageDataset
from denoisebench.errors import DenoisebenchError
from denoisebench.metrics.nearest import memorisation_stats, nearest_train


def brute_force(queries: np.ndarray, train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    q = queries.reshape(len(queries), -1).astype(np.float64) / 255
    t = train.reshape(len(train), -1).astype(np.float64) / 255
    d = np.sqrt(((q[:, None] - t[None]) ** 2).sum(2) / q.shape[1])
    order = np.argsort(d, axis=1, kind="stable")[:, :2]
    return order, np.take_along_axis(d, order, 1)


def test_chunked_search_is_exact() -> None:
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, (97, 6, 5), dtype=np.uint8)
    queries = rng.integers(0, 256, (23, 6, 5), dtype=np.uint8)
    nb = nearest_train(queries, train, query_chunk=5, train_chunk=11)
    idx, dist = brute_force(queries, train)
    np.testing.assert_array_equal(nb.index, idx)
    np.testing.assert_allclose(nb.distance, dist, rtol=1e-12)


def test_distance_is_rms_pixel_difference() -> None:
    train = np.stack([np.zeros((4, 4), np.uint8), np.full((4, 4), 255, np.uint8)])
    half = np.zeros((1, 4, 4), np.uint8)
    half[0, :2] = 255  # 8 of 16 pixels differ by 1 from black
    nb = nearest_train(half, train)
    assert nb.distance[0] == pytest.approx([np.sqrt(0.5), np.sqrt(0.5)])


@pytest.fixture(scope="module")
def digits(mnist5k: ImageDataset) -> tuple[np.ndarray, np.ndarray]:
    return mnist5k.train_images, mnist5k.heldout_images


def test_exact_and_near_copies_are_memorised(digits: tuple[np.ndarray, np.ndarray]) -> None:
    train, _ = digits
    rng = np.random.default_rng(1)
    picks = rng.choice(len(train), 60, replace=False)
    copies = train[picks[:30]]
    noisy = np.clip(train[picks[30:]].astype(int) + rng.integers(-12, 13, (30, 28, 28)), 0, 255).astype(np.uint8)
    shifted = np.roll(train[picks[30:]], 1, axis=2)  # a one-pixel shift is *not* a near-copy in L2
    nb = nearest_train(np.concatenate([copies, noisy]), train)
    np.testing.assert_array_equal(nb.index[:30, 0], picks[:30])
    assert (nb.distance[:30, 0] == 0).all()
    assert memorisation_stats(nb)["memorised_share"] == 1.0
    assert memorisation_stats(nearest_train(shifted, train))["memorised_share"] < 0.5


def test_heldout_real_digits_are_not_memorised(digits: tuple[np.ndarray, np.ndarray]) -> None:
    train, held = digits
    stats = memorisation_stats(nearest_train(held[::5], train))
    assert stats["memorised_share"] < 0.02 and stats["d1_median"] > 0.1


def test_duplicated_training_image_copy_counts_as_memorised() -> None:
    img = np.random.default_rng(2).integers(0, 256, (1, 5, 5), dtype=np.uint8)
    train = np.concatenate([img, img, np.zeros((1, 5, 5), np.uint8)])
    nb = nearest_train(img, train)
    assert nb.ratio[0] == 0.0


def test_shape_mismatch_is_a_one_line_error() -> None:
    with pytest.raises(DenoisebenchError, match="differ in shape"):
        nearest_train(np.zeros((2, 4, 4), np.uint8), np.zeros((3, 5, 5), np.uint8))
