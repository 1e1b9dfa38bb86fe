"""``kbnet``: a blind KBNet_s restoration network as an epsilon provider.

The network D(y) maps a noisy [0, 1] image to a clean one and is never told the noise level; the
core adapter (:class:`~denoisebench.providers.restoration.RestorationProvider`) turns it into
epsilon, in the mode chosen with ``-o mode=tweedie|scaled|seed``.

Weights (``--checkpoint``): a checkpoint written by ``denoisebench train --provider kbnet``, an
official KBNet ``.pth`` (``gau_gray_15/25/50.pth``) or any safetensors KBNet_s state dict; without
one, the shipped MNIST model ``denoisebench/weights/kbnet-mnist-5k.safetensors``.

Training (``denoisebench train --provider kbnet``) is restoration training: clean x in [0, 1], a
noisy copy y = x + s n with one noise std s per image drawn from the model config's
``sigma_dist`` (default ``schedule``: s = s_t of the training schedule at a uniform t, the noise
levels a sampler visits, 0.005 to 79 for the linear schedule), no timestep input, and a loss
between D(y) and x: by default a noise-weighted squared error (``-m loss=l2``), whose minimiser is
the posterior mean E[x | y] that Tweedie's formula turns into the optimal epsilon. By default the
network is wrapped in a blind EDM preconditioning (``-m precond=edm``; ``none`` is the official
form). Both defaults were chosen by measurement (``results/reference/kbnet-recipe/``).
``-m loss=l1``, the usual restoration loss, trains the posterior median instead: darker, thinner
digits at high noise, and samples that are stroke fragments (the shipped ``kbnet-mnist-5k-l1``
weights, kept as the measured ablation).
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
from ...fileio import sha256_file
from ...diffusion.schedule import NoiseSchedule
from ...training.api import TrainableProvider
from ..base import EpsilonProvider, ProviderContext
from ..restoration import RestorationProvider
from .arch import KBNetConfig, KBNetS, count_parameters, official_gray_config
from .checkpoint import config_from_metadata, infer_config, load_strict, read_checkpoint

DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[2] / "weights" / "kbnet-mnist-5k.safetensors"
TRAIN_FORMAT = "denoisebench-checkpoint/1"
#: Scale of the l2 loss weight, about the pixel std of MNIST digits in [0, 1] units.
SIGMA_DATA = 0.25
_OFFICIAL_NAME = re.compile(r"gau_(?:gray|color)_(\d+)")


def sigma_from_unit(u: torch.Tensor, config: KBNetConfig, schedule: NoiseSchedule | None = None) -> torch.Tensor:
    """Map uniform draws u in [0, 1) to noise stds (in [0, 1] units) of the config's distribution.

    ``schedule`` is needed for ``sigma_dist=schedule``: t = 1 + floor(u T), s = s_t. Every draw is
    clamped to [``sigma_min``, ``sigma_max``].
    """
    lo, hi = config.sigma_min, config.sigma_max
    if config.sigma_dist == "loguniform":
        s = torch.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
    elif config.sigma_dist == "lognormal":
        z = torch.special.ndtri(u.to(torch.float64).clamp(1e-12, 1 - 1e-12))
        s = torch.exp(config.sigma_mean + config.sigma_std * z).to(u.dtype)
    elif config.sigma_dist == "schedule":
        if schedule is None:
            raise DenoisebenchError("sigma_dist 'schedule' needs the training schedule")
        t = (u.to(torch.float64) * schedule.T).long().clamp(0, schedule.T - 1) + 1
        s = (schedule.sigma(t.cpu()) / 2).to(device=u.device, dtype=u.dtype)
    else:
        s = lo + u * (hi - lo)
    return s.clamp(lo, hi)


def parse_noise_range(text: str) -> tuple[float, float]:
    """``"LO,HI"`` (noise std in [0, 1] units) -> (LO, HI), or a one-line error."""
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise DenoisebenchError(f"noise_range must be LO,HI in [0, 1] units (e.g. 0,0.196), got {text!r}") from None
    if not 0 <= lo <= hi:
        raise DenoisebenchError(f"noise_range needs 0 <= LO <= HI, got {text!r}")
    return lo, hi


def _unwrap(model: nn.Module) -> nn.Module:
    """The network inside a DistributedDataParallel (or similar) wrapper."""
    return getattr(model, "module", model)


class KBNetProvider(RestorationProvider, TrainableProvider):
    """The KBNet_s denoiser behind the restoration adapter."""

    name: ClassVar[str] = "kbnet"
    description: ClassVar[str] = "KBNet_s blind restoration net D(y) -> epsilon (modes tweedie/scaled/seed)"
    blind: ClassVar[bool] = True
    options: ClassVar[dict[str, str]] = {
        **RestorationProvider.options,
        "noise_range": "LO,HI noise std in [0, 1] units the weights were trained for "
                       "(default: from the checkpoint; official gau_*_N.pth: N/255)",
        "compile": "torch.compile the network: 1 or 0 (default 0; about 1.5x faster on CPU after "
                   "a ~30 s compile, worth it for long runs)",
    }
    model_config_cls: ClassVar[type] = KBNetConfig
    train_defaults: ClassVar[dict[str, Any]] = {"lr": 2e-3, "batch_size": 128, "warmup": 200}
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
        path = context.checkpoint
        if path is None:
            if not DEFAULT_CHECKPOINT.is_file():
                raise DenoisebenchError(
                    f"the shipped kbnet weights {DEFAULT_CHECKPOINT.name} are missing: pass --checkpoint "
                    "PATH (e.g. an official gau_gray_25.pth) or run 'denoisebench train --provider kbnet'")
            path = DEFAULT_CHECKPOINT
        net, source = load_network(Path(path))
        return cls(context, net, source)

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
                "compile": self._compiled}

    # --- training (denoisebench train --provider kbnet) ---------------------------------------

    @classmethod
    def build_model(cls, config: KBNetConfig) -> nn.Module:
        return KBNetS(config)

    @classmethod
    def draw(cls, x0: torch.Tensor, generator: torch.Generator,
             schedule: NoiseSchedule) -> dict[str, torch.Tensor]:
        """Clean [0, 1] images, unit noise and one uniform draw per image (mapped to s in the loss)."""
        return {"clean": (x0 + 1) / 2,
                "noise": torch.randn(x0.shape, generator=generator),
                "u": torch.rand(x0.shape[0], generator=generator)}

    @classmethod
    def training_loss(cls, model: nn.Module, batch: dict[str, torch.Tensor],
                      schedule: NoiseSchedule) -> torch.Tensor:
        """The restoration loss between D(x + s n) and x, s drawn from the config's noise range.

        ``loss=l1``: mean absolute error, the usual restoration loss; its minimiser is the
        posterior *median*. ``loss=l2``: squared error weighted per image by a function of s only,
        which keeps the minimiser at the posterior *mean* (what Tweedie's formula needs):
        ``loss_weight=x0`` (default) uses SIGMA_DATA^2 / (s^2 + SIGMA_DATA^2), the image-space error
        at low noise, damped at high noise so the s ~ 80 images (squared errors ~10^5 times larger)
        do not swamp the rest; ``loss_weight=edm`` uses 1 + SIGMA_DATA^2 / s^2 (Karras et al.'s EDM
        weighting: the epsilon-space error (D - x)^2 / s^2 at low noise). The edm weighting lets the
        nearly clean images dominate; it measured worse with every noise draw tried.
        """
        config: KBNetConfig = _unwrap(model).config
        s = sigma_from_unit(batch["u"], config, schedule).view(-1, 1, 1, 1)
        noisy = batch["clean"] + s * batch["noise"]
        err = model(noisy) - batch["clean"]
        if config.loss == "l2":
            if config.loss_weight == "edm":
                weight = 1 + SIGMA_DATA ** 2 / s.square()
            else:
                weight = SIGMA_DATA ** 2 / (s.square() + SIGMA_DATA ** 2)
            return (weight * err.square()).mean()
        return err.abs().mean()

    @classmethod
    def from_model(cls, model: nn.Module, context: ProviderContext) -> EpsilonProvider:
        net = _unwrap(model)
        if not isinstance(net, KBNetS):
            raise DenoisebenchError(f"kbnet cannot wrap a {type(net).__name__}: pass a KBNetS")
        return cls(context, net, {"format": "model"})


def load_network(path: Path) -> tuple[KBNetS, dict[str, Any]]:
    """Build and strictly load the network stored in ``path``; returns it and where it came from.

    A ``denoisebench train`` checkpoint carries its config; any other file's architecture is read
    off its tensor shapes (:func:`~.checkpoint.infer_config`).
    """
    sd, meta = read_checkpoint(path)
    if meta.get("format") == TRAIN_FORMAT and meta.get("provider") not in (None, KBNetProvider.name):
        raise DenoisebenchError(f"checkpoint {path} is for provider {meta.get('provider')!r}, not 'kbnet': "
                                "pass a kbnet checkpoint")
    config = config_from_metadata(meta)
    if config is not None:
        kind = "denoisebench-train" if meta.get("format") == TRAIN_FORMAT else "safetensors+config"
    else:
        config = infer_config(sd, official_gray_config())
        kind = "safetensors" if path.suffix == ".safetensors" else "torch"
    try:
        net = KBNetS(config)
    except DenoisebenchError as exc:
        raise DenoisebenchError(f"checkpoint {path}: {exc}") from None
    load_strict(net, sd, path)
    return net.eval(), {"path": str(path), "sha256": sha256_file(path), "format": kind}
