"""``unet``: a time-conditioned U-Net trained with ``denoisebench train --provider unet``."""

from .model import UNet, UNetConfig
from .provider import UNetProvider
from .training import UNetRecipe

__all__ = ["UNet", "UNetConfig", "UNetProvider", "UNetRecipe"]
