"""``evaluate``: every registered metric of a set of generated digits, against the held-out split.

The layout of the returned object (run.json's ``metrics``)::

    schema, n, seed, reference, dataset, feature_network, feature_network_sha256,
    <metric name>: its result (null when skipped or failed), for every metric,
    <metric name>_heldout: its value for the held-out digits (metrics whose floor is "held-out"),
    floor: {n, source, <metric name>: ..., skipped, cache_key} (metrics whose floor is "train subset"),
    skipped: ["<metric>: <reason>"], failed: ["<metric>: <error>"] (only when some failed),
    declared: {<metric name>: its declared metadata and plugin}, timing_s: seconds per piece and metric.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..datasets.base import ImageDataset, check_image_array, image_shape_of
from ..errors import DenoisebenchError
from ..interfaces.catalogue import Catalogue, default_catalogue
from .base import HELDOUT_SUFFIX, Metric, MetricSkipped
from .evaluation import Evaluation, EvaluationSettings
from .floor import FLOOR_SOURCE, floor_key, heldout_value, train_subset_value
from .per_encoder import CLASSIFIER, for_encoder

SCHEMA = 1
PRDC_K = 5


def registered_metrics(catalogue: Catalogue | None = None) -> list[tuple[type[Metric], dict[str, str]]]:
    """Every metric class of ``catalogue`` (default: the plugin registry) with its plugin facts, in
    registration order (builtins first)."""
    return [(cls, {"plugin": info.plugin, "distribution": info.distribution, "version": info.version})
            for cls, info in (catalogue or default_catalogue()).metrics.values()]


def _with_plugin_facts(metrics: Sequence[type[Metric]],
                       catalogue: Catalogue | None = None) -> list[tuple[type[Metric], dict[str, str]]]:
    known = {cls: facts for cls, facts in registered_metrics(catalogue)}
    unregistered = {"plugin": "(not registered)", "distribution": "?", "version": "?"}
    return [(cls, known.get(cls, unregistered)) for cls in metrics]


class _Scorer:
    """Runs one metric on one evaluation: times it, turns a skip into a reason and an error into a warning."""

    def __init__(self, warn: Callable[[str], None]) -> None:
        self.warn = warn
        self.skipped: dict[str, list[str]] = {}  # per evaluation role
        self.failed: list[str] = []

    def __call__(self, metric: type[Metric], evaluation: Evaluation) -> dict[str, Any] | None:
        pieces_before = sum(evaluation.timing.values())
        start = time.perf_counter()
        try:
            result = metric().compute(evaluation)
            if result is not None:
                json.dumps(result)  # refuse what run.json could not hold, here and named
        except MetricSkipped as exc:
            self.skipped.setdefault(evaluation.role, []).append(f"{metric.name}: {exc}")
            return None
        except Exception as exc:  # noqa: BLE001 - a broken metric must not lose the others
            where = f" ({evaluation.role} digits)" if evaluation.role else ""
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
            self.failed.append(f"{metric.name}{where}: {reason}")
            self.warn(f"metric {metric.name!r}{where} failed and is recorded as null: {reason}")
            return None
        finally:
            # the metric's own seconds: shared pieces it triggered are timed under their own names
            elapsed = time.perf_counter() - start - (sum(evaluation.timing.values()) - pieces_before)
            key = f"{evaluation.role}: {metric.name}" if evaluation.role else metric.name
            evaluation.timing[key] = round(evaluation.timing.get(key, 0.0) + max(elapsed, 0.0), 3)
        if result is not None and not isinstance(result, dict):
            result = {"value": result}
        return result


def _per_encoder(chosen: list[tuple[type[Metric], dict[str, str]]], base: Evaluation,
                 encoders: Sequence[Any] | None) -> tuple[list[tuple[type[Metric], dict[str, str]]],
                                                          dict[type[Metric], Evaluation]]:
    """Each feature metric once per encoder (classifier: its own name), with the evaluation it reads."""
    if encoders is None:
        return chosen, {cls: base for cls, _facts in chosen}
    out: list[tuple[type[Metric], dict[str, str]]] = []
    spaces: dict[type[Metric], Evaluation] = {}
    views = {enc.name: (base if enc.name == CLASSIFIER else base.with_encoder(enc)) for enc in encoders}
    for cls, facts in chosen:
        if not cls.uses_features:
            out.append((cls, facts))
            spaces[cls] = base
            continue
        for name, view in views.items():
            derived = for_encoder(cls, name)
            out.append((derived, facts))
            spaces[derived] = view
    return out, spaces


def _warner(progress: Callable[[str], None] | None) -> Callable[[str], None]:
    if progress is not None:
        return lambda msg: progress(f"Warning: {msg}")
    return lambda msg: warnings.warn(msg, RuntimeWarning, stacklevel=4)


def _unsupported(chosen: list[tuple[type[Metric], dict[str, str]]], dataset: ImageDataset,
                 score: _Scorer) -> dict[str, str | None]:
    """Metric name -> why it cannot read ``dataset``'s images (its own :meth:`Metric.skip_reason`), for
    the metrics that cannot; a ``skip_reason`` that raises marks its metric failed (reason None)."""
    out: dict[str, str | None] = {}
    for cls, _facts in chosen:
        try:
            reason = cls.skip_reason(dataset)
        except Exception as exc:  # noqa: BLE001 - a broken declaration must not lose the other metrics
            text = f"skip_reason raised {type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}".rstrip(": ")
            score.failed.append(f"{cls.name}: {text}")
            score.warn(f"metric {cls.name!r} failed and is recorded as null: {text}")
            out[cls.name] = None
            continue
        if reason:
            out[cls.name] = str(reason)
    return out


def _shape_text(shape: tuple[int, ...]) -> str:
    return " x ".join(str(v) for v in shape)


def evaluate(images: np.ndarray, dataset: ImageDataset, *, seed: int = 0,
             progress: Callable[[str], None] | None = None, n_bootstrap: int = 50, kid_subsets_n: int = 100,
             k: int = PRDC_K, with_floor: bool = True, feature_weights: str | Path | None = None,
             metrics: Sequence[type[Metric]] | None = None, encoders: Sequence[Any] | None = None,
             encoder_skips: Sequence[str] = (), same_shape: bool = True,
             catalogue: Catalogue | None = None) -> dict[str, Any]:
    """Every metric of uint8 N x H x W (x C) ``images`` (JSON-serialisable), against the held-out split.

    A metric that declares it cannot read the dataset's images (:meth:`Metric.skip_reason`, e.g.
    the classifier-feature metrics on anything but 1 x 28 x 28) is not run: its value is null and
    its reason is listed in ``skipped``.

    ``metrics`` defaults to every metric of ``catalogue`` (the caller's registry; default: the
    plugin registry, :mod:`denoisebench.interfaces.catalogue`), which also gives their plugin facts.
    ``seed`` drives the bootstraps and subsets.
    ``with_floor=False`` skips the train-subset floor (held-out baselines are always computed).
    Floor values are read from the cache when present. A metric that raises is reported once
    (through ``progress``, else as a ``RuntimeWarning``) and recorded as null.
    ``encoders`` (Encoder instances; default: the pinned classifier only) are the feature spaces
    of the feature metrics: on the classifier they keep their names (``fid``), on any other encoder
    they are recorded as ``<metric>_<encoder>`` (:mod:`.per_encoder`). ``encoder_skips`` are the
    one-line reasons default encoders were left out (recorded in ``skipped``).
    """
    try:
        check_image_array(images, "images")
    except ValueError as exc:
        raise DenoisebenchError(f"evaluate needs a non-empty uint8 N x H x W (x C) array of images: {exc}") from None
    if len(images) < 1:
        raise DenoisebenchError("evaluate needs a non-empty uint8 N x H x W (x C) array of images, got none")
    if same_shape and image_shape_of(images) != dataset.image_shape:
        raise DenoisebenchError(f"images are {_shape_text(image_shape_of(images))} but dataset {dataset.id!r} has "
                                f"{_shape_text(dataset.image_shape)}: evaluate against the dataset they came from")
    chosen = registered_metrics(catalogue) if metrics is None else _with_plugin_facts(metrics, catalogue)
    settings = EvaluationSettings(n_bootstrap=n_bootstrap, kid_subsets=kid_subsets_n, prdc_k=k)
    base = Evaluation(images, dataset, seed=seed, settings=settings, feature_weights=feature_weights)
    chosen, spaces = _per_encoder(chosen, base, encoders)
    evaluation = base
    score = _Scorer(_warner(progress))
    unsupported = _unsupported(chosen, dataset, score)

    def say(what: str) -> None:
        if progress is not None:
            progress(f"metrics: {what} ...")

    net = evaluation.feature_network if evaluation.feature_sha256 else None
    result: dict[str, Any] = {
        "schema": SCHEMA, "n": evaluation.n, "seed": seed,
        "reference": {"split": "heldout", "n": evaluation.reference_size},
        "dataset": {"id": dataset.id, "hash": dataset.content_hash, "shape": list(dataset.image_shape)},
        "feature_network": net.describe() if net is not None else None,
        "feature_network_sha256": net.sha256 if net is not None else None,
    }
    if encoders is not None:
        result["encoders"] = {enc.name: enc.describe() for enc in encoders}
    for cls, _facts in chosen:
        if cls.name in unsupported:
            result[cls.name] = None
            continue
        say(cls.name)
        result[cls.name] = score(cls, spaces[cls])
    chosen_here = [(cls, facts) for cls, facts in chosen if cls.name not in unsupported]
    for cls, _facts in chosen_here:
        if cls.floor == "held-out":
            say(f"{cls.name} of held-out images")
            result[cls.name + HELDOUT_SUFFIX] = heldout_value(cls, spaces[cls], score)
    floor_metrics = [cls for cls, _facts in chosen_here if cls.floor == "train subset"]
    if with_floor and floor_metrics:
        say("real-vs-real floor")
        floor: dict[str, Any] = {"n": int(min(evaluation.n, len(dataset.train_images))), "source": FLOOR_SOURCE}
        for cls in floor_metrics:
            floor[cls.name] = train_subset_value(cls, spaces[cls], score)
        floor["skipped"] = score.skipped.get("floor", [])
        floor["cache_key"] = floor_key(evaluation)
        result["floor"] = floor
    result["skipped"] = ([f"{name}: {reason}" for name, reason in unsupported.items() if reason is not None]
                         + [*encoder_skips, *score.skipped.get("", [])])
    if score.failed:
        result["failed"] = score.failed
    result["declared"] = {cls.name: {**cls.declaration(), **facts} for cls, facts in chosen}
    result["timing_s"] = dict(evaluation.timing)
    return result
