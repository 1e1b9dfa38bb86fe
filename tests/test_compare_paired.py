"""The paired bootstrap on constructed feature sets: closed-form differences, pairing, ties, ranks."""

from __future__ import annotations

import numpy as np
import pytest

from denoisebench.compare import A_BETTER, B_BETTER, TIED, EntryMetrics, SampleSet, Setting, bootstrap_entries
from denoisebench.compare.bootstrap import ReferenceReplicates, make_plan, metric_replicates
from denoisebench.compare.paired import compare_pairs, paired_difference, standings, verdict
from denoisebench.metrics.classifier_view import entropy_bits
from denoisebench.metrics.kid import mmd2_unbiased, polynomial_kernel

SETTING = Setting("synthetic", "", "linear", "ddim", 10, 0)


def expected_cubic_kernel(a: np.ndarray, b: np.ndarray) -> float:
    """E (x.y / d + 1)^3 for independent x ~ N(a, I), y ~ N(b, I) (moments of a Gaussian bilinear form)."""
    d = len(a)
    c, q = float(a @ b), float(a @ a + b @ b)
    s1, s2, s3 = c, c * c + q + d, c ** 3 + 3 * c * (q + d) + 6 * c
    return 1 + 3 * s1 / d + 3 * s2 / d ** 2 + s3 / d ** 3


def gaussian_mmd2(delta: np.ndarray) -> float:
    """Population MMD^2 (cubic kernel, gamma 1/d) between N(delta, I) and N(0, I)."""
    zero = np.zeros_like(delta)
    return (expected_cubic_kernel(delta, delta) + expected_cubic_kernel(zero, zero)
            - 2 * expected_cubic_kernel(delta, zero))


def sample_set(features: np.ndarray, rng: np.random.Generator) -> SampleSet:
    return SampleSet(features, rng.integers(0, 10, len(features)), rng.random(len(features)) < 0.1)


def test_replicates_are_the_metrics_of_the_resampled_sets() -> None:
    rng = np.random.default_rng(0)
    x, r = rng.standard_normal((30, 5)), rng.standard_normal((40, 5)) + 0.3
    sample = sample_set(x, rng)
    plan = make_plan([7], 30, 40, n_bootstrap=4, seed=3)
    ref = ReferenceReplicates(r, plan, ["kid"])
    kid = metric_replicates(sample, ref, plan.samples[7], "kid")
    entropy = metric_replicates(sample, ref, plan.samples[7], "entropy")
    memorised = metric_replicates(sample, ref, plan.samples[7], "memorised")
    for b, (idx, ridx) in enumerate(zip(plan.samples[7], plan.reference)):
        xs, rs = x[idx], r[ridx]
        direct = mmd2_unbiased(polynomial_kernel(xs, xs), polynomial_kernel(xs, rs), polynomial_kernel(rs, rs))
        assert kid[b] == pytest.approx(direct, rel=1e-10, abs=1e-12)
        assert entropy[b] == pytest.approx(entropy_bits(np.bincount(sample.classes[idx], minlength=10)))
        assert memorised[b] == pytest.approx(sample.memorised[idx].mean())


def _shifted_entries(delta: np.ndarray, n: int, seeds: list[int], rng: np.random.Generator,
                     shuffle_b: bool = False) -> dict[tuple[str, int], SampleSet]:
    """Entry 'a' ~ N(0, I); entry 'b' is the same samples shifted by delta (so b ~ N(delta, I), paired)."""
    sets = {}
    for s in seeds:
        a = sample_set(rng.standard_normal((n, len(delta))), rng)
        b_feats = a.features + delta
        if shuffle_b:
            b_feats = b_feats[rng.permutation(n)]
        sets[("a", s)] = a
        sets[("b", s)] = SampleSet(b_feats, a.classes, a.memorised)
    return sets


def _pair(sets: dict[tuple[str, int], SampleSet], reference: np.ndarray, metric: str, n_bootstrap: int = 400):
    boot = bootstrap_entries(sets, reference, [metric], n_bootstrap=n_bootstrap, seed=1)
    per_seed: dict[str, dict[int, EntryMetrics]] = {}
    for (e, s, _m), value in boot.items():
        per_seed.setdefault(e, {})[s] = value
    (pair,) = compare_pairs(SETTING, metric, per_seed, ["a", "b"])
    return pair, per_seed


@pytest.mark.parametrize("metric", ["fid", "kid"])
def test_paired_interval_covers_a_known_difference(metric: str) -> None:
    rng = np.random.default_rng(42)
    delta = np.array([0.35, 0.0, 0.0, 0.0, 0.0, 0.0])
    truth = -float(delta @ delta) if metric == "fid" else -gaussian_mmd2(delta)  # a - b; a has the reference's law
    reference = rng.standard_normal((1500, len(delta)))
    pair, _ = _pair(_shifted_entries(delta, 400, [0, 1, 2], rng), reference, metric)
    assert pair.ci_low <= truth <= pair.ci_high, (pair.ci_low, truth, pair.ci_high)
    assert pair.ci_low <= pair.diff <= pair.ci_high
    assert pair.verdict == A_BETTER and pair.seeds == (0, 1, 2)


