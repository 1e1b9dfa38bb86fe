"""``denoisebench features``: train and inspect the pinned feature network of the metrics."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from . import cli


@cli.group("features")
def features_group() -> None:
    """The feature networks trained here: the MNIST classifier (the FID-proxy's features) and the
    autoencoder proxies (ae-* encoders)."""


@features_group.command("train")
@click.option("--kind", type=click.Choice(["classifier", "autoencoder"]), default="classifier", show_default=True,
              help="classifier: the MNIST digit classifier (mnist-classifier); autoencoder: a convolutional "
                   "autoencoder whose code is an ae-* proxy encoder (any dataset).")
@click.option("--dataset", default="mnist-5k", show_default=True, help="Dataset id (its train split is used).")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="Folder with the dataset's files.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Epochs [default: 10 for the classifier, 30 for the autoencoder].")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=2e-3, show_default=True)
@click.option("--code-dim", type=click.IntRange(min=1), default=64, show_default=True,
              help="Autoencoder only: the code's (feature) dimension.")
@click.option("--hflip/--no-hflip", default=None,
              help="Autoencoder only: random horizontal flips [default: on for colour data, off for grey].")
@click.option("--output", type=click.Path(path_type=Path), required=True,
              help="Weights file (.safetensors); the JSON manifest is written beside it.")
def train_command(kind: str, dataset: str, data_dir: Path | None, seed: int, epochs: int | None, batch_size: int,
                  lr: float, code_dim: int, hflip: bool | None, output: Path) -> None:
    """Train a feature network on a dataset's train split and write weights + manifest."""
    from ..datasets.base import DatasetOptions
    from ..errors import DenoisebenchError
    from ..plugins.manager import get_registry

    if output.suffix != ".safetensors":
        raise DenoisebenchError(f"--output {output} must end in .safetensors")
    data = get_registry().dataset(dataset).load(DatasetOptions(data_dir=data_dir))
    log = lambda msg: click.echo(msg, err=True)  # noqa: E731
    if kind == "autoencoder":
        from ..encoders.ae_train import AETrainConfig, reconstruction_mse, save_autoencoder, train_autoencoder

        colour = data.train_images.ndim == 4 and data.train_images.shape[3] == 3
        config = AETrainConfig(seed=seed, epochs=epochs or 30, batch_size=batch_size, lr=lr, code_dim=code_dim,
                               hflip=colour if hflip is None else hflip)
        started = time.perf_counter()
        ae = train_autoencoder(data, config, log=log)
        train_s = time.perf_counter() - started
        mse = reconstruction_mse(ae, data.heldout_images)
        manifest = save_autoencoder(ae, output, data, config, mse, train_s)
        click.echo(f"held-out reconstruction MSE {mse:.5f} on {len(data.heldout_images)} images; "
                   f"trained in {train_s:.0f} s; sha256 {manifest['sha256']}", err=True)
        click.echo(str(output))
        return
    from ..metrics.features.train import TrainConfig, accuracy, save_classifier, train_classifier

    config = TrainConfig(seed=seed, epochs=epochs or 10, batch_size=batch_size, lr=lr)
    started = time.perf_counter()
    model = train_classifier(data, config, log=log)
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
    """Verify a feature network's sha256 (the classifier's, or an autoencoder's) and print its manifest."""
    from ..encoders.ae_train import FORMAT, load_autoencoder, manifest_path
    from ..metrics.features import load_feature_network

    if weights is not None and manifest_path(weights).is_file():
        try:
            is_ae = json.loads(manifest_path(weights).read_text()).get("format") == FORMAT
        except ValueError:
            is_ae = False
        if is_ae:
            click.echo(json.dumps(load_autoencoder(weights).manifest, indent=2))
            return
    net = load_feature_network(weights)
    click.echo(json.dumps(net.manifest, indent=2))
