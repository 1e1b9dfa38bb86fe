"""The plugin hooks. A plugin implements any of them with ``@denoisebench.hookimpl``."""

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
def register_datasets(register: Callable[[object], None]) -> None:
    """Register datasets: call ``register(spec)`` with a ``denoisebench.DatasetSpec``.

    The spec's ``load(options)`` returns an ``ImageDataset`` with a train and a held-out split.
    """
