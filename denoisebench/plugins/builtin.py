"""The builtin plugin: registers the project's own providers, samplers, metrics and datasets
through the same hooks as third-party packages."""

from __future__ import annotations

from collections.abc import Callable

from ..datasets import celeba, cifar, fashion_mnist, imagefolder, mnist, mnist5k, npzfile, skimage_patches, svhn
from .hookspecs import hookimpl


@hookimpl
def register_providers(register: Callable[[type], None]) -> None:
    from ..providers.els import ELSProvider
    from ..providers.empirical import EmpiricalProvider
    from ..providers.kbnet.provider import KBNetProvider
    from ..providers.unet import UNetProvider
    from ..providers.wiener import WienerProvider

    for provider in (EmpiricalProvider, UNetProvider, KBNetProvider, WienerProvider, ELSProvider):
        register(provider)


@hookimpl
def register_samplers(register: Callable[[type], None]) -> None:
    from ..diffusion.samplers import BUILTIN_SAMPLERS

    for sampler in BUILTIN_SAMPLERS:
        register(sampler)


@hookimpl
def register_metrics(register: Callable[[type], None]) -> None:
    from ..metrics import BUILTIN_METRICS

    for metric in BUILTIN_METRICS:
        register(metric)


@hookimpl
def register_datasets(register: Callable[[object], None]) -> None:
    for spec in (mnist5k.SPEC, mnist.SPEC, skimage_patches.SPEC, fashion_mnist.SPEC, cifar.SPEC_CIFAR10,
                 cifar.SPEC_CIFAR100, svhn.SPEC, celeba.SPEC, imagefolder.SPEC, npzfile.SPEC):
        register(spec)


@hookimpl
def register_encoders(register: Callable[[type], None]) -> None:
    from ..encoders import BUILTIN_ENCODERS

    for encoder in BUILTIN_ENCODERS:
        register(encoder)
