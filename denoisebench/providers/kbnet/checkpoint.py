"""Loading KBNet_s weights: official ``.pth`` files, plain safetensors, strict key matching.

Official checkpoints (zhangyi-3/KBNet ``gau_gray_15/25/50.pth``) hold ``{"net": state_dict}``
saved from an ``nn.DataParallel`` model, so every key starts with ``module.``. They are read with
``torch.load(..., weights_only=True)`` (no arbitrary unpickling). The architecture is read off
the tensor shapes (:func:`infer_config`); the weights then load with strict key matching, and any
mismatch is a one-line error naming the first bad key.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from ...errors import DenoisebenchError
from .arch import KBNetConfig, official_gray_config

#: Keys under which training frameworks nest the state dict (BasicSR uses ``params``/``params_ema``).
NESTING_KEYS = ("net", "params", "params_ema", "state_dict", "model")
PREFIX = "module."




def _is_safetensors(path: Path) -> bool:
    """safetensors files start with an 8-byte header length and a JSON header."""
    with open(path, "rb") as f:
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b"{"


def read_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The state dict (``module.`` stripped, unnested) and the metadata of a weights file.

    Accepts safetensors (metadata kept) and torch ``.pth`` files readable with
    ``weights_only=True`` (metadata empty). Unreadable files raise a one-line error.
    """
    path = Path(path)
    if not path.is_file():
        raise DenoisebenchError(f"checkpoint {path} does not exist: pass an existing file")
    try:
        if _is_safetensors(path):
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as f:
                metadata = dict(f.metadata() or {})
                obj: object = {k: f.get_tensor(k) for k in f.keys()}
        else:
            metadata = {}
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file for the user
        msg = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise DenoisebenchError(f"checkpoint {path} could not be read ({type(exc).__name__}: {msg}): "
                                "pass a KBNet .pth or .safetensors weights file") from None
    return unwrap_state_dict(obj, path), metadata


def unwrap_state_dict(obj: object, path: Path | str = "checkpoint") -> dict[str, torch.Tensor]:
    """Take ``obj["net"]`` (or ``params``, ...) if present, check it, strip ``module.``."""
    if isinstance(obj, Mapping):
        for key in NESTING_KEYS:
            if key in obj and isinstance(obj[key], Mapping):
                obj = obj[key]
                break
    if not isinstance(obj, Mapping) or not obj:
        raise DenoisebenchError(f"checkpoint {path} holds no state dict (expected a dict of tensors, "
                                f"optionally under {', '.join(repr(k) for k in NESTING_KEYS)})")
    out: dict[str, torch.Tensor] = {}
    for key, value in obj.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise DenoisebenchError(f"checkpoint {path} entry {key!r} is not a named tensor: "
                                    "pass a file of model weights")
        out[key[len(PREFIX):] if key.startswith(PREFIX) else key] = value
    return out


def _count_blocks(sd: Mapping[str, torch.Tensor], stage: str) -> list[int]:
    counts: dict[int, int] = {}
    for key in sd:
        m = re.match(rf"{stage}\.(\d+)\.(\d+)\.", key)
        if m:
            level, block = int(m.group(1)), int(m.group(2))
            counts[level] = max(counts.get(level, 0), block + 1)
    return [counts.get(i, 0) for i in range(max(counts, default=-1) + 1)]


