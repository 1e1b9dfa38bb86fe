"""Which encoders a run's feature metrics use: the ones named with ``--encoder``, else the dataset's
declared defaults (``DatasetSpec.default_encoders``; when a dataset declares none: the MNIST
classifier for 28 x 28 grey images, Inception and DINOv2 ViT-B/14 otherwise).

An encoder named by the user must work (weights present, images readable): otherwise a one-line
error before any sampling. A *default* encoder that cannot run is skipped with a one-line reason,
recorded in run.json's ``metrics.skipped`` and printed as a warning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import DenoisebenchError
from .base import Encoder
from .classifier import MNISTClassifierEncoder

#: The colour default, used where a dataset declares no encoders.
COLOUR_DEFAULT = ("inception", "dinov2-vitb14")


def default_encoder_names(spec: Any, image_shape: tuple[int, int, int]) -> tuple[str, ...]:
    """The dataset's declared default encoders, else one chosen by its image shape (C, H, W)."""
    declared = getattr(spec, "default_encoders", None)
    if declared:
        return tuple(declared)
    return (MNISTClassifierEncoder.name,) if image_shape == (1, 28, 28) else COLOUR_DEFAULT


def _probe(shape: tuple[int, int, int]) -> Any:
    import numpy as np

    c, h, w = shape
    return np.zeros((1, h, w) if c == 1 else (1, h, w, c), np.uint8)


def choose_encoders(names: Sequence[str], spec: Any, image_shape: tuple[int, int, int],
                    weights: Mapping[str, Path] | None = None) -> tuple[list[Encoder], list[str]]:
    """The encoders to use and the one-line reasons defaults were skipped."""
    from . import get_encoder

    weights = dict(weights or {})
    for name in weights:
        if name not in names and name not in default_encoder_names(spec, image_shape):
            raise DenoisebenchError(f"--encoder-weights names {name!r}, which this run does not use: add --encoder {name}")
    explicit = bool(names)
    chosen: list[Encoder] = []
    skips: list[str] = []
    for name in (names or default_encoder_names(spec, image_shape)):
        encoder = get_encoder(name, weights.get(name))
        try:
            encoder.require_weights()
            encoder.check_images(_probe(image_shape))
        except DenoisebenchError as exc:
            if explicit:
                raise
            skips.append(f"encoder {name} (a default) skipped: {exc}")
            continue
        chosen.append(encoder)
    return chosen, skips
