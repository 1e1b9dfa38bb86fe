"""Paired differences with a 95% interval, verdicts, and rank groups with ties.

For entries a and b at their common seeds S: diff = mean over s in S of (metric(a, s) -
metric(b, s)) on the full sets; each bootstrap replicate gives the same mean over the resampled
sets, and the interval is the 2.5th and 97.5th percentile of those replicate differences (a
bootstrap stratified by seed, the reference set resampled once per replicate). The verdict is
``tied`` when the interval contains 0, else the entry the metric favours is ``better``.

An entry's rank is 1 + the number of entries that beat it; its group is itself and the entries
it is tied with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .bootstrap import METRICS, EntryMetrics
from .collect import Setting

A_BETTER, B_BETTER, TIED = "a better", "b better", "tied"


@dataclass(frozen=True)
class PairResult:
    """The paired comparison of entries ``a`` and ``b`` on one metric in one setting."""

    setting: Setting
    metric: str
    a: str
    b: str
    a_value: float
    b_value: float
    diff: float
    ci_low: float
    ci_high: float
    verdict: str
    seeds: tuple[int, ...]
    n_bootstrap: int
    level: float = 0.95
    reference_resampled: bool = True
    #: The encoder whose features the metric was computed on (None: not a feature metric, e.g. memorised).
    encoder: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON object of this comparison."""
        return {"a": self.a, "b": self.b, "metric": self.metric, "encoder": self.encoder, "diff": self.diff,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high, "verdict": self.verdict, "a_value": self.a_value, "b_value": self.b_value,
                **self.setting.describe(), "seeds": list(self.seeds), "n_bootstrap": self.n_bootstrap,
                "level": self.level, "lower_is_better": METRICS[self.metric].lower_is_better,
                "reference": "resampled" if self.reference_resampled else "fixed"}


@dataclass(frozen=True)
class Standing:
    """An entry's place for one metric in one setting."""

    entry: str
    value: float  # mean over its seeds
    spread: float | None  # std over its seeds (ddof 1), None with one seed
    seeds: tuple[int, ...]
    rank: int
    tied_with: tuple[str, ...]


def verdict(ci_low: float, ci_high: float, lower_is_better: bool) -> str:
    """'tied' when [ci_low, ci_high] contains 0, else which of a and b the metric favours."""
    if ci_low <= 0.0 <= ci_high:
        return TIED
    a_lower = ci_high < 0.0
    return A_BETTER if a_lower == lower_is_better else B_BETTER


def paired_difference(a: list[EntryMetrics], b: list[EntryMetrics], lower_is_better: bool,
                      level: float = 0.95, closer_to_zero: bool = False) -> tuple[float, float, float, str]:
    """(diff, ci_low, ci_high, verdict) of a - b from per-seed metrics listed in the same seed order.

    For a metric where closer to zero is better the difference is |a| - |b| (lower is better).
    """
    if not a or len(a) != len(b):
        raise ValueError("a paired difference needs the same seeds, at least one, on both sides")
    f = np.abs if closer_to_zero else (lambda v: v)
    diff = float(np.mean([f(x.value) - f(y.value) for x, y in zip(a, b)]))
    reps = np.mean([f(x.replicates) - f(y.replicates) for x, y in zip(a, b)], axis=0)
    tail = 100 * (1 - level) / 2
    low, high = (float(v) for v in np.percentile(reps, [tail, 100 - tail]))
    return diff, low, high, verdict(low, high, lower_is_better)


def compare_pairs(setting: Setting, metric: str, per_seed: dict[str, dict[int, EntryMetrics]],
                  order: list[str], level: float = 0.95, reference_resampled: bool = True,
                  encoder: str | None = None) -> list[PairResult]:
    """Every pair (a before b in ``order``) with at least one common seed."""
    spec = METRICS[metric]
    out = []
    for i, a in enumerate(order):
        for b in order[i + 1:]:
            common = sorted(set(per_seed.get(a, {})) & set(per_seed.get(b, {})))
            if not common:
                continue
            xa = [per_seed[a][s] for s in common]
            xb = [per_seed[b][s] for s in common]
            diff, low, high, v = paired_difference(xa, xb, spec.lower_is_better, level, spec.closer_to_zero)
            out.append(PairResult(setting, metric, a, b, float(np.mean([x.value for x in xa])),
                                  float(np.mean([x.value for x in xb])), diff, low, high, v, tuple(common),
                                  int(len(xa[0].replicates)), level, reference_resampled, encoder))
    return out


def standings(metric: str, per_seed: dict[str, dict[int, EntryMetrics]], pairs: list[PairResult]) -> list[Standing]:
    """Entries ranked with ties, best first (pairs without a common seed count as ties)."""
    beaten_by: dict[str, set[str]] = {e: set() for e in per_seed}
    separated: dict[str, set[str]] = {e: set() for e in per_seed}
    for p in pairs:
        if p.verdict == TIED:
            continue
        winner, loser = (p.a, p.b) if p.verdict == A_BETTER else (p.b, p.a)
        beaten_by[loser].add(winner)
        separated[p.a].add(p.b)
        separated[p.b].add(p.a)
    sign = 1.0 if METRICS[metric].lower_is_better else -1.0
    rows = []
    for entry, seeds in per_seed.items():
        values = [seeds[s].value for s in sorted(seeds)]
        rows.append(Standing(entry, float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else None,
                             tuple(sorted(seeds)), 1 + len(beaten_by[entry]),
                             tuple(sorted(e for e in per_seed if e != entry and e not in separated[entry]))))
    magnitude = abs if METRICS[metric].closer_to_zero else (lambda v: v)
    return sorted(rows, key=lambda r: (r.rank, sign * magnitude(r.value), r.entry))
