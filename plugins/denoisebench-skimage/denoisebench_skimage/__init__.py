"""denoisebench-skimage: total-variation, wavelet and non-local-means denoisers from scikit-image
as denoisebench restoration providers. Loaded through the ``denoisebench`` entry-point group."""

from __future__ import annotations

from collections.abc import Callable

import denoisebench

from .providers import PROVIDERS, NLMeansProvider, TVProvider, WaveletProvider

__all__ = ["NLMeansProvider", "PROVIDERS", "TVProvider", "WaveletProvider", "register_providers"]


@denoisebench.hookimpl
def register_providers(register: Callable[[type], None]) -> None:
    """Register ``tv``, ``wavelet`` and ``nlmeans``."""
    for cls in PROVIDERS:
        register(cls)
