"""``denoisebench leaderboard [RESULTS_DIR ...] --output board.html``: one offline HTML page that ranks
the denoisers of every setting, with paired verdicts, quality against cost and sample grids."""

from __future__ import annotations

from pathlib import Path

import click

from . import cli


@cli.command("leaderboard")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--output", "-o", type=click.Path(path_type=Path), default=Path("leaderboard.html"), show_default=True,
              help="The HTML file to write (atomically).")
@click.option("--bootstrap", "n_bootstrap", type=click.IntRange(min=50), default=100, show_default=True,
              help="Paired bootstrap replicates (about 0.5 s per run each 100 on one core; 1000 for final intervals).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap resampling.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Folder with the dataset's files (for 'mnist').")
@click.option("--encoder", "-e", "encoders", multiple=True,
              help="Encoder of the paired verdicts, repeatable (default: the classifier where it reads the images, "
                   "the encoders the runs recorded, and pixels); each verdict says whether the encoders agree.")
def leaderboard_command(paths: tuple[Path, ...], output: Path, n_bootstrap: int, seed: int,
                        data_dir: Path | None, encoders: tuple[str, ...]) -> None:
    """Rank the entries of every setting by FID-proxy with shaded rank groups, the paired verdicts, the
    quality-vs-cost plot with its Pareto front, the sample grids and the real-image floor.

    PATHS are results dirs or run dirs (default: ./results).
    """
    from ..leaderboard import build_leaderboard

    build_leaderboard(list(paths) or [Path("results")], output, n_bootstrap, seed, data_dir,
                      warn=lambda msg: click.echo(f"warning: {msg}", err=True),
                      progress=lambda msg: click.echo(f"leaderboard: {msg}", err=True),
                      encoders=list(encoders) or None)
    click.echo(str(output))
