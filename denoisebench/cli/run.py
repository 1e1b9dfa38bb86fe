"""``denoisebench run``: generate samples with a provider and record the run."""

from __future__ import annotations

import json
from pathlib import Path

import click

from . import cli
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
@click.option("--metrics/--no-metrics", default=True, show_default=True, help="Evaluate the samples.")
@click.option("--results-dir", type=click.Path(path_type=Path), default=Path("results"), show_default=True)
def run_command(provider: str, dataset: str, data_dir: Path | None, sampler: str, steps: int,
                sampler_options: tuple[str, ...], variance: str | None, eta: float | None, clip_x0: bool, schedule: str, num_samples: int,
                batch_size: int, seed: int, device: str, checkpoint: Path | None,
                options: tuple[str, ...], metrics: bool, results_dir: Path) -> None:
    """Generate samples with PROVIDER inside a DDPM loop and write a run record."""
    from ..runs.runner import RunConfig, execute, prepare

    config = RunConfig(provider=provider, dataset=dataset, sampler=sampler, steps=steps,
                       num_samples=num_samples, batch_size=batch_size, seed=seed, device=device,
                       results_dir=results_dir, schedule=schedule, variance=variance, eta=eta,
                       sampler_options=parse_key_values(sampler_options, "--sampler-option"),
                       clip_x0=clip_x0, checkpoint=checkpoint, options=parse_key_values(options, "--option"),
                       data_dir=data_dir, metrics=metrics)
    prepared = prepare(config)
    _warn_about_shadowed_names(provider, sampler)
    total = num_samples * steps
    label = f"{prepared.provider.label()} {prepared.sampler.label()} {steps}"
    with Progress(total, f"sampling {label}", "image-steps") as progress:
        run_dir = execute(prepared, on_step=progress.update, log=lambda msg: click.echo(msg, err=True))
    record = json.loads((run_dir / RUN_FILE).read_text())
    for line in summary_lines(record):
        click.echo(line)
    click.echo(str(run_dir))


def _warn_about_shadowed_names(provider: str, sampler: str) -> None:
    """Say so when another plugin also registered the provider or sampler name this run uses."""
    from ..plugins import get_registry

    for err in get_registry().errors:
        if f"name {provider!r} is already registered" in err or f"name {sampler!r} is already registered" in err:
            click.echo(f"Warning: {err}; this run uses the first registration", err=True)