def infer_config(sd: Mapping[str, torch.Tensor], base: KBNetConfig | None = None) -> KBNetConfig:
    """Read a KBNet_s architecture off a state dict's keys and shapes.

    Fields that cannot be read (the training noise range, the parameter-free ``precond``) come from
    ``base`` (default: the official gray config). Where the file does not look like a KBNet_s at
    all, ``base`` itself is returned and the strict load then names the first bad key.
    """
    base = base or official_gray_config()
    try:
        intro = sd["intro.weight"]
        width, img_channel = int(intro.shape[0]), int(intro.shape[1])
        levels = sum(1 for k in sd if re.fullmatch(r"downs\.\d+\.weight", k))
        enc = _count_blocks(sd, "encoders")
        dec = _count_blocks(sd, "decoders")
        enc += [0] * (levels - len(enc))
        dec += [0] * (levels - len(dec))
        middle = max((int(k.split(".")[1]) + 1 for k in sd if re.match(r"middle_blks\.\d+\.", k)), default=0)
        block = next(k[: -len("w")] for k in sd if re.fullmatch(r"(encoders|middle_blks|decoders)\.[\d.]+\.w", k))
        nset, c = int(sd[block + "b"].shape[1]), int(sd[block + "b"].shape[2])
        # w holds c * gc * k^2 numbers per basis; the kernel size k is taken from ``base`` (3).
        per_basis = int(sd[block + "w"].shape[2])
        if per_basis % (c * base.kernel ** 2):
            return base
        config = dataclasses.replace(
            base, img_channel=img_channel, width=width, middle_blk_num=middle,
            enc_blk_nums=tuple(enc), dec_blk_nums=tuple(dec),
            ffn_scale=int(sd[block + "conv4.weight"].shape[0]) // c,
            lightweight=int(sd[block + "conv11.1.weight"].shape[-1]) == 3, nset=nset,
            gc=per_basis // (c * base.kernel ** 2))
    except (KeyError, StopIteration, IndexError, ZeroDivisionError, ValueError):
        return base
    return config if config._problem() is None else base


def describe_config(config: KBNetConfig) -> str:
    """A short architecture label for messages."""
    return (f"KBNet_s(img_channel={config.img_channel}, width={config.width}, middle={config.middle_blk_num}, "
            f"enc={list(config.enc_blk_nums)}, dec={list(config.dec_blk_nums)})")


def first_mismatch(model: nn.Module, sd: Mapping[str, torch.Tensor]) -> str | None:
    """The first problem of a strict load, in the model's key order, or None if it fits.

    Missing keys and shape mismatches are reported in the network's own order; keys the network
    does not have come after, in the file's order.
    """
    own = model.state_dict()
    problems = 0
    first: str | None = None
    for key, value in own.items():
        if key not in sd:
            msg = f"missing key {key!r}"
        elif tuple(sd[key].shape) != tuple(value.shape):
            msg = f"key {key!r} has shape {tuple(sd[key].shape)}, expected {tuple(value.shape)}"
        else:
            continue
        problems += 1
        first = first or msg
    for key in sd:
        if key not in own:
            problems += 1
            first = first or f"unexpected key {key!r}"
    if first is None:
        return None
    return first + (f" (and {problems - 1} more)" if problems > 1 else "")


def load_strict(model: nn.Module, sd: Mapping[str, torch.Tensor], path: Path | str) -> None:
    """Copy ``sd`` into ``model`` with strict key and shape matching; one-line error otherwise."""
    problem = first_mismatch(model, sd)
    if problem:
        label = describe_config(model.config) if isinstance(getattr(model, "config", None), KBNetConfig) \
            else type(model).__name__
        raise DenoisebenchError(f"checkpoint {path} does not fit {label}: {problem}; pass a KBNet_s "
                                "checkpoint of this architecture")
    own = model.state_dict()
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in sd.items()}, strict=True)


def config_from_metadata(metadata: Mapping[str, str]) -> KBNetConfig | None:
    """The ``KBNetConfig`` stored in a safetensors file's metadata (``model_config``), if any.

    Files written before the ``loss`` option existed were trained with L1; before ``loss_weight``
    existed, ``l2`` meant the ``x0`` weighting; before ``precond`` existed, networks had none (the
    official form) and noise was drawn log-uniformly.
    """
    text = metadata.get("model_config")
    if not text:
        return None
    try:
        data = json.loads(text)
        if isinstance(data, dict):
            data.setdefault("loss", "l1")
            data.setdefault("loss_weight", "x0" if data["loss"] == "l2" else "edm")
            data.setdefault("precond", "none")
            data.setdefault("sigma_dist", "loguniform")
        fields = {f.name for f in dataclasses.fields(KBNetConfig)}
        return KBNetConfig(**{k: v for k, v in data.items() if k in fields})
    except (ValueError, TypeError):
        return None


def save_safetensors(model: nn.Module, path: Path, metadata: Mapping[str, str] | None = None) -> None:
    """Write a model's weights (and its ``KBNetConfig`` as ``model_config``) to safetensors."""
    from safetensors.torch import save_file

    meta = dict(metadata or {})
    config = getattr(model, "config", None)
    if isinstance(config, KBNetConfig):
        meta.setdefault("model_config", json.dumps(dataclasses.asdict(config), sort_keys=True))
    save_file({k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}, str(path),
              metadata=meta)
