"""Quality against cost over every run of a table: each headline metric (FID- and KID-proxy for the
builtins) against network evaluations and against ms per image, log x, one marker and colour per
provider label, the Pareto front (no other run is both cheaper and better) drawn as a step line.

Runs that copy the training set (memorised share >= 50%) are drawn hollow, their label says
'(copies)', and they are never on the Pareto front: copying is not a better generator."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from ..report import Table

MARKERS = "osD^vP*Xh<>p"
COSTS = (("nfe", "network evaluations per image (NFE)"), ("ms_per_image", "ms per image (sampling)"))


def pareto_front(costs: list[float], values: list[float]) -> list[int]:
    """Indices of the points no other point beats on both (lower cost and lower value; a point equal
    on one and better on the other beats it), ordered by cost. NaN points are never on it."""
    points = [(c, v, i) for i, (c, v) in enumerate(zip(costs, values)) if math.isfinite(c) and math.isfinite(v)]
    front: list[int] = []
    best = math.inf
    for c, v, i in sorted(points):
        if v < best:
            front.append(i)
            best = v
    return front


def copying(runs: pd.DataFrame) -> pd.Series:
    """Which runs copy the training set (their recorded memorised share is at least 50%)."""
    from .sections import COPIES_AT

    if "memorised" not in runs:
        return pd.Series(False, index=runs.index)
    return runs["memorised"].astype(float).fillna(0.0) >= COPIES_AT


def _panel(ax, runs: pd.DataFrame, key: str, cost: str, scale: float, styles: dict[str, tuple[str, str]],
           floors: pd.DataFrame) -> None:  # noqa: ANN001 - a matplotlib Axes
    data = runs[[cost, key, "label", "sampler", "steps"]].astype({cost: float, key: float})
    data["copies"] = copying(runs)
    data = data[np.isfinite(data[cost]) & np.isfinite(data[key]) & (data[cost] > 0)]
    for (label, copies), group in data.groupby(["label", "copies"], sort=True):
        colour, marker = styles[label]
        ax.scatter(group[cost], group[key] * scale, marker=marker, s=36, alpha=0.85,
                   label=f"{label} (copies)" if copies else label, zorder=3,
                   **({"facecolors": "none", "edgecolors": colour, "linewidths": 1.2} if copies
                      else {"c": colour, "edgecolors": "white", "linewidths": 0.5}))
    generators = data[~data["copies"]]
    front = generators.iloc[pareto_front(list(generators[cost]), list(generators[key]))]
    if len(front):
        ax.step(front[cost], front[key] * scale, where="post", color="#222", lw=1.2, ls="--", zorder=2,
                label="Pareto front")
        for row in front.itertuples():
            ax.annotate(f"{row.sampler} {row.steps}", (getattr(row, cost), getattr(row, key) * scale), fontsize=6.5,
                        xytext=(4, 4), textcoords="offset points", color="#333")
    if key in floors:
        for value in floors[key].astype(float).dropna().unique():
            ax.axhline(value * scale, color="#999", lw=1, ls=":", zorder=1)
    ax.set_xscale("log")
    plain = FuncFormatter(lambda v, _pos: f"{v:g}")
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _pos: f"{v:g}" if f"{v:g}"[0] in "25" else ""))
    ax.tick_params(axis="x", which="minor", labelsize=7)
    ax.grid(True, which="both", alpha=0.25)


def cost_figure(table: Table) -> bytes | None:
    """PNG bytes of the quality-vs-cost panels of ``table`` (None without a headline metric or runs).

    Labels are text: a '$' in an entry's label is drawn as a '$', never parsed as mathtext."""
    import matplotlib

    with matplotlib.rc_context({"text.parse_math": False}):
        return _cost_figure(table)


def _cost_figure(table: Table) -> bytes | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = table.runs()
    # headline metrics without a single value (e.g. classifier-feature metrics skipped on colour data) get no panel
    columns = [c for c in table.headline if c.key in runs and np.isfinite(runs[c.key].astype(float)).any()]
    if not len(runs) or not columns:
        return None
    cmap = plt.get_cmap("tab10")
    styles = {label: (matplotlib.colors.to_hex(cmap(i % 10)), MARKERS[i % len(MARKERS)])
              for i, label in enumerate(sorted(runs["label"].unique()))}
    fig, axes = plt.subplots(len(columns), 2, figsize=(11, 3.6 * len(columns)), squeeze=False)
    for r, col in enumerate(columns):
        for c, (cost, title) in enumerate(COSTS):
            ax = axes[r][c]
            _panel(ax, runs, col.key, cost, col.scale, styles, table.floors())
            ax.set_xlabel(title)
            ax.set_ylabel(f"{col.header}{col.arrow}")
    handles, labels = axes[0][0].get_legend_handles_labels()
    if table.floors()[[c.key for c in columns if c.key in table.floors()]].notna().any().any():
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], color="#999", ls=":"))
        labels.append("real digits (floor)")
    fig.legend(handles, labels, loc="upper center", ncol=min(len(labels), 6), frameon=False, fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / (3.6 * len(columns))))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()
