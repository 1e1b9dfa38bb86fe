"""Samplers: objects separate from providers that turn eps predictions into a reverse chain.

The interface is :class:`~.base.Sampler`; the builtins (one module each) register through the
``register_samplers`` hook like any plugin's. Build one by name with :func:`make_sampler`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...interfaces.catalogue import Catalogue, default_catalogue
from ..schedule import NoiseSchedule
from .base import EpsModel, Sampler, StepOutput
from .ddim import DDIMSampler
from .ddpm import VARIANCES, DDPMSampler
from .dpmpp_2m import DPMPP2MSampler
from .dpmpp_2m_sde import DPMPP2MSDESampler
from .euler import EulerSampler
from .heun import HeunSampler
from .sigma_space import SigmaSpaceSampler
from .spacing import SPACINGS, timestep_sequence
from .unipc import UniPCSampler

#: Registered by the builtin plugin, in this order.
BUILTIN_SAMPLERS: tuple[type[Sampler], ...] = (DDPMSampler, DDIMSampler, EulerSampler, HeunSampler, DPMPP2MSampler,
                                               DPMPP2MSDESampler, UniPCSampler)


def make_sampler(name: str, schedule: NoiseSchedule, steps: int, options: Mapping[str, str] | None = None,
                 catalogue: Catalogue | None = None, **values: Any) -> Sampler:
    """Build a registered sampler by name, looked up in ``catalogue`` (default: the plugin registry,
    :mod:`denoisebench.interfaces.catalogue`); ``values`` are shorthands for options (``eta=0.5``)."""
    cls, _info = (catalogue or default_catalogue()).sampler(name)
    return cls(schedule, steps, options, **values)


__all__ = ["BUILTIN_SAMPLERS", "DDIMSampler", "DDPMSampler", "DPMPP2MSDESampler", "DPMPP2MSampler", "EpsModel",
           "EulerSampler", "HeunSampler", "SPACINGS", "Sampler", "SigmaSpaceSampler", "StepOutput", "UniPCSampler",
           "VARIANCES", "make_sampler", "timestep_sequence"]
