"""Quality against cost (network evaluations per image, log scale), for tables with runs at several NFE.

One panel per headline column the metrics declared (FID- and KID-proxy for the builtins), one line
per (provider label, sampler label, N), the floor rows as grey horizontal lines.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .columns import ReportColumn
from .table import Table

SERIES = ["label", "sampler", "n"]


def has_cost_series(table: Table) -> bool:
    """True when some (provider, sampler, N) has runs at two or more NFE and a headline column exists."""
    runs = table.runs()
    if not len(runs) or not table.headline or runs["nfe"].isna().all():
        return False
    return bool((runs.dropna(subset=["nfe"]).groupby(SERIES)["nfe"].nunique() > 1).any())


def _linear_core(runs: pd.DataFrame, col: ReportColumn) -> float:
    """Quality spans orders of magnitude and may dip below 0 (an unbiased KID): the axis is
    logarithmic beyond a linear core as wide as the typical uncertainty (or a tenth of the values)."""
    spread = runs[col.std_key].to_numpy(float) if col.std_key else np.array([])
    spread = spread[np.isfinite(spread) & (spread > 0)]
    if not spread.size:
        spread = np.abs(runs[col.key].to_numpy(float)) / 10
        spread = spread[np.isfinite(spread) & (spread > 0)]
    return float(np.median(spread)) * col.scale if spread.size else 1.0


def _lowest(runs: pd.DataFrame, floors: pd.DataFrame, col: ReportColumn) -> float:
    """0 for values that never go negative, else a little below the lowest value minus its uncertainty."""
    values = pd.concat([runs, floors])
    low = values[col.key].to_numpy(float)
    if col.std_key:
        low = low - np.nan_to_num(values[col.std_key].to_numpy(float))
    low = low[np.isfinite(low)] * col.scale
    return 0.0 if not low.size or low.min() >= 0 else 1.2 * float(low.min())


def cost_plot(table: Table, path: Path) -> Path:
    """Each headline metric (± its uncertainty) against NFE, a line per series; floors in grey.
    Labels are text: a '$' in a label is never parsed as mathtext."""
    import matplotlib

    with matplotlib.rc_context({"text.parse_math": False}):
        return _cost_plot(table, path)


def _cost_plot(table: Table, path: Path) -> Path:
    from .figures import _pyplot, save_figure

    plt = _pyplot()
    runs = table.runs().dropna(subset=["nfe"])
    floors = table.floors()
    columns = table.headline
    series = list(runs.groupby(SERIES, sort=True))
    legend_rows = -(-(len(series) + len(floors)) // 3)
    legend_inches = 0.15 * legend_rows + 0.1
    fig, axes = plt.subplots(1, len(columns), figsize=(5 * len(columns), 3.8 + legend_inches), squeeze=False)
    colors = plt.get_cmap("tab20").colors
    markers = "os^DvPX<>"
    nfes = sorted({int(v) for v in runs["nfe"]})
    for ax, col in zip(axes[0], columns):
        for i, ((label, sampler, n), group) in enumerate(series):
            group = group.sort_values("nfe")
            y = group[col.key].to_numpy(float) * col.scale
            if np.isnan(y).all():
                continue
            err = group[col.std_key].to_numpy(float) * col.scale if col.std_key else np.zeros_like(y)
            ax.errorbar(group["nfe"].to_numpy(float), y, yerr=np.nan_to_num(err), marker=markers[i % len(markers)],
                        color=colors[i % len(colors)], capsize=3, label=f"{label} {sampler} (N={int(n)})")
        for style, (_, floor) in zip(("--", ":", "-.", (0, (5, 5))) * 8, floors.iterrows()):
            value = float(floor.get(col.key, np.nan))
            if np.isfinite(value):
                ax.axhline(value * col.scale, ls=style, color="gray", lw=1, label=str(floor["label"]))
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=_linear_core(runs, col))
        ax.set_ylim(bottom=_lowest(runs, floors, col))
        ticks = spaced_ticks(nfes)
        ax.set_xticks(ticks, [str(s) for s in ticks])
        ax.minorticks_off()
        ax.set_xlabel("network evaluations per image (NFE)")
        ax.set_title(col.header + col.arrow)
        ax.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=7, frameon=False)
    fig.suptitle(table.title, fontsize=9)
    fig.tight_layout(rect=(0, legend_inches / (3.8 + legend_inches), 1, 1))
    save_figure(fig, path)
    plt.close(fig)
    return path


def spaced_ticks(values: list[int], min_ratio: float = 1.2) -> list[int]:
    """The sorted values where two within ``min_ratio`` of each other keep only the larger (the
    labels of 9 and 10 NFE would overlap on a log axis)."""
    kept: list[int] = []
    for v in sorted(set(values)):
        if kept and v < kept[-1] * min_ratio:
            kept[-1] = v
        else:
            kept.append(v)
    return kept
