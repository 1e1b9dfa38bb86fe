"""DINOv2 and CLIP image encoders through timm, weights from the Hugging Face cache or a file.

- ``dinov2-vitb14`` / ``dinov2-vitl14``: timm's ``vit_{base,large}_patch14_dinov2.lvd142m`` at
  224 x 224 (the position embedding resampled by timm on load, as dgm-eval runs DINOv2), features
  the final-norm CLS token (768 / 1024-d). Preprocessing: x / 255, grey -> RGB, resize 224 bicubic
  (align_corners=False, no antialias), ImageNet mean/std.
- ``clip-vitb32``: timm's ``vit_base_patch32_clip_224.openai`` image tower with its projection
  (512-d CLIP image embedding). Preprocessing: x / 255, grey -> RGB, resize 224 bicubic, CLIP
  mean/std.

Weights are timm's ``model.safetensors`` in the Hugging Face cache (``$HF_HOME/hub``) or an
explicit file (safetensors, or a torch file read with weights_only=True), handed to timm through
``pretrained_cfg_overlay=dict(file=...)``: timm never reaches the network.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

import torch

from .base import Encoder, grey_to_rgb, normalise, resize

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def hf_hub_dir() -> Path:
    """The Hugging Face hub cache folder (honours HF_HUB_CACHE and HF_HOME)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or
                                                     os.path.expanduser("~/.cache"), "huggingface")
    return Path(home) / "hub"


def cached_hf_file(repo_id: str, filename: str = "model.safetensors") -> Path | None:
    """The file of the Hugging Face cache's current snapshot of ``repo_id``, or None (no network)."""
    snapshots = hf_hub_dir() / f"models--{repo_id.replace('/', '--')}" / "snapshots"
    ref = hf_hub_dir() / f"models--{repo_id.replace('/', '--')}" / "refs" / "main"
    if ref.is_file():
        candidate = snapshots / ref.read_text().strip() / filename
        if candidate.is_file():
            return candidate
    found = sorted(snapshots.glob(f"*/{filename}")) if snapshots.is_dir() else []
    return found[0] if found else None


class TimmEncoder(Encoder):
    """A timm image model read from the HF cache or a file; subclasses set the names and statistics."""

    timm_name: ClassVar[str]
    mean: ClassVar[tuple[float, ...]]
    std: ClassVar[tuple[float, ...]]
    #: create_model's num_classes: 0 drops the head (CLS token features); None keeps it (CLIP's projection)
    num_classes: ClassVar[int | None] = 0
    interpolation: ClassVar[str] = "bicubic"
    input_size = (224, 224)
    input_range = "ImageNet-normalised"
    batch_size = 32

    @classmethod
    def hf_repo(cls) -> str:
        return "timm/" + cls.timm_name

    @classmethod
    def default_weights_path(cls) -> Path:
        found = cached_hf_file(cls.hf_repo())
        if found is not None:
            return found
        return hf_hub_dir() / f"models--{cls.hf_repo().replace('/', '--')}" / "snapshots" / "REVISION" / \
            "model.safetensors"

    def hint(self) -> str:
        return (f"download it with 'huggingface-cli download {self.hf_repo()} model.safetensors' (it lands in "
                "$HF_HOME/hub)")

    def create(self, file: Path | None) -> torch.nn.Module:
        """The timm model; ``file`` None builds it with random weights (timing, tests)."""
        import timm

        kwargs: dict[str, object] = {"img_size": self.input_size[0]}
        if self.num_classes is not None:
            kwargs["num_classes"] = self.num_classes
        if file is None:
            return timm.create_model(self.timm_name, pretrained=False, **kwargs).eval()
        return timm.create_model(self.timm_name, pretrained=True,
                                 pretrained_cfg_overlay={"file": str(file)}, **kwargs).eval()

    def _build(self, weights: Path) -> torch.nn.Module:
        return self.create(weights)

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        return normalise(resize(grey_to_rgb(x), self.input_size, self.interpolation), self.mean, self.std)


class DinoV2B14(TimmEncoder):
    name = "dinov2-vitb14"
    description = "DINOv2 ViT-B/14 (timm, LVD-142M) at 224 x 224, final-norm CLS token, 768-d"
    timm_name = "vit_base_patch14_dinov2.lvd142m"
    mean, std = IMAGENET_MEAN, IMAGENET_STD
    output_dim = 768
    min_size = 14
    preprocessing = "x/255, grey->RGB, resize 224x224 bicubic (align_corners=False, no antialias), ImageNet mean/std"


class DinoV2L14(DinoV2B14):
    name = "dinov2-vitl14"
    description = "DINOv2 ViT-L/14 (timm, LVD-142M) at 224 x 224, final-norm CLS token, 1024-d (dgm-eval's choice)"
    timm_name = "vit_large_patch14_dinov2.lvd142m"
    output_dim = 1024


class ClipB32(TimmEncoder):
    name = "clip-vitb32"
    description = "OpenAI CLIP ViT-B/32 image tower (timm) with its projection, 512-d image embedding"
    timm_name = "vit_base_patch32_clip_224.openai"
    mean, std = CLIP_MEAN, CLIP_STD
    num_classes = None
    input_range = "CLIP-normalised"
    output_dim = 512
    min_size = 8
    preprocessing = "x/255, grey->RGB, resize 224x224 bicubic (align_corners=False, no antialias), CLIP mean/std"
