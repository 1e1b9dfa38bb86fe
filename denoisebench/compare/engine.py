"""``compare_runs``: from run dirs to paired verdicts and rank groups, setting by setting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .bootstrap import METRICS, EntryMetrics, bootstrap_entries, needs_features
from .collect import RunRef, Setting, group_runs
from .paired import PairResult, Standing, compare_pairs, standings
from .samples import SampleSource, load_all


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


@dataclass(frozen=True)
class Comparison:
    """Every setting with at least two entries."""

    settings: list[SettingResult]
    metrics: list[str]
    n_bootstrap: int
    resample_reference: bool = True

    @property
    def pairs(self) -> list[PairResult]:
        return [p for s in self.settings for p in s.pairs]

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


def compare_runs(refs: list[RunRef], source: SampleSource, metrics: list[str] | None = None,
                 n_bootstrap: int = 1000, seed: int = 0, order: list[str] | None = None,
                 progress: Callable[[str], None] | None = None, warn: Callable[[str], None] | None = None,
                 resample_reference: bool = True) -> Comparison:
    """Paired comparisons of every pair of entries that share a setting and at least one seed.

    Settings and entries are configurations, not labels (:func:`~.collect.group_runs`): one label
    on two configurations is a ``warn``-ing, and they are compared as two entries.

    ``order`` fixes the entry order (a suite's); other entries follow alphabetically. With
    ``resample_reference=False`` the held-out reference set is held fixed in the bootstrap.
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
        if reference is None:
            left = [m for m in metrics if needs_features(m)]
            if left:
                warn(f"{setting.title()}: {', '.join(left)} not compared: "
                     f"{source.feature_skip_reason(setting)}")
        boot = bootstrap_entries(sets, reference, metrics, n_bootstrap, seed, progress, resample_reference)
        pairs: list[PairResult] = []
        ranked: dict[str, list[Standing]] = {}
        for metric in metrics:
            per_seed: dict[str, dict[int, EntryMetrics]] = {}
            for (e, s, m), value in boot.items():
                if m == metric:
                    per_seed.setdefault(e, {})[s] = value
            if len(per_seed) < 2:
                continue
            metric_pairs = compare_pairs(setting, metric, per_seed, entries, reference_resampled=resample_reference)
            pairs += metric_pairs
            ranked[metric] = standings(metric, per_seed, metric_pairs)
        results.append(SettingResult(setting, entries, {e: tuple(sorted(by_entry[e])) for e in entries}, pairs,
                                     ranked, {e: _mean_or_none([r.ms_per_image for r in by_entry[e].values()])
                                              for e in entries}))
    return Comparison(results, metrics, n_bootstrap, resample_reference)
