"""``ae-mnist-5k`` and ``ae-skimage-patches-32``: autoencoder codes trained here, as offline proxy encoders.

Each is the encoder half of a small convolutional autoencoder (:mod:`.ae_model`) trained by
``denoisebench features train --kind autoencoder`` on one dataset's train split and shipped in
``denoisebench/weights`` with its manifest (sha256 checked on load; safetensors, no pickle).
Features (96-d): the 64-d code and the spatial std of each of the 32 first-layer channels (texture
statistics that see noise and blur, which the code barely does), each standardised with the train
split's mean and std.

- ``ae-mnist-5k``: a second MNIST feature space with another objective (reconstruction, no labels)
  and architecture (strided SiLU convs, bottleneck) than ``mnist-classifier``; 28 x 28 grey only.
- ``ae-skimage-patches-32``: the colour default's offline proxy (no standard encoder's weights can
  be downloaded here); 32 x 32 RGB, grey repeated to three channels, other sizes resized bilinearly
  to 32 x 32 (it was trained on 32 x 32 photograph patches: off that domain it is a weak proxy).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from .ae_train import load_autoencoder
from .base import Encoder, EncoderInputError, grey_to_rgb, resize


def shipped_weights(stem: str) -> Path:
    """A weights file shipped inside the package (``denoisebench/weights/STEM.safetensors``)."""
    return Path(str(resources.files("denoisebench").joinpath("weights", f"{stem}.safetensors")))


class AutoencoderEncoder(Encoder):
    """Base of the ``ae-*`` encoders: set ``name``, ``weights_stem``, ``trained_on`` and the input fields."""

    weights_stem: ClassVar[str]
    trained_on: ClassVar[str]
    #: (C, H, W) the network was trained on; a weights file for another shape or code size is refused.
    trained_shape: ClassVar[tuple[int, int, int]]
    input_range = "[-1, 1] (x / 127.5 - 1)"
    output_dim = 96  # 64-d code + 32 texture statistics
    proxy = True
    batch_size = 500

    @classmethod
    def default_weights_path(cls) -> Path:
        return shipped_weights(cls.weights_stem)

    def hint(self) -> str:
        return (f"restore the shipped file or run 'denoisebench features train --kind autoencoder --dataset "
                f"{self.trained_on} --seed 0 --output {self.default_weights_path()}'")

    @property
    def loaded(self) -> Any:  # noqa: ANN401 - the LoadedAE
        return load_autoencoder(self.require_weights())

    def identity(self) -> dict[str, Any]:
        return {"encoder": self.name, "weights_sha256": self.loaded.sha256, "preprocessing": self.preprocessing,
                "output_dim": self.output_dim}

    def _build(self, weights: Path | None) -> torch.nn.Module:
        loaded = self.loaded
        dim = int(loaded.encoder.code.out_features) + int(loaded.encoder.texture_shift.numel())
        if loaded.image_shape != self.trained_shape or dim != self.output_dim:
            c, h, w = self.trained_shape
            raise EncoderInputError(f"encoder {self.name!r} needs an autoencoder trained on {c} x {h} x {w} images "
                                    f"with {self.output_dim}-d features; {weights} holds one for "
                                    f"{' x '.join(map(str, loaded.image_shape))} with {dim}-d features")
        return loaded.encoder

    def _forward(self, model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
        # one memory layout (N x 1 x H x W from N x H x W x 1 has channels-last strides, which picks
        # another conv kernel and moves the 7th digit): the same numbers for every input layout
        return model.features(torch.empty(x.shape, dtype=x.dtype).copy_(x))


class AEMnist5k(AutoencoderEncoder):
    name = "ae-mnist-5k"
    description = ("autoencoder code trained here on mnist-5k (reconstruction, no labels; 64-d code + 32 texture statistics): a second "
                   "MNIST proxy, unlike the classifier in objective and architecture")
    weights_stem = "ae-mnist-5k"
    trained_on = "mnist-5k"
    trained_shape = (1, 28, 28)
    input_channels = 1
    input_size = (28, 28)
    min_size = 28
    preprocessing = "none: 28 x 28 grey only, x / 127.5 - 1; code and texture statistics standardised with the train split's mean/std"

    def check_images(self, images: np.ndarray) -> None:
        super().check_images(images)
        if images.shape[1:3] != (28, 28):
            raise EncoderInputError(f"encoder {self.name!r} reads 28 x 28 digits only, got "
                                    f"{images.shape[1]} x {images.shape[2]}: choose another encoder")

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2.0 - 1.0


class AESkimagePatches32(AutoencoderEncoder):
    name = "ae-skimage-patches-32"
    description = ("autoencoder code trained here on skimage-patches-32 (reconstruction, no labels; 64-d code + 32 texture statistics): "
                   "the offline colour proxy")
    weights_stem = "ae-skimage-patches-32"
    trained_on = "skimage-patches-32"
    trained_shape = (3, 32, 32)
    input_channels = 3
    input_size = (32, 32)
    min_size = 8
    preprocessing = ("x / 127.5 - 1, grey repeated to RGB, other sizes resized to 32 x 32 bilinear "
                     "(align_corners=False, no antialias); code and texture statistics standardised with the train split's mean/std")

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        return resize(grey_to_rgb(x), self.input_size, "bilinear") * 2.0 - 1.0
