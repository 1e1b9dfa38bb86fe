"""``denoisebench datasets``: the registered datasets."""

from __future__ import annotations

import json

import click

from . import cli


@cli.command("datasets")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def datasets_command(as_json: bool) -> None:
    """List the datasets that providers and metrics can use."""
    from ..plugins.manager import get_registry

    rows = [{"id": spec.id, "description": spec.description, "plugin": info.plugin}
            for spec, info in (v for _, v in sorted(get_registry().datasets.items()))]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['id']:<12} {row['description']}  [{row['plugin']}]")
