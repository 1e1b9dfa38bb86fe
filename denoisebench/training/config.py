"""The trainer's options (``denoisebench train``): defaults, validation, ``--resume``, ``-m`` model options."""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DenoisebenchError
from ..options import parse_bool

if TYPE_CHECKING:
    from ..interfaces.catalogue import Catalogue

#: Options that may differ between the first session and a ``--resume`` (they do not change the run).
RESUMABLE = ("minutes", "device", "eval_every", "eval_samples", "eval_steps", "eval_sampler",
             "eval_sampler_options", "save_every", "log_every", "threads", "data_dir")
#: Seeds go into numpy's SeedSequence and torch generators: non-negative 63-bit integers.
MAX_SEED = 2 ** 63 - 1


@dataclass
class TrainConfig:
    """Everything one training run is defined by. ``steps`` is also the LR schedule's horizon."""

    provider: str
    output: Path
    dataset: str = "mnist-5k"
    data_dir: Path | None = None
    #: The dataset's ``-D KEY=VALUE`` options.
    dataset_options: dict[str, str] = field(default_factory=dict)
    #: Total optimiser steps (LR horizon). Without it, the LR stays at its peak after warm-up.
    steps: int | None = None
    #: Wall-clock budget of this session in minutes; stops (and saves) when spent.
    minutes: float | None = None
    batch_size: int = 128
    lr: float = 2e-3
    lr_min: float = 1e-5
    warmup: int = 200
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    #: timm ModelEmaV3 warm-up: decay = min(ema_decay, 1 - (1 + step) ** -ema_power).
    ema_power: float = 2 / 3
    seed: int = 0
    device: str = "cpu"
    schedule: str = "linear"
    T: int = 1000  # noqa: N815
    eval_every: int = 0
    eval_samples: int = 100
    eval_steps: int = 20
    #: The registered sampler of the periodic evaluation and its ``KEY=VALUE`` options.
    eval_sampler: str = "ddim"
    eval_sampler_options: dict[str, str] = field(default_factory=dict)
    save_every: int = 500
    log_every: int = 50
    threads: int | None = None
    model_options: dict[str, str] = field(default_factory=dict)
    #: Train on N images of the train split (subset ``train_subset`` of :mod:`.subset`); None: all.
    train_size: int | None = None
    train_subset: int = 0
    subset_seed: int = 0

    def validate(self) -> None:
        if self.steps is None and self.minutes is None:
            raise DenoisebenchError("give --steps N or --minutes M (or both): how long to train")
        for name in ("batch_size", "eval_samples", "eval_steps", "save_every", "log_every"):
            if getattr(self, name) < 1:
                raise DenoisebenchError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.steps is not None and self.steps < 1:
            raise DenoisebenchError(f"--steps must be at least 1, got {self.steps}")
        if self.minutes is not None and self.minutes <= 0:
            raise DenoisebenchError(f"--minutes must be positive, got {self.minutes}")
        if self.lr <= 0 or self.warmup < 0 or self.eval_every < 0:
            raise DenoisebenchError("--lr must be positive and --warmup, --eval-every non-negative")
        if not 0.0 <= self.ema_decay < 1.0:
            raise DenoisebenchError(f"--ema-decay must lie in [0, 1), got {self.ema_decay}")
        if not 0 <= self.seed <= MAX_SEED:
            raise DenoisebenchError(f"--seed must be an integer between 0 and 2**63 - 1, got {self.seed}")
        if self.train_size is None and (self.train_subset or self.subset_seed):
            raise DenoisebenchError("--train-subset and --subset-seed need --train-size N")
        if self.train_size is not None and (self.train_size < 1 or self.train_subset < 0 or self.subset_seed < 0):
            raise DenoisebenchError(f"--train-size must be at least 1 and --train-subset, --subset-seed at least 0, "
                                    f"got {self.train_size}, {self.train_subset}, {self.subset_seed}")

    def to_json_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(self).items()}




def _coerce(name: str, text: str, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin is tuple:
        return tuple(int(v) for v in text.replace(" ", "").split(",") if v)
    if hint is bool:
        return parse_bool(text, f"model option {name!r}")
    if hint in (int, float, str):
        return hint(text)
    raise ValueError(f"cannot set field of type {hint}")


def build_model_config(cls: type, options: dict[str, str], provider: str) -> Any:
    """The provider's model config dataclass with ``options`` (strings) applied and validated."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    values: dict[str, Any] = {}
    for key, text in options.items():
        if key not in names:
            raise DenoisebenchError(f"provider {provider!r} has no model option {key!r}: its model "
                                    f"options are {', '.join(names)}")
        try:
            values[key] = _coerce(key, text, hints[key])
        except ValueError as exc:
            raise DenoisebenchError(f"bad value for model option {key!r}: {exc}") from None
    config = cls(**values)
    if hasattr(config, "validate"):
        config.validate()
    return config


def resolve_config(given: dict[str, Any], resume: bool, catalogue: Catalogue | None = None) -> TrainConfig:
    """The run's config: explicit options over the provider's recipe defaults over the trainer's.

    With ``resume`` the interrupted run's stored config is authoritative (its training state must
    belong to the checkpoint); only options in :data:`RESUMABLE` may change, any other explicit
    option must equal the stored value. The provider is looked up in ``catalogue`` (the caller's
    registry; default: the plugin registry).
    """
    from ..interfaces.catalogue import default_catalogue
    from ..interfaces.recipe import recipe_of
    from .checkpoint import check_state_belongs

    provider_cls, _ = (catalogue or default_catalogue()).provider(given["provider"])
    recipe = recipe_of(provider_cls)
    if recipe is None:
        raise DenoisebenchError(f"provider {given['provider']!r} is not trainable: 'denoisebench train' "
                                "needs a provider whose class names a training recipe")
    output = Path(given["output"])
    if not resume:
        names = {f.name for f in dataclasses.fields(TrainConfig)}
        defaults = {k: v for k, v in recipe.train_defaults.items() if k in names}
        config = TrainConfig(**{**defaults, **given})
        config.validate()
        return config
    from .output import check_resumable_or_absent

    check_resumable_or_absent(output)
    stored = json.loads(check_state_belongs(output)["train_config"])
    stored["output"] = output
    for key, value in given.items():
        if key in RESUMABLE or key == "output":
            stored[key] = value
        elif (str(value) if isinstance(value, Path) else value) != stored.get(key):
            raise DenoisebenchError(f"--{key.replace('_', '-')} {value} differs from the interrupted run's "
                                    f"{stored.get(key)}: drop it to resume, or start a new run")
    if stored.get("data_dir") is not None:
        stored["data_dir"] = Path(stored["data_dir"])
    config = TrainConfig(**stored)
    config.validate()
    return config
