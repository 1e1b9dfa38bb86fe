"""Nearest training images in pixel space and the memorisation rule.

Images (grey or colour, any size) are compared in [0, 1] pixel units; a distance is the L2 norm
divided by sqrt(H W C), i.e. the root-mean-square difference over pixels and channels (0 =
identical, 1 = black vs white everywhere), as Gu et al. normalise. A sample counts as *memorised* when d1 / d2 < 1/3, with d1 and d2 the distances to its nearest and
second-nearest training images (Gu et al. 2023, "On memorization in diffusion models").

The search runs in bounded memory: float32 matrix products (float64 above 1,024 values per image)
over blocks of queries x train images (pixels shifted to -128..127, so the products are exact
integers and near neighbours are ranked exactly) keep a few candidate neighbours per query, whose distances are then recomputed in
float64 (so exact copies give exactly 0).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..datasets.base import image_shape_of
from ..errors import DenoisebenchError
from .base import Metric, MetricColumn
from .blocks import merge_smallest_indexed, spans

if TYPE_CHECKING:
    from .evaluation import Evaluation

MEMORISED_BELOW = 1.0 / 3.0


@dataclass(frozen=True)
class Neighbours:
    """Per query: index of and distance to the nearest and second-nearest training image."""

    index: np.ndarray  # N x 2, int64
    distance: np.ndarray  # N x 2, float64, RMS pixel units

    @property
    def ratio(self) -> np.ndarray:
        """d1 / d2, with 0 where both are 0 (a copy of a duplicated training image)."""
        d1, d2 = self.distance[:, 0], self.distance[:, 1]
        return np.divide(d1, d2, out=np.zeros_like(d1), where=d2 > 0)


#: Values per image (pixels x channels) up to which centred dot products are exact in float32
#: (1,024 x 128^2 = 2^24); larger images are scored in float64, where they are exact too (< 2^53).
EXACT_FLOAT32_VALUES = 1024
#: Values held per block of train (and query) rows: the 28 x 28 defaults, kept for larger images.
TRAIN_BLOCK_VALUES = 8192 * 784
QUERY_BLOCK_VALUES = 2048 * 784


def _centred(images: np.ndarray, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 images (any layout) as rows of pixel - 128, one row per image: small integers, so dot
    products of up to 1,024 values are exact in float32 (every partial sum stays below 2^24), and of
    any image size in float64."""
    flat = torch.from_numpy(np.ascontiguousarray(images).reshape(len(images), -1))
    return flat.to(dtype).sub_(128.0)


def _candidates(queries: np.ndarray, train: np.ndarray, c: int, query_chunk: int, train_chunk: int,
                progress: Callable[[int, int], None] | None) -> np.ndarray:
    """Indices (N x c) of the c train images with the smallest score |t|^2 / 2 - q.t per query.

    The score is (squared distance - |q|^2) / 2 in centred grey levels, so it ranks the train
    images of one query as the distance does. In float32 the product q.t is exact and the score,
    a multiple of 1/2, is exact whenever it is below 2^23 in magnitude: for 28 x 28 images, for every
    train image within an RMS distance of 0.57 of the query. Near neighbours are ranked exactly.
    Images of more than 1,024 values (e.g. 3 x 32 x 32) are scored in float64: exact throughout.
    """
    values = int(np.prod(queries.shape[1:]))
    dtype = torch.float32 if values <= EXACT_FLOAT32_VALUES else torch.float64
    best: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * len(range(0, len(queries), query_chunk))
    with torch.inference_mode():
        for ts, te in spans(len(train), train_chunk):
            t = _centred(train[ts:te], dtype)
            half_sq = (t * t).sum(1) / 2
            for j, (qs, qe) in enumerate(spans(len(queries), query_chunk)):
                score = (_centred(queries[qs:qe], dtype) @ t.T).sub_(half_sq).neg_()  # one rounding, after the product
                best[j] = merge_smallest_indexed(best[j], score, c, offset=ts)
            if progress is not None:
                progress(te, len(train))
    return torch.cat([b[1] for b in best if b is not None]).numpy()


