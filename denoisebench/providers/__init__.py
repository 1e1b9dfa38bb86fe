"""Epsilon providers: the pluggable noise predictors that drive the sampling loop."""

from .base import EpsilonProvider, ProviderContext
from .restoration import NORMALISATION_MODES, RestorationProvider

__all__ = ["EpsilonProvider", "ProviderContext", "RestorationProvider", "NORMALISATION_MODES"]
