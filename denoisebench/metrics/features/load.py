"""Load the pinned feature network shipped in ``denoisebench/weights`` and embed images with it."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from ...errors import DenoisebenchError
from .model import DigitClassifier, to_input
from ...fileio import verified_manifest

DEFAULT_NAME = "classifier-mnist-5k"


def default_weights_path() -> Path:
    """The classifier shipped inside the package."""
    return Path(str(resources.files("denoisebench").joinpath("weights", f"{DEFAULT_NAME}.safetensors")))


@dataclass(frozen=True)
class FeatureNetwork:
    """The classifier, the sha256 of its weights file and its manifest."""

    model: DigitClassifier
    sha256: str
    manifest: dict[str, object]
    path: Path

    @property
    def feature_dim(self) -> int:
        return int(self.model.embed.out_features)

    def describe(self) -> dict[str, object]:
        return {"name": self.manifest.get("name", self.path.stem), "sha256": self.sha256,
                "feature_dim": self.feature_dim, "layer": self.manifest.get("feature_layer"),
                "heldout_accuracy": self.manifest.get("heldout_accuracy"),
                "trained_on": (self.manifest.get("dataset") or {}).get("id")}  # type: ignore[union-attr]

    @torch.inference_mode()
    def embed(self, images: np.ndarray, batch: int = 1000) -> tuple[np.ndarray, np.ndarray]:
        """Features (float64, N x d) and class probabilities (float64, N x 10) of uint8 N x 28 x 28 images.

        Computed in float32 on the CPU in batches; the same images always give the same numbers here.
        """
        check_images(images)
        images = images[..., 0] if images.ndim == 4 else images  # N x 28 x 28 x 1, the grey layout with its channel axis
        feats, probs = [], []
        for start in range(0, len(images), batch):
            x = to_input(images[start:start + batch]).contiguous(memory_format=torch.channels_last)
            emb = self.model.embedding(x)
            feats.append(self.model.standardise(emb).double().numpy())
            probs.append(torch.softmax(self.model.head(emb).double(), dim=1).numpy())
        if not feats:
            d = self.feature_dim
            return np.zeros((0, d)), np.zeros((0, 10))
        return np.concatenate(feats), np.concatenate(probs)


def check_images(images: np.ndarray) -> None:
    """Raise a one-line error unless ``images`` is uint8 N x 28 x 28 (or N x 28 x 28 x 1)."""
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.shape[1:] not in ((28, 28), (28, 28, 1)):
        got = f"{images.dtype} {images.shape}" if isinstance(images, np.ndarray) else type(images).__name__
        raise DenoisebenchError(f"metrics need uint8 N x 28 x 28 images, got {got}: convert the samples "
                                "with denoisebench.datasets.base.to_uint8")


@functools.lru_cache(maxsize=4)
def load_feature_network(path: Path | None = None) -> FeatureNetwork:
    """Load and verify the classifier (cached per path); its sha256 must match the manifest."""
    from safetensors.torch import load_file

    path = Path(path) if path is not None else default_weights_path()
    manifest = verified_manifest(path, "feature network", "feature network",
                                 f"denoisebench features train --dataset mnist-5k --seed 0 --output {path}")
    state = load_file(str(path))
    feature_dim = int(state["embed.weight"].shape[0])
    model = DigitClassifier(feature_dim)
    model.load_state_dict(state, strict=True)
    model.eval().to(memory_format=torch.channels_last)  # ~2x faster pooling on CPU; same function
    return FeatureNetwork(model, manifest["sha256"], manifest, path)
