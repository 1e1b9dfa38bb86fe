"""``denoisebench quickstart``: the first comparison a newcomer runs, in one command.

It benches the suite shipped as ``denoisebench/suite/quickstart.toml`` (the U-Net, the KBNet and the
memorisation reference on the embedded data) like ``denoisebench bench`` (complete cells are kept,
so running it again resumes), then writes the leaderboard page like ``denoisebench leaderboard``.
"""

from __future__ import annotations

import dataclasses
from importlib import resources
from pathlib import Path

import click

from . import cli

SUITE_FILE = "quickstart.toml"


def quickstart_suite():  # noqa: ANN201 - a SuiteSpec
    """The shipped quickstart suite."""
    from ..suite import parse_suite

    source = resources.files("denoisebench.suite").joinpath(SUITE_FILE)
    return parse_suite(source.read_text(encoding="utf-8"), Path(str(source)))


@cli.command("quickstart")
@click.option("--results-dir", type=click.Path(path_type=Path), default=Path("results/quickstart"),
              show_default=True, help="Where the runs go.")
@click.option("--output", "-o", type=click.Path(path_type=Path), default=Path("quickstart.html"), show_default=True,
              help="The leaderboard page to write.")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Cells run at once, each in its own process with one torch thread per core it gets.")
@click.option("--num-samples", "-n", type=click.IntRange(min=10), default=None,
              help="Samples per entry [default: the suite's 1000].")
def quickstart_command(results_dir: Path, output: Path, workers: int, num_samples: int | None) -> None:
    """Compare the shipped U-Net, the KBNet and the memorisation reference (empirical, which copies
    the training set) on the embedded 5,000-digit MNIST subset, then write the leaderboard page:
    quality with paired 95% intervals, the memorised share, cost and samples. A few minutes on
    2 cores; running it again resumes."""
    import os

    from ..leaderboard import build_leaderboard
    from ..report import check_writable
    from ..suite import plan_suite
    from ..suite.validate import check_entries
    from .bench import _run, _run_pending

    check_writable(output)
    suite = quickstart_suite()
    if num_samples is not None:
        suite = dataclasses.replace(suite, num_samples=num_samples)
    plan = plan_suite(suite, results_dir)
    check_entries(plan.suite, plan.pending)
    threads = max(1, (os.cpu_count() or 1) // workers)
    _run(plan, lambda progress: _run_pending(plan, progress, workers if len(plan.pending) > 1 else 1, threads))
    build_leaderboard([results_dir], output, n_bootstrap=200,
                      warn=lambda msg: click.echo(f"warning: {msg}", err=True),
                      progress=lambda msg: click.echo(f"leaderboard: {msg}", err=True))
    click.echo(f"open {output} in a browser: the leaderboard of {results_dir}")
