"""``denoisebench providers``: what is installed, where it comes from, what failed."""

from __future__ import annotations

import json

import click

from . import cli


def provider_rows() -> list[dict[str, str]]:
    from ..plugins import get_registry

    registry = get_registry()
    return [{"name": name, "description": cls.description, "plugin": info.plugin,
             "distribution": info.distribution, "version": info.version,
             "kind": "restoration" if _is_restoration(cls) else "epsilon"}
            for name, (cls, info) in sorted(registry.providers.items())]


def _is_restoration(cls: type) -> bool:
    from ..providers.restoration import RestorationProvider

    return issubclass(cls, RestorationProvider)


@cli.command("providers")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def providers_command(as_json: bool) -> None:
    """List the epsilon providers and the plugins that registered them."""
    from ..plugins import get_registry

    rows = provider_rows()
    errors = get_registry().errors
    if as_json:
        click.echo(json.dumps({"providers": rows, "errors": errors}, indent=2))
        return
    import pandas as pd

    if rows:
        click.echo(pd.DataFrame(rows).set_index("name").to_string())
    for err in errors:
        click.echo(f"Warning: {err}", err=True)
