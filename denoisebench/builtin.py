"""The builtin plugin: registers the project's own providers and datasets through the hooks."""

from __future__ import annotations

from collections.abc import Callable

from .datasets import mnist, mnist5k
from .hookspecs import hookimpl


@hookimpl
def register_providers(register: Callable[[type], None]) -> None:
    from .providers.empirical import EmpiricalProvider
    from .providers.kbnet.provider import KBNetProvider
    from .providers.unet import UNetProvider

    for provider in (EmpiricalProvider, UNetProvider, KBNetProvider):
        register(provider)


@hookimpl
def register_datasets(register: Callable[[object], None]) -> None:
    register(mnist5k.SPEC)
    register(mnist.SPEC)
