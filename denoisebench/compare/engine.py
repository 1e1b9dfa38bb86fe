"""``compare_runs``: from run dirs to paired verdicts and rank groups, setting by setting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..encoders import CLASSIFIER
from ..errors import DenoisebenchError
from .across import Across, across_encoders, pair_key
from .bootstrap import METRICS, EntryMetrics, SampleSet, bootstrap_entries, needs_features
from .collect import RunRef, Setting, group_runs
from .paired import PairResult, Standing, compare_pairs, standings
from .samples import SampleSource, load_all

PIXELS = "pixels"
#: Metrics left out on ``pixels`` when it is only a default (not named with ``--encoder``): FD in
#: C*H*W dimensions costs a d x d covariance and eigendecomposition per replicate (measured at 784-d,
#: N = 1,000, one thread: ~0.2 s per replicate, minutes per run at 1,000 replicates; KD on pixels:
#: 0.3 s per run for all 1,000) and its covariance from N <= 1,000 samples is rank-deficient.
PIXEL_DEFAULT_SKIPS = ("fid",)


def encoder_metric(metric: str) -> bool:
    """Whether ``metric`` is computed on an encoder's features (FD, KD, any plugin's paired metric),
    i.e. can be decided per encoder; the class entropy (the classifier's classes) and the memorised
    share (pixel-space nearest neighbours) are not."""
    return needs_features(metric) and metric != "entropy"


@dataclass(frozen=True)
class SettingResult:
    """All comparisons of one setting."""

    setting: Setting
    entries: list[str]
    seeds: dict[str, tuple[int, ...]]
    pairs: list[PairResult]
    standings: dict[str, list[Standing]]
    ms_per_image: dict[str, float | None] = field(default_factory=dict)  # sampling cost, mean over seeds
    #: False when the runs' samples were not kept: values are the ones their run.json recorded, no verdicts.
    paired: bool = True
    #: Every encoder's pairs (``pairs`` holds the primary encoder's: the first that scored a metric).
    encoder_pairs: list[PairResult] = field(default_factory=list)
    #: The encoders compared on, in order (the first is the primary one).
    encoders: tuple[str, ...] = ()

    @property
    def all_pairs(self) -> list[PairResult]:
        """Every pair on every encoder (the primary encoder's first), plus the non-feature metrics'."""
        return self.encoder_pairs or self.pairs

    @property
    def across(self) -> dict[tuple[Setting, str, str, str], Across]:
        """(setting, metric, a, b) -> how the encoders decided it."""
        return across_encoders(self.all_pairs)

    def across_of(self, pair: PairResult) -> Across | None:
        """The cross-encoder summary of ``pair`` (None for a metric not computed on encoders)."""
        return self.across.get(pair_key(pair)) if pair.encoder is not None else None


@dataclass(frozen=True)
class Comparison:
    """Every setting with at least two entries."""

    settings: list[SettingResult]
    metrics: list[str]
    n_bootstrap: int
    resample_reference: bool = True

    @property
    def pairs(self) -> list[PairResult]:
        """The primary encoder's pairs (one per (setting, metric, a, b))."""
        return [p for s in self.settings for p in s.pairs]

    @property
    def all_pairs(self) -> list[PairResult]:
        """Every encoder's pairs: one per (setting, metric, encoder, a, b)."""
        return [p for s in self.settings for p in s.all_pairs]

    def settings_by_key(self) -> dict[Setting, SettingResult]:
        return {r.setting: r for r in self.settings}


def _mean_or_none(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None


def recorded_result(setting: Setting, by_entry: dict[str, dict[int, RunRef]], metrics: list[str]) -> SettingResult:
    """A setting whose runs kept no samples: each entry's recorded metric values (mean and seed sd
    over its seeds), no pairs and no verdicts (every rank 1: nothing separates them)."""
    entries = sorted(by_entry)
    ranked: dict[str, list[Standing]] = {}
    for metric in metrics:
        rows = []
        for entry in entries:
            values = {s: dict(r.recorded)[metric] for s, r in by_entry[entry].items() if metric in dict(r.recorded)}
            if values:
                v = [values[s] for s in sorted(values)]
                rows.append(Standing(entry, float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else None,
                                     tuple(sorted(values)), 1, ()))
        if len(rows) > 1:
            sign = 1.0 if METRICS[metric].lower_is_better else -1.0
            ranked[metric] = sorted(rows, key=lambda r: (sign * r.value, r.entry))
    return SettingResult(setting, entries, {e: tuple(sorted(by_entry[e])) for e in entries}, [], ranked,
                         {e: _mean_or_none([r.ms_per_image for r in by_entry[e].values()]) for e in entries},
                         paired=False)


def encoder_plan(setting: Setting, refs: list[RunRef], source: SampleSource, metrics: list[str],
                 encoders: list[str] | None, warn: Callable[[str], None]) -> list[tuple[str, list[str]]]:
    """(encoder, its metrics) to compare ``setting`` on, the primary encoder first.

    Named ``encoders``: those, all feature metrics on each (one that cannot read the setting's
    images is left out with a warning; missing weights are an error). Default: the classifier (where
    it reads the images), then every encoder the runs' evaluations recorded, then ``pixels`` without
    :data:`PIXEL_DEFAULT_SKIPS`; defaults that cannot run are left out with a warning.
    """
    feature_metrics = [m for m in metrics if encoder_metric(m)]
    if not feature_metrics:
        return []
    if encoders:
        names, explicit = list(dict.fromkeys(encoders)), True
    else:
        recorded = [name for ref in refs for name in ref.encoders]
        names, explicit = list(dict.fromkeys([CLASSIFIER, *recorded, PIXELS])), False
    plan = []
    for name in names:
        if name == CLASSIFIER and source.feature_skip_reason(setting) is None:
            problem = None
        else:
            problem = source.encoder_problem(setting, name)
        if problem is not None:
            if explicit and "weights file" in problem:
                raise DenoisebenchError(problem)
            if explicit or name != CLASSIFIER:  # the classifier's own skip is reported below, as before
                warn(f"{setting.title()}: encoder {name} left out: {problem}")
            continue
        chosen = [m for m in feature_metrics if explicit or name != PIXELS or m not in PIXEL_DEFAULT_SKIPS]
        if chosen:
            plan.append((name, chosen))
    return plan


def _per_seed(boot: dict[tuple[str, int, str], EntryMetrics], metric: str) -> dict[str, dict[int, EntryMetrics]]:
    per_seed: dict[str, dict[int, EntryMetrics]] = {}
    for (e, s, m), value in boot.items():
        if m == metric:
            per_seed.setdefault(e, {})[s] = value
    return per_seed


def compare_runs(refs: list[RunRef], source: SampleSource, metrics: list[str] | None = None,
                 n_bootstrap: int = 1000, seed: int = 0, order: list[str] | None = None,
                 progress: Callable[[str], None] | None = None, warn: Callable[[str], None] | None = None,
                 resample_reference: bool = True, encoders: list[str] | None = None) -> Comparison:
    """Paired comparisons of every pair of entries that share a setting and at least one seed.

    Settings and entries are configurations, not labels (:func:`~.collect.group_runs`): one label
    on two configurations is a ``warn``-ing, and they are compared as two entries.

    ``order`` fixes the entry order (a suite's); other entries follow alphabetically. With
    ``resample_reference=False`` the held-out reference set is held fixed in the bootstrap.
    Feature metrics are decided on each of ``encoders`` (default: :func:`encoder_plan`), every
    encoder on the same bootstrap resamples of sample indices and reference rows.
    """
    metrics = list(metrics or METRICS)
    if not source.memorisation and "memorised" in metrics:
        metrics.remove("memorised")
    warn = warn or (lambda _msg: None)
    groups = group_runs(refs, warn)
    wanted = [ref for by_entry in groups.values() if len(by_entry) > 1
              for by_seed in by_entry.values() for ref in by_seed.values()]
    if progress is not None:
        progress(f"features of {len(wanted)} runs")
    loaded = load_all(wanted, source, warn)
    results = []
    for setting in sorted(groups, key=Setting.sort_key):
        by_entry = {e: {s: r for s, r in seeds.items() if r.run_dir in loaded}
                    for e, seeds in groups[setting].items()}
        by_entry = {e: seeds for e, seeds in by_entry.items() if seeds}
        if len(by_entry) < 2:
            continue
        rank = {e: i for i, e in enumerate(order or [])}
        entries = sorted(by_entry, key=lambda e: (rank.get(e, len(rank)), e))
        sets = {(e, s): loaded[r.run_dir] for e, seeds in by_entry.items() for s, r in seeds.items()}
        if progress is not None:
            progress(f"{setting.title()}: {len(entries)} entries, {len(sets)} runs")
        reference = source.reference(setting)
        setting_refs = [r for seeds in by_entry.values() for r in seeds.values()]
        plan = encoder_plan(setting, setting_refs, source, metrics, encoders, warn)
        if reference is None:
            left = [m for m in metrics if needs_features(m) and not any(m in ms for _e, ms in plan)]
            if left:
                warn(f"{setting.title()}: {', '.join(left)} not compared: "
                     f"{source.feature_skip_reason(setting)}")
        all_pairs: list[PairResult] = []
        ranked: dict[str, list[Standing]] = {}

        def decide(boot: dict[tuple[str, int, str], EntryMetrics], metric: str, encoder: str | None) -> None:
            per_seed = _per_seed(boot, metric)
            if len(per_seed) < 2:
                return
            metric_pairs = compare_pairs(setting, metric, per_seed, entries, reference_resampled=resample_reference,
                                         encoder=encoder)
            all_pairs.extend(metric_pairs)
            if metric not in ranked:  # the primary encoder ranks
                ranked[metric] = standings(metric, per_seed, metric_pairs)

        for encoder, encoder_metrics in plan:
            if encoder == CLASSIFIER:
                enc_sets, enc_reference = sets, reference
            else:
                if progress is not None:
                    progress(f"{setting.title()}: features of {encoder}")
                enc_reference = source.encoder_reference(setting, encoder)
                enc_sets = {(e, s): SampleSet(source.encoder_features(r, encoder), None, None, len(sets[(e, s)]))
                            for e, seeds in by_entry.items() for s, r in seeds.items()}
            if progress is not None:
                progress(f"{setting.title()}: bootstrap on {encoder}")
            boot = bootstrap_entries(enc_sets, enc_reference, encoder_metrics, n_bootstrap, seed, progress,
                                     resample_reference)
            for metric in encoder_metrics:
                decide(boot, metric, encoder)
        others = [m for m in metrics if not encoder_metric(m)]
        if others:
            boot = bootstrap_entries(sets, reference, others, n_bootstrap, seed, progress, resample_reference)
            for metric in others:
                decide(boot, metric, CLASSIFIER if metric == "entropy" else None)
        order_of = {m: i for i, m in enumerate(metrics)}
        all_pairs.sort(key=lambda p: order_of[p.metric])  # stable: the encoders' order within a metric
        primary = []
        seen: set[tuple[str, str, str]] = set()
        for p in all_pairs:
            if (p.metric, p.a, p.b) not in seen:
                seen.add((p.metric, p.a, p.b))
                primary.append(p)
        ranked = {m: ranked[m] for m in sorted(ranked, key=order_of.__getitem__)}
        results.append(SettingResult(setting, entries, {e: tuple(sorted(by_entry[e])) for e in entries}, primary,
                                     ranked, {e: _mean_or_none([r.ms_per_image for r in by_entry[e].values()])
                                              for e in entries}, encoder_pairs=all_pairs,
                                     encoders=tuple(name for name, _m in plan)))
    return Comparison(results, metrics, n_bootstrap, resample_reference)
