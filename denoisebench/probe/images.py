"""Which images a probe uses: a seeded, class-stratified choice, the same for every provider."""

from __future__ import annotations

import numpy as np

SPLIT_CODES = {"train": 0, "heldout": 1}


def stratified_choice(labels: np.ndarray | None, total: int, count: int, seed: int, split: str) -> np.ndarray:
    """``min(count, total)`` sorted indices into a split of ``total`` images.

    With one label per image, class quotas are proportional to the class sizes (largest remainder)
    and each class contributes a seeded random subset; without labels, a seeded random subset.
    The choice depends only on (labels, total, count, seed, split).
    """
    count = min(count, total)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x696D67, SPLIT_CODES[split]]))
    if labels is None or len(labels) != total or total == 0:
        return np.sort(rng.permutation(total)[:count])
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * count / total
    quota = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - quota), kind="stable")[: count - quota.sum()]:
        quota[i] += 1
    chosen = [rng.permutation(np.flatnonzero(labels == c))[:q] for c, q in zip(classes, quota)]
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)
