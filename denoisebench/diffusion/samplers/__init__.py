"""Samplers: objects separate from providers that turn eps predictions into a reverse chain.

The interface is :class:`~.base.Sampler`; the builtins (one module each) register through the
``register_samplers`` hook like any plugin's. Build one by name with :func:`make_sampler`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..schedule import NoiseSchedule
from .base import EpsModel, Sampler, StepOutput
from .ddim import DDIMSampler
from .ddpm import VARIANCES, DDPMSampler
from .spacing import SPACINGS, timestep_sequence

#: Registered by the builtin plugin, in this order.
BUILTIN_SAMPLERS: tuple[type[Sampler], ...] = (DDPMSampler, DDIMSampler)


def make_sampler(name: str, schedule: NoiseSchedule, steps: int, options: Mapping[str, str] | None = None,
                 **values: Any) -> Sampler:
    """Build a registered sampler by name; ``values`` are shorthands for options (``eta=0.5``)."""
    from ...plugins import get_registry

    cls, _info = get_registry().sampler(name)
    return cls(schedule, steps, options, **values)


__all__ = ["BUILTIN_SAMPLERS", "DDIMSampler", "DDPMSampler", "EpsModel", "SPACINGS", "Sampler", "StepOutput", "VARIANCES",
           "make_sampler", "timestep_sequence"]
