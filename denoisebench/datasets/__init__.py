"""Image datasets: a registry the plugins extend through the ``register_datasets`` hook."""

from .base import DatasetOptions, DatasetSpec, ImageDataset

__all__ = ["DatasetOptions", "DatasetSpec", "ImageDataset"]
