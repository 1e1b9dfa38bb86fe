"""The plugin hooks. A plugin implements any of them with ``@denoisebench.hookimpl``.

The pipeline reads off the hooks: a dataset feeds a provider (the denoiser), a sampler drives it,
metrics score the samples.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

hookspec = pluggy.HookspecMarker("denoisebench")
hookimpl = pluggy.HookimplMarker("denoisebench")


@hookspec
def register_providers(register: Callable[[type], None]) -> None:
    """Register epsilon providers: call ``register(cls)`` once per provider class.

    Each class subclasses ``denoisebench.EpsilonProvider`` (or ``RestorationProvider`` for an
    image denoiser) and sets a unique ``name`` and a one-line ``description``.
    """


@hookspec
def register_samplers(register: Callable[[type], None]) -> None:
    """Register samplers: call ``register(cls)`` once per sampler class.

    Each class subclasses ``denoisebench.Sampler`` and sets a unique ``name``, a one-line
    ``description``, its ``options`` (key -> one-line help) and ``evals_per_step``; it implements
    ``step(model, x, i, state, noise)``, which returns the next sample and the x0 estimate.
    """


@hookspec
def register_metrics(register: Callable[[type], None]) -> None:
    """Register metrics: call ``register(cls)`` once per metric class.

    Each class subclasses ``denoisebench.Metric``, sets a unique ``name``, a one-line
    ``description``, the report ``columns`` it fills (header, better direction, format) and
    whether it depends on N, and computes its values from the shared ``Evaluation``.
    """


@hookspec
def register_datasets(register: Callable[[object], None]) -> None:
    """Register datasets: call ``register(spec)`` with a ``denoisebench.DatasetSpec``.

    The spec's ``load(options)`` returns an ``ImageDataset`` with a train and a held-out split.
    """


@hookspec
def register_encoders(register: Callable[[type], None]) -> None:
    """Register feature encoders: call ``register(cls)`` once per encoder class.

    Each class subclasses ``denoisebench.encoders.Encoder``, sets a unique ``name``, a one-line
    ``description``, its input (channels, size, range), ``output_dim`` and ``preprocessing``, says
    where its weights are, and encodes uint8 images into float64 N x d features.
    """
