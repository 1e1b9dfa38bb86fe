"""The provider interface every plugin implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import torch

if TYPE_CHECKING:
    from ..datasets.base import ImageDataset
    from ..diffusion.schedule import NoiseSchedule
    from .recipe import TrainingRecipe


@dataclass
class ProviderContext:
    """What a provider may use when it is built: the data, the device, a checkpoint, options."""

    dataset: ImageDataset
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    checkpoint: Path | None = None
    options: dict[str, str] = field(default_factory=dict)
    seed: int = 0


class EpsilonProvider(ABC):
    """A batched noise predictor eps(x_t, t) for a DDPM whose data lie in [-1, 1].

    Subclasses set ``name`` and ``description`` and implement :meth:`predict_eps`. They are built
    by :meth:`from_context`, which a provider may override (to load weights, say). A provider never
    sees the sampler: it answers one question, "what is the noise in x_t at step t?".
    """

    name: ClassVar[str]
    description: ClassVar[str]
    #: Option names accepted through ``--option KEY=VALUE``, with a one-line help each.
    options: ClassVar[dict[str, str]] = {}
    #: Options that change only the speed, never the samples (e.g. ``workers``): ``compare`` leaves
    #: them out of an entry's name, so runs that differ only in them are one entry.
    speed_options: ClassVar[frozenset[str]] = frozenset()
    #: The training recipe of a trainable provider (``denoisebench train``); None: not trainable.
    training: ClassVar[type[TrainingRecipe] | None] = None
    #: The weights loaded when no ``--checkpoint`` is given (None: there are none).
    default_checkpoint: ClassVar[Path | None] = None
    #: Whether ``--checkpoint`` means anything to this provider; ``run`` refuses it otherwise.
    #: Default: providers that are trainable or ship weights.
    accepts_checkpoint: ClassVar[bool | None] = None

    @classmethod
    def takes_checkpoint(cls) -> bool:
        """Whether this provider loads weights from ``--checkpoint``."""
        if cls.accepts_checkpoint is not None:
            return cls.accepts_checkpoint
        return cls.training is not None or cls.default_checkpoint is not None

    def __init__(self, context: ProviderContext) -> None:
        self.context = context
        unknown = sorted(set(context.options) - set(self.options))
        if unknown:
            from ..errors import DenoisebenchError

            known = ", ".join(sorted(self.options)) or "none"
            raise DenoisebenchError(
                f"provider {self.name!r} has no option {unknown[0]!r}: its options are {known}")

    def flag_option(self, key: str, default: str | bool = False) -> bool:
        """The boolean option ``key`` (:func:`denoisebench.parse_bool`'s words), or a one-line error."""
        from ..options import parse_bool

        return parse_bool(self.context.options.get(key, default), f"option {key} of provider {self.name!r}")

    @classmethod
    def from_context(cls, context: ProviderContext) -> EpsilonProvider:
        """Build the provider for a run; override to load checkpoints or precompute."""
        return cls(context)

    @classmethod
    def from_model(cls, model: torch.nn.Module, context: ProviderContext) -> EpsilonProvider:
        """The provider around a trained network (trainable providers; the trainer's evaluation uses it)."""
        raise NotImplementedError(f"provider {cls.name!r} cannot wrap a network")

    @abstractmethod
    def predict_eps(self, x_t: torch.Tensor, t: torch.Tensor, schedule: NoiseSchedule) -> torch.Tensor:
        """Predict the noise in ``x_t`` (B x C x H x W) at integer steps ``t`` (B,), 1 <= t <= T."""

    def label(self) -> str:
        """How reports and run ids name this provider's runs (default: its name)."""
        return self.name

    def info(self) -> dict[str, object]:
        """Facts about this provider instance recorded in run.json (checkpoint hash, mode, ...)."""
        return {}
