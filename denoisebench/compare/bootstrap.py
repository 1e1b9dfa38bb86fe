"""The paired bootstrap: every metric of every (entry, seed) on the same resamples.

Sample i of two entries at the same seed starts from the same noise, so their sample sets are
paired row by row. One bootstrap replicate b draws, for each seed, one set of N sample indices
(with replacement) that every entry at that seed uses, and one resample of the held-out reference
set that every entry and seed uses. A metric's replicate for (entry, seed, b) is the metric of the
resampled rows; the difference of two entries' replicates is then a draw of their paired difference.

The resamples of seed s depend only on (bootstrap seed, s), so an entry's replicates do not change
when other entries or seeds are added. With ``resample_reference=False`` the reference set is held
fixed: the interval then covers the generation noise only, conditional on this held-out set; it
is narrower, and more seeds keep narrowing it (the reference set's own sampling noise, which more
seeds cannot remove, is left out).

Values on the full sets use the project's metric functions (pytorch-fid's sqrtm for the FID-proxy,
the unbiased KID-proxy on the whole sets); replicates use the same formulas (eigh for the matrix
square root; kernel sums weighted by resample counts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..metrics.classifier_view import entropy_bits
from ..metrics.frechet import fid, frechet_distance_eigh, gaussian_stats
from ..metrics.kid import kid, polynomial_kernel
from .samples import SampleSet


@dataclass(frozen=True)
class MetricSpec:
    """A metric a comparison can decide on."""

    key: str
    title: str
    lower_is_better: bool
    fmt: str
    headline: bool = False  # ranked and plotted on the leaderboard
    metric: Any = None  # the declaring Metric class of a plugin's paired metric (generic bootstrap)
    closer_to_zero: bool = False  # a signed metric: |value| decides (lower_is_better must be True)


#: The builtin metrics' vectorised bootstrap paths (below), by their comparison keys.
BUILTIN_METRICS: dict[str, MetricSpec] = {
    "fid": MetricSpec("fid", "FID-proxy", True, "{:.3f}", headline=True),
    "kid": MetricSpec("kid", "KID-proxy", True, "{:.5f}", headline=True),
    "entropy": MetricSpec("entropy", "class entropy (bits)", False, "{:.4f}"),
    "memorised": MetricSpec("memorised", "memorised share", True, "{:.4f}"),
}


def declared_spec(metric: Any) -> MetricSpec | None:
    """A registered metric's comparison spec, read from its declaration (None: it is not paired)."""
    column = metric.decision_column() if getattr(metric, "pairing", None) == "features" else None
    if column is None:
        return None
    return MetricSpec(metric.name, column.header, column.better == "min", "{:.%df}" % max(column.digits, 3),
                      headline=column.headline, metric=metric)


class _Metrics(Mapping[str, MetricSpec]):
    """The metrics a comparison can decide on: the builtins, then every registered metric that
    declares ``pairing = "features"`` (read from the registry when first asked)."""

    def _all(self) -> dict[str, MetricSpec]:
        out = dict(BUILTIN_METRICS)
        try:
            from ..plugins import get_registry

            metrics = [cls for cls, _info in get_registry().metrics.values()]
        except Exception:  # noqa: BLE001 - comparing stored runs must not depend on plugins loading
            metrics = []
        for cls in metrics:
            spec = declared_spec(cls)
            if spec is not None and spec.key not in out:
                out[spec.key] = spec
        return out

    def __getitem__(self, key: str) -> MetricSpec:
        return self._all()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


METRICS: Mapping[str, MetricSpec] = _Metrics()


@dataclass(frozen=True)
class ResamplePlan:
    """Bootstrap indices: ``reference`` (B x M) shared by all, ``samples[seed]`` (B x N) per seed."""

    reference: np.ndarray
    samples: dict[int, np.ndarray]
    reference_fixed: bool = False

    @property
    def n_bootstrap(self) -> int:
        return int(self.reference.shape[0])


def make_plan(seeds: list[int], n: int, m: int, n_bootstrap: int, seed: int = 0,
              resample_reference: bool = True) -> ResamplePlan:
    """Resample indices for ``seeds`` (N samples each) and a reference set of M (or its identity)."""
    if resample_reference:
        ref = np.random.default_rng([seed, 2**31]).integers(0, m, (n_bootstrap, m))
    else:
        ref = np.broadcast_to(np.arange(m), (n_bootstrap, m))
    samples = {s: np.random.default_rng([seed, s]).integers(0, n, (n_bootstrap, n)) for s in seeds}
    return ResamplePlan(ref, samples, reference_fixed=not resample_reference)


def counts(indices: np.ndarray, size: int) -> np.ndarray:
    """B x size float counts of each index in each row of B x K ``indices``."""
    b = indices.shape[0]
    flat = (indices + size * np.arange(b)[:, None]).ravel()
    return np.bincount(flat, minlength=b * size).reshape(b, size).astype(np.float64)


