"""Train, save and load the autoencoder proxy encoders (``denoisebench features train --kind autoencoder``).

Training reads the dataset's train split only, is deterministic given the seed (one generator for
initialisation, order and augmentation), and writes the *encoder half* with the code's
standardisation as safetensors (the decoder is only needed to train), plus a JSON manifest beside
it recording the config, the dataset's content hash, the sha256 of the weights file, the held-out
reconstruction error and the command. Loading checks that sha256 and never unpickles anything.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from ..datasets.base import ImageDataset, image_shape_of
from ..errors import DenoisebenchError
from ..fileio import atomic_path, manifest_path, sha256_file, verified_manifest, write_text_atomic
from .ae_model import AEEncoder, ConvAutoencoder, to_model_input

FORMAT = "denoisebench-autoencoder"


@dataclass(frozen=True)
class AETrainConfig:
    """Hyper-parameters of the autoencoder; all of them go into the manifest and the file's metadata."""

    seed: int = 0
    epochs: int = 20
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    code_dim: int = 64
    width: int = 32
    max_shift: int = 1  # random translation augmentation, pixels (edge replicated)
    hflip: bool = False  # random horizontal flips (photographs; not digits)


def _augment(x: torch.Tensor, config: AETrainConfig, gen: torch.Generator) -> torch.Tensor:
    """Random integer shifts in [-max_shift, max_shift]^2 (replicate padding) and optional h-flips."""
    n, _, h, w = x.shape
    if config.max_shift > 0:
        s = config.max_shift
        padded = F.pad(x, (s,) * 4, mode="replicate")
        offsets = torch.randint(0, 2 * s + 1, (n, 2), generator=gen)
        x = torch.stack([padded[i, :, int(dy):int(dy) + h, int(dx):int(dx) + w]
                         for i, (dy, dx) in enumerate(offsets)])
    if config.hflip:
        flip = torch.rand(n, generator=gen) < 0.5
        x = torch.where(flip.view(n, 1, 1, 1), x.flip(-1), x)
    return x


@torch.inference_mode()
def reconstruction_mse(model: ConvAutoencoder, images: np.ndarray, batch: int = 500) -> float:
    """Mean squared reconstruction error of ``images`` in the [-1, 1] range."""
    model.eval()
    total, count = 0.0, 0
    for start in range(0, len(images), batch):
        x = to_model_input(images[start:start + batch])
        total += float(((model(x) - x) ** 2).sum())
        count += x.numel()
    return total / max(1, count)


@torch.inference_mode()
def fit_standardisation(encoder: AEEncoder, images: np.ndarray, batch: int = 500) -> None:
    """Set the shift / scale of the code and of the texture statistics to their mean / std over ``images``."""
    encoder.eval()
    parts = [encoder.code_and_texture(to_model_input(images[s:s + batch])) for s in range(0, len(images), batch)]
    codes = torch.cat([p[0] for p in parts]).double()
    texture = torch.cat([p[1] for p in parts]).double()
    encoder.feature_shift.copy_(codes.mean(0).float())
    encoder.feature_scale.copy_(codes.std(0).clamp_min(1e-6).float())
    encoder.texture_shift.copy_(texture.mean(0).float())
    encoder.texture_scale.copy_(texture.std(0).clamp_min(1e-6).float())


def train_autoencoder(dataset: ImageDataset, config: AETrainConfig,
                      log: Callable[[str], None] | None = None) -> ConvAutoencoder:
    """Fit the autoencoder on the train split only (MSE); deterministic given ``config.seed``."""
    c, h, w = image_shape_of(dataset.train_images)
    if min(h, w) < 8:
        raise DenoisebenchError(f"the autoencoder needs images of at least 8 x 8 pixels, dataset {dataset.id!r} "
                                f"has {h} x {w}")
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    model = ConvAutoencoder(c, h, w, config.code_dim, config.width)
    x_all = to_model_input(dataset.train_images)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(x_all) / config.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=config.epochs * steps_per_epoch,
                                                pct_start=0.15)
    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(len(x_all), generator=gen)
        total, started = 0.0, time.perf_counter()
        for start in range(0, len(order), config.batch_size):
            x = _augment(x_all[order[start:start + config.batch_size]], config, gen)
            loss = F.mse_loss(model(x), x)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(x)
        if log is not None:
            log(f"epoch {epoch + 1}/{config.epochs}: reconstruction MSE {total / len(x_all):.5f} "
                f"({time.perf_counter() - started:.1f} s)")
    fit_standardisation(model.encoder, dataset.train_images)
    return model


