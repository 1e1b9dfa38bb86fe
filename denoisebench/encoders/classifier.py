"""``mnist-classifier``: the project's pinned MNIST classifier as an encoder (the FID-proxy's features).

Its features are exactly those of :mod:`denoisebench.metrics.features` (the standardised
penultimate layer, 128-d), so the MNIST numbers do not move.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .base import Encoder, EncoderInputError


class MNISTClassifierEncoder(Encoder):
    name = "mnist-classifier"
    description = "the project's pinned MNIST classifier (penultimate layer, standardised): a domain proxy"
    input_channels = 1
    input_size = (28, 28)
    min_size = 28
    input_range = "[-1, 1] (x / 127.5 - 1)"
    output_dim = 128
    preprocessing = "none: 28 x 28 grey only, x / 127.5 - 1; features standardised with the train split's mean/std"
    weights_hint = ("restore the shipped file or run 'denoisebench features train --dataset mnist-5k --seed 0 "
                    "--output PATH'")
    proxy = True

    @classmethod
    def default_weights_path(cls) -> Path:
        from ..metrics.features import default_weights_path

        return default_weights_path()

    def identity(self) -> dict[str, object]:
        return {"encoder": self.name, "weights_sha256": self.network.sha256}

    @property
    def network(self):  # noqa: ANN201 - the FeatureNetwork
        from ..metrics.features import load_feature_network

        path = self.require_weights()
        return load_feature_network(None if self._explicit is None else path)

    def _build(self, weights: Path) -> torch.nn.Module:
        return self.network.model

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2.0 - 1.0

    def check_images(self, images: np.ndarray) -> None:
        super().check_images(images)
        if images.shape[1:3] != (28, 28):
            raise EncoderInputError(f"encoder {self.name!r} reads 28 x 28 digits only, got "
                                    f"{images.shape[1]} x {images.shape[2]}: choose another encoder (e.g. inception)")

    def encode(self, images: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        self.check_images(images)
        grey = images[..., 0] if images.ndim == 4 else images
        return self.network.embed(np.ascontiguousarray(grey), batch=batch_size or 1000)[0]
