"""Paired verdicts between two probe records: same dataset, seed, images and steps, hence the same
noisy inputs, so the per-image errors of two providers are paired and their difference has a much
narrower interval than either value.

Per level: the held-out PSNR difference a - b (10 log10(MSE_b / MSE_a) of the mean MSEs) and the gap
difference, each with a percentile-bootstrap 95 % interval that resamples images once for both
records (the same resamples as the probes' own intervals), and a verdict on the PSNR: ``a better``,
``b better`` or ``tied`` (the interval contains 0).
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np

from . import statistics


def comparable(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two probe records saw the same noisy inputs (and kept per-image errors)."""
    keys = (lambda r: (r["dataset"].get("hash"), r["seed"], r["images"]["train"], r["images"]["heldout"],
                       [lv["t"] for lv in r["levels"]], r.get("schedule")))
    return "per_image" in a and "per_image" in b and keys(a) == keys(b)


def paired_levels(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """Per level: sigma, t, the PSNR and gap differences a - b with intervals, and the verdict."""
    seed = a["seed"]
    boots = {s: statistics.bootstrap_indices(len(a["images"]["train" if s == "train" else "heldout"]), seed, s)
             for s in ("train", "heldout")}
    rows = []
    for k, level in enumerate(a["levels"]):
        mse = {(name, s): np.asarray(r["per_image"][f"mse_{s}"][k], dtype=np.float64)
               for name, r in (("a", a), ("b", b)) for s in ("train", "heldout")}
        rep = {key: v[boots[key[1]]].mean(axis=1) for key, v in mse.items()}
        psnr_diff = 10 * np.log10(mse["b", "heldout"].mean() / mse["a", "heldout"].mean())
        psnr_reps = 10 * np.log10(rep["b", "heldout"] / rep["a", "heldout"])
        gap_a, gap_b = (statistics.gap(mse[n, "train"].mean(), mse[n, "heldout"].mean()) for n in "ab")
        gap_reps = statistics.gap(rep["a", "train"], rep["a", "heldout"]) - statistics.gap(rep["b", "train"],
                                                                                           rep["b", "heldout"])
        lo, hi = statistics.interval(psnr_reps)
        glo, ghi = statistics.interval(np.asarray(gap_reps))
        verdict = "a better" if lo > 0 else "b better" if hi < 0 else "tied"
        rows.append({"sigma": level["sigma"], "t": level["t"], "psnr_heldout_diff": float(psnr_diff),
                     "psnr_ci_low": lo, "psnr_ci_high": hi, "verdict": verdict,
                     "gap_diff": float(gap_a - gap_b), "gap_ci_low": glo, "gap_ci_high": ghi})
    return rows


def paired_markdown(records: list[dict[str, Any]], name: Any) -> str:
    """A markdown section with every comparable pair of probe records ('' when there is none)."""
    out = []
    for a, b in combinations(records, 2):
        if not comparable(a, b):
            continue
        out += [f"### {name(a)} (a) vs {name(b)} (b) on {a['dataset']['id']}", "",
                "| sigma | t | held-out PSNR a - b (dB) [95% CI] | verdict | gap a - b [95% CI] |",
                "|---:|---:|---:|---|---:|"]
        for r in paired_levels(a, b):
            out.append(f"| {r['sigma']:.3g} | {r['t']} | {r['psnr_heldout_diff']:+.2f} [{r['psnr_ci_low']:+.2f}, "
                       f"{r['psnr_ci_high']:+.2f}] | {r['verdict']} | {r['gap_diff']:+.3f} [{r['gap_ci_low']:+.3f}, "
                       f"{r['gap_ci_high']:+.3f}] |")
        out.append("")
    if not out:
        return ""
    return "\n".join(["", "## Probes: paired per level (same images, same noise)", ""] + out)
