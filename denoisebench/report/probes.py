"""Probe records (``denoisebench probe``) in ``report``: PSNR against sigma (train dashed, held-out
solid, one colour per entry), the gap curves with their intervals, and a table per entry."""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..probe.record import PROBE_FILE, load_probe
from ..runs.records import STAGING_PREFIX

PLOT_ALT = "probe: PSNR and generalisation gap against sigma"


def probe_entry(record: dict[str, Any]) -> str:
    """How the report names a probe: provider label, checkpoint stem, images and seed."""
    provider = record["provider"]
    ckpt = provider.get("checkpoint")
    stem = f" [{Path(ckpt).stem}]" if ckpt else ""
    return f"{provider.get('label') or provider['name']}{stem} (M={record['images']['count_train']}, seed {record['seed']})"


def load_probe_records(paths: Path | list[Path], dataset: str | None = None, provider: str | None = None,
                       warn: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Probe records under results dirs (``*/probe.json``) or probe dirs; the newest per entry and dataset."""
    files: list[Path] = []
    for root in [paths] if isinstance(paths, Path) else paths:
        if (root / PROBE_FILE).is_file():
            files.append(root / PROBE_FILE)
        elif root.is_dir():
            files += [p for p in sorted(root.glob(f"*/{PROBE_FILE}")) if not p.parent.name.startswith((".", STAGING_PREFIX))]
    newest: dict[tuple[str, str], dict[str, Any]] = {}
    for path in dict.fromkeys(files):
        record = load_probe(path)
        if record is None or not isinstance(record.get("levels"), list):
            if warn is not None:
                warn(f"ignoring {path}: not a readable probe record")
            continue
        if dataset is not None and record["dataset"]["id"] != dataset:
            continue
        if provider is not None and provider not in (record["provider"]["name"], record["provider"].get("label")):
            continue
        key = (record["dataset"]["id"], probe_entry(record))
        if key not in newest or record.get("created", "") >= newest[key].get("created", ""):
            newest[key] = record
    return [newest[k] for k in sorted(newest)]


def _num(value: Any) -> float:
    return float("nan") if value is None else float(value)


def probe_plot(records: list[dict[str, Any]], path: Path) -> Path:
    """PSNR (train dashed, held-out solid) and gap (with its interval) against sigma, one colour per entry."""
    from .figures import _pyplot, save_figure

    plt = _pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    for i, record in enumerate(records):
        levels, colour, name = record["levels"], f"C{i % 10}", probe_entry(record)
        sig = [lv["sigma"] for lv in levels]
        ax1.plot(sig, [_num(lv["psnr_train"]) for lv in levels], color=colour, ls="--")
        ax1.plot(sig, [_num(lv["psnr_heldout"]) for lv in levels], color=colour, ls="-", label=name)
        ax2.plot(sig, [_num(lv["gap"]) for lv in levels], color=colour, marker="o", ms=3, label=name)
        ax2.fill_between(sig, [_num(lv["gap_ci_low"]) for lv in levels], [_num(lv["gap_ci_high"]) for lv in levels],
                         color=colour, alpha=0.15)
    ax1.set_ylabel("PSNR of the x0 estimate (dB)\n(train dashed, held-out solid)")
    ax2.set_ylabel("gap (MSE_h - MSE_t) / MSE_h")
    ax2.axhline(0, color="grey", lw=0.5)
    for ax in (ax1, ax2):
        ax.set_xscale("log")
        ax.set_xlabel("sigma ([-1, 1] units)")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)
    return path


def _rows(record: dict[str, Any]) -> list[list[str]]:
    def fmt(v: Any, spec: str) -> str:
        return "-" if v is None else format(v, spec)

    return [[fmt(lv["sigma"], ".3g"), str(lv["t"]), fmt(lv["psnr_train"], ".2f"), fmt(lv["psnr_heldout"], ".2f"),
             f"{fmt(lv['gap'], '.3f')} [{fmt(lv['gap_ci_low'], '.3f')}, {fmt(lv['gap_ci_high'], '.3f')}]",
             fmt(lv.get("jacobian_trace"), ".4f")] for lv in record["levels"]]


HEAD = ["sigma", "t", "PSNR train", "PSNR held-out", "gap [95% CI]", "tr J / pixels"]


def probe_section(records: list[dict[str, Any]], fmt: str, base: Path, plot: Path | None,
                  md_text: Callable[[Any], str]) -> str:
    """The report's probe section in markdown or HTML (empty when there are no records)."""
    if not records:
        return ""
    url = quote(Path(os.path.relpath(plot, base)).as_posix()) if plot is not None else None
    note = ("Denoising on the probed train images vs held-out images at each noise level (same images and noise "
            "for every entry); gap = (MSE_h - MSE_t) / MSE_h with a bootstrap 95% interval over images.")
    if fmt == "html":
        out = ["<h2>Probes: the denoiser on train vs held-out images</h2>", f"<p>{html.escape(note)}</p>"]
        if url:
            out.append(f'<img src="{url}" alt="{PLOT_ALT}">')
        for record in records:
            out.append(f"<h3>{html.escape(probe_entry(record))} on {html.escape(record['dataset']['id'])}</h3>")
            out.append("<table><tr>" + "".join(f"<th>{h}</th>" for h in HEAD) + "</tr>")
            out += ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in _rows(record)]
            out.append("</table>")
        return "\n".join(out) + "\n"
    out = ["", "## Probes: the denoiser on train vs held-out images", "", md_text(note), ""]
    if url:
        out += [f"![{PLOT_ALT}]({url})", ""]
    for record in records:
        out += [f"### {md_text(probe_entry(record))} on {md_text(record['dataset']['id'])}", "",
                "| " + " | ".join(HEAD) + " |", "|" + "---:|" * len(HEAD)]
        out += ["| " + " | ".join(row) + " |" for row in _rows(record)]
        method = record.get("jacobian", {})
        if method.get("method") == "none":
            out += ["", f"- Jacobian trace skipped: {md_text(method.get('reason', ''))}"]
        out.append("")
    return "\n".join(out) + "\n"
