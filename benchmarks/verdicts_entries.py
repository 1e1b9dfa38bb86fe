"""Issue 25, analysis (b): do AuthPct, C_T and Vendi order the MNIST reference entries (empirical,
unet, kbnet, els, wiener at dpmpp-2m-sde 20, seeds 0-2) as the nearest-neighbour memorisation
rule does?

    python benchmarks/verdicts_entries.py results/reference/encoders/entries --out verdicts-entries.md

The classifier's values are the ones each run.json recorded; on pixels and on the shipped
``ae-mnist-5k`` autoencoder they are recomputed here with the project's
metric functions (``authpct``, ``c_t``, ``vendi_score``). The nearest-neighbour order: memorised
share (d1/d2 < 1/3 in pixel space) descending, ties broken by the median d1/d2 ratio ascending
(closer to a training image first). Each metric is read in its copying direction: AuthPct and C_T
ascending (low = copies), Vendi ascending (low = less diverse). Nothing is written next to the runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from denoisebench.compare import runs_in
from denoisebench.metrics.authpct import authpct
from denoisebench.metrics.ct import c_t
from denoisebench.metrics.vendi import vendi_score
from denoisebench.runs.records import load_samples

sys.path.insert(0, str(Path(__file__).parent))
from verdicts_samplers import ae_features  # noqa: E402

METRICS = ("authpct", "ct", "vendi")


def _cache_cells() -> None:
    """Fit C_T's k-means cells once per train set (c_t refits them on every call)."""
    import denoisebench.metrics.ct as ct

    fit, cache = ct.cells, {}

    def cells(train, k, seed=0):  # noqa: ANN001, ANN202
        key = (id(train), k, seed)
        if key not in cache:
            cache[key] = fit(train, k, seed)
        return cache[key]

    ct.cells = cells


def spearman(x: list[float], y: list[float]) -> float:
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    return float(np.corrcoef(rx, ry)[0, 1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("entries", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    t0 = time.time()
    _cache_cells()
    from denoisebench.datasets.base import DatasetOptions
    from denoisebench.plugins import get_registry

    data = get_registry().dataset("mnist-5k").open(DatasetOptions())
    refs = runs_in(args.entries, lambda m: print("warning:", m, file=sys.stderr))
    recorded: dict[str, dict[str, list[float]]] = {}
    samples: dict[tuple[str, int], np.ndarray] = {}
    for r in refs:
        m = json.loads((r.run_dir / "run.json").read_text())["metrics"]
        row = recorded.setdefault(r.entry, {})
        row.setdefault("memorised", []).append(m["nearest"]["memorised_share"])
        row.setdefault("ratio", []).append(m["nearest"]["ratio_median"])
        for k in METRICS:
            row.setdefault(k, []).append((m.get(k) or {}).get("value", np.nan))
        samples[(r.entry, r.seed)] = load_samples(r.run_dir)
    entries = sorted(recorded, key=lambda e: (-np.mean(recorded[e]["memorised"]), np.mean(recorded[e]["ratio"])))

    spaces = {"pixels": {k: v.reshape(len(v), -1) / 255.0 for k, v in
                         {**{f"s{i}": im for i, im in enumerate(samples.values())},
                          "train": data.train_images, "heldout": data.heldout_images}.items()}}
    ae = ae_features({**{f"s{i}": im for i, im in enumerate(samples.values())},
                                    "train": data.train_images, "heldout": data.heldout_images})
    if ae is not None:
        spaces["ae-mnist-5k"] = ae
    values: dict[str, dict[str, dict[str, float]]] = {"mnist-classifier (run.json)": {
        e: {k: float(np.mean(recorded[e][k])) for k in METRICS} for e in entries}}
    for space, f in spaces.items():
        per: dict[str, dict[str, list[float]]] = {}
        for i, (e, _s) in enumerate(samples):
            x = f[f"s{i}"]
            row = per.setdefault(e, {k: [] for k in METRICS})
            row["authpct"].append(authpct(x, f["train"])["value"])
            row["ct"].append(c_t(x, f["heldout"], f["train"])["value"])
            row["vendi"].append(vendi_score(x))
        values[space] = {e: {k: float(np.mean(v)) for k, v in per[e].items()} for e, _ in
                         sorted(per.items(), key=lambda kv: entries.index(kv[0]))}
        values[space]["held-out digits (real)"] = {
            "authpct": authpct(f["heldout"], f["train"])["value"], "ct": float("nan"),
            "vendi": vendi_score(f["heldout"])}

    lines = ["# AuthPct, C_T and Vendi against the nearest-neighbour rule (issue 25, analysis b)", "",
             f"Runs: {args.entries} — {', '.join(entries)} at dpmpp-2m-sde 20 steps, N = "
             f"{len(next(iter(samples.values())))} per seed, seeds {sorted({s for _e, s in samples})}; "
             "values are means over seeds.", "",
             "Command: `python benchmarks/verdicts_entries.py " + " ".join(sys.argv[1:]) + "`", "",
             "## The nearest-neighbour order (pixel space, run.json)", "",
             "| rank | entry | memorised share | median d1/d2 |", "|---|---|---|---|"]
    for i, e in enumerate(entries):
        lines.append(f"| {i + 1} | {e} | {np.mean(recorded[e]['memorised']):.3f} | {np.mean(recorded[e]['ratio']):.3f} |")
    nn_rank = list(range(len(entries)))
    lines += ["", "## Each metric, per encoder (the entries in the nearest-neighbour order)", ""]
    summary = ["", "## Agreement with the nearest-neighbour order", "",
               "Spearman correlation between the nearest-neighbour rank (1 = most copying) and the rank by the "
               "metric read in its copying direction (AuthPct, C_T and Vendi ascending); 1 = the same order.", "",
               "| encoder | metric | order by the metric (most copying first) | Spearman vs NN order |",
               "|---|---|---|---|"]
    for space, table in values.items():
        lines += [f"### {space}", "", "| entry | AuthPct (%) | C_T | Vendi |", "|---|---|---|---|"]
        for e, v in table.items():
            lines.append(f"| {e} | {v['authpct']:.1f} | {v['ct']:.2f} | {v['vendi']:.2f} |")
        lines.append("")
        for k in METRICS:
            vals = [table[e][k] for e in entries]
            order = [entries[i] for i in np.argsort(vals, kind="stable")]
            summary.append(f"| {space} | {k} | {' < '.join(order)} | {spearman(nn_rank, vals):+.2f} |")
    lines += summary + ["", f"Wall time: {time.time() - t0:.0f} s.", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print(args.out)


if __name__ == "__main__":
    main()