def _metadata(config: AETrainConfig, dataset: ImageDataset) -> dict[str, str]:
    c, h, w = image_shape_of(dataset.train_images)
    # one metadata key: safetensors writes several in arbitrary order, which would change the sha256
    return {"denoisebench": json.dumps({"format": FORMAT, "config": asdict(config), "image_shape": [c, h, w],
                                        "dataset_id": dataset.id, "dataset_hash": dataset.content_hash},
                                       sort_keys=True)}


def save_autoencoder(model: ConvAutoencoder, output: Path, dataset: ImageDataset, config: AETrainConfig,
                     heldout_mse: float, train_s: float) -> dict[str, object]:
    """Write the encoder half (safetensors) and the JSON manifest beside it; returns the manifest."""
    from safetensors.torch import save_file

    from .. import __version__

    state = {k: v.detach().contiguous().cpu() for k, v in model.encoder.state_dict().items()}
    with atomic_path(output) as tmp:
        save_file(state, str(tmp), metadata=_metadata(config, dataset))
    c, h, w = image_shape_of(dataset.train_images)
    manifest: dict[str, object] = {
        "name": output.stem,
        "file": output.name,
        "sha256": sha256_file(output),
        "format": FORMAT,
        "objective": "reconstruction (mean squared error in [-1, 1]) through a bottleneck; no labels",
        "architecture": f"encoder: 3 x (conv3x3 stride 2 + SiLU; {config.width}/{2 * config.width}/"
                        f"{2 * config.width} ch) -> Linear(-> {config.code_dim}); decoder (not shipped): Linear, "
                        "3 x (nearest upsample + conv3x3)",
        "feature_layer": f"the code ({config.code_dim}-d) and the spatial std of each first-layer channel "
                         f"({config.width}-d texture statistics), each standardised with the train split's "
                         "per-dimension mean and std",
        "feature_dim": config.code_dim + config.width,
        "input": f"uint8 {c} x {h} x {w}, scaled to x / 127.5 - 1",
        "parameters_shipped": int(sum(p.numel() for p in model.encoder.parameters())),
        "parameters_trained": int(sum(p.numel() for p in model.parameters())),
        "dataset": dataset.describe(),
        "training": {**asdict(config), "optimizer": "AdamW + OneCycle", "split": "train",
                     "seconds": round(train_s, 1), "torch": torch.__version__, "threads": torch.get_num_threads()},
        "heldout_reconstruction_mse": round(heldout_mse, 6),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "denoisebench": __version__,
        "command": _command(),
    }
    write_text_atomic(manifest_path(output), json.dumps(manifest, indent=2, default=str) + "\n")
    return manifest


def _command() -> list[str]:
    """The command line that trained it, with the program named ``denoisebench`` (not a local path)."""
    argv = sys.argv[:]
    if argv and (argv[0].endswith("__main__.py") or Path(argv[0]).name == "denoisebench"):
        argv[0] = "denoisebench"
    return argv


@dataclass(frozen=True)
class LoadedAE:
    """A verified autoencoder encoder: the network, its image shape, the file's sha256 and manifest."""

    encoder: AEEncoder
    image_shape: tuple[int, int, int]
    sha256: str
    manifest: dict[str, Any]


def load_autoencoder(path: Path) -> LoadedAE:
    """Read an ``ae-*`` weights file (safetensors, no pickle) after checking its sha256 against the manifest
    (cached per file and modification time: a rewritten file is checked again)."""
    path, mpath = Path(path), manifest_path(path)
    stamp = tuple((p.stat().st_mtime_ns, p.stat().st_size) if p.is_file() else None for p in (path, mpath))
    return _load_autoencoder(path.resolve(), stamp)


@functools.lru_cache(maxsize=8)
def _load_autoencoder(path: Path, _stamp: tuple[object, ...]) -> LoadedAE:
    from safetensors import safe_open
    from safetensors.torch import load_file

    manifest = verified_manifest(path, "autoencoder weights", "autoencoder",
                                 f"denoisebench features train --kind autoencoder --dataset DATASET --output {path}")
    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = json.loads((fh.metadata() or {})["denoisebench"])
        if meta.get("format") != FORMAT:
            raise KeyError("format")
        known = {f.name for f in fields(AETrainConfig)}
        config = AETrainConfig(**{k: v for k, v in meta["config"].items() if k in known})
        c, h, w = (int(v) for v in meta["image_shape"])
        encoder = AEEncoder(c, h, w, config.code_dim, config.width)
        encoder.load_state_dict(load_file(str(path)), strict=True)
    except (KeyError, ValueError, RuntimeError, OSError) as exc:
        raise DenoisebenchError(f"{path}: not a denoisebench autoencoder weights file ({exc})") from None
    return LoadedAE(encoder.eval(), (c, h, w), manifest["sha256"], manifest)
