"""C_T, the data-copying test of Meehan, Chaudhuri and Dasgupta (2020).

The training set T fits the model; a held-out test set P_n from the same distribution is kept
apart (here: the dataset's train and held-out splits). The space is partitioned into k cells by
k-means on T. For a point x let L(x) be its distance to the nearest training point. In each cell
pi the Mann-Whitney U statistic compares L over the cell's test points (m of them) and generated
points (n): U = #{(i, j): L(q_j) > L(p_i)}, and Z_U = (U - mn/2) / sqrt(mn(m + n + 1)/12).
C_T = sum_pi P_n(pi) Z_U(pi) / sum_pi P_n(pi) over the cells holding at least 20 generated
samples (the paper's threshold tau = 20 / n on the generated share), P_n(pi) the share of test
points in pi.
C_T << 0: samples sit closer to the training data than fresh data do (copying);
C_T >> 0: farther (under-fitting); about 0: neither.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .authpct import nearest
from .classifier_metric import ClassifierFeatureMetric
from .base import Metric, MetricColumn, MetricSkipped

if TYPE_CHECKING:
    from .evaluation import Evaluation

CELLS = 20
MIN_PER_CELL = 20  # tau = 20 / n: at least 20 generated samples in a cell


def mann_whitney_z(test: np.ndarray, generated: np.ndarray) -> float:
    """Z-score of U = #{(i, j): generated_j > test_i} (ties count 1/2) under the null."""
    m, n = len(test), len(generated)
    greater = (generated[None, :] > test[:, None]).sum() + 0.5 * (generated[None, :] == test[:, None]).sum()
    return float((greater - m * n / 2) / np.sqrt(m * n * (m + n + 1) / 12))


def cells(train: np.ndarray, k: int, seed: int = 0) -> Any:
    """k-means (k-means++, 10 starts, fixed seed) of the training set: the partition."""
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, n_init=10, random_state=seed).fit(train)


def c_t(generated: np.ndarray, test: np.ndarray, train: np.ndarray, k: int = CELLS,
        min_per_cell: int = MIN_PER_CELL, seed: int = 0) -> dict[str, Any]:
    """C_T of ``generated`` against the held-out ``test`` set, distances to ``train``."""
    km = cells(train, k, seed)
    cell_g, cell_p = km.predict(generated), km.predict(test)
    lg, lp = nearest(generated, train)[0], nearest(test, train)[0]
    z_sum, w_sum, used = 0.0, 0.0, 0
    for c in range(k):
        g, p = lg[cell_g == c], lp[cell_p == c]
        if len(g) < min_per_cell or len(p) == 0:
            continue
        w = len(p) / len(test)
        z_sum += w * mann_whitney_z(p, g)
        w_sum += w
        used += 1
    if used == 0:
        raise MetricSkipped(f"no cell holds {min_per_cell} samples: C_T needs more samples")
    return {"value": z_sum / w_sum, "cells": k, "cells_used": used, "min_per_cell": min_per_cell}


class DataCopyingCT(ClassifierFeatureMetric):
    name = "ct"
    description = "C_T (Meehan et al. 2020): data-copying z-score, samples vs held-out, distances to train"
    note = ("C_T: Mann-Whitney z of the distance to the nearest training sample, samples vs held-out data, in "
            f"{CELLS} k-means cells of the train split, weighted by the held-out share (Meehan et al. 2020); "
            "< 0: copying, > 0: under-fitting.")
    columns = (MetricColumn("ct", "C_T", None, digits=2),
               MetricColumn("ct_cells", "C_T cells used", path=("cells_used",), digits=0, shown=False))
    uses_features = True
    depends_on_n = True
    floor = None  # train digits as samples are copies by construction: no meaningful real-data row

    def compute(self, evaluation: Evaluation) -> dict[str, Any]:
        if evaluation.n < MIN_PER_CELL or len(evaluation.dataset.train_images) < CELLS:
            raise MetricSkipped(f"needs at least {MIN_PER_CELL} samples and {CELLS} training images")
        return c_t(evaluation.features, evaluation.reference_features, evaluation.train_features)
