"""``denoisebench train``: train any trainable provider (same command under torchrun = DDP)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from . import cli
from ..options import parse_key_values

#: Exit code after Ctrl-C (128 + SIGINT), once the run is saved: scripts can tell it from success.
EXIT_INTERRUPTED = 130
#: Exit code after SIGTERM (128 + 15; timeout, SLURM, docker stop), once the run is saved.
EXIT_TERMINATED = 143


def _trainer_default(name: str) -> Any:
    from ..training.config import TrainConfig

    return TrainConfig.__dataclass_fields__[name].default


def _provider_defaults(name: str) -> dict[str, Any]:
    """Each installed trainable provider's default for trainer option ``name`` (its recipe's, else the trainer's)."""
    from ..plugins import get_registry
    from ..training.recipe import recipe_of

    try:
        providers = get_registry().providers
    except Exception:  # noqa: BLE001 - help must print even when a plugin is broken
        return {}
    out = {}
    for provider, (cls, _info) in sorted(providers.items()):
        recipe = recipe_of(cls)
        if recipe is not None:
            out[provider] = recipe.train_defaults.get(name, _trainer_default(name))
    return out


class TrainerDefaultOption(click.Option):
    """An option whose help shows the trainer's default and, at help time, each provider's own."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        record = super().get_help_record(ctx)
        if record is None or self.name is None:
            return record
        per_provider = ", ".join(f"{p} {v:g}" for p, v in _provider_defaults(self.name).items())
        shown = f"[default: the provider's ({per_provider}), else {_trainer_default(self.name):g}]" \
            if per_provider else f"[default: {_trainer_default(self.name):g}]"
        return record[0], f"{record[1]} {shown}"


@cli.command("train")
@click.option("--provider", "-p", required=True, help="A trainable provider (e.g. unet).")
@click.option("--dataset", default=None, help="Dataset id [default: mnist-5k].")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="Folder with the dataset's files.")
@click.option("--dataset-option", "-D", "dataset_options", multiple=True, metavar="KEY=VALUE",
              help="Dataset option, repeatable (e.g. -D size=64; see 'denoisebench datasets').")
@click.option("--steps", type=click.IntRange(min=1), default=None,
              help="Optimiser steps; also the cosine LR horizon (without it the LR stays at peak).")
@click.option("--minutes", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Wall-clock budget of this session; saves and stops when spent.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, cls=TrainerDefaultOption,
              help="Global batch size.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None, cls=TrainerDefaultOption,
              help="Peak learning rate.")
@click.option("--warmup", type=click.IntRange(min=0), default=None, cls=TrainerDefaultOption,
              help="Linear LR warm-up steps.")
@click.option("--weight-decay", type=click.FloatRange(min=0), default=None, cls=TrainerDefaultOption,
              help="AdamW weight decay.")
@click.option("--ema-decay", type=click.FloatRange(0, 1, max_open=True), default=None, cls=TrainerDefaultOption,
              help="Maximum EMA decay (timm ModelEmaV3 with warm-up).")
@click.option("--seed", type=int, default=None,
              help="Seed of weights, data order and noise, 0 to 2**63 - 1 [default: 0].")
@click.option("--device", default=None, help="cpu, cuda, cuda:N or mps [default: cpu].")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="torch threads per process.")
@click.option("--schedule", type=click.Choice(["linear", "cosine"]), default=None, help="Noise schedule [default: linear].")
@click.option("--model-option", "-m", "model_options", multiple=True, metavar="KEY=VALUE",
              help="Architecture option, repeatable (unet: channels=32,64,96 blocks=1 attention=true "
                   "patch=2 parameterisation=v min_snr_gamma=5).")
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path),
              help="Checkpoint path (*.safetensors; the training state goes to *.state.safetensors, the "
                   "log to *.log.jsonl).")
@click.option("--resume", is_flag=True, help="Continue the interrupted run saved at --output exactly.")
@click.option("--overwrite", is_flag=True, help="Replace the run saved at --output (refused without it).")
@click.option("--eval-every", type=click.IntRange(min=0), default=None,
              help="Every N steps sample a fixed set and log KID/FID (0: never) [default: 0].")
@click.option("--eval-samples", type=click.IntRange(min=1), default=None, help="Samples per evaluation [default: 100].")
@click.option("--eval-sampler", default=None, help="Registered sampler of the evaluation [default: ddim].")
@click.option("--eval-sampler-option", "eval_sampler_options", multiple=True, metavar="KEY=VALUE",
              help="Option of the evaluation's sampler, repeatable (e.g. eta=1).")
@click.option("--eval-steps", type=click.IntRange(min=1), default=None, help="Sampler steps per evaluation [default: 20].")
@click.option("--train-size", type=int, default=None,
              help="Train on N images of the train split (a class-stratified subset) [default: all].")
@click.option("--train-subset", type=int, default=None,
              help="Which N-image subset (0, 1, ...): different K are disjoint [default: 0].")
@click.option("--subset-seed", type=int, default=None,
              help="Seed of the order the subsets are cut from (not the training seed) [default: 0].")
@click.option("--save-every", type=click.IntRange(min=1), default=None, help="Checkpoint every N steps [default: 500].")
@click.option("--log-every", type=click.IntRange(min=1), default=None, help="Log every N steps [default: 50].")
@click.option("--interrupt-after", type=click.IntRange(min=0), default=None, hidden=True,
              help="Testing: behave as if Ctrl-C came after step N.")
def train_command(resume: bool, overwrite: bool, interrupt_after: int | None, model_options: tuple[str, ...],
                  eval_sampler_options: tuple[str, ...], dataset_options: tuple[str, ...], **options: Any) -> None:
    """Train PROVIDER's network; progress on stderr, checkpoints in safetensors.

    \b
    An existing --output is never replaced silently: pass --resume to continue it (its training
    state must be the one written with it) or --overwrite to start over. Ctrl-C saves and exits
    with code 130, SIGTERM (timeout, SLURM, docker stop) saves and exits with code 143. Data-parallel (DDP, gloo on CPU, nccl on GPU; --batch-size is the global batch,
    rank 0 writes the files):
      torchrun --standalone --nproc_per_node=2 --no-python denoisebench train -p unet ...
    """
    from ..plugins import get_registry
    from ..training.config import resolve_config
    from ..training.trainer import train

    registry = get_registry()  # the registry is consulted here, at the top, and handed down
    given = {k: v for k, v in options.items() if v is not None}
    if model_options:
        given["model_options"] = parse_key_values(model_options, "--model-option")
    if dataset_options:
        given["dataset_options"] = parse_key_values(dataset_options, "--dataset-option")
    if eval_sampler_options:
        given["eval_sampler_options"] = parse_key_values(eval_sampler_options, "--eval-sampler-option")
    config = resolve_config(given, resume, catalogue=registry)
    result = train(config, resume=resume, overwrite=overwrite, interrupt_after=interrupt_after,
                   log=lambda msg: click.echo(msg, err=True), catalogue=registry)
    if result.main:
        click.echo(str(result.output))
    if result.interrupted:  # not click's Exit: the group runs click non-standalone, which swallows it
        sys.exit(128 + int(result.signal) if result.signal else EXIT_INTERRUPTED)
