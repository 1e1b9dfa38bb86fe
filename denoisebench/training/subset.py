"""Training on part of the train split (``train --train-size N --train-subset K``).

The train split is put in one deterministic order, seeded by ``subset_seed`` only (never by the
training seed, so models trained with different seeds still get disjoint subsets); subset K is
positions K N .. (K + 1) N - 1 of that order, so subsets with different K are disjoint. With labels
the order is class-stratified: each class is shuffled, its i-th item gets the rank (i + u_c) / n_c
(u_c a seeded offset in [0, 1)), and items are sorted by rank, so every block of N holds each class
in proportion to its size (within one image). The chosen indices, their sha256 and this recipe are
recorded in the checkpoint's metadata (``train_subset``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

from ..errors import DenoisebenchError

RECIPE = "train-subset-v1: blocks of a seeded class-stratified order of the train split"


def stratified_order(labels: np.ndarray | None, total: int, seed: int) -> np.ndarray:
    """A permutation of range(total) whose every prefix block is class-stratified."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x737562]))
    if labels is None or len(labels) != total:
        return rng.permutation(total)
    rank = np.empty(total, dtype=np.float64)
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        rank[members] = (np.arange(len(members)) + rng.uniform()) / len(members)
    return np.argsort(rank, kind="stable")


def training_subset(labels: np.ndarray | None, total: int, size: int, subset: int, seed: int = 0,
                    dataset_id: str = "the dataset") -> np.ndarray:
    """The sorted train-split indices of subset ``subset`` of ``size`` images, or a one-line error."""
    if size < 1 or subset < 0:
        raise DenoisebenchError(f"--train-size must be at least 1 and --train-subset at least 0, got {size} and {subset}")
    need = (subset + 1) * size
    if need > total:
        raise DenoisebenchError(f"--train-size {size} --train-subset {subset} needs (K + 1) x N = {need} training "
                                f"images, but {dataset_id} has {total}: choose a smaller --train-size or --train-subset")
    return np.sort(stratified_order(labels, total, seed)[subset * size:need])


def subset_metadata(indices: np.ndarray, size: int, subset: int, seed: int, dataset_hash: str) -> dict[str, Any]:
    """What a checkpoint records about its training subset."""
    data = np.asarray(indices, dtype=np.int64)
    return {"recipe": RECIPE, "size": size, "subset": subset, "subset_seed": seed, "dataset_hash": dataset_hash,
            "indices_sha256": hashlib.sha256(data.tobytes()).hexdigest(), "indices": data.tolist()}


def subset_of(config: Any, dataset: Any) -> np.ndarray | None:
    """The train indices a training config uses (None: the whole train split)."""
    size = getattr(config, "train_size", None)
    if size is None:
        return None
    labels = dataset.train_labels if len(dataset.train_labels) == len(dataset.train_images) else None
    return training_subset(labels, len(dataset.train_images), size, config.train_subset,
                           config.subset_seed, repr(dataset.id))


def subset_metadata_json(config: Any, dataset: Any) -> dict[str, str]:
    """``{"train_subset": JSON}`` for the checkpoint metadata, or {} when training on the whole split."""
    indices = subset_of(config, dataset)
    if indices is None:
        return {}
    return {"train_subset": json.dumps(subset_metadata(indices, config.train_size, config.train_subset,
                                                       config.subset_seed, dataset.content_hash))}
