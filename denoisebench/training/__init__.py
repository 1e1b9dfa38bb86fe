"""Generic training for trainable providers (``denoisebench train``); see :mod:`.api`."""

from .api import TrainableProvider, is_trainable, load_model

__all__ = ["TrainableProvider", "is_trainable", "load_model"]
