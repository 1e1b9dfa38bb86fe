"""The shared pieces every metric reads, computed lazily and at most once per set of images.

One :class:`Evaluation` wraps a set of uint8 images and the dataset they are judged against. Its
expensive pieces (features and class probabilities from the pinned feature network, the held-out
reference features, the nearest training images) are ``cached_property`` values: the first metric
that asks pays, every other metric reuses. The real-digit sets of the report's floor row are
evaluations of their own (:attr:`Evaluation.floor`, :attr:`Evaluation.heldout`) that share the
feature network and the reference features with their parent.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..datasets.base import ImageDataset
from ..errors import DenoisebenchError
from .base import MetricSkipped
from .cache import cached_array
from .floor import FLOOR_SEED, floor_subset

if TYPE_CHECKING:
    from .features import FeatureNetwork
    from .nearest import Neighbours

@dataclass(frozen=True)
class EvaluationSettings:
    """Parameters of the builtin metrics; they are part of every cached floor value's key."""

    n_bootstrap: int = 50  # FID-proxy bootstrap replicates
    kid_subsets: int = 100  # KID-proxy random subsets
    prdc_k: int = 5  # neighbours of precision / recall / density / coverage

    def cache_key(self) -> dict[str, int]:
        """The floor cache's parameter fields (named as before the metrics hook, so caches stay valid)."""
        return {"n_bootstrap": self.n_bootstrap, "kid_subsets": self.kid_subsets, "k": self.prdc_k}


@dataclass
class _Shared:
    """What an evaluation and its floor / held-out evaluations have in common."""

    dataset: ImageDataset
    settings: EvaluationSettings
    feature_weights: Path | None
    encoder: Any = None  # an Encoder, or None for the pinned classifier (the historical path)
    timing: dict[str, float] = field(default_factory=dict)
    pieces: dict[str, Any] = field(default_factory=dict)

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timing[name] = round(self.timing.get(name, 0.0) + time.perf_counter() - start, 3)


