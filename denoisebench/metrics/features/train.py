"""Train the pinned feature network on a dataset's train split (``denoisebench features train``)."""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from ...datasets.base import ImageDataset
from ...errors import DenoisebenchError
from ...fileio import atomic_path, manifest_path, sha256_file, write_text_atomic
from .model import FEATURE_DIM, DigitClassifier, to_input


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of the classifier; all of them go into the manifest."""

    seed: int = 0
    epochs: int = 10
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    max_shift: int = 2  # random translation augmentation, pixels
    dropout: float = 0.3
    feature_dim: int = FEATURE_DIM


def _shifted(x: torch.Tensor, max_shift: int, gen: torch.Generator) -> torch.Tensor:
    """Translate each image by an integer offset in [-max_shift, max_shift]^2 (zero padding)."""
    if max_shift <= 0:
        return x
    n, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4, value=-1.0)
    offsets = torch.randint(0, 2 * max_shift + 1, (n, 2), generator=gen)
    out = torch.empty_like(x)
    for i in range(n):
        dy, dx = int(offsets[i, 0]), int(offsets[i, 1])
        out[i] = padded[i, :, dy:dy + h, dx:dx + w]
    return out


@torch.inference_mode()
def accuracy(model: DigitClassifier, images: np.ndarray, labels: np.ndarray, batch: int = 1000) -> float:
    """Share of ``images`` the classifier labels correctly."""
    model.eval()
    correct = 0
    for start in range(0, len(images), batch):
        logits = model(to_input(images[start:start + batch]))
        correct += int((logits.argmax(1).numpy() == labels[start:start + batch]).sum())
    return correct / max(1, len(images))


def train_classifier(dataset: ImageDataset, config: TrainConfig,
                     log: Callable[[str], None] | None = None) -> DigitClassifier:
    """Fit the classifier on the train split only; deterministic given ``config.seed``."""
    if dataset.train_images.shape[1:] != (28, 28):
        raise DenoisebenchError(f"the feature network needs 28 x 28 images, dataset {dataset.id!r} "
                                f"has {dataset.train_images.shape[1:]}: choose an MNIST-like dataset")
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    model = DigitClassifier(config.feature_dim, dropout=config.dropout)
    x_all = to_input(dataset.train_images)
    y_all = torch.from_numpy(dataset.train_labels.astype(np.int64))
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(x_all) / config.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=config.epochs * steps_per_epoch,
                                                pct_start=0.15)
    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(len(x_all), generator=gen)
        total, started = 0.0, time.perf_counter()
        for start in range(0, len(order), config.batch_size):
            idx = order[start:start + config.batch_size]
            x = _shifted(x_all[idx], config.max_shift, gen)
            loss = F.cross_entropy(model(x), y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        if log is not None:
            log(f"epoch {epoch + 1}/{config.epochs}: loss {total / len(x_all):.4f} "
                f"({time.perf_counter() - started:.1f} s)")
    model.fit_standardisation(x_all)
    return model



def save_classifier(model: DigitClassifier, output: Path, dataset: ImageDataset, config: TrainConfig,
                    heldout_accuracy: float, train_s: float) -> dict[str, object]:
    """Write the safetensors weights and the JSON manifest beside them; returns the manifest."""
    from safetensors.torch import save_file

    from ... import __version__

    output.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    # one metadata key: safetensors writes several in arbitrary order, which would change the sha256
    meta = {"denoisebench": json.dumps({"format": "denoisebench-classifier", "config": asdict(config),
                                        "dataset_id": dataset.id, "dataset_hash": dataset.content_hash},
                                       sort_keys=True)}
    with atomic_path(output) as tmp:
        save_file(state, str(tmp), metadata=meta)
    manifest: dict[str, object] = {
        "name": output.stem,
        "file": output.name,
        "sha256": sha256_file(output),
        "architecture": "DigitClassifier: 3 x (conv3x3 + ReLU + maxpool2; 32/64/64 ch) -> "
                        f"Linear(576, {config.feature_dim}) -> ReLU -> Dropout -> Linear(10)",
        "feature_layer": f"embed (penultimate Linear, pre-activation), {config.feature_dim}-d, "
                         "standardised with the train split's per-dimension mean and std",
        "input": "uint8 N x 28 x 28, scaled to x / 127.5 - 1",
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "dataset": dataset.describe(),
        "training": {**asdict(config), "optimizer": "AdamW + OneCycle", "augmentation": "random shifts",
                     "split": "train", "seconds": round(train_s, 1), "torch": torch.__version__,
                     "threads": torch.get_num_threads()},
        "heldout_accuracy": round(heldout_accuracy, 5),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "denoisebench": __version__,
        "command": sys.argv[:],
    }
    write_text_atomic(manifest_path(output), json.dumps(manifest, indent=2, default=str) + "\n")
    return manifest


