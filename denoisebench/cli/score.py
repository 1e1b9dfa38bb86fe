"""``denoisebench score SAMPLES REFERENCE``: feature metrics of any two image sets on any encoders."""

from __future__ import annotations

import json

import click

from . import cli

DEFAULT_METRICS = ("fid", "kid", "prdc")


@cli.command("score")
@click.argument("samples")
@click.argument("reference")
@click.option("--encoder", "-e", "encoders", multiple=True,
              help="Encoder name, repeatable (see 'denoisebench encoders'; default: inception).")
@click.option("--encoder-weights", "encoder_weights", multiple=True, metavar="NAME=PATH",
              help="An encoder's weights file, repeatable (default: its library's cache).")
@click.option("--metric", "-m", "metrics", multiple=True,
              help=f"Metric name, repeatable (see 'denoisebench metrics'; default: {', '.join(DEFAULT_METRICS)}).")
@click.option("--seed", type=int, default=0, show_default=True, help="Drives bootstraps and KD subsets.")
@click.option("--bootstrap", "n_bootstrap", type=click.IntRange(min=0), default=50, show_default=True,
              help="FD bootstrap replicates for its std (0: none; each costs two d x d eigenproblems).")
@click.option("--kid-subsets", type=click.IntRange(min=1), default=100, show_default=True,
              help="KD random subsets (mean and std over them).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: column name -> value.")
def score_command(samples: str, reference: str, encoders: tuple[str, ...], encoder_weights: tuple[str, ...],
                  metrics: tuple[str, ...], seed: int, n_bootstrap: int, kid_subsets: int, as_json: bool) -> None:
    """Score SAMPLES against REFERENCE: each a run directory, an .npz (FILE.npz[:KEY]), an image
    folder (PNG/JPG) or a dataset split (mnist-5k:heldout). Columns are named by metric and
    encoder (fid_inception, kid_dinov2_vitb14; the MNIST classifier's keep fid, kid)."""
    from ..encoders import get_encoder, parse_weights_options
    from ..errors import DenoisebenchError
    from ..encoders.image_sets import load_image_set
    from ..metrics.score import flat_values, score_sets
    from ..plugins import get_registry

    weights = parse_weights_options(encoder_weights)
    chosen = [get_encoder(name, weights.get(name)) for name in (encoders or ("inception",))]
    for enc in chosen:
        enc.require_weights()  # asked for by name: absent weights are an error, before any work
    metric_classes = [get_registry().metric(name)[0] for name in (metrics or DEFAULT_METRICS)]
    a, b = load_image_set(samples), load_image_set(reference)
    for enc in chosen:
        enc.check_images(a)
        enc.check_images(b)
        if enc.input_size is None and a.shape[1:] != b.shape[1:]:
            raise DenoisebenchError(f"encoder {enc.name!r} does not resize, and the sets differ in shape "
                                    f"({a.shape[1:]} vs {b.shape[1:]}): choose an encoder that resizes (e.g. inception)")
    say = None if as_json else (lambda line: click.echo(line, err=True))
    result = score_sets(a, b, chosen, metric_classes, seed=seed, progress=say, n_bootstrap=n_bootstrap,
                        kid_subsets_n=kid_subsets)
    if result.get("failed"):
        raise DenoisebenchError(f"metric {result['failed'][0]}")
    values = flat_values(result)
    if as_json:
        click.echo(json.dumps(values, indent=2))
        return
    click.echo(f"samples {samples}: {len(a)} images {tuple(a.shape[1:])}; reference {reference}: {len(b)} images "
               f"{tuple(b.shape[1:])}")
    width = max(map(len, values), default=0)
    for key, value in values.items():
        click.echo(f"{key:<{width}}  {'-' if value is None else f'{value:.6g}'}")
    for line in result.get("skipped", []) + result.get("failed", []):
        click.echo(f"skipped: {line}", err=True)
