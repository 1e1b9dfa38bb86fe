"""What ``denoisebench run`` takes: :class:`RunConfig`, its defaults and the checks made before anything loads.

A sampler's options are its own (``sampler_options``, ``-s KEY=VALUE``); the CLI's ``--variance``,
``--eta`` and ``--clip-x0`` are sugar for three of them (:func:`with_sampler_shorthands`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DenoisebenchError
from ..options import canonical_value


#: ``run``'s default: the best FID-proxy at <= 20 network calls on the shipped U-Net over 3 seeds, at or
#: below the 1,000-step ancestral chain's (results/reference/nfe/README.md).
DEFAULT_SAMPLER, DEFAULT_STEPS = "dpmpp-2m-sde", 20

#: Seeds are fed to numpy's SeedSequence and torch.manual_seed: non-negative, 63 bits.
MAX_SEED = 2 ** 63 - 1


@dataclass
class RunConfig:
    """Everything ``denoisebench run`` takes; defaults are the CLI's."""

    provider: str
    dataset: str = "mnist-5k"
    sampler: str = DEFAULT_SAMPLER
    steps: int = DEFAULT_STEPS
    num_samples: int = 256
    batch_size: int = 256
    seed: int = 0
    device: str = "cpu"
    results_dir: Path = Path("results")
    schedule: str = "linear"
    T: int = 1000  # noqa: N815
    sampler_options: dict[str, str] = field(default_factory=dict)  # -s KEY=VALUE, the sampler's own options
    checkpoint: Path | None = None
    options: dict[str, str] = field(default_factory=dict)
    data_dir: Path | None = None
    metrics: bool = True
    dataset_options: dict[str, str] = field(default_factory=dict)  # -D KEY=VALUE
    encoders: tuple[str, ...] = ()  # feature-metric encoders (--encoder); empty: the dataset's defaults
    encoder_weights: dict[str, Path] = field(default_factory=dict)  # --encoder-weights NAME=PATH
    extra: dict[str, object] = field(default_factory=dict)  # written as run.json["suite"] (bench)


def sampler_options(config: RunConfig) -> dict[str, str]:
    """The sampler's options (``-s KEY=VALUE``; the CLI's shorthands are already among them)."""
    return dict(config.sampler_options)

def with_sampler_shorthands(options: Mapping[str, str] | None, *, variance: str | None = None,
                            eta: float | None = None, clip_x0: bool = False) -> dict[str, str]:
    """``options`` plus the ``--variance``/``--eta``/``--clip-x0`` shorthands, which are sugar for
    ``-s variance=...``, ``-s eta=...``, ``-s clip_x0=1``; a shorthand that contradicts an option is a one-line error."""
    merged = dict(options or {})
    for key, value in (("variance", variance), ("eta", eta)):
        if value is not None:
            if key in merged and canonical_value(merged[key]) != canonical_value(value):
                raise DenoisebenchError(f"--{key} {value} contradicts -s {key}={merged[key]}: give one of them")
            merged[key] = str(value)
    if clip_x0:
        merged["clip_x0"] = "1"
    return merged

def validate(config: RunConfig) -> None:
    """Cheap checks of the request, before anything is loaded or written."""
    if config.num_samples < 1:
        raise DenoisebenchError(f"--num-samples must be at least 1, got {config.num_samples}")
    if not 0 <= config.seed <= MAX_SEED:
        raise DenoisebenchError(f"--seed must be an integer between 0 and 2**63 - 1, got {config.seed}")
    if config.batch_size < 1:
        raise DenoisebenchError(f"--batch-size must be at least 1, got {config.batch_size}")
    if config.T < 2:
        raise DenoisebenchError(f"T must be at least 2, got {config.T}")
    if not 1 <= config.steps <= config.T:
        raise DenoisebenchError(f"--steps must be between 1 and T = {config.T}, got {config.steps}")
    if config.checkpoint is not None and not config.checkpoint.is_file():
        raise DenoisebenchError(f"checkpoint {config.checkpoint} does not exist: pass an existing file")
