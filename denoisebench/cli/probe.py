"""``denoisebench probe``: a provider's denoising on train vs held-out images at each noise level."""

from __future__ import annotations

from pathlib import Path

import click

from . import cli
from ..options import parse_key_values
from ..probe.levels import DEFAULT_LEVELS


@cli.command("probe")
@click.option("--provider", "-p", required=True, help="Provider name (see 'denoisebench providers').")
@click.option("--option", "-o", "options", multiple=True, metavar="KEY=VALUE", help="Provider option, repeatable.")
@click.option("--checkpoint", type=click.Path(path_type=Path), default=None, help="Weights for the provider.")
@click.option("--dataset", default="mnist-5k", show_default=True, help="Dataset id.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="Folder with the dataset's files.")
@click.option("--dataset-option", "-D", "dataset_options", multiple=True, metavar="KEY=VALUE",
              help="Dataset option, repeatable.")
@click.option("--images", type=int, default=256, show_default=True,
              help="Train and held-out images each (capped at the split's size; seeded, class-stratified).")
@click.option("--levels", type=int, default=DEFAULT_LEVELS, show_default=True,
              help="Noise levels, log-spaced over the schedule's sigma range.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the image choice, noise and bootstrap.")
@click.option("--schedule", type=click.Choice(["linear", "cosine"]), default="linear", show_default=True)
@click.option("--batch-size", type=int, default=128, show_default=True)
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or mps.")
@click.option("--clip/--no-clip", default=True, show_default=True, help="Clamp x0 estimates to [-1, 1] before the MSE.")
@click.option("--jacobian", default="auto", show_default=True,
              help="auto (autograd if differentiable, else finite differences), autograd, fd or none.")
@click.option("--jacobian-images", type=int, default=16, show_default=True, help="Held-out images for the trace.")
@click.option("--jacobian-probes", type=int, default=2, show_default=True, help="Hutchinson probes per image.")
@click.option("--against", default=None, help="A second provider: r^2 and MSE of its x0 against this one's.")
@click.option("--against-option", "-a", "against_options", multiple=True, metavar="KEY=VALUE",
              help="Option of the --against provider, repeatable.")
@click.option("--against-checkpoint", type=click.Path(path_type=Path), default=None,
              help="Weights for the --against provider.")
@click.option("--trajectory", type=int, default=16, show_default=True,
              help="With --against: chains of this provider's sampling along which to compare (0: none).")
@click.option("--sampler", default="dpmpp-2m-sde", show_default=True, help="Sampler of the --trajectory chains.")
@click.option("--steps", type=int, default=20, show_default=True, help="Steps of the --trajectory chains.")
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON on stdout.")
@click.option("--results-dir", type=click.Path(path_type=Path), default=Path("results"), show_default=True)
def probe_command(options: tuple[str, ...], dataset_options: tuple[str, ...], against_options: tuple[str, ...],
                  as_json: bool, **kwargs: object) -> None:
    """Probe PROVIDER as a denoiser: per noise level, MSE/PSNR on train and held-out images, the
    generalisation gap with bootstrap intervals, and the Jacobian trace; writes a probe record."""
    from ..probe.record import record_json
    from ..probe.runner import ProbeConfig, run_probe

    config = ProbeConfig(options=parse_key_values(options, "--option"),
                         dataset_options=parse_key_values(dataset_options, "--dataset-option"),
                         against_options=parse_key_values(against_options, "--against-option"),
                         **kwargs)  # type: ignore[arg-type]
    record, path = run_probe(config, log=lambda msg: click.echo(msg, err=True))
    if as_json:
        click.echo(record_json(record), nl=False)
        return
    click.echo(f"{'sigma':>9} {'t':>5} {'PSNR train':>10} {'PSNR held':>10} {'gap':>7} {'gap 95% CI':>17} {'tr J/n':>8}")
    for lv in record["levels"]:
        jt = "-" if lv["jacobian_trace"] is None else f"{lv['jacobian_trace']:.4f}"
        click.echo(f"{lv['sigma']:9.4g} {lv['t']:5d} {lv['psnr_train']:10.2f} {lv['psnr_heldout']:10.2f} "
                   f"{lv['gap']:7.3f} [{lv['gap_ci_low']:6.3f}, {lv['gap_ci_high']:6.3f}] {jt:>8}")
    if record["jacobian"]["method"] == "none":
        click.echo(f"Jacobian trace skipped: {record['jacobian']['reason']}")
    click.echo(f"cpu {record['timing']['cpu_s']:.1f} s, wall {record['timing']['wall_s']:.1f} s")
    click.echo(str(path))