def test_the_interval_uses_the_pairing() -> None:
    """The same sets with b's rows shuffled have the same metric values but lose the pairing."""
    delta = np.full(4, 0.1)
    reference = np.random.default_rng(0).standard_normal((800, 4))
    paired, _ = _pair(_shifted_entries(delta, 300, [0], np.random.default_rng(5)), reference, "kid")
    unpaired, _ = _pair(_shifted_entries(delta, 300, [0], np.random.default_rng(5), shuffle_b=True), reference, "kid")
    assert paired.diff == pytest.approx(unpaired.diff, rel=1e-9)
    assert (paired.ci_high - paired.ci_low) < 0.7 * (unpaired.ci_high - unpaired.ci_low)


def test_identical_entries_are_tied_with_a_zero_interval() -> None:
    rng = np.random.default_rng(3)
    a = sample_set(rng.standard_normal((50, 4)), rng)
    sets = {("a", 0): a, ("b", 0): a}
    for metric in ("fid", "kid", "entropy", "memorised"):
        pair, _ = _pair(sets, rng.standard_normal((60, 4)), metric, n_bootstrap=100)
        assert (pair.diff, pair.ci_low, pair.ci_high, pair.verdict) == (0.0, 0.0, 0.0, TIED)


def test_same_law_entries_are_tied_in_most_repeats() -> None:
    """Independent sets from one law (not the reference's, as for any real generator): the 95%
    interval of a - b contains 0 in about 95% of repeats."""
    rng = np.random.default_rng(11)
    reference = rng.standard_normal((400, 3))
    tied = {"fid": 0, "kid": 0}
    repeats = 40
    for _ in range(repeats):
        sets = {(e, 0): sample_set(0.3 + 1.1 * rng.standard_normal((200, 3)), rng) for e in ("a", "b")}
        for metric in tied:
            pair, _ = _pair(sets, reference, metric, n_bootstrap=200)
            tied[metric] += pair.verdict == TIED
    assert all(count >= 0.85 * repeats for count in tied.values()), tied


def test_seeds_are_averaged_and_the_interval_is_the_percentiles_of_averaged_replicates() -> None:
    reps = np.linspace(-1, 1, 201)
    a = [EntryMetrics(2.0, 2.0 + reps), EntryMetrics(4.0, 4.0 + 2 * reps)]
    b = [EntryMetrics(1.0, 1.0 + 0 * reps), EntryMetrics(1.0, 1.0 + 0 * reps)]
    diff, low, high, v = paired_difference(a, b, lower_is_better=True)
    assert diff == pytest.approx(2.0)  # mean of (2 - 1) and (4 - 1)
    combined = 2.0 + 1.5 * reps  # mean over seeds of the replicate differences
    assert (low, high) == pytest.approx(tuple(np.percentile(combined, [2.5, 97.5])))
    assert v == B_BETTER  # a's metric is higher and lower is better


@pytest.mark.parametrize("low, high, lower_is_better, expected", [
    (-2.0, -1.0, True, A_BETTER), (1.0, 2.0, True, B_BETTER), (-1.0, 1.0, True, TIED), (0.0, 1.0, True, TIED),
    (1.0, 2.0, False, A_BETTER), (-2.0, -1.0, False, B_BETTER), (-1.0, 0.0, False, TIED)])
def test_verdict(low: float, high: float, lower_is_better: bool, expected: str) -> None:
    assert verdict(low, high, lower_is_better) == expected


def test_ranks_have_ties() -> None:
    """a beats b and c; b and c cannot be separated: ranks 1, 2, 2."""
    base = np.linspace(-0.1, 0.1, 101)

    def entry(value: float, spread: np.ndarray) -> dict[int, EntryMetrics]:
        return {0: EntryMetrics(value, value + spread)}

    per_seed = {"b": entry(2.0, base), "a": entry(1.0, base), "c": entry(2.05, base[::-1])}
    pairs = compare_pairs(SETTING, "fid", per_seed, ["a", "b", "c"])
    assert {(p.a, p.b): p.verdict for p in pairs} == {("a", "b"): A_BETTER, ("a", "c"): A_BETTER, ("b", "c"): TIED}
    ranked = standings("fid", per_seed, pairs)
    assert [(r.entry, r.rank, r.tied_with) for r in ranked] == [("a", 1, ()), ("b", 2, ("c",)), ("c", 2, ("b",))]


def test_a_fixed_reference_leaves_its_noise_out_of_the_interval() -> None:
    rng = np.random.default_rng(8)
    delta = np.array([0.3, 0.0, 0.0, 0.0])
    sets = _shifted_entries(delta, 300, [0, 1, 2], rng)
    reference = rng.standard_normal((300, 4))
    plan = make_plan([0], 300, 300, n_bootstrap=3, resample_reference=False)
    assert plan.reference_fixed and all((row == np.arange(300)).all() for row in plan.reference)
    widths = {}
    for resample in (True, False):
        boot = bootstrap_entries(sets, reference, ["fid"], n_bootstrap=300, seed=1, resample_reference=resample)
        per_seed: dict[str, dict[int, EntryMetrics]] = {}
        for (e, s, _m), value in boot.items():
            per_seed.setdefault(e, {})[s] = value
        (pair,) = compare_pairs(SETTING, "fid", per_seed, ["a", "b"], reference_resampled=resample)
        assert pair.as_dict()["reference"] == ("resampled" if resample else "fixed")
        widths[resample] = pair.ci_high - pair.ci_low
    assert widths[False] < 0.8 * widths[True]
