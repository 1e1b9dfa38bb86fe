"""The U-Net epsilon provider: shipped or trained weights, conversion to epsilon, fast CPU inference.

The network outputs what its config's ``parameterisation`` says (abar = alpha_bar_t):
eps; v = sqrt(abar) eps - sqrt(1 - abar) x0, from which eps = sqrt(abar) v + sqrt(1 - abar) x_t;
x0, from which eps = (x_t - sqrt(abar) x0) / sqrt(1 - abar). Training: :mod:`.training`.

Without ``--checkpoint`` the provider loads the shipped weights trained on the run's ``--dataset``
(found from the manifests in ``denoisebench/weights/``, :mod:`~denoisebench.training.checkpoint.shipped`),
or says there are none and how to train them. Every checkpoint is checked against the run's data
(:mod:`~denoisebench.training.checkpoint.trained_for`): another image shape is a one-line error,
another dataset of the same shape a warning recorded in run.json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn

from ...diffusion.schedule import NoiseSchedule
from ...errors import DenoisebenchError
from ...training.checkpoint import (LoadedWeights, TrainedFor, check_trained_for, load_weights, resolve_checkpoint,
                                    shipped_for, trained_for)
from ...interfaces.provider import EpsilonProvider, ProviderContext
from .model import UNetConfig
from .training import UNetRecipe

WEIGHTS_DIR = Path(__file__).resolve().parent.parent.parent / "weights"
SHIPPED = WEIGHTS_DIR / "unet-mnist-5k.safetensors"


class UNetProvider(EpsilonProvider):
    name: ClassVar[str] = "unet"
    description: ClassVar[str] = ("time-conditioned U-Net (trained; the shipped checkpoint of --dataset, "
                                  "see denoisebench/weights/)")
    options: ClassVar[dict[str, str]] = {
        "compile": "torch.compile the network: 1 or 0 (default 0)",
        "channels_last": "channels-last memory format: 1 or 0 (default 1)",
    }
    training: ClassVar[type[UNetRecipe]] = UNetRecipe
    #: None: without --checkpoint the shipped weights of the run's dataset are looked up in
    #: ``shipped_weights_dir`` (a subclass may set a fixed default instead).
    default_checkpoint: ClassVar[Path | None] = None
    shipped_weights_dir: ClassVar[Path] = WEIGHTS_DIR

    def __init__(self, context: ProviderContext) -> None:
        super().__init__(context)
        self.net: nn.Module | None = None
        self.config: UNetConfig | None = None
        self.weights: LoadedWeights | None = None
        self._tables: tuple[torch.Tensor, torch.Tensor] | None = None
        self._schedule_key: tuple[str, int] | None = None
        self.warnings: list[str] = []

    @classmethod
    def from_model(cls, model: nn.Module, context: ProviderContext) -> UNetProvider:
        provider = cls(context)
        provider.config = model.config
        provider.net = provider._optimise(model.to(context.device).eval())
        return provider

    @classmethod
    def from_context(cls, context: ProviderContext) -> UNetProvider:
        cls(context)  # validate options before loading anything
        dataset = context.dataset
        if context.checkpoint is None and cls.default_checkpoint is None:
            path = shipped_for(cls.name, cls.shipped_weights_dir, dataset.id if dataset is not None else "mnist-5k")
        else:
            path = resolve_checkpoint(cls, context)
        model, weights = load_weights(cls, path, context.device)
        record = trained_for(weights.metadata) or TrainedFor(None, None, model.config.image_shape)
        warning = check_trained_for(record, dataset, path, cls.name)
        if dataset is not None and tuple(model.config.image_shape) != tuple(dataset.image_shape):
            check_trained_for(TrainedFor(None, None, model.config.image_shape), dataset, path, cls.name)
        provider = cls.from_model(model, context)
        provider.weights = weights
        provider.warnings = [warning] if warning else []
        return provider

    def _optimise(self, model: nn.Module) -> nn.Module:
        fmt = torch.channels_last if self.flag_option("channels_last", True) else torch.contiguous_format
        model = model.to(memory_format=fmt)
        if self.flag_option("compile"):
            model = torch.compile(model, dynamic=False)
        return model

    def _coefficients(self, schedule: NoiseSchedule, t: torch.Tensor, like: torch.Tensor
                      ) -> tuple[torch.Tensor, torch.Tensor]:
        key = (schedule.name, schedule.T)
        if self._tables is None or self._schedule_key != key:
            trained = self.weights.metadata.get("schedule") if self.weights else None
            if trained:
                info = json.loads(trained)
                if (info["name"], int(info["T"])) != key:
                    raise DenoisebenchError(
                        f"this U-Net was trained with the {info['name']} schedule, T={info['T']}; run "
                        f"with --schedule {info['name']} (and T={info['T']})")
            ab = schedule.alpha_bars.to(device=like.device, dtype=like.dtype)
            self._tables, self._schedule_key = (ab.sqrt(), (1 - ab).sqrt()), key
        a, s = self._tables
        t = t.to(like.device)
        return a[t].view(-1, 1, 1, 1), s[t].view(-1, 1, 1, 1)

    def predict_eps(self, x_t: torch.Tensor, t: torch.Tensor, schedule: NoiseSchedule) -> torch.Tensor:
        assert self.net is not None and self.config is not None
        a, s = self._coefficients(schedule, t, x_t)
        out = self.net(x_t, t.to(x_t.device))
        if self.config.parameterisation == "eps":
            return out
        if self.config.parameterisation == "v":
            return a * out + s * x_t
        return (x_t - a * out) / s

    def info(self) -> dict[str, object]:
        out: dict[str, object] = {}
        if self.weights is not None:
            meta = self.weights.metadata
            read = {"step": int, "model_config": json.loads}
            out["path"] = str(self.weights.path)
            for key in ("step", "dataset", "dataset_hash", "git_commit", "code_version", "model_config"):
                if key in meta:
                    out[key] = read.get(key, str)(meta[key])
            if "train_subset" in meta:  # train --train-size: the subset's recipe and hash (indices stay in the file)
                subset = json.loads(meta["train_subset"])
                out["train_subset"] = {k: v for k, v in subset.items() if k != "indices"}
            out["sha256"] = self.weights.sha256
        if self.config is not None:
            out["image_shape"] = list(self.config.image_shape)
        if self.warnings:
            out["warnings"] = list(self.warnings)
        out["compile"] = self.flag_option("compile")
        out["channels_last"] = self.flag_option("channels_last", True)
        return out
