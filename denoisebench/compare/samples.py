"""Per-sample data of a run, recomputed from its ``samples.npz`` (grey or colour): features and
predicted class from the pinned feature network (where it can read the dataset's images: the
classifier-feature metrics' own declaration, :meth:`Metric.skip_reason`), and whether each sample
is a memorised copy of a training image (any shape).

The held-out reference features are read from (or written to) the same cache entry the run's
own evaluation uses, so a comparison after ``denoisebench run`` does not embed them again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..datasets.base import DatasetOptions, ImageDataset
from ..errors import DenoisebenchError
from .collect import RunRef, Setting


@dataclass(frozen=True)
class SampleSet:
    """Everything a paired comparison needs about one run, one row per sample index."""

    features: np.ndarray | None  # N x d, float64 (None where the classifier cannot read the images)
    classes: np.ndarray | None  # N, the classifier's predicted digit (likewise)
    memorised: np.ndarray | None = None  # N, bool (d1/d2 < 1/3 against the train split)
    n: int | None = None  # the number of samples (needed only when there are no features)

    def __len__(self) -> int:
        if self.n is not None:
            return int(self.n)
        return int(len(self.features if self.features is not None else self.memorised))  # type: ignore[arg-type]


class SampleSource:
    """Loads datasets, the feature network and reference features once; embeds runs on demand."""

    def __init__(self, memorisation: bool = True, data_dir: Path | None = None,
                 feature_weights: Path | None = None) -> None:
        self.memorisation = memorisation
        self.data_dir = data_dir
        self.feature_weights = feature_weights
        self._datasets: dict[str, ImageDataset] = {}
        self._references: dict[str, np.ndarray] = {}
        self._encoders: dict[str, Any] = {}
        self._encoded: dict[tuple[Path, str], np.ndarray] = {}
        self._encoder_references: dict[tuple[str, str], np.ndarray] = {}

    @property
    def network(self):  # noqa: ANN201 - FeatureNetwork, imported lazily
        from ..metrics.features import load_feature_network

        return load_feature_network(self.feature_weights)

    def dataset(self, setting: Setting) -> ImageDataset:
        """The installed dataset of ``setting``; refuses one whose content differs from the runs'."""
        key = f"{setting.dataset} {setting.dataset_options}"
        if key not in self._datasets:
            from ..plugins.manager import get_registry

            spec = get_registry().dataset(setting.dataset)
            data_dir = self.data_dir or (Path(setting.data_dir) if setting.data_dir else None)
            self._datasets[key] = spec.open(DatasetOptions(data_dir=data_dir, params=dict(setting.dataset_options)))
        data = self._datasets[key]
        if setting.dataset_hash and data.content_hash != setting.dataset_hash:
            raise DenoisebenchError(
                f"the runs of dataset {setting.dataset!r} were made on other data (hash "
                f"{setting.dataset_hash[:12]}...) than the installed one ({data.content_hash[:12]}...): "
                "compare them where that data is installed")
        return data

    def feature_skip_reason(self, setting: Setting) -> str | None:
        """Why the classifier's features (fid, kid, entropy) cannot be had for the setting's dataset, or None."""
        from ..metrics.classifier_metric import ClassifierFeatureMetric

        return ClassifierFeatureMetric.skip_reason(self.dataset(setting))

    def reference(self, setting: Setting) -> np.ndarray | None:
        """Features of the held-out split of the setting's dataset (None where the classifier cannot read it)."""
        data = self.dataset(setting)
        if self.feature_skip_reason(setting) is not None:
            return None
        if data.content_hash not in self._references:
            from ..metrics.cache import cached_array

            net = self.network
            self._references[data.content_hash] = cached_array(
                "heldout-features", {"dataset_hash": data.content_hash, "feature_sha256": net.sha256},
                lambda: net.embed(data.heldout_images)[0])
        return self._references[data.content_hash]

    def load(self, ref: RunRef) -> SampleSet:
        """The run's per-sample data; raises :class:`DenoisebenchError` for missing or short samples."""
        from ..runs.records import is_samples_array, load_samples

        try:
            images = load_samples(ref.run_dir)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is reported the same way
            raise DenoisebenchError(f"{ref.run_dir}: samples.npz is missing or unreadable "
                                    f"({type(exc).__name__})") from None
        if not is_samples_array(images, ref.setting.n):
            raise DenoisebenchError(f"{ref.run_dir}: samples.npz holds {images.shape}, expected "
                                    f"{ref.setting.n} images")
        return self.from_images(images, ref.setting)

    # --- any registered encoder ------------------------------------------------------------------
    def encoder(self, name: str) -> Any:
        """The registered encoder ``name`` (one instance per source; one-line error when unknown)."""
        if name not in self._encoders:
            from ..encoders import get_encoder

            self._encoders[name] = get_encoder(name)
        return self._encoders[name]

    def encoder_problem(self, setting: Setting, name: str) -> str | None:
        """Why encoder ``name`` cannot score ``setting``'s images (weights absent, shape it cannot
        read), or None when it can."""
        encoder = self.encoder(name)
        try:
            encoder.require_weights()
            heldout = self.dataset(setting).heldout_images
            encoder.check_images(heldout[:1])
        except DenoisebenchError as exc:
            return str(exc)
        return None

    def encoder_reference(self, setting: Setting, name: str) -> np.ndarray:
        """``name``'s features of the setting's held-out split (the cache entry ``run`` uses)."""
        data = self.dataset(setting)
        key = (data.content_hash, name)
        if key not in self._encoder_references:
            from ..metrics.cache import cached_array

            encoder = self.encoder(name)
            self._encoder_references[key] = cached_array(
                "heldout-features", {"dataset_hash": data.content_hash, **encoder.identity()},
                lambda: encoder.encode(data.heldout_images))
        return self._encoder_references[key]

    def encoder_features(self, ref: RunRef, name: str) -> np.ndarray:
        """``name``'s features of the run's samples, row i for sample i (cached per (run, encoder):
        in memory, and on disk for encoders with weights, keyed by the samples file's hash)."""
        key = (ref.run_dir, name)
        if key not in self._encoded:
            from ..runs.records import SAMPLES_FILE, load_samples

            images = load_samples(ref.run_dir)  # read again (not kept: colour runs are large)
            encoder = self.encoder(name)
            if encoder.needs_weights:
                from ..fileio import sha256_file
                from ..metrics.cache import cached_array

                self._encoded[key] = cached_array(
                    "sample-features", {"samples_sha256": sha256_file(ref.run_dir / SAMPLES_FILE),
                                        **encoder.identity()}, lambda: encoder.encode(images))
            else:
                self._encoded[key] = encoder.encode(images)
        return self._encoded[key]

    def from_images(self, images: np.ndarray, setting: Setting) -> SampleSet:
        """Per-sample data of uint8 N x H x W (x C) ``images`` judged against ``setting``'s dataset."""
        features = classes = memorised = None
        if self.feature_skip_reason(setting) is None:
            features, probs = self.network.embed(images)
            classes = probs.argmax(axis=1)
        if self.memorisation:
            from ..metrics.nearest import MEMORISED_BELOW, nearest_train

            memorised = nearest_train(images, self.dataset(setting).train_images).ratio < MEMORISED_BELOW
        return SampleSet(features, classes, memorised, int(len(images)))


def load_all(refs: list[RunRef], source: SampleSource, warn: Callable[[str], None]) -> dict[Path, SampleSet]:
    """Per-sample data of every run that has readable samples; the others are reported and left out."""
    out = {}
    for ref in refs:
        try:
            out[ref.run_dir] = source.load(ref)
        except DenoisebenchError as exc:
            if "other data" in str(exc):
                raise
            warn(f"ignoring {exc}")
    return out
