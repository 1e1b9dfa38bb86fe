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
@click.option("--metric", "-m", "metrics", multiple=True,
              help="Metrics to decide on, repeatable: fid, kid, entropy, memorised and any plugin metric that "
                   "declares pairing (default: all).")
@click.option("--encoder", "encoders", multiple=True, metavar="NAME",
              help="Decide each feature metric (fid, kid, plugin paired metrics) on this encoder's features, "
                   "repeatable; each pair also gets a verdict across encoders (robust / split / level). Default: "
                   "mnist-classifier where it reads the images, the encoders the runs recorded, and pixels for "
                   "all but FD (FD in pixel space only when named: ~0.2 s per replicate per run at 784-d on "
                   "one CPU thread; KD: 0.3 s per run).")
@click.option("--bootstrap", "n_bootstrap", type=click.IntRange(min=100), default=1000, show_default=True,
              help="Bootstrap replicates.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap resampling.")
@click.option("--fixed-reference", is_flag=True,
              help="Hold the held-out reference set fixed: intervals cover generation noise only (narrower; a "
                   "statement about this reference set rather than the data distribution).")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Folder with the dataset's files (for 'mnist').")
@click.option("--agreement", is_flag=True,
              help="Add the sample agreement of every pair of entries run from the same noise (markdown): mean "
                   "centred cosine of paired samples and the share above --agreement-threshold.")
@click.option("--agreement-threshold", type=click.FloatRange(-1, 1), default=0.9, show_default=True,
              help="Cosine above which a pair of samples counts as the same image.")
def compare_command(target: Path, fmt: str, output: Path | None, results_dir: Path | None, metrics: tuple[str, ...],
                    n_bootstrap: int, seed: int, fixed_reference: bool, data_dir: Path | None,
                    agreement: bool = False, agreement_threshold: float = 0.9, encoders: tuple[str, ...] = ()
                    ) -> None:
    """Compare every pair of entries run on the same dataset, sampler, steps and N, paired by seed and
    sample index: the difference of each metric, its 95% interval, a verdict and rank groups."""
    from ..api import comparison as compare_results
    from ..compare import render
    from ..errors import DenoisebenchError
    from ..fileio import check_writable_file, write_output_text

    def note(message: str) -> None:
        click.echo(f"compare: {message}", err=True)

    def warn(message: str) -> None:
        click.echo(f"warning: {message}", err=True)

    if agreement and fmt != "markdown":
        raise DenoisebenchError("--agreement is written in the markdown format only: drop --format or --agreement")
    if output is not None:
        check_writable_file(output, "--output")  # before any work
    comparison = compare_results(target, metrics=metrics, bootstrap=n_bootstrap, seed=seed,
                                 fixed_reference=fixed_reference, results_dir=results_dir, data_dir=data_dir,
                                 warn=warn, progress=note, encoders=encoders)  # the same comparison as denoisebench.compare(...)
    refs = []
    if agreement:  # the runs again, for the sample agreement
        from ..compare import runs_in, runs_of_plan

        if target.is_file() or target.suffix == ".toml":
            from ..suite import load_suite, plan_suite

            refs = runs_of_plan(plan_suite(load_suite(target), results_dir, check_device=False))
        else:
            refs = runs_in(target, lambda _message: None)
    text = render(comparison, fmt)
    if agreement:  # sample agreement: its own module, appended to the markdown
        from ..compare.agreement import agreement_markdown, agreement_rows

        text += agreement_markdown(agreement_rows(refs, agreement_threshold))
    if fmt == "markdown" and target.is_dir():  # probe records: paired verdicts per level (probe/paired.py)
        from ..probe.paired import paired_markdown
        from ..report.probes import load_probe_records, probe_entry

        text += paired_markdown(load_probe_records(target, warn=warn), probe_entry)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_output_text(output, text, "--output")
        click.echo(str(output))