class Evaluation:
    """A set of generated (or real) digits, ready to be scored by any number of metrics.

    Attributes a metric may read: ``images`` (uint8 N x H x W, or N x H x W x C for colour), ``dataset``, ``seed`` (drives
    bootstraps and subsets), ``n``, ``settings`` and the lazily computed pieces below.
    """

    def __init__(self, images: np.ndarray, dataset: ImageDataset, *, seed: int = 0,
                 settings: EvaluationSettings | None = None, feature_weights: Path | str | None = None,
                 _shared: _Shared | None = None, _role: str = "") -> None:
        self.images = images
        self.seed = seed
        self.role = _role  # "" for the generated images, "floor" / "held-out" for the real sets
        self._shared = _shared or _Shared(dataset, settings or EvaluationSettings(),
                                          None if feature_weights is None else Path(feature_weights))

    @property
    def dataset(self) -> ImageDataset:
        return self._shared.dataset

    @property
    def settings(self) -> EvaluationSettings:
        return self._shared.settings

    @property
    def n(self) -> int:
        return int(len(self.images))

    @property
    def timing(self) -> dict[str, float]:
        """Seconds spent in each shared piece (and, filled by the evaluator, in each metric)."""
        return self._shared.timing

    def timed(self, name: str) -> Any:
        """A context manager adding the block's seconds to ``timing[name]`` (prefixed by the role)."""
        return self._shared.timed(f"{self.role}: {name}" if self.role else name)

    # --- the feature network and the reference set ------------------------------------------

    @cached_property
    def feature_network(self) -> FeatureNetwork:
        """The pinned classifier (raises :class:`MetricSkipped` for images it cannot read)."""
        from .features import check_images, load_feature_network

        try:
            check_images(self.images)
        except DenoisebenchError as exc:
            raise MetricSkipped(f"feature metrics: {exc}") from None
        if "network" not in self._shared.pieces:
            weights = self._shared.feature_weights
            self._shared.pieces["network"] = load_feature_network(weights)
        return self._shared.pieces["network"]

    @property
    def encoder(self) -> Any:
        """The :class:`~denoisebench.encoders.Encoder` whose features the metrics read (None: the classifier)."""
        return self._shared.encoder

    def with_encoder(self, encoder: Any) -> Evaluation:
        """The same images judged in ``encoder``'s feature space (its own features, reference and floor)."""
        shared = _Shared(self.dataset, self.settings, self._shared.feature_weights, encoder=encoder,
                         timing=self._shared.timing)
        return Evaluation(self.images, self.dataset, seed=self.seed, _shared=shared, _role=self.role)

    def _encode(self, images: np.ndarray) -> np.ndarray:
        from ..encoders import EncoderInputError

        try:
            return self.encoder.encode(images)
        except EncoderInputError as exc:
            raise MetricSkipped(str(exc)) from None

    @cached_property
    def _embedding(self) -> tuple[np.ndarray, np.ndarray | None]:
        if self.encoder is not None:
            with self.timed(f"features [{self.encoder.name}]"):
                return self._encode(self.images), None
        net = self.feature_network
        with self.timed("features"):
            return net.embed(self.images)

    @property
    def features(self) -> np.ndarray:
        """N x d float64 features of the images (the classifier's standardised penultimate layer)."""
        return self._embedding[0]

    @property
    def probabilities(self) -> np.ndarray:
        """N x 10 float64 class probabilities of the images."""
        if self.encoder is not None:
            raise MetricSkipped("class probabilities come from the pinned MNIST classifier only")
        return self._embedding[1]

    @property
    def reference_size(self) -> int:
        """How many held-out digits the images are compared with (known without computing features)."""
        return int(len(self.dataset.heldout_images))

    @property
    def reference_features(self) -> np.ndarray:
        """Features of the whole held-out split (cached on disk per dataset and feature network)."""
        if "reference" not in self._shared.pieces and self.encoder is not None:
            with self._shared.timed(f"held-out features [{self.encoder.name}]"):
                self._shared.pieces["reference"] = cached_array(
                    "heldout-features", {"dataset_hash": self.dataset.content_hash, **self.encoder.identity()},
                    lambda: self._encode(self.dataset.heldout_images))
        if "reference" not in self._shared.pieces:
            net = self.feature_network
            with self._shared.timed("held-out features"):
                self._shared.pieces["reference"] = cached_array(
                    "heldout-features", {"dataset_hash": self.dataset.content_hash, "feature_sha256": net.sha256},
                    lambda: net.embed(self.dataset.heldout_images)[0])
        return self._shared.pieces["reference"]

    @property
    def train_features(self) -> np.ndarray:
        """Features of the whole train split (cached on disk per dataset and encoder)."""
        if "train" not in self._shared.pieces:
            if self.encoder is not None:
                key = {"dataset_hash": self.dataset.content_hash, **self.encoder.identity()}
                compute = lambda: self._encode(self.dataset.train_images)  # noqa: E731
            else:
                net = self.feature_network
                key = {"dataset_hash": self.dataset.content_hash, "feature_sha256": net.sha256}
                compute = lambda: net.embed(self.dataset.train_images)[0]  # noqa: E731
            with self._shared.timed("train features" + (f" [{self.encoder.name}]" if self.encoder else "")):
                self._shared.pieces["train"] = cached_array("train-features", key, compute)
        return self._shared.pieces["train"]

    # --- pixel space --------------------------------------------------------------------------

    @cached_property
    def neighbours(self) -> Neighbours:
        """The nearest and second-nearest training image of each image (exact, pixel space)."""
        from .nearest import nearest_train

        with self.timed("nearest training images"):
            return nearest_train(self.images, self.dataset.train_images)

    # --- the real digits of the floor row -----------------------------------------------------

    @cached_property
    def floor(self) -> Evaluation:
        """N real train digits (a fixed subset), scored against the held-out split like a provider."""
        return Evaluation(floor_subset(self.dataset, self.n), self.dataset, seed=FLOOR_SEED,
                          _shared=self._shared, _role="floor")

    @cached_property
    def heldout(self) -> Evaluation:
        """The held-out digits themselves (e.g. their distance to the train split)."""
        return Evaluation(self.dataset.heldout_images, self.dataset, seed=FLOOR_SEED,
                          _shared=self._shared, _role="held-out")

    @property
    def feature_sha256(self) -> str | None:
        """The feature network's (or encoder's) sha256, or None where it cannot read these images."""
        if self.encoder is not None:
            return str(self.encoder.weights_sha256)
        try:
            return self.feature_network.sha256
        except MetricSkipped:
            return None
