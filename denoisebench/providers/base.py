"""The provider interface, re-exported: it lives in :mod:`denoisebench.interfaces.provider`.

Kept so that plugins importing ``denoisebench.providers.base`` keep working.
"""

from ..interfaces.provider import EpsilonProvider, ProviderContext

__all__ = ["EpsilonProvider", "ProviderContext"]
