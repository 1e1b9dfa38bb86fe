"""The interfaces plugins implement, and the records they are built from, at the bottom of the package.

Nothing here imports a provider implementation, ``training``, ``runs`` or the plugin registry
(``tests/test_layering.py`` checks it): the loop, the providers and the plugins all import down to it.

* :mod:`.provider`: :class:`EpsilonProvider` and :class:`ProviderContext`;
* :mod:`.restoration`: :class:`RestorationProvider`, the adapter base of image denoisers.

``denoisebench.providers.base`` and ``denoisebench.providers.restoration`` re-export these names.
"""

from .provider import EpsilonProvider, ProviderContext
from .restoration import NORMALISATION_MODES, RestorationProvider, check_denoised

__all__ = ["NORMALISATION_MODES", "EpsilonProvider", "ProviderContext", "RestorationProvider", "check_denoised"]
