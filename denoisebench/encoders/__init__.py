"""Feature encoders, the fifth plugin axis (``register_encoders``): networks that turn images into
the feature vectors FD, KD and PRDC are computed on."""

from __future__ import annotations

from pathlib import Path

from ..errors import DenoisebenchError
from .autoencoder import AEMnist5k, AESkimagePatches32
from .base import Encoder, EncoderInputError, EncoderUnavailable
from .classifier import MNISTClassifierEncoder
from .inception import InceptionEncoder
from .pixels import PixelEncoder
from .timm_vit import ClipB32, DinoV2B14, DinoV2L14

#: Registered by the builtin plugin, in this order.
BUILTIN_ENCODERS: tuple[type[Encoder], ...] = (MNISTClassifierEncoder, InceptionEncoder, DinoV2B14, DinoV2L14,
                                               ClipB32, PixelEncoder, AEMnist5k, AESkimagePatches32)
#: The encoder whose feature metrics keep their historical names (fid, kid, prdc).
CLASSIFIER = MNISTClassifierEncoder.name


def encoder_class(name: str) -> type[Encoder]:
    """The registered encoder class called ``name`` (one-line error when unknown)."""
    from ..plugins import get_registry

    return get_registry().encoder(name)[0]


def get_encoder(name: str, weights: str | Path | None = None) -> Encoder:
    """An instance of the encoder ``name``, reading ``weights`` when given (else its default location)."""
    if weights is not None and not Path(weights).is_file():
        raise DenoisebenchError(f"--encoder-weights {name}={weights}: no such file")
    return encoder_class(name)(weights)


def parse_weights_options(values: tuple[str, ...] | list[str]) -> dict[str, Path]:
    """``NAME=PATH`` pairs of ``--encoder-weights`` as a mapping (one-line error when malformed)."""
    out: dict[str, Path] = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise DenoisebenchError(f"--encoder-weights {value!r}: expected NAME=PATH, e.g. inception=/data/pt_inception.pth")
        out[name] = Path(path)
    return out


__all__ = ["AEMnist5k", "AESkimagePatches32", "BUILTIN_ENCODERS", "CLASSIFIER", "ClipB32", "DinoV2B14", "DinoV2L14", "Encoder", "EncoderInputError",
           "EncoderUnavailable", "InceptionEncoder", "MNISTClassifierEncoder", "PixelEncoder", "encoder_class", "get_encoder",
           "parse_weights_options"]
