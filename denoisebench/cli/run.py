"""``denoisebench run``: generate samples with a provider and record the run."""

from __future__ import annotations

import json
from pathlib import Path

import click

from . import cli
from ..runs import distributed
from ..runs.records import RUN_FILE
from ..runs.runner import DEFAULT_SAMPLER, DEFAULT_STEPS
from ..runs.summary import summary_lines
from ..options import parse_key_values
from .progress import Progress


@cli.command("run")
@click.option("--provider", "-p", required=True, help="Provider name (see 'denoisebench providers').")
@click.option("--dataset", default="mnist-5k", show_default=True, help="Dataset id.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Folder with the dataset's files (for 'mnist': the four IDX files).")
@click.option("--dataset-option", "-D", "dataset_options", multiple=True, metavar="KEY=VALUE",
              help="Dataset option, repeatable (e.g. -D size=64; see 'denoisebench datasets').")
@click.option("--sampler", default=DEFAULT_SAMPLER, show_default=True,
              help="Sampler name (see 'denoisebench samplers'); the seed's chain: --sampler ddpm --steps 1000.")
@click.option("--steps", type=click.IntRange(min=1), default=DEFAULT_STEPS, show_default=True,
              help="Sampling steps (network evaluations: see the sampler's NFE in 'denoisebench samplers').")
@click.option("--sampler-option", "-s", "sampler_options", multiple=True, metavar="KEY=VALUE",
              help="Sampler option, repeatable (e.g. -s eta=0.5, -s spacing=karras).")
@click.option("--variance", type=click.Choice(["large", "small"]), default=None,
              help="Shorthand for -s variance=... (ddpm: 'large' = beta_t, the seed's; 'small' = beta~_t).")
@click.option("--eta", type=click.FloatRange(0.0, 1.0), default=None, help="Shorthand for -s eta=... (ddim).")
@click.option("--clip-x0/--no-clip-x0", default=False, show_default=True,
              help="Shorthand for -s clip_x0=1: clamp x0_hat to [-1, 1].")
@click.option("--schedule", type=click.Choice(["linear", "cosine"]), default="linear", show_default=True)
@click.option("--num-samples", "-n", type=click.IntRange(min=1), default=256, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or mps.")
@click.option("--checkpoint", type=click.Path(path_type=Path), default=None,
              help="Weights for providers that load them.")
@click.option("--option", "-o", "options", multiple=True, metavar="KEY=VALUE",
              help="Provider option, repeatable (e.g. -o mode=tweedie).")
@click.option("--encoder", "-e", "encoders", multiple=True,
              help="Encoder of the feature metrics, repeatable (see 'denoisebench encoders'; default: the dataset's).")
@click.option("--encoder-weights", "encoder_weights", multiple=True, metavar="NAME=PATH",
              help="An encoder's weights file, repeatable (default: its library's cache).")
@click.option("--metrics/--no-metrics", default=True, show_default=True, help="Evaluate the samples.")
@click.option("--results-dir", type=click.Path(path_type=Path), default=Path("results"), show_default=True)
def run_command(provider: str, dataset: str, data_dir: Path | None, dataset_options: tuple[str, ...], sampler: str, steps: int,
                sampler_options: tuple[str, ...], variance: str | None, eta: float | None, clip_x0: bool, schedule: str, num_samples: int,
                batch_size: int, seed: int, device: str, checkpoint: Path | None,
                options: tuple[str, ...], encoders: tuple[str, ...], encoder_weights: tuple[str, ...], metrics: bool,
                results_dir: Path) -> None:
    """Generate samples with PROVIDER inside a DDPM loop and write a run record.

    Under torchrun (``torchrun --nproc_per_node=K --no-python denoisebench run ...``) the K ranks
    share the batches; rank 0 evaluates and writes the one run, byte-identical to one process's.
    """
    from ..api import run_config
    from ..encoders import parse_weights_options
    from ..runs.runner import execute, prepare, with_sampler_shorthands

    with distributed.cli_session() as session:  # under torchrun: only the rank concerned prints an error
        given_sampler_options = with_sampler_shorthands(parse_key_values(sampler_options, "--sampler-option"),
                                                        variance=variance, eta=eta, clip_x0=clip_x0)
        config = run_config(provider=provider, dataset=dataset, sampler=sampler, steps=steps,
                            num_samples=num_samples, batch_size=batch_size, seed=seed, device=device,
                            results_dir=results_dir, schedule=schedule, sampler_options=given_sampler_options,
                            checkpoint=checkpoint, options=parse_key_values(options, "--option"),
                            data_dir=data_dir, metrics=metrics, encoders=encoders,
                            encoder_weights=parse_weights_options(encoder_weights),
                            dataset_options=parse_key_values(dataset_options, "--dataset-option"))
        prepared = prepare(config)
        if session is not None and not session.is_main:  # other ranks generate their share quietly
            execute(prepared)
            return
        _warn_about_shadowed_names(provider, sampler, dataset)
        label = f"{prepared.provider.label()} {prepared.sampler.label()} {steps}"
        share = num_samples
        if session is not None:
            share = sum(map(len, distributed.shard_batches(num_samples, batch_size, 0, session.world_size)))
            label += f" (rank 0 of {session.world_size}: {share} of {num_samples} samples)"
            idle_warning(num_samples, batch_size, session.world_size)
        with Progress(share * steps, f"sampling {label}", "image-steps") as progress:
            run_dir = execute(prepared, on_step=progress.update, log=lambda msg: click.echo(msg, err=True))
    record = json.loads((run_dir / RUN_FILE).read_text())
    for line in summary_lines(record):
        click.echo(line)
    click.echo(str(run_dir))


def _warn_about_shadowed_names(provider: str, sampler: str, dataset: str = "") -> None:
    """Say so when another plugin also registered the provider, sampler or dataset name this run uses."""
    from ..plugins import get_registry

    for err in get_registry().errors:
        if (f"name {provider!r} is already registered" in err or f"name {sampler!r} is already registered" in err
                or f"dataset id {dataset!r} is already registered" in err):
            click.echo(f"Warning: {err}; this run uses the first registration", err=True)


def idle_warning(num_samples: int, batch_size: int, world_size: int) -> None:
    """Say so when there are fewer batches than ranks: ranks take whole batches, so some would idle."""
    batches = -(-num_samples // batch_size)
    if batches < world_size:
        click.echo(f"warning: {num_samples} samples in batches of {batch_size} make {batches} batch(es) for "
                   f"{world_size} ranks, so {world_size - batches} rank(s) stay idle; a smaller --batch-size "
                   "shares the work (samples may then differ by one grey level from this batch size's)", err=True)
