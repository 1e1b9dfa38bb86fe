"""``denoisebench datasets``: the registered datasets, their shape, sizes, source, options and
whether their files are present (checked offline: nothing is downloaded)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from . import cli


def dataset_rows(data_dir: Path | None = None) -> list[dict[str, object]]:
    """One row per registered dataset, read from its :class:`~denoisebench.DatasetSpec`."""
    from ..datasets.base import DatasetOptions
    from ..plugins.manager import get_registry

    rows = []
    for _, (spec, info) in sorted(get_registry().datasets.items()):
        check = getattr(spec, "files_present", None)
        try:
            files = None if check is None else bool(check(DatasetOptions(data_dir=data_dir)))
        except Exception:  # noqa: BLE001 - a plugin's check must not break the listing
            files = False
        sizes = getattr(spec, "sizes", None)
        shape = getattr(spec, "image_shape", None)
        rows.append({"id": spec.id, "description": spec.description, "plugin": info.plugin,
                     "shape": list(shape) if shape else None,
                     "train": sizes[0] if sizes else None, "heldout": sizes[1] if sizes else None,
                     "source": getattr(spec, "source", ""), "options": dict(getattr(spec, "options", {}) or {}),
                     "files_present": files})
    return rows


def _shape_text(shape: object) -> str:
    return " x ".join(map(str, shape)) if isinstance(shape, list) else "any"


@cli.command("datasets")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Check for the files in this folder instead of the cache.")
def datasets_command(as_json: bool, data_dir: Path | None) -> None:
    """List the datasets: shape (C x H x W), train/held-out sizes, source, -D options and whether
    their files are present (offline check; nothing is downloaded)."""
    rows = dataset_rows(data_dir)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        files = {True: "files present", False: "files absent", None: "no files needed"}[row["files_present"]]
        sizes = f"{row['train']}/{row['heldout']}" if row["train"] is not None else "?/?"
        click.echo(f"{row['id']:<19} {_shape_text(row['shape']):<12} {sizes:<13} {files:<15} {row['description']}  "
                   f"[{row['plugin']}]")
        for key, help_text in row["options"].items():
            click.echo(f"{'':<21}-D {key}=...  {help_text}")
