"""``inception``: the FID Inception-v3 (TensorFlow's 2015 weights) through pytorch-fid's network.

Preprocessing is pytorch-fid's: images as float x / 255 (torchvision's ToTensor; grey repeated to
RGB as PIL's ``convert('RGB')`` does), resized to 299 x 299 bilinear (align_corners=False, no
antialias), then 2x - 1 into [-1, 1]; features are the 2048-d final average pool. The weights
file ``pt_inception-2015-12-05-6726825d.pth`` is read from torch hub's checkpoints folder
(``$TORCH_HOME/hub/checkpoints``, where pytorch-fid downloads it) or an explicit path, with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import torch

from .base import Encoder, grey_to_rgb, resize

WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"
WEIGHTS_URL = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + WEIGHTS_FILE


def hub_checkpoints_dir() -> Path:
    """torch hub's checkpoints folder (honours TORCH_HOME)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


class InceptionEncoder(Encoder):
    name = "inception"
    description = "FID Inception-v3 (2015 TF weights, pytorch-fid's network), 2048-d pool features"
    input_channels = 3
    input_size = (299, 299)
    min_size = 8
    input_range = "[-1, 1]"
    output_dim = 2048
    preprocessing = "x/255, grey->RGB, resize 299x299 bilinear (align_corners=False, no antialias), 2x-1"
    weights_hint = f"download {WEIGHTS_URL} to that path"
    batch_size = 50

    @classmethod
    def default_weights_path(cls) -> Path:
        return hub_checkpoints_dir() / WEIGHTS_FILE

    def _build(self, weights: Path) -> torch.nn.Module:
        from pytorch_fid import inception as fid_inception

        def load_local(url: str, *args: object, **kwargs: object) -> dict[str, torch.Tensor]:
            return torch.load(weights, map_location="cpu", weights_only=True)

        # pytorch-fid's own construction; only its download is replaced by the local file
        with mock.patch.object(fid_inception, "load_state_dict_from_url", load_local):
            model = fid_inception.InceptionV3([fid_inception.InceptionV3.BLOCK_INDEX_BY_DIM[2048]],
                                              resize_input=False, normalize_input=False)
        return model.eval()

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        return 2 * resize(grey_to_rgb(x), self.input_size, "bilinear") - 1

    def _forward(self, model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
        return model(x)[0].flatten(1)
