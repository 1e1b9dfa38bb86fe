"""``kbnet``: a blind KBNet_s restoration network as an epsilon provider.

The network D(y) maps a noisy [0, 1] image to a clean one and is never told the noise level; the
core adapter (:class:`~denoisebench.interfaces.restoration.RestorationProvider`) turns it into
epsilon, in the mode chosen with ``-o mode=tweedie|scaled|seed``.

Weights (``--checkpoint``): a checkpoint written by ``denoisebench train --provider kbnet``, an
official KBNet ``.pth`` (``gau_gray_15/25/50.pth`` for grey data, ``gau_color_15/25/50.pth`` for
colour data: ``KBNet_s`` with 3 input and output channels, loaded strictly) or any safetensors
KBNet_s state dict; without one, the shipped MNIST model ``denoisebench/weights/kbnet-mnist-5k.safetensors``.
The network is fully convolutional, so official files run at any H x W (padded to a multiple of
2^levels); their channel count must be the dataset's. A checkpoint written by ``denoisebench train``
also records its data (:mod:`~denoisebench.training.checkpoint.trained_for`): another image shape
is a one-line error, another dataset of that shape a warning recorded in run.json.

Training (``denoisebench train --provider kbnet``) is restoration training, described in
:mod:`.training` (the :class:`~.training.KBNetRecipe` this class refers to).
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from ...errors import DenoisebenchError
from ...training.checkpoint import check_trained_for, load_weights, resolve_checkpoint, trained_for
from ...training.checkpoint.trained_for import shape_text
from ...interfaces.provider import EpsilonProvider, ProviderContext
from ...interfaces.restoration import RestorationProvider
from .arch import KBNetS, count_parameters
from .training import KBNetRecipe

DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[2] / "weights" / "kbnet-mnist-5k.safetensors"
_OFFICIAL_NAME = re.compile(r"gau_(?:gray|color)_(\d+)")


def parse_noise_range(text: str) -> tuple[float, float]:
    """``"LO,HI"`` (noise std in [0, 1] units) -> (LO, HI), or a one-line error."""
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise DenoisebenchError(f"noise_range must be LO,HI in [0, 1] units (e.g. 0,0.196), got {text!r}") from None
    if not 0 <= lo <= hi:
        raise DenoisebenchError(f"noise_range needs 0 <= LO <= HI, got {text!r}")
    return lo, hi


class KBNetProvider(RestorationProvider):
    """The KBNet_s denoiser behind the restoration adapter."""

    name: ClassVar[str] = "kbnet"
    description: ClassVar[str] = "KBNet_s blind restoration net D(y) -> epsilon (modes tweedie/scaled/seed)"
    blind: ClassVar[bool] = True
    options: ClassVar[dict[str, str]] = {
        **RestorationProvider.options,
        "noise_range": "LO,HI noise std in [0, 1] units the weights were trained for "
                       "(default: from the checkpoint; official gau_*_N.pth: N/255)",
        "compile": "torch.compile the network: 1 or 0 (default 0: on CPU the compiled network measured "
                   "no faster than the default forward, after minutes of compiling)",
    }
    training: ClassVar[type[KBNetRecipe]] = KBNetRecipe
    default_checkpoint: ClassVar[Path | None] = DEFAULT_CHECKPOINT

    def __init__(self, context: ProviderContext, net: KBNetS | None = None,
                 source: dict[str, Any] | None = None) -> None:
        super().__init__(context)
        if net is None:
            raise DenoisebenchError("the kbnet provider needs weights: build it with from_context or from_model")
        self.net = net.to(context.device).eval()
        self._compiled = self.flag_option("compile")
        self._forward = torch.compile(self.net, dynamic=False) if self._compiled else self.net
        self.source = dict(source or {})
        self.warnings: list[str] = []
        self.noise_range, self.noise_range_source = self._resolve_noise_range()
        if self.mode == "scaled" and math.isinf(self.noise_range[1]):
            raise DenoisebenchError(
                "mode 'scaled' needs the denoiser's trained noise range, which this checkpoint does not "
                "record: pass -o noise_range=LO,HI (noise std in [0, 1] units)")

    def _resolve_noise_range(self) -> tuple[tuple[float, float], str]:
        if "noise_range" in self.context.options:
            return parse_noise_range(self.context.options["noise_range"]), "option"
        kind = self.source.get("format")
        if kind in ("denoisebench-train", "safetensors+config", "model"):
            cfg = self.net.config
            return (cfg.sigma_min, cfg.sigma_max), "model config"
        path = self.source.get("path")
        m = _OFFICIAL_NAME.search(Path(path).name) if path else None
        if m:  # the official models are each trained at one noise level, sigma / 255
            s = int(m.group(1)) / 255
            return (s, s), "official file name"
        return (0.0, math.inf), "unknown"

    # --- building ---------------------------------------------------------------------------

    @classmethod
    def from_context(cls, context: ProviderContext) -> EpsilonProvider:
        path = resolve_checkpoint(cls, context)
        net, source = load_network(path)
        warning = check_trained_for(trained_for(source.pop("metadata", {})), context.dataset, path, cls.name)
        dataset = context.dataset
        if dataset is not None and net.config.img_channel != dataset.channels:
            raise DenoisebenchError(
                f"checkpoint {Path(path).name} is a KBNet_s for {net.config.img_channel}-channel images; dataset "
                f"{dataset.id} has {shape_text(dataset.image_shape)}: pass a checkpoint for "
                f"{dataset.channels}-channel images (official: gau_{'color' if dataset.channels == 3 else 'gray'}_25.pth) "
                f"or train one with 'denoisebench train --provider kbnet --dataset {dataset.id}'")
        provider = cls(context, net, source)
        provider.warnings = [warning] if warning else []
        return provider

    @classmethod
    def from_model(cls, model: nn.Module, context: ProviderContext) -> EpsilonProvider:
        if not isinstance(model, KBNetS):
            raise DenoisebenchError(f"kbnet cannot wrap a {type(model).__name__}: pass a KBNetS")
        return cls(context, model, {"format": "model"})

    # --- the denoiser -------------------------------------------------------------------------

    def denoise(self, y: torch.Tensor, noise_std: torch.Tensor | None) -> torch.Tensor:
        with torch.no_grad():
            return self._forward(y.to(torch.float32)).to(y.dtype)

    def info(self) -> dict[str, object]:
        cfg = dataclasses.asdict(self.net.config)
        trained = {k: cfg.pop(k) for k in ("sigma_min", "sigma_max", "sigma_dist", "sigma_mean", "sigma_std",
                                           "loss", "loss_weight")}
        known = not math.isinf(self.noise_range[1])
        return {**super().info(), "noise_range": list(self.noise_range) if known else None,
                "noise_range_source": self.noise_range_source,
                "checkpoint": self.source.get("path"), "checkpoint_sha256": self.source.get("sha256"),
                "checkpoint_format": self.source.get("format"),
                "architecture": cfg, "training": trained, "parameters": count_parameters(self.net),
                "compile": self._compiled, **({"warnings": list(self.warnings)} if self.warnings else {})}


def load_network(path: Path) -> tuple[KBNetS, dict[str, Any]]:
    """Build and strictly load the network stored in ``path``; returns it and where it came from.

    A ``denoisebench train`` checkpoint carries its config; any other file's architecture is read
    off its tensor shapes (:func:`~.shapes.infer_config`).
    """
    net, weights = load_weights(KBNetProvider, path)
    assert isinstance(net, KBNetS)
    return net, {"path": str(weights.path), "sha256": weights.sha256, "format": weights.kind,
                 "metadata": dict(weights.metadata)}
