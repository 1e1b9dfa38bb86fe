"""``denoisebench figure``: explanatory figures."""

from __future__ import annotations

from pathlib import Path

import click

from . import cli


@cli.group("figure")
def figure_group() -> None:
    """Draw explanatory figures."""


def _timesteps(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, ...]:
    try:
        steps = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {value!r}") from None
    if not steps:
        raise click.BadParameter("give at least one timestep")
    return steps


@figure_group.command("forward")
@click.option("--dataset", default="mnist-5k", show_default=True, help="Dataset id (held-out digits are drawn).")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="Folder with the dataset's files.")
@click.option("--count", type=click.IntRange(min=1, max=64), default=5, show_default=True, help="Digits (rows).")
@click.option("--timesteps", default="0,25,50,100,200,300,500,700,1000", show_default=True,
              callback=_timesteps, help="Comma-separated t (columns).")
@click.option("--schedule", type=click.Choice(["linear", "cosine"]), default="linear", show_default=True)
@click.option("--T", "T", type=click.IntRange(min=2), default=1000, show_default=True)  # noqa: N803
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--output", "-o", type=click.Path(path_type=Path), default=Path("forward.png"), show_default=True)
def forward_command(dataset: str, data_dir: Path | None, count: int, timesteps: tuple[int, ...], schedule: str,
                    T: int, seed: int, output: Path) -> None:  # noqa: N803
    """Draw the forward noising of a few digits over t."""
    from ..datasets.base import DatasetOptions
    from ..fileio import check_writable_file
    from ..report.figures import forward_figure
    from ..plugins.manager import get_registry

    check_writable_file(output, "--output")  # before any work
    data = get_registry().dataset(dataset).load(DatasetOptions(data_dir=data_dir))
    click.echo(str(forward_figure(output, data, count=count, timesteps=timesteps, schedule=schedule, T=T,
                                  seed=seed)))
