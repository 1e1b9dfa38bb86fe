"""Where a deepinv network's weights come from; never from the internet.

deepinv downloads pretrained weights on first use (``pretrained="download"``, through
``torch.hub.load_state_dict_from_url`` into ``<torch hub dir>/checkpoints/``). This plugin always
builds deepinv's networks with ``pretrained=None`` and loads weights itself, from

1. ``--checkpoint PATH`` (a ``.safetensors`` file, or a ``.pth``/``.ckpt`` read with
   ``torch.load(weights_only=True)``), else
2. the file deepinv would have downloaded, if it is already in the cache
   (``torch.hub.get_dir()/checkpoints/NAME``, i.e. ``~/.cache/torch/hub/checkpoints/NAME`` unless
   ``TORCH_HOME`` moves it),

and otherwise stops with one line naming both remedies and the URL to fetch the file from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from denoisebench import DenoisebenchError


@dataclass(frozen=True)
class OfficialWeights:
    """The file deepinv downloads for a network: its cache file name and its URL."""

    file_name: str
    url: str


def deepinv_url(model: str, file_name: str) -> str:
    """The Hugging Face address deepinv downloads ``file_name`` of ``model`` from (``get_weights_url``)."""
    return f"https://huggingface.co/deepinv/{model}/resolve/main/{file_name}?download=true"


def cache_dir() -> Path:
    """torch hub's checkpoint cache, where deepinv's downloads land."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def resolve_weights(provider: str, checkpoint: Path | None, official: OfficialWeights) -> tuple[Path, str]:
    """The weights file to load and where it was found (``checkpoint`` or ``deepinv cache``).

    A given ``checkpoint`` must exist; without one the cache must hold the official file. Anything
    else is a one-line error naming both remedies.
    """
    if checkpoint is not None:
        path = Path(checkpoint)
        if not path.is_file():
            raise DenoisebenchError(f"checkpoint {path} does not exist: pass an existing weights file to --checkpoint")
        return path, "checkpoint"
    cached = cache_dir() / official.file_name
    if cached.is_file():
        return cached, "deepinv cache"
    raise DenoisebenchError(
        f"provider {provider!r} needs weights and none are here (nothing is downloaded): pass --checkpoint PATH, "
        f"or put {official.file_name} in {cached.parent} (fetch it on a machine with internet from {official.url})")
