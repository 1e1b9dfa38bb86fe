"""Quality against the number of sampling steps (PNG), for tables with runs at several step counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .table import SCALE, Table


def has_step_series(table: Table) -> bool:
    """True when some (provider, sampler, N) has runs at two or more step counts."""
    runs = table.runs()
    return bool(len(runs)) and bool((runs.groupby(["label", "sampler", "n"])["steps"].nunique() > 1).any())


def steps_plot(table: Table, path: Path) -> Path:
    """FID-proxy and KID-proxy (± std) against steps, a line per (provider, sampler, N); floors in grey."""
    from .figures import _pyplot, _save_atomic

    plt = _pyplot()
    runs = table.runs()
    floors = table.rows[table.rows["kind"] == "floor"]
    series = list(runs.groupby(["label", "sampler", "n"], sort=True))
    legend_rows = -(-(len(series) + len(floors)) // 3)
    legend_inches = 0.15 * legend_rows + 0.1
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8 + legend_inches))
    colors = plt.get_cmap("tab20").colors
    markers = "os^DvPX<>"
    for ax, key, title in ((axes[0], "fid", "FID-proxy ↓"), (axes[1], "kid", "KID-proxy ×1000 ↓")):
        scale = SCALE.get(key, 1.0)
        for i, ((label, sampler, n), group) in enumerate(series):
            group = group.sort_values("steps")
            y = group[key].to_numpy(float) * scale
            if np.isnan(y).all():
                continue
            err = group[f"{key}_std"].to_numpy(float) * scale
            ax.errorbar(group["steps"].to_numpy(float), y, yerr=np.nan_to_num(err), marker=markers[i % len(markers)],
                        color=colors[i % len(colors)], capsize=3, label=f"{label} {sampler} (N={int(n)})")
        for style, (_, floor) in zip(("--", ":", "-.", (0, (5, 5))) * 8, floors.iterrows()):
            if np.isfinite(floor[key]):
                ax.axhline(float(floor[key]) * scale, ls=style, color="gray", lw=1, label=str(floor["label"]))
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=1.0 if key == "fid" else 10.0)  # spans orders; KID may be < 0
        if key == "fid":
            ax.set_ylim(bottom=0.0)
        steps = sorted({int(s) for s in runs["steps"].dropna()})
        ax.set_xticks(steps, [str(s) for s in steps])
        ax.minorticks_off()
        ax.set_xlabel("sampling steps")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=7, frameon=False)
    fig.suptitle(table.title, fontsize=9)
    fig.tight_layout(rect=(0, legend_inches / (3.8 + legend_inches), 1, 1))
    _save_atomic(fig, path)
    plt.close(fig)
    return path
