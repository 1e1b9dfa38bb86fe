"""The metric contract: ``check_metric("my-metric")`` in a plugin's own test suite.

The metric scores two sets of images of the dataset's shape: ``good`` (by default ``n`` real
held-out images drawn at random) and ``bad`` (by default the same images with their pixels shuffled:
the same grey levels, no structure). The checks:

* ``metadata``: a ``name`` without spaces, a one-line ``description``, a valid declaration
  (columns, ``better`` directions, ``floor``), ``depends_on_n`` a bool;
* ``compute``: ``compute(evaluation)`` returns a JSON-serialisable dict for both sets (or raises
  ``MetricSkipped`` with a reason: then the other checks are skipped, and listed as such);
* ``columns``: every declared column's ``path`` (and ``std_path``) leads to a value in the result;
* ``finite``: those values are finite numbers;
* ``direction``: for a column with a direction, the real images do not score strictly worse than
  the shuffled ones (``min``: lower, ``max``: higher, ``zero``: closer to 0 is better);
* ``n-dependence``: a metric that declares ``depends_on_n = False`` gives the same values (within
  ``n_rtol``) on the good images and on the good images each taken twice: it measures the set's
  make-up, not its size. (FID's bias, KID's estimator and PRDC's ball radii move; such metrics
  declare ``depends_on_n = True`` and are compared only between runs of equal N.)
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from ..datasets.base import DatasetOptions, ImageDataset
from ..metrics.base import Metric, MetricColumn, MetricSkipped
from ..runs.records import record_field
from .report import ContractReport, check_identity

METRIC_CHECKS = ("metadata", "compute", "columns", "finite", "direction", "n-dependence")


def _score(direction: str, value: float) -> float:
    """A number that is lower when ``value`` is better."""
    return {"min": value, "max": -value, "zero": abs(value)}[direction]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _compute(cls: type[Metric], images: np.ndarray, dataset: ImageDataset, seed: int, what: str,
             report: ContractReport) -> dict[str, Any] | None:
    from ..metrics.evaluation import Evaluation

    try:
        result = cls().compute(Evaluation(images, dataset, seed=seed))
    except MetricSkipped as exc:
        report.fail("compute", f"skipped the {what} ({exc}): pass images it can measure (good=, bad=, dataset=)")
        return None
    except Exception as exc:  # noqa: BLE001 - reported
        report.fail("compute", f"compute raised {type(exc).__name__} on the {what}: {exc}")
        return None
    if not isinstance(result, dict):
        report.fail("compute", f"compute returned {type(result).__name__} on the {what}, not a dict")
        return None
    try:
        json.dumps(result, allow_nan=True)
    except (TypeError, ValueError) as exc:
        report.fail("compute", f"the result on the {what} is not JSON-serialisable ({exc}): return plain floats, "
                    "ints, strings, lists and dicts (float(x) for numpy scalars)")
        return None
    return result


def _values(cls: type[Metric], result: dict[str, Any], what: str, report: ContractReport
            ) -> dict[str, tuple[float | None, float | None]]:
    """Each column's (value, std) from a result; failures of ``columns`` and ``finite`` reported."""
    out: dict[str, tuple[float | None, float | None]] = {}
    for column in cls.columns:
        got = []
        for label, path in (("path", column.path), ("std_path", column.std_path)):
            if path is None:
                got.append(None)
                continue
            raw = record_field(result, *path)
            if raw is None:
                report.fail("columns", f"column {column.key!r}: {label} {list(path)} leads to nothing in the result "
                            f"on the {what} (keys: {sorted(result)})")
                got.append(None)
                continue
            number = _number(raw)
            if number is None or not math.isfinite(number):
                report.fail("finite", f"column {column.key!r}: {label} {list(path)} holds {raw!r} on the {what}, "
                            "not a finite number")
                number = None
            got.append(number)
        out[column.key] = (got[0], got[1])
    return out


def _check_metadata(cls: type[Metric], report: ContractReport) -> None:
    check_identity(cls, report)
    try:
        cls.check_declaration()
    except Exception as exc:  # noqa: BLE001 - reported
        report.fail("metadata", str(exc))
    if not isinstance(cls.depends_on_n, bool):
        report.fail("metadata", f"depends_on_n must be True or False, got {cls.depends_on_n!r}")
    if not cls.columns:
        report.fail("metadata", "declare at least one MetricColumn: without columns no report shows the metric")


