"""The restoration adapter base, re-exported: it lives in :mod:`denoisebench.interfaces.restoration`.

Kept so that plugins importing ``denoisebench.providers.restoration`` keep working.
"""

from ..interfaces.restoration import NORMALISATION_MODES, RestorationProvider, check_denoised

__all__ = ["NORMALISATION_MODES", "RestorationProvider", "check_denoised"]
