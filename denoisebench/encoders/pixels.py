"""``pixels``: the images themselves as features (x / 255, flattened): feature metrics in pixel space."""

from __future__ import annotations

from pathlib import Path

import torch

from .base import Encoder


class PixelEncoder(Encoder):
    name = "pixels"
    description = "pixel space: the images as x / 255, flattened (C x H x W values; no network, no weights)"
    input_channels = 0  # any: grey stays grey, colour stays colour
    input_size = None
    input_range = "[0, 1]"
    output_dim = 0  # C x H x W of the images
    preprocessing = "x/255, flattened in C x H x W order; no resize"
    needs_weights = False
    batch_size = 1000

    @classmethod
    def default_weights_path(cls) -> Path | None:
        return None

    def _build(self, weights: Path | None) -> torch.nn.Module:
        return torch.nn.Flatten()

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        return x
