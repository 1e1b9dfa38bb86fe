"""Paired comparisons between samplers of one provider: which sampler is better, by how much.

``denoisebench compare`` pairs *entries* (providers) within one sampler setting. The same pairing
holds across samplers: sample i of a seed starts from the same x_T whatever the sampler, so two
samplers' runs of one provider are compared index by index exactly like two providers. This script
re-keys the runs of a results dir (entry = "sampler NFE", setting = provider) and prints each
entry's paired difference against a reference entry (default: DDIM 100).

    python benchmarks/compare_samplers.py RESULTS_DIR --reference "ddim 100" [--bootstrap 300] [--encoder NAME ...]

Each verdict is given per encoder (``compare``'s defaults, or ``--encoder``), with the verdict
across encoders (robust / split / level).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from denoisebench.compare import SampleSource, compare_runs, runs_in


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", type=Path)
    ap.add_argument("--reference", default="ddim 100", help="entry every other is compared with: 'SAMPLER NFE'")
    ap.add_argument("--bootstrap", type=int, default=300)
    ap.add_argument("--metric", action="append", default=None)
    ap.add_argument("--encoder", action="append", default=None, help="repeatable (default: compare's)")
    args = ap.parse_args()
    start = time.perf_counter()
    refs = []
    for ref in runs_in(args.results, lambda msg: print(msg, file=sys.stderr)):
        # the roles swap: the provider's configuration is the setting, the sampler's the entry
        setting = dataclasses.replace(ref.setting, sampler=f"provider {ref.entry}", steps=0, config=ref.entry_config)
        entry = f"{ref.setting.sampler} {ref.nfe if ref.nfe is not None else ref.setting.steps}"
        refs.append(dataclasses.replace(ref, entry=entry, setting=setting, entry_config=ref.setting.config,
                                        entry_description=ref.sampler_description,
                                        sampler_description=ref.entry_description))
    comparison = compare_runs(refs, SampleSource(memorisation=False), metrics=args.metric or ["fid", "kid"],
                              n_bootstrap=args.bootstrap, progress=lambda m: print(m, file=sys.stderr),
                              encoders=args.encoder)
    print(f"| provider | metric | encoder | entry | entry - {args.reference} | 95% interval | verdict | across encoders "
          "| seeds |")
    print("|---|---|---|---|---:|---|---|---|---|")
    for result in comparison.settings:
        across = result.across
        for p in sorted(result.all_pairs, key=lambda q: (q.metric, q.a, q.b)):
            if args.reference not in (p.a, p.b):
                continue
            sign = 1 if p.a != args.reference else -1  # report other - reference
            other = p.a if p.a != args.reference else p.b
            lo, hi = sorted((sign * p.ci_low, sign * p.ci_high))
            verdict = "tied" if p.verdict == "tied" else (
                f"{other} better" if (p.verdict == "a better") == (p.a == other) else f"{args.reference} better")
            scale = 1000 if p.metric == "kid" else 1
            summary = across.get((p.setting, p.metric, p.a, p.b))
            print(f"| {result.setting.sampler.removeprefix('provider ')} | {p.metric} | {p.encoder or '–'} | {other} | "
                  f"{sign * p.diff * scale:+.3g} | [{lo * scale:+.3g}, {hi * scale:+.3g}] | {verdict} | "
                  f"{summary.text() if summary is not None else '–'} | {','.join(map(str, p.seeds))} |")
    print(f"\n({args.bootstrap} bootstrap replicates; KID x1000; {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
