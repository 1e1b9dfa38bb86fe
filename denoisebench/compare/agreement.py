"""Sample agreement of two entries run from the same noise (Kadkhodaie et al. 2024; Zhang et al. 2024).

Sample i of two entries at one seed starts from the same x_T, so the pair (a_i, b_i) shows whether
the two denoisers map the same noise to the same image. Per pair: the cosine similarity of the
images' pixels after removing each image's mean (the centred cosine, i.e. Pearson's r, so a shared
background does not count as agreement). Per pair of entries: the mean cosine over pairs with a
percentile bootstrap 95 % interval, and the share of pairs above ``threshold`` (Zhang et al.'s
reproducibility), beside the same statistics for a fixed random re-pairing of the two sets (what
two unrelated sample sets give).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from ..runs.records import load_samples
from .collect import RunRef, group_runs

DEFAULT_THRESHOLD = 0.9
BOOTSTRAP = 2000


def centred_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per pair of images (N x ...): cosine of the mean-removed pixel vectors (1 where both are flat)."""
    x = a.reshape(len(a), -1).astype(np.float64)
    y = b.reshape(len(b), -1).astype(np.float64)
    x -= x.mean(axis=1, keepdims=True)
    y -= y.mean(axis=1, keepdims=True)
    nx, ny = np.linalg.norm(x, axis=1), np.linalg.norm(y, axis=1)
    both_flat = (nx == 0) & (ny == 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = (x * y).sum(axis=1) / (nx * ny)
    return np.where(both_flat, 1.0, np.nan_to_num(cos, nan=0.0))


@dataclass(frozen=True)
class Agreement:
    """Agreement of two paired sample sets."""

    n: int
    mean_cosine: float
    ci_low: float
    ci_high: float
    share_above: float
    threshold: float
    random_mean_cosine: float
    random_share_above: float


def sample_agreement(a: np.ndarray, b: np.ndarray, threshold: float = DEFAULT_THRESHOLD, seed: int = 0) -> Agreement:
    """Paired agreement of uint8 sample sets ``a`` and ``b`` (same length, same noise per index)."""
    if a.shape != b.shape:
        raise ValueError(f"paired sample sets differ in shape: {a.shape} vs {b.shape}")
    cos = centred_cosine(a, b)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x616772]))
    reps = cos[rng.integers(0, len(cos), size=(BOOTSTRAP, len(cos)))].mean(axis=1)
    lo, hi = np.quantile(reps, [0.025, 0.975])
    order = rng.permutation(len(b))
    perm = np.empty_like(order)
    perm[order] = np.roll(order, -1)  # one random cycle: no sample keeps its partner (when N > 1)
    rand = centred_cosine(a, b[perm])
    return Agreement(len(cos), float(cos.mean()), float(lo), float(hi), float((cos > threshold).mean()), threshold,
                     float(rand.mean()), float((rand > threshold).mean()))


def agreement_rows(refs: list[RunRef], threshold: float = DEFAULT_THRESHOLD) -> list[dict[str, object]]:
    """Every pair of entries of every setting, per seed both ran: their sample agreement."""
    rows = []
    for setting, entries in sorted(group_runs(refs).items()):
        for ea, eb in combinations(sorted(entries), 2):
            for seed in sorted(set(entries[ea]) & set(entries[eb])):
                a, b = load_samples(entries[ea][seed].run_dir), load_samples(entries[eb][seed].run_dir)
                if a.shape != b.shape:
                    continue
                ag = sample_agreement(a, b, threshold, seed)
                rows.append({"setting": setting.title(), "a": ea, "b": eb, "seed": seed, **ag.__dict__})
    return rows


def agreement_markdown(rows: list[dict[str, object]]) -> str:
    """The rows as a markdown section (empty string when there are none)."""
    if not rows:
        return ""
    thr = rows[0]["threshold"]
    lines = ["", "## Sample agreement (same noise, paired by sample index)", "",
             f"Centred cosine similarity of paired samples; share of pairs above {thr}; "
             "'random pairs' re-pairs the samples at random (unrelated images).", "",
             "| setting | a | b | seed | N | mean cosine [95% CI] | share > threshold | random pairs: mean cosine | random pairs: share |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['setting']} | {r['a']} | {r['b']} | {r['seed']} | {r['n']} | "
                     f"{r['mean_cosine']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}] | {r['share_above']:.3f} | "
                     f"{r['random_mean_cosine']:.3f} | {r['random_share_above']:.3f} |")
    return "\n".join(lines) + "\n"
