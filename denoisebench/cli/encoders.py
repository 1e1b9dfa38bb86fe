"""``denoisebench encoders``: the feature encoders, their input, output and weights."""

from __future__ import annotations

import json

import click

from . import cli


@cli.command("encoders")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def encoders_command(as_json: bool) -> None:
    """List the feature encoders: input (channels, size, range), output dimension, weights and
    whether they are present."""
    from ..plugins import get_registry
    from .listing import format_table

    registry = get_registry()
    rows = []
    for name, (cls, info) in registry.encoders.items():
        rows.append({**cls().describe(), "plugin": info.plugin, "distribution": info.distribution,
                     "version": info.version})
    if as_json:
        click.echo(json.dumps({"encoders": rows, "errors": registry.errors}, indent=2))
        return
    table = [{"name": r["name"], "input": f"{r['input']['channels'] or 'any '}ch "
              f"{'x'.join(map(str, r['input']['size'])) if r['input']['size'] else 'any'} {r['input']['range']}",
              "dim": str(r["output_dim"] or "C*H*W"), "weights": ("none needed" if r["weights"] is None and r["present"] else "present" if r["present"] else "MISSING"),
              "path": r["weights"] or "-", "plugin": r["plugin"]} for r in rows]
    click.echo(format_table(table, ("name", "input", "dim", "weights", "path", "plugin")))
    for err in registry.errors:
        click.echo(f"Warning: {err}", err=True)