def _rms_distances(queries: np.ndarray, train: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """RMS pixel distance in float64 (over pixels and channels) from each query to each of its candidate
    train images."""
    pixels = float(np.prod(queries.shape[1:]))
    qf = queries.reshape(len(queries), -1).astype(np.float64) / 255.0
    exact = np.empty(cand.shape)
    for j in range(cand.shape[1]):
        diff = qf - train.reshape(len(train), -1)[cand[:, j]].astype(np.float64) / 255.0
        exact[:, j] = np.sqrt((diff * diff).sum(1) / pixels)
    return exact


def nearest_train(queries: np.ndarray, train: np.ndarray, *, candidates: int = 4, query_chunk: int = 2048,
                  train_chunk: int = 8192, progress: Callable[[int, int], None] | None = None) -> Neighbours:
    """The two nearest ``train`` images (uint8 M x H x W (x C)) of each query (uint8 N x H x W (x C)).

    Distances are over every pixel and channel, normalised by sqrt(H W C). Memory is bounded by one
    query chunk x train chunk block, whatever N and M (chunks shrink for large images). Timing
    depends only on N, M and the image size, never on the images' content (no pruning). Ties
    between equally distant train images go to the lower index among the candidates.
    """
    if image_shape_of(queries) != image_shape_of(train):
        raise DenoisebenchError(f"query images {image_shape_of(queries)} and train images {image_shape_of(train)} "
                                "(C, H, W) differ in shape")
    if len(train) < 2:
        raise DenoisebenchError("nearest-neighbour statistics need at least 2 training images")
    values = int(np.prod(queries.shape[1:]))
    train_chunk = max(1, min(train_chunk, TRAIN_BLOCK_VALUES // values))
    query_chunk = max(1, min(query_chunk, QUERY_BLOCK_VALUES // values))
    c = min(candidates, len(train))
    cand = _candidates(queries, train, c, query_chunk, train_chunk, progress)
    index = np.empty((len(queries), 2), dtype=np.int64)
    distance = np.empty((len(queries), 2))
    for qs, qe in spans(len(queries), query_chunk):
        exact = _rms_distances(queries[qs:qe], train, cand[qs:qe])
        order = np.lexsort((cand[qs:qe], exact), axis=1)[:, :2]  # by distance, then train index
        index[qs:qe] = np.take_along_axis(cand[qs:qe], order, 1)
        distance[qs:qe] = np.take_along_axis(exact, order, 1)
    return Neighbours(index, distance)


def memorisation_stats(nb: Neighbours, threshold: float = MEMORISED_BELOW) -> dict[str, object]:
    """Median and mean d1, median d1/d2 and the memorised share (d1/d2 < threshold)."""
    d1, ratio = nb.distance[:, 0], nb.ratio
    return {"n": int(len(d1)), "d1_median": float(np.median(d1)), "d1_mean": float(d1.mean()),
            "ratio_median": float(np.median(ratio)), "memorised_share": float((ratio < threshold).mean()),
            "memorised_below": threshold, "unit": "RMS pixel difference in [0, 1] (L2 / sqrt(pixels x channels))"}


class NearestNeighbours(Metric):
    """Distance to the nearest training image and the memorised share; real held-out digits as the floor."""

    name = "nearest"
    description = "nearest training image in pixel space: RMS distance and memorised share (d1/d2 < 1/3)"
    note = ("NN distance: median RMS pixel distance ([0, 1] units) to the nearest training image; memorised: "
            "share with d1/d2 < 1/3 (Gu et al. 2023).")
    columns = (MetricColumn("d1_median", "NN distance", None, ("d1_median",)),
               MetricColumn("memorised", "memorised", "min", ("memorised_share",), summary=True))
    floor = "held-out"

    def compute(self, evaluation: Evaluation) -> dict[str, Any]:
        stats = memorisation_stats(evaluation.neighbours)
        stats["train_n"] = int(len(evaluation.dataset.train_images))
        return stats
