"""Preparing a run: resolve the names in the plugin registry, load the data, build provider and sampler.

This is where the registry is consulted; what lies below (the loop, the samplers, the metrics
harness) receives the classes and instances built here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from . import distributed, records
from ..datasets.base import DatasetOptions, ImageDataset
from ..diffusion.samplers import Sampler
from ..diffusion.schedule import make_schedule
from ..errors import DenoisebenchError
from ..interfaces.provider import EpsilonProvider, ProviderContext
from ..plugins.manager import get_registry
from .config import RunConfig, sampler_options, validate
from .environment import parse_device


@dataclass
class PreparedRun:
    """A validated run, ready to generate."""

    config: RunConfig
    device: torch.device
    dataset: ImageDataset
    provider: EpsilonProvider
    provider_meta: dict[str, object]
    sampler: Sampler
    sampler_meta: dict[str, object] = field(default_factory=dict)
    nfe: int | None = None  # network evaluations per sample, as measured by the loop
    encoders: list[Any] | None = None  # the chosen Encoder instances (None: the pinned classifier only)
    encoder_skips: list[str] = field(default_factory=list)  # default encoders left out, one line each

def prepare(config: RunConfig) -> PreparedRun:
    """Resolve names, load data and build provider and sampler; raises one-line errors.

    Under torchrun every rank prepares (on its own device) and the ranks agree on the outcome:
    a failure on any rank fails every rank with the same one-line error.
    """
    session = distributed.current()
    if session is None:
        return _prepare(config)
    return session.phase("prepare", lambda: _prepare(config, session))

def _prepare(config: RunConfig, session: distributed.Session | None = None) -> PreparedRun:
    validate(config)
    registry = get_registry()
    provider_cls, info = registry.provider(config.provider)
    if config.checkpoint is not None and not provider_cls.takes_checkpoint():
        raise DenoisebenchError(f"provider {config.provider!r} loads no weights, so --checkpoint would be "
                                "ignored: drop --checkpoint")
    sampler_cls, sampler_info = registry.sampler(config.sampler)
    dataset_spec = registry.dataset(config.dataset)
    dataset_spec.check_options(config.dataset_options)
    device = parse_device(config.device)
    if session is not None:
        device = distributed.rank_device(device, session.launch.local_rank)
    schedule = make_schedule(config.schedule, config.T)
    sampler = sampler_cls(schedule, config.steps, sampler_options(config))
    from ..interrupts import deferred_interrupt

    with deferred_interrupt():  # Ctrl-C here is one line, not a parser error of the data's reader
        dataset = dataset_spec.open(DatasetOptions(data_dir=config.data_dir, params=dict(config.dataset_options)))
    context = ProviderContext(dataset=dataset, device=device, checkpoint=config.checkpoint,
                              options=dict(config.options), seed=config.seed)
    provider = provider_cls.from_context(context)
    encoders: list[Any] | None = None
    encoder_skips: list[str] = []
    if config.metrics:
        from ..encoders.selection import choose_encoders

        encoders, encoder_skips = choose_encoders(config.encoders, dataset_spec, dataset.image_shape,
                                                  config.encoder_weights)
    if session is None or session.is_main:  # only rank 0 writes
        records.prepare_results_dir(config.results_dir)
    meta = {"name": provider_cls.name, "description": provider_cls.description,
            "plugin": info.plugin, "distribution": info.distribution, "version": info.version,
            "options": dict(config.options), "speed_options": sorted(provider_cls.speed_options),
            "label": provider.label(),
            "checkpoint": str(config.checkpoint) if config.checkpoint else None}
    sampler_meta = {"plugin": sampler_info.plugin, "distribution": sampler_info.distribution,
                    "version": sampler_info.version}
    return PreparedRun(config, device, dataset, provider, meta, sampler, sampler_meta, encoders=encoders,
                       encoder_skips=encoder_skips)
