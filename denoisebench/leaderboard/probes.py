"""The leaderboard's probe section: every probe record (``denoisebench probe``, or a suite's
``[[probe]]`` cells) found in the results dirs, drawn as the report draws them (PSNR against sigma,
train dashed and held-out solid, one colour per entry; the gap curves with their bootstrap
intervals) with one table per entry. The plot is inlined as a data URI, like the page's others."""

from __future__ import annotations

import base64
import tempfile
from collections.abc import Callable
from html import escape
from pathlib import Path

from ..report.probes import PLOT_ALT, load_probe_records, probe_plot, probe_section


def probes_html(paths: list[Path], warn: Callable[[str], None] | None = None) -> str:
    """The section as HTML (empty when no probe record is found), one plot per dataset."""
    records = load_probe_records([Path(p) for p in paths], warn=warn)
    if not records:
        return ""
    by_dataset: dict[str, list[dict]] = {}
    for record in records:
        by_dataset.setdefault(record["dataset"]["id"], []).append(record)
    plots = []
    with tempfile.TemporaryDirectory(prefix="denoisebench-probes-") as tmp:
        for i, (dataset, group) in enumerate(sorted(by_dataset.items())):
            png = probe_plot(group, Path(tmp) / f"probes-{i}.png").read_bytes()
            uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
            plots.append(f"<div class='plot'><h3>{escape(dataset)}</h3><img alt='{escape(PLOT_ALT)}' src='{uri}'></div>")
    body = probe_section(records, "html", Path("."), None, str)
    head, sep, tables = body.partition("</p>")  # the report's heading and note, then the plots, then its tables
    note = ("<p class='meta'>Solid: held-out images, dashed: the entry's own training images (for a checkpoint "
            "trained on a subset, images of that subset). A gap near 1 means the denoiser returns its training "
            "images; near 0, it denoises train and held-out images alike.</p>")
    return head + sep + note + "".join(plots) + "<details><summary>Per-level tables</summary>" + tables + "</details>"
