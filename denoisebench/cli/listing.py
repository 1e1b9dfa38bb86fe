"""``denoisebench providers | samplers | metrics``: what is installed, from which plugin, what failed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from . import cli

COLUMNS = ("name", "kind", "description", "plugin", "distribution", "version")


def format_table(rows: list[dict[str, str]], columns: tuple[str, ...]) -> str:
    """A plain fixed-width text table with a header and a rule."""
    cols = [c for c in columns if any(r.get(c) for r in rows)]
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in cols}
    lines = ["  ".join(c.ljust(widths[c]) for c in cols).rstrip(),
             "  ".join("-" * widths[c] for c in cols)]
    lines += ["  ".join(str(r.get(c, "")).ljust(widths[c]) for c in cols).rstrip() for r in rows]
    return "\n".join(lines)


def _rows(table: dict[str, tuple[type, Any]], kind: Callable[[type], str]) -> list[dict[str, str]]:
    return [{"name": name, "kind": kind(cls), "description": " ".join(str(cls.description).split()),
             "plugin": info.plugin, "distribution": info.distribution, "version": info.version}
            for name, (cls, info) in sorted(table.items())]


def provider_rows() -> list[dict[str, str]]:
    from ..plugins import get_registry
    from ..interfaces.restoration import RestorationProvider

    return _rows(get_registry().providers,
                 lambda cls: "restoration" if issubclass(cls, RestorationProvider) else "epsilon")


def sampler_rows() -> list[dict[str, str]]:
    from ..plugins import get_registry

    def kind(cls: type) -> str:
        return f"{cls.evals_per_step} eval/step"

    rows = _rows(get_registry().samplers, kind)
    for row in rows:
        cls = get_registry().samplers[row["name"]][0]
        row["options"] = ", ".join(sorted(cls.options))
    return rows


def metric_rows() -> list[dict[str, str]]:
    from ..plugins import get_registry

    def kind(cls: type) -> str:
        arrows = {"min": "↓", "max": "↑", "zero": "→0"}
        cols = " ".join(f"{c.key}{arrows.get(c.better or '', '')}" for c in cls.columns if c.shown)
        return cols + (" (depends on N)" if cls.depends_on_n else "")

    return _rows(get_registry().metrics, kind)


def _listing(what: str, rows: list[dict[str, str]], as_json: bool, columns: tuple[str, ...] = COLUMNS) -> None:
    from ..plugins import get_registry

    errors = get_registry().errors
    if as_json:
        click.echo(json.dumps({what: rows, "errors": errors}, indent=2, ensure_ascii=False))
        return
    click.echo(format_table(rows, columns) if rows else f"No {what} installed.")
    for err in errors:
        click.echo(f"Warning: {err}", err=True)


@cli.command("providers")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def providers_command(as_json: bool) -> None:
    """List the epsilon providers and the plugins that registered them."""
    _listing("providers", provider_rows(), as_json)


@cli.command("samplers")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def samplers_command(as_json: bool) -> None:
    """List the samplers (network evaluations per step, options) and their plugins."""
    _listing("samplers", sampler_rows(), as_json, COLUMNS + ("options",))


@cli.command("metrics")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def metrics_command(as_json: bool) -> None:
    """List the metrics (report columns, ↓/↑ better direction) and their plugins."""
    _listing("metrics", metric_rows(), as_json)