def _unbiased_pair_sums(kernel: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per row of counts ``w``: the sum of kernel values over pairs of distinct positions."""
    return ((w @ kernel) * w).sum(axis=1) - w @ np.diag(kernel)


class ReferenceReplicates:
    """The reference set's side of each replicate, computed once and shared by every entry."""

    def __init__(self, reference: np.ndarray | None, plan: ResamplePlan, metrics: list[str]) -> None:
        if reference is None:  # no features for this dataset: only memorisation is compared
            metrics = [m for m in metrics if not needs_features(m)]
        self.reference = np.zeros((plan.reference.shape[1], 0)) if reference is None else np.asarray(reference, np.float64)
        self.plan = plan
        m = len(self.reference)
        self.stats = []
        if "fid" in metrics:
            self.stats = ([gaussian_stats(self.reference)] * plan.n_bootstrap if plan.reference_fixed
                          else [gaussian_stats(self.reference[idx]) for idx in plan.reference])
        self.v = counts(plan.reference, m) if "kid" in metrics else None
        if self.v is not None:
            self.kid_rr = _unbiased_pair_sums(polynomial_kernel(self.reference, self.reference), self.v) / (m * (m - 1))


def needs_features(metric: str) -> bool:
    """Whether the comparison metric is computed from the classifier's features or classes."""
    return metric != "memorised"


def metric_value(sample: SampleSet, reference: np.ndarray, metric: str) -> float:
    """The metric of the whole sample set."""
    if metric == "fid":
        return fid(sample.features, reference)
    if metric == "kid":
        return kid(sample.features, reference)
    if metric == "entropy":
        return entropy_bits(np.bincount(sample.classes, minlength=10))
    if metric == "memorised":
        if sample.memorised is None:
            raise ValueError("memorisation was not computed for this sample set")
        return float(np.mean(sample.memorised))
    spec = METRICS[metric]
    return float(spec.metric.paired_value(sample.features, reference))


def metric_replicates(sample: SampleSet, ref: ReferenceReplicates, indices: np.ndarray, metric: str) -> np.ndarray:
    """The metric on each of the B resamples ``indices`` (B x N) of ``sample``."""
    n = len(sample)
    if metric == "fid":
        return np.array([frechet_distance_eigh(*ref_stats, *gaussian_stats(sample.features[idx]))
                         for ref_stats, idx in zip(ref.stats, indices)])
    w = counts(indices, n)
    if metric == "kid":
        assert ref.v is not None
        x = np.asarray(sample.features, np.float64)
        m = len(ref.reference)
        xx = _unbiased_pair_sums(polynomial_kernel(x, x), w) / (n * (n - 1))
        xr = ((w @ polynomial_kernel(x, ref.reference)) * ref.v).sum(axis=1) / (n * m)
        return xx + ref.kid_rr - 2 * xr
    if metric == "entropy":
        hist = w @ np.eye(max(10, int(sample.classes.max()) + 1))[sample.classes]
        return np.array([entropy_bits(h) for h in hist])
    if metric == "memorised":
        if sample.memorised is None:
            raise ValueError("memorisation was not computed for this sample set")
        return w @ sample.memorised.astype(np.float64) / n
    spec = METRICS[metric]  # a plugin's paired metric: its declared function on each resample
    return np.array([float(spec.metric.paired_value(sample.features[idx], ref.reference[ref_idx]))
                     for idx, ref_idx in zip(indices, ref.plan.reference)])


@dataclass(frozen=True)
class EntryMetrics:
    """One (entry, seed)'s metric on the full set and on each replicate."""

    value: float
    replicates: np.ndarray


def bootstrap_entries(sets: dict[tuple[str, int], SampleSet], reference: np.ndarray | None, metrics: list[str],
                      n_bootstrap: int = 1000, seed: int = 0, progress: Callable[[str], None] | None = None,
                      resample_reference: bool = True) -> dict[tuple[str, int, str], EntryMetrics]:
    """Values and replicates of every metric for every (entry, seed) of one setting (all the same N).

    With ``reference`` None (the classifier cannot read this dataset's images) and for sample sets
    without features, only the memorised share is compared."""
    sizes = {len(s) for s in sets.values()}
    if len(sizes) != 1:
        raise ValueError(f"sample sets of one setting must have the same N, got {sorted(sizes)}")
    plan = make_plan(sorted({s for _e, s in sets}), sizes.pop(), 1 if reference is None else len(reference),
                     n_bootstrap, seed, resample_reference)
    ref = ReferenceReplicates(reference, plan, metrics)
    out = {}
    for k, ((entry, s), sample) in enumerate(sorted(sets.items())):
        if progress is not None:
            progress(f"bootstrap {k + 1}/{len(sets)}: {entry}, seed {s}")
        for metric in metrics:
            if metric == "memorised" and sample.memorised is None:
                continue
            if needs_features(metric) and (reference is None or sample.features is None):
                continue
            out[(entry, s, metric)] = EntryMetrics(metric_value(sample, reference, metric),
                                                   metric_replicates(sample, ref, plan.samples[s], metric))
    return out
