"""``denoisebench train``: train any trainable provider (same command under torchrun = DDP)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from . import cli
from .options import parse_key_values


@cli.command("train")
@click.option("--provider", "-p", required=True, help="A trainable provider (e.g. unet).")
@click.option("--dataset", default=None, help="Dataset id [default: mnist-5k].")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="Folder with the dataset's files.")
@click.option("--steps", type=click.IntRange(min=1), default=None,
              help="Optimiser steps; also the cosine LR horizon (without it the LR stays at peak).")
@click.option("--minutes", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Wall-clock budget of this session; saves and stops when spent.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Global batch size.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None, help="Peak learning rate.")
@click.option("--warmup", type=click.IntRange(min=0), default=None, help="Linear LR warm-up steps.")
@click.option("--weight-decay", type=click.FloatRange(min=0), default=None, help="AdamW weight decay.")
@click.option("--ema-decay", type=click.FloatRange(0, 1, max_open=True), default=None,
              help="Maximum EMA decay (timm ModelEmaV3 with warm-up).")
@click.option("--seed", type=int, default=None, help="Seed of weights, data order and noise [default: 0].")
@click.option("--device", default=None, help="cpu, cuda, cuda:N or mps [default: cpu].")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="torch threads per process.")
@click.option("--schedule", type=click.Choice(["linear", "cosine"]), default=None, help="Noise schedule [default: linear].")
@click.option("--model-option", "-m", "model_options", multiple=True, metavar="KEY=VALUE",
              help="Architecture option, repeatable (unet: channels=32,64,96 blocks=1 attention=true "
                   "patch=2 parameterisation=v min_snr_gamma=5).")
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path),
              help="Checkpoint path (*.safetensors; the training state goes to *.state.safetensors).")
@click.option("--resume", is_flag=True, help="Continue the interrupted run saved at --output exactly.")
@click.option("--eval-every", type=click.IntRange(min=0), default=None,
              help="Every N steps sample a fixed set and log KID/FID (0: never).")
@click.option("--eval-samples", type=click.IntRange(min=1), default=None, help="Samples per evaluation [100].")
@click.option("--eval-steps", type=click.IntRange(min=1), default=None, help="DDIM steps per evaluation [20].")
@click.option("--save-every", type=click.IntRange(min=1), default=None, help="Checkpoint every N steps [500].")
@click.option("--log-every", type=click.IntRange(min=1), default=None, help="Log every N steps [50].")
@click.option("--interrupt-after", type=click.IntRange(min=0), default=None, hidden=True,
              help="Testing: behave as if Ctrl-C came after step N.")
def train_command(resume: bool, interrupt_after: int | None, model_options: tuple[str, ...],
                  **options: Any) -> None:
    """Train PROVIDER's network; progress on stderr, checkpoints in safetensors.

    \b
    Ctrl-C saves and exits; --resume continues exactly. Data-parallel (DDP, gloo on CPU, nccl on
    GPU; --batch-size is the global batch, rank 0 writes the files):
      torchrun --standalone --nproc_per_node=2 --no-python denoisebench train -p unet ...
    """
    from ..training.trainer import resolve_config, train

    given = {k: v for k, v in options.items() if v is not None}
    if model_options:
        given["model_options"] = parse_key_values(model_options)
    config = resolve_config(given, resume)
    result = train(config, resume=resume, interrupt_after=interrupt_after,
                   log=lambda msg: click.echo(msg, err=True))
    if result.main:
        click.echo(str(result.output))
