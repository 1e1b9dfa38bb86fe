"""The contract between ``denoisebench train`` and a trainable provider.

Any provider class that also inherits :class:`TrainableProvider` can be trained by the one generic
command ``denoisebench train --provider NAME`` (see :mod:`denoisebench.training.trainer`). The
trainer owns everything that is not model-specific: data loading, batching, the optimiser
(AdamW), the learning-rate schedule (timm ``CosineLRScheduler`` with warm-up), the EMA of the
weights (timm ``ModelEmaV3`` with warm-up), checkpoints (safetensors, never pickle), exact
``--resume``, Ctrl-C handling, DDP under ``torchrun`` and the periodic quality evaluation.

A provider supplies five things (all class-level, no instance needed):

``model_config_cls``
    A ``@dataclass`` whose fields are the architecture choices, each with a default and a simple
    type (int, float, bool, str, or tuple[int, ...]). ``denoisebench train -m KEY=VALUE`` sets
    a field (tuples are written ``32,64,64``). The dataclass is stored, as JSON, in every
    checkpoint's metadata, and :meth:`build_model` must rebuild the same network from it.
``build_model(config) -> nn.Module``
    A freshly initialised network for that config. Deterministic given torch's global seed
    (the trainer seeds it before calling).
``draw(x0, generator, schedule) -> dict[str, Tensor]``
    ALL the randomness of one training step, drawn for the whole *global* batch from the given
    CPU ``torch.Generator`` (use ``torch.randn(..., generator=generator)``; never the global RNG).
    ``x0`` is the clean batch as float32 B x 1 x H x W in the model range **[-1, 1]** (a
    restoration net that works on [0, 1] images uses ``(x0 + 1) / 2``). Every returned tensor
    must have the batch as its first dimension: the trainer slices the dict along dim 0 to give
    each DDP rank its shard, which is what makes an N-process run equal a 1-process run with
    the same global batch.
``training_loss(model, batch, schedule) -> Tensor``
    The scalar loss of ``model`` on (a shard of) the dict from :meth:`draw`, already moved to
    the training device. It must be a *mean over the batch* (so the mean over equal shards is the
    global mean). No randomness here (dropout aside, which the trainer's RNG state covers).
``from_model(model, context) -> EpsilonProvider``
    Wrap a trained network (in eval mode, on ``context.device``) as the provider used for
    sampling. The trainer calls it on the EMA weights for its periodic evaluation; the provider's
    ``from_context`` typically loads a checkpoint with :func:`load_model` and calls it too.

Optional: ``train_defaults`` overrides the trainer's defaults (learning rate, batch size, EMA
decay, ...) for this provider when the user does not pass the option, and ``default_checkpoint``
names the shipped weights that ``from_context`` falls back to.

Example (a restoration net, no timestep; L1 on clean [0, 1] images at random noise levels)::

    @dataclass
    class KBNetConfig:
        width: int = 16
        sigma_max: float = 0.5

    class KBNetProvider(RestorationProvider, TrainableProvider):
        name = "kbnet"
        model_config_cls = KBNetConfig
        train_defaults = {"lr": 1e-3, "batch_size": 64}

        @classmethod
        def build_model(cls, config): return KBNet(config)

        @classmethod
        def draw(cls, x0, generator, schedule):
            clean = (x0 + 1) / 2
            s = torch.rand(x0.shape[0], generator=generator) * KBNetConfig.sigma_max
            noise = torch.randn(x0.shape, generator=generator)
            return {"clean": clean, "noisy": clean + s.view(-1, 1, 1, 1) * noise}

        @classmethod
        def training_loss(cls, model, batch, schedule):
            return (model(batch["noisy"]) - batch["clean"]).abs().mean()

        @classmethod
        def from_model(cls, model, context):
            provider = cls(context); provider.net = model.eval(); return provider

        @classmethod
        def from_context(cls, context):
            model, _meta = load_model(cls, context.checkpoint or default_path, context.device)
            return cls.from_model(model, context)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

if TYPE_CHECKING:
    from ..providers.base import EpsilonProvider, ProviderContext
    from ..diffusion.schedule import NoiseSchedule


class TrainableProvider:
    """Mixin for providers that ``denoisebench train`` can train (see the module docstring)."""

    #: The architecture dataclass; its fields are the ``-m KEY=VALUE`` model options.
    model_config_cls: ClassVar[type]
    #: Trainer option defaults for this provider, e.g. ``{"lr": 2e-3, "batch_size": 128}``.
    train_defaults: ClassVar[dict[str, Any]] = {}
    #: The shipped checkpoint used when no ``--checkpoint`` is given (None: there is none).
    default_checkpoint: ClassVar[Path | None] = None

    @classmethod
    def build_model(cls, config: Any) -> nn.Module:
        """A freshly initialised network for ``config`` (an instance of ``model_config_cls``)."""
        raise NotImplementedError

    @classmethod
    def draw(cls, x0: torch.Tensor, generator: torch.Generator,
             schedule: NoiseSchedule) -> dict[str, torch.Tensor]:
        """All random inputs of one step for the global batch ``x0`` ([-1, 1]); batch-first tensors."""
        raise NotImplementedError

    @classmethod
    def training_loss(cls, model: nn.Module, batch: dict[str, torch.Tensor],
                      schedule: NoiseSchedule) -> torch.Tensor:
        """Scalar mean loss of ``model`` on a shard of :meth:`draw`'s output."""
        raise NotImplementedError

    @classmethod
    def from_model(cls, model: nn.Module, context: ProviderContext) -> EpsilonProvider:
        """The sampling provider around a trained ``model``."""
        raise NotImplementedError


def is_trainable(provider_cls: type) -> bool:
    """Whether ``denoisebench train`` can train this provider class."""
    return isinstance(provider_cls, type) and issubclass(provider_cls, TrainableProvider) \
        and hasattr(provider_cls, "model_config_cls")


def load_model(provider_cls: type, path: Path, device: torch.device | str = "cpu"
               ) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild and load the network stored in a checkpoint written by ``denoisebench train``.

    Returns the model (eval mode, on ``device``) and the checkpoint's metadata (config, dataset,
    step, ...). A missing, corrupt, foreign or wrong-architecture file raises a one-line
    ``DenoisebenchError``.
    """
    from .checkpoint import load_model as _load

    return _load(provider_cls, Path(path), device)
