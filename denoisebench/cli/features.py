"""``denoisebench features``: train and inspect the pinned feature network of the metrics."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from . import cli


@cli.group("features")
def features_group() -> None:
    """The MNIST classifier whose penultimate layer gives the metric features."""


@features_group.command("train")
@click.option("--dataset", default="mnist-5k", show_default=True, help="Dataset id (its train split is used).")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="Folder with the dataset's files.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--epochs", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=2e-3, show_default=True)
@click.option("--output", type=click.Path(path_type=Path), required=True,
              help="Weights file (.safetensors); the JSON manifest is written beside it.")
def train_command(dataset: str, data_dir: Path | None, seed: int, epochs: int, batch_size: int, lr: float,
                  output: Path) -> None:
    """Train the classifier on the train split and write weights + manifest."""
    from ..datasets.base import DatasetOptions
    from ..errors import DenoisebenchError
    from ..metrics.features.train import TrainConfig, accuracy, save_classifier, train_classifier
    from ..plugins.manager import get_registry

    if output.suffix != ".safetensors":
        raise DenoisebenchError(f"--output {output} must end in .safetensors")
    data = get_registry().dataset(dataset).load(DatasetOptions(data_dir=data_dir))
    config = TrainConfig(seed=seed, epochs=epochs, batch_size=batch_size, lr=lr)
    started = time.perf_counter()
    model = train_classifier(data, config, log=lambda msg: click.echo(msg, err=True))
    train_s = time.perf_counter() - started
    acc = accuracy(model, data.heldout_images, data.heldout_labels)
    manifest = save_classifier(model, output, data, config, acc, train_s)
    click.echo(f"held-out accuracy {acc:.4f} on {len(data.heldout_images)} images; "
               f"trained in {train_s:.0f} s; sha256 {manifest['sha256']}", err=True)
    click.echo(str(output))


@features_group.command("info")
@click.option("--weights", type=click.Path(path_type=Path), default=None,
              help="Weights file (default: the one shipped with the package).")
def info_command(weights: Path | None) -> None:
    """Verify the feature network's sha256 and print its manifest."""
    from ..metrics.features import load_feature_network

    net = load_feature_network(weights)
    click.echo(json.dumps(net.manifest, indent=2))