def _shuffled(images: np.ndarray, seed: int) -> np.ndarray:
    """Each image with its pixels permuted (per image, the same permutation for every channel)."""
    rng = np.random.default_rng(seed)
    flat = images.reshape(len(images), images.shape[1] * images.shape[2], -1)
    out = np.stack([im[rng.permutation(len(im))] for im in flat])
    return out.reshape(images.shape)


def _resolve_dataset(dataset: ImageDataset | str | None) -> ImageDataset:
    if isinstance(dataset, ImageDataset):
        return dataset
    from ..plugins import get_registry

    return get_registry().dataset(dataset or "mnist-5k").load(DatasetOptions())


def _resolve(metric: str | type[Metric]) -> type[Metric]:
    if isinstance(metric, str):
        from ..plugins import get_registry

        return get_registry().metric(metric)[0]
    if not (isinstance(metric, type) and issubclass(metric, Metric)):
        raise TypeError(f"check_metric takes a metric name or a Metric subclass, got {metric!r}")
    return metric


def check_metric(metric: str | type[Metric], dataset: ImageDataset | str | None = None, *,
                 good: np.ndarray | None = None, bad: np.ndarray | None = None, n: int = 128, seed: int = 0,
                 n_rtol: float = 1e-3, raise_on_failure: bool = True) -> ContractReport:
    """Check ``metric`` (a registered name or a ``Metric`` subclass) against the contract.

    ``dataset`` (default ``mnist-5k``) is what the images are judged against; ``good`` defaults to
    ``n`` of its held-out images drawn with ``seed``, ``bad`` to those images with shuffled pixels. Raises
    :class:`MetricContractError` listing every failed check unless ``raise_on_failure`` is False.
    """
    cls = _resolve(metric)
    report = ContractReport(getattr(cls, "name", repr(cls)), kind="metric")
    _check_metadata(cls, report)
    data = _resolve_dataset(dataset)
    if good is None:
        pick = np.random.default_rng(seed).permutation(len(data.heldout_images))[:n]
        good = data.heldout_images[np.sort(pick)]
    bad = _shuffled(good, seed + 1) if bad is None else bad
    results = {what: _compute(cls, images, data, seed, what, report)
               for what, images in (("good images", good), ("bad images", bad))}
    if any(r is None for r in results.values()):
        report.finish(METRIC_CHECKS, {"columns", "finite", "direction", "n-dependence"})
        return _done(report, raise_on_failure)
    values = {what: _values(cls, result, what, report) for what, result in results.items()}  # type: ignore[arg-type]
    _check_direction(cls.columns, values["good images"], values["bad images"], report)
    if not cls.depends_on_n:
        twice = _compute(cls, np.concatenate([good, good]), data, seed, "good images taken twice", report)
        if twice is not None:
            _check_n(cls, values["good images"], _values(cls, twice, "good images taken twice", report), len(good),
                     n_rtol, report)
    report.finish(METRIC_CHECKS)
    return _done(report, raise_on_failure)


def _check_direction(columns: tuple[MetricColumn, ...], good: dict[str, tuple[float | None, float | None]],
                     bad: dict[str, tuple[float | None, float | None]], report: ContractReport) -> None:
    for column in columns:
        g, b = good[column.key][0], bad[column.key][0]
        if column.better is None or g is None or b is None:
            continue
        if _score(column.better, g) > _score(column.better, b) + 1e-12 * max(1.0, abs(g), abs(b)):
            words = {"min": "lower", "max": "higher", "zero": "closer to 0"}[column.better]
            report.fail("direction", f"column {column.key!r} declares better={column.better!r} ({words} is better) "
                        f"but real images scored {g:.4g} and noise {b:.4g}: check the sign or the declaration")


def _check_n(cls: type[Metric], full: dict[str, tuple[float | None, float | None]],
             twice: dict[str, tuple[float | None, float | None]], n: int, n_rtol: float,
             report: ContractReport) -> None:
    for column in cls.columns:
        a, b = full[column.key][0], twice[column.key][0]
        if a is None or b is None:
            continue
        if abs(a - b) > n_rtol * max(abs(a), abs(b)) + 1e-12:
            report.fail("n-dependence", f"column {column.key!r} is {a:.6g} on {n} images but {b:.6g} on the same "
                        f"images each taken twice: declare depends_on_n = True if its value depends on N")


def _done(report: ContractReport, raise_on_failure: bool) -> ContractReport:
    if raise_on_failure:
        report.raise_for_failures()
    return report
