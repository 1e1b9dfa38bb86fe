"""What the low layers may ask of the plugin registry, and how the top hands it to them.

The loop, the samplers, the metrics harness and the trainer never import
:mod:`denoisebench.plugins` (``tests/test_layering.py`` checks it). The top (``cli``, ``runs``,
``api``) resolves names in the registry and passes the classes down, or passes the registry
itself as a :class:`Catalogue` where a function looks names up (``train(config, catalogue=...)``).
A caller that passes none (a script, a test) gets :func:`default_catalogue`: the registry, which
the plugin package installs here when it is imported (dependency inversion: this module owns the
interface, :mod:`denoisebench.plugins.manager` implements and installs it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol


class Catalogue(Protocol):
    """Name -> class lookups of the registered plugins (what :class:`~denoisebench.plugins.Registry` offers)."""

    metrics: Mapping[str, tuple[type, Any]]

    def provider(self, name: str) -> tuple[type, Any]:
        """The provider class named ``name`` and its plugin facts; a one-line error when unknown."""
        ...

    def sampler(self, name: str) -> tuple[type, Any]:
        """The sampler class named ``name`` and its plugin facts; a one-line error when unknown."""
        ...

    def dataset(self, name: str) -> Any:
        """The dataset spec named ``name``; a one-line error when unknown."""
        ...


_default: Callable[[], Catalogue] | None = None


def install_default(getter: Callable[[], Catalogue]) -> None:
    """Make ``getter`` the catalogue of callers that pass none (the plugin package does this)."""
    global _default
    _default = getter


def default_catalogue() -> Catalogue:
    """The installed catalogue (the plugin registry); importing :mod:`denoisebench` installs it."""
    if _default is None:  # unreachable once denoisebench is imported (its __init__ imports the plugin package)
        raise RuntimeError("no plugin catalogue installed: import denoisebench.plugins first")
    return _default()
