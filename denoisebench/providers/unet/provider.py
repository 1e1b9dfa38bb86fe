"""The U-Net epsilon provider: training objective, checkpoint loading and fast CPU inference.

Parameterisations (abar = alpha_bar_t, x_t = sqrt(abar) x0 + sqrt(1 - abar) eps):
eps; v = sqrt(abar) eps - sqrt(1 - abar) x0 (Salimans & Ho 2022), from which
eps = sqrt(abar) v + sqrt(1 - abar) x_t; x0, from which eps = (x_t - sqrt(abar) x0) / sqrt(1 - abar).
Min-SNR-gamma weighting (Hang et al. 2023), SNR = abar / (1 - abar), expressed on each target's
own MSE: eps: min(SNR, g) / SNR; v: min(SNR, g) / (SNR + 1); x0: min(SNR, g).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from ...errors import DenoisebenchError
from ...fileio import sha256_file
from ...diffusion.schedule import NoiseSchedule
from ...training.api import TrainableProvider, load_model
from ..base import EpsilonProvider, ProviderContext
from .model import UNet, UNetConfig

WEIGHTS_DIR = Path(__file__).resolve().parent.parent.parent / "weights"
SHIPPED = WEIGHTS_DIR / "unet-mnist-5k.safetensors"


def _snr_weight(ab: torch.Tensor, parameterisation: str, gamma: float) -> torch.Tensor:
    snr = ab / (1 - ab)
    clipped = torch.clamp(snr, max=gamma) if gamma > 0 else snr
    if parameterisation == "eps":
        return clipped / snr
    if parameterisation == "v":
        return clipped / (snr + 1)
    return clipped




class UNetProvider(EpsilonProvider, TrainableProvider):
    name: ClassVar[str] = "unet"
    description: ClassVar[str] = "time-conditioned U-Net (trained; shipped checkpoint for mnist-5k)"
    options: ClassVar[dict[str, str]] = {
        "compile": "torch.compile the network: 1 or 0 (default 0)",
        "channels_last": "channels-last memory format: 1 or 0 (default 1)",
    }
    model_config_cls: ClassVar[type] = UNetConfig
    train_defaults: ClassVar[dict[str, Any]] = {"lr": 2e-3, "batch_size": 128, "warmup": 200,
                                                "ema_decay": 0.999}
    default_checkpoint: ClassVar[Path | None] = SHIPPED

    def __init__(self, context: ProviderContext) -> None:
        super().__init__(context)
        self.net: nn.Module | None = None
        self.config: UNetConfig | None = None
        self.meta: dict[str, Any] = {}
        self._tables: tuple[torch.Tensor, torch.Tensor] | None = None
        self._schedule_key: tuple[str, int] | None = None

    # --- training ----------------------------------------------------------------------------
    @classmethod
    def build_model(cls, config: UNetConfig) -> nn.Module:
        # channels-last weights: about 2x faster convolutions on CPU here (benchmarks/bench_unet.py)
        return UNet(config).to(memory_format=torch.channels_last)

    @classmethod
    def draw(cls, x0: torch.Tensor, generator: torch.Generator,
             schedule: NoiseSchedule) -> dict[str, torch.Tensor]:
        t = torch.randint(1, schedule.T + 1, (x0.shape[0],), generator=generator)
        noise = torch.randn(x0.shape, generator=generator)
        return {"x0": x0, "t": t, "noise": noise}

    @classmethod
    def training_loss(cls, model: nn.Module, batch: dict[str, torch.Tensor],
                      schedule: NoiseSchedule) -> torch.Tensor:
        cfg: UNetConfig = model.module.config if hasattr(model, "module") else model.config
        x0, t, noise = batch["x0"], batch["t"], batch["noise"]
        ab = schedule.alpha_bars[t.cpu()].to(device=x0.device, dtype=x0.dtype)
        a, s = ab.sqrt().view(-1, 1, 1, 1), (1 - ab).sqrt().view(-1, 1, 1, 1)
        x_t = a * x0 + s * noise
        out = model(x_t, t)
        target = {"eps": noise, "v": a * noise - s * x0, "x0": x0}[cfg.parameterisation]
        mse = (out - target).pow(2).flatten(1).mean(dim=1)
        return (_snr_weight(ab, cfg.parameterisation, cfg.min_snr_gamma) * mse).mean()

    @classmethod
    def from_model(cls, model: nn.Module, context: ProviderContext) -> UNetProvider:
        provider = cls(context)
        provider.config = model.config
        provider.net = provider._optimise(model.to(context.device).eval())
        return provider

    # --- sampling ----------------------------------------------------------------------------
    @classmethod
    def from_context(cls, context: ProviderContext) -> UNetProvider:
        path = context.checkpoint or cls.default_checkpoint
        if path is None or not Path(path).is_file():
            raise DenoisebenchError(f"no U-Net checkpoint at {path}: pass --checkpoint or train one with "
                                    "'denoisebench train --provider unet'")
        cls(context)  # validate options before loading anything
        model, meta = load_model(cls, Path(path), context.device)
        provider = cls.from_model(model, context)
        provider.meta = {k: v for k, v in meta.items() if k != "model_config_obj"}
        provider.meta["path"] = str(path)
        return provider

    def _optimise(self, model: nn.Module) -> nn.Module:
        fmt = torch.channels_last if self.flag_option("channels_last", "1") else torch.contiguous_format
        model = model.to(memory_format=fmt)
        if self.flag_option("compile"):
            model = torch.compile(model, dynamic=False)
        return model

    def _coefficients(self, schedule: NoiseSchedule, t: torch.Tensor, like: torch.Tensor
                      ) -> tuple[torch.Tensor, torch.Tensor]:
        key = (schedule.name, schedule.T)
        if self._tables is None or self._schedule_key != key:
            trained = self.meta.get("schedule")
            if trained:
                import json

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
        keep = ("path", "step", "dataset", "dataset_hash", "git_commit", "code_version", "model_config")
        out: dict[str, object] = {k: self.meta[k] for k in keep if k in self.meta}
        if "model_config" in out:
            import json

            out["model_config"] = json.loads(str(out["model_config"]))
        if "step" in out:
            out["step"] = int(str(out["step"]))
        if "path" in out:
            out["sha256"] = sha256_file(Path(str(out["path"])))
        out["compile"] = self.flag_option("compile")
        out["channels_last"] = self.flag_option("channels_last", "1")
        return out
