"""``denoisebench compare [RESULTS_DIR | SUITE.toml]``: paired differences with intervals and verdicts."""

from __future__ import annotations

from pathlib import Path

import click

from . import cli


@cli.command("compare")
@click.argument("target", metavar="[RESULTS_DIR | SUITE.toml]", required=False, type=click.Path(path_type=Path),
                default=Path("results"))
@click.option("--format", "fmt", type=click.Choice(["markdown", "html", "csv", "json"]), default="markdown",
              show_default=True)
@click.option("--output", "-O", type=click.Path(path_type=Path), default=None, help="Write here instead of stdout.")
@click.option("--results-dir", type=click.Path(path_type=Path), default=None,
              help="With a suite: where its runs are (default: the suite's results_dir, else ./results).")
@click.option("--metric", "-m", "metrics", multiple=True, type=click.Choice(["fid", "kid", "entropy", "memorised"]),
              help="Metrics to decide on, repeatable (default: all).")
@click.option("--bootstrap", "n_bootstrap", type=click.IntRange(min=100), default=1000, show_default=True,
              help="Bootstrap replicates.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap resampling.")
@click.option("--fixed-reference", is_flag=True,
              help="Hold the held-out reference set fixed: intervals cover generation noise only (narrower; a "
                   "statement about this reference set rather than the data distribution).")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Folder with the dataset's files (for 'mnist').")
def compare_command(target: Path, fmt: str, output: Path | None, results_dir: Path | None, metrics: tuple[str, ...],
                    n_bootstrap: int, seed: int, fixed_reference: bool, data_dir: Path | None) -> None:
    """Compare every pair of entries run on the same dataset, sampler, steps and N, paired by seed and
    sample index: the difference of each metric, its 95% interval, a verdict and rank groups."""
    from ..api import comparison as compare_results
    from ..compare import render
    from ..fileio import write_text_atomic

    comparison = compare_results(target, metrics=metrics, bootstrap=n_bootstrap, seed=seed,
                                 fixed_reference=fixed_reference, results_dir=results_dir, data_dir=data_dir,
                                 warn=lambda message: click.echo(f"warning: {message}", err=True),
                                 progress=lambda message: click.echo(f"compare: {message}", err=True))
    text = render(comparison, fmt)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_text_atomic(output, text)
        click.echo(str(output))
