"""Epsilon providers: the pluggable noise predictors that drive the sampling loop."""

from ..interfaces.provider import EpsilonProvider, ProviderContext
from ..interfaces.restoration import NORMALISATION_MODES, RestorationProvider

__all__ = ["EpsilonProvider", "ProviderContext", "RestorationProvider", "NORMALISATION_MODES"]
