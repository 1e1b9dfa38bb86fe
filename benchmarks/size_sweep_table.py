"""The table of ``benchmarks/size_sweep.sh``: memorised share, train/held-out gap per level and the
agreement of the two disjoint-subset models, against the training-set size N.

    python benchmarks/size_sweep_table.py OUT      # OUT holds probes/unet-n<N>-k<K>.json and runs/*/run.json

Memorised share: run.json's nearest-neighbour share of samples closer to a training image than a
third of the distance to the next (the metrics' rule), with a Wilson 95 % interval over samples.
Gap: the probe's (MSE_h - MSE_t) / MSE_h per level with its bootstrap interval, for each subset.
Agreement: the mean centred cosine of same-noise sample pairs of the K = 0 and K = 1 models (bootstrap
interval), the share above 0.9, and a random re-pairing for context. Writes OUT/sweep.json, OUT/sweep.png.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

import numpy as np

from denoisebench.compare.agreement import sample_agreement
from denoisebench.runs.records import load_samples


def wilson(share: float, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def collect(out: Path) -> dict[int, dict[int, dict]]:
    table: dict[int, dict[int, dict]] = {}
    for path in sorted((out / "probes").glob("unet-n*-k*.json")):
        n, k = map(int, re.match(r"unet-n(\d+)-k(\d+)\.json", path.name).groups())
        table.setdefault(n, {}).setdefault(k, {})["probe"] = json.loads(path.read_text())
    for run_json in sorted((out / "runs").glob("**/run.json")):
        record = json.loads(run_json.read_text())
        match = re.search(r"unet-n(\d+)-k(\d+)\.safetensors", str(record["provider"].get("checkpoint") or ""))
        if match:
            n, k = map(int, match.groups())
            entry = table.setdefault(n, {}).setdefault(k, {})
            if record.get("created", "") >= entry.get("created", ""):
                entry.update(run=record, run_dir=run_json.parent, created=record.get("created", ""))
    return table


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "size-sweep")
    table = collect(out)
    if not table:
        raise SystemExit(f"no probes or runs under {out}: run benchmarks/size_sweep.sh first")
    summary = []
    print("## Memorised share and agreement of the two disjoint-subset models against N\n")
    print("| N | memorised share K=0 [95% CI] | memorised share K=1 [95% CI] | agreement K=0 vs K=1: mean cosine [95% CI] "
          "| share of pairs > 0.9 | random pairs: mean cosine |")
    print("|---|---|---|---|---|---|")
    for n in sorted(table):
        row = {"n": n}
        cells = []
        for k in (0, 1):
            run = table[n].get(k, {}).get("run")
            if run is None:
                cells.append("-")
                continue
            near = run["metrics"]["nearest"]
            share, count = float(near["memorised_share"]), int(near["n"])
            lo, hi = wilson(share, count)
            row[f"memorised_k{k}"] = [share, lo, hi]
            cells.append(f"{share:.3f} [{lo:.3f}, {hi:.3f}]")
        ag_cells = ["-", "-", "-"]
        if all("run_dir" in table[n].get(k, {}) for k in (0, 1)):
            ag = sample_agreement(load_samples(table[n][0]["run_dir"]), load_samples(table[n][1]["run_dir"]))
            row["agreement"] = ag.__dict__
            ag_cells = [f"{ag.mean_cosine:.3f} [{ag.ci_low:.3f}, {ag.ci_high:.3f}]", f"{ag.share_above:.3f}",
                        f"{ag.random_mean_cosine:.3f}"]
        print(f"| {n} | " + " | ".join(cells + ag_cells) + " |")
        row["gaps"] = {k: [(lv["sigma"], lv["gap"], lv["gap_ci_low"], lv["gap_ci_high"], lv["psnr_train"],
                            lv["psnr_heldout"]) for lv in table[n][k]["probe"]["levels"]]
                       for k in (0, 1) if "probe" in table[n].get(k, {})}
        summary.append(row)
    print("\n## Generalisation gap (MSE_h - MSE_t) / MSE_h per noise level [95% CI], subsets K=0 / K=1\n")
    sigmas = next(([g[0] for g in row["gaps"][k]] for row in summary for k in row["gaps"]), [])
    print("| sigma | " + " | ".join(f"N={row['n']}" for row in summary) + " |")
    print("|---|" + "---|" * len(summary))
    for i, sigma in enumerate(sigmas):
        cells = []
        for row in summary:
            parts = [f"{g[i][1]:.2f} [{g[i][2]:.2f}, {g[i][3]:.2f}]" for k, g in sorted(row["gaps"].items())]
            cells.append(" / ".join(parts) or "-")
        print(f"| {sigma:.3g} | " + " | ".join(cells) + " |")
    (out / "sweep.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    plot(out / "sweep.png", summary)


def plot(path: Path, summary: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    for c, row in enumerate(summary):
        for k, gaps in sorted(row["gaps"].items()):
            g = np.array(gaps, dtype=float)
            ax1.plot(g[:, 0], g[:, 1], color=f"C{c}", ls="-" if k == 0 else "--", label=f"N={row['n']}" if k == 0 else None)
            ax1.fill_between(g[:, 0], g[:, 2], g[:, 3], color=f"C{c}", alpha=0.12)
    ax1.set_xscale("log"); ax1.set_xlabel("sigma"); ax1.set_ylabel("gap (MSE_h - MSE_t) / MSE_h"); ax1.legend()
    ns = [row["n"] for row in summary]
    for key, label, colour in (("memorised_k0", "memorised share (K=0)", "C0"), ("memorised_k1", "memorised share (K=1)", "C1")):
        vals = [row.get(key, [np.nan] * 3) for row in summary]
        ax2.errorbar(ns, [v[0] for v in vals], yerr=[[v[0] - v[1] for v in vals], [v[2] - v[0] for v in vals]],
                     color=colour, marker="o", label=label, capsize=3)
    ag = [row.get("agreement") for row in summary]
    ax2.errorbar(ns, [a["mean_cosine"] if a else np.nan for a in ag],
                 yerr=[[a["mean_cosine"] - a["ci_low"] if a else 0 for a in ag], [a["ci_high"] - a["mean_cosine"] if a else 0 for a in ag]],
                 color="C2", marker="s", label="agreement K=0 vs K=1 (mean cosine)", capsize=3)
    ax2.set_xscale("log"); ax2.set_xlabel("training images N"); ax2.set_ylim(-0.05, 1.05); ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
