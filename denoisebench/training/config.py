"""The trainer's options (``denoisebench train``) and the parsing of ``-m KEY=VALUE`` model options."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DenoisebenchError


@dataclass
class TrainConfig:
    """Everything one training run is defined by. ``steps`` is also the LR schedule's horizon."""

    provider: str
    output: Path
    dataset: str = "mnist-5k"
    data_dir: Path | None = None
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
    save_every: int = 500
    log_every: int = 50
    threads: int | None = None
    model_options: dict[str, str] = field(default_factory=dict)

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

    def to_json_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(self).items()}


#: Options that may differ between the first session and a ``--resume`` (they do not change the run).
RESUMABLE = ("minutes", "device", "eval_every", "eval_samples", "eval_steps", "save_every",
             "log_every", "threads", "data_dir")


def _coerce(name: str, text: str, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin is tuple:
        return tuple(int(v) for v in text.replace(" ", "").split(",") if v)
    if hint is bool:
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected true/false, got {text!r}")
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
