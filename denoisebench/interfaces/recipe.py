"""The training side of a provider: a :class:`TrainingRecipe` the provider class refers to.

A provider is trainable by ``denoisebench train --provider NAME`` when its class says
``training = SomeRecipe``; the sampling class itself holds no training code. The trainer owns
everything that is not model-specific (data order, the optimiser, the LR schedule, the EMA,
checkpoints, exact ``--resume``, Ctrl-C, DDP, periodic evaluation); the recipe supplies the rest:

``model_config_cls``
    A ``@dataclass`` of architecture choices, each with a default and a simple type (int, float,
    bool, str or tuple[int, ...]). ``-m KEY=VALUE`` sets a field; the dataclass is stored as JSON
    in every checkpoint, and :meth:`~TrainingRecipe.build_model` rebuilds the network from it.
``build_model()``
    A freshly initialised network for ``self.config`` (the trainer seeds torch first).
``draw(x0, generator, schedule)``
    ALL the randomness of one step, for the whole *global* batch, from the given CPU generator
    (never the global RNG). ``x0`` is float32 B x C x H x W in [-1, 1]. Every tensor returned has
    the batch first: the trainer slices the dict to give each DDP rank its shard, which is what
    makes an N-process run equal a 1-process run with the same global batch.
``training_loss(forward, batch, schedule)``
    The scalar *mean over the batch* of the loss on a shard of :meth:`draw`'s output, on the
    training device. ``forward`` is the network to call; under DDP it is the DDP wrapper (calling
    it is what synchronises gradients), so a recipe calls it and never inspects it: the
    architecture is ``self.config``.

Optional: :meth:`~TrainingRecipe.config_for_data` (take the image channels and size from the
training data), ``train_defaults`` (trainer option defaults for this provider: ``lr``, ``batch_size``,
``warmup``, ``ema_decay``, ...), :meth:`~TrainingRecipe.config_from_dict` (to read configs stored
by older versions) and :meth:`~TrainingRecipe.infer_config` (to load weights files that store no
config, e.g. a network's official release, by reading the architecture off the tensor shapes).

The provider class keeps the sampling side: ``from_model(model, context)`` wraps a trained
network (the trainer's evaluation calls it on the EMA weights) and ``default_checkpoint`` names
the weights used without ``--checkpoint``.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

if TYPE_CHECKING:
    from ..diffusion.schedule import NoiseSchedule

#: What a recipe calls to run the network (the model itself, or its DDP wrapper).
Forward = Callable[..., torch.Tensor]


class TrainingRecipe:
    """How one provider's network is built and trained; subclass and set the names below."""

    #: The architecture dataclass; its fields are the ``-m KEY=VALUE`` model options.
    model_config_cls: ClassVar[type]
    #: Trainer option defaults for this provider, e.g. ``{"lr": 2e-3, "batch_size": 128}``.
    train_defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, config: Any) -> None:
        self.config = config

    def build_model(self) -> nn.Module:
        """A freshly initialised network for ``self.config``."""
        raise NotImplementedError

    def draw(self, x0: torch.Tensor, generator: torch.Generator,
             schedule: NoiseSchedule) -> dict[str, torch.Tensor]:
        """All random inputs of one step for the global batch ``x0`` ([-1, 1]); batch-first tensors."""
        raise NotImplementedError

    def training_loss(self, forward: Forward, batch: dict[str, torch.Tensor],
                      schedule: NoiseSchedule) -> torch.Tensor:
        """Scalar mean loss of the network ``forward`` on a shard of :meth:`draw`'s output."""
        raise NotImplementedError

    @classmethod
    def config_from_dict(cls, data: Mapping[str, Any]) -> Any:
        """The config stored in a checkpoint (lists back to tuples); unknown fields raise ``ValueError``."""
        hints = typing.get_type_hints(cls.model_config_cls)
        names = {f.name for f in dataclasses.fields(cls.model_config_cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown config field {unknown[0]!r}")
        values = {k: (tuple(v) if isinstance(v, list) and typing.get_origin(hints[k]) is tuple else v)
                  for k, v in data.items()}
        return cls.model_config_cls(**values)

    @classmethod
    def config_for_data(cls, config: Any, image_shape: tuple[int, int, int], explicit: set[str]) -> Any:
        """The config adapted to the training data's (C, H, W), called by the trainer once the
        dataset is loaded; ``explicit`` names the fields the user set with ``-m`` (a recipe keeps
        those, or refuses them in one line when they contradict the data). Default: unchanged."""
        return config

    @classmethod
    def infer_config(cls, state_dict: Mapping[str, torch.Tensor]) -> Any | None:
        """The architecture of a weights file that stores no config (None: such files are refused)."""
        return None

    @classmethod
    def describe(cls, config: Any) -> str:
        """A short architecture label for error messages."""
        return repr(config)


def recipe_of(provider_cls: type) -> type[TrainingRecipe] | None:
    """The training recipe a provider class refers to (``training = ...``), or None."""
    recipe = getattr(provider_cls, "training", None)
    return recipe if isinstance(recipe, type) and issubclass(recipe, TrainingRecipe) else None


def is_trainable(provider_cls: type) -> bool:
    """Whether ``denoisebench train`` can train this provider class."""
    return isinstance(provider_cls, type) and recipe_of(provider_cls) is not None \
        and hasattr(recipe_of(provider_cls), "model_config_cls")
