"""The pinned feature network: a small CNN digit classifier.

Three 3x3 conv blocks (32, 64, 64 channels; ReLU; 2x2 max-pool) take a 28 x 28 digit to
64 x 3 x 3 = 576 numbers; ``embed`` maps them to the 128-d *feature* vector (the penultimate
layer, taken before its ReLU so no unit is clipped to a constant), and ``head`` classifies
ReLU(embedding) into 10 digits. About 130k parameters, ~6 M multiply-adds per image.

The metric features are the embedding standardised with the per-dimension mean and std of the
train split (buffers ``feature_shift`` / ``feature_scale``, fixed after training and shipped with
the weights): unit scale per dimension, as the KID's kernel x.y / d + 1 assumes.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

FEATURE_DIM = 128
NUM_CLASSES = 10
IMAGE_SIZE = 28


class DigitClassifier(nn.Module):
    """Small MNIST classifier whose penultimate layer gives the metric features."""

    def __init__(self, feature_dim: int = FEATURE_DIM, num_classes: int = NUM_CLASSES,
                 dropout: float = 0.3) -> None:
        super().__init__()

        def block(c_in: int, c_out: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))

        self.body = nn.Sequential(block(1, 32), block(32, 64), block(64, 64), nn.Flatten())
        self.embed = nn.Linear(64 * 3 * 3, feature_dim)
        self.head = nn.Sequential(nn.ReLU(), nn.Dropout(dropout), nn.Linear(feature_dim, num_classes))
        self.register_buffer("feature_shift", torch.zeros(feature_dim))
        self.register_buffer("feature_scale", torch.ones(feature_dim))

    def embedding(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate (pre-activation) layer, B x feature_dim, for x: B x 1 x 28 x 28 in [-1, 1]."""
        return self.embed(self.body(x))

    def standardise(self, embedding: torch.Tensor) -> torch.Tensor:
        """Metric features: the embedding with the train split's per-dimension mean and std removed."""
        return (embedding - self.feature_shift) / self.feature_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits, B x 10."""
        return self.head(self.embedding(x))

    @torch.inference_mode()
    def fit_standardisation(self, x: torch.Tensor, batch: int = 1000) -> None:
        """Set ``feature_shift`` / ``feature_scale`` to the mean / std of the embeddings of ``x``."""
        self.eval()
        emb = torch.cat([self.embedding(x[s:s + batch]) for s in range(0, len(x), batch)]).double()
        self.feature_shift.copy_(emb.mean(0).float())
        self.feature_scale.copy_(emb.std(0).clamp_min(1e-6).float())


def to_input(images: np.ndarray) -> torch.Tensor:
    """uint8 N x 28 x 28 -> float32 N x 1 x 28 x 28 in [-1, 1] (the project's model range)."""
    x = torch.from_numpy(np.array(images, dtype=np.float32, copy=True))
    return (x / 127.5 - 1.0).unsqueeze(1)
