"""Checkpoint I/O in safetensors (never pickle).

Two files per run, both written atomically (temporary file + rename):

* ``PATH`` (``*.safetensors``): the EMA weights, i.e. the model used for sampling; metadata
  (all strings) holds ``format``, ``provider``, ``model_config`` (JSON), ``dataset``,
  ``dataset_hash``, ``step``, ``git_commit``, ``code_version``, ``train_config`` (JSON), ``created``.
* :func:`state_path` (``*.state.safetensors``): everything ``--resume`` needs: the raw weights
  (``model.*``), the EMA weights (``ema.*``), the optimiser's tensors (``optim.<i>.<key>``) with its
  non-tensor parts in the metadata (JSON), the torch RNG state and the step.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import typing
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from ..errors import DenoisebenchError

FORMAT = "denoisebench-checkpoint/1"
STATE_FORMAT = "denoisebench-train-state/1"


def state_path(path: Path) -> Path:
    """Where the training state of the checkpoint ``path`` lives."""
    name = path.name[: -len(".safetensors")] if path.name.endswith(".safetensors") else path.name
    return path.with_name(name + ".state.safetensors")


def config_to_json(config: Any) -> str:
    return json.dumps(dataclasses.asdict(config), sort_keys=True)


def config_from_json(cls: type, text: str) -> Any:
    """Rebuild a config dataclass from JSON (lists back to tuples); unknown keys are an error."""
    data = json.loads(text)
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"unknown config field {unknown[0]!r}")
    for key, value in data.items():
        if isinstance(value, list) and typing.get_origin(hints[key]) is tuple:
            data[key] = tuple(value)
    return cls(**data)


def _atomic_save(tensors: dict[str, torch.Tensor], metadata: dict[str, str], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, tmp, metadata=metadata)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read(path: Path, what: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    if not path.is_file():
        raise DenoisebenchError(f"{what} {path} does not exist: pass an existing file")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            metadata = dict(f.metadata() or {})
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DenoisebenchError(f"{what} {path} is not a readable safetensors file ({msg}): "
                                "re-download or retrain it") from None
    return tensors, metadata


def save_weights(path: Path, model: nn.Module, metadata: dict[str, str]) -> None:
    """Write a model's weights with ``metadata`` (string values) to ``path``."""
    _atomic_save(dict(model.state_dict()), {"format": FORMAT, **metadata}, path)


def read_metadata(path: Path) -> dict[str, str]:
    """The metadata of a checkpoint, without loading its tensors into a model."""
    return _read(Path(path), "checkpoint")[1]


def load_model(provider_cls: type, path: Path, device: torch.device | str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild ``provider_cls``'s network from a checkpoint; one-line errors for bad files."""
    tensors, meta = _read(path, "checkpoint")
    name = getattr(provider_cls, "name", "?")
    if meta.get("format") == STATE_FORMAT:
        raise DenoisebenchError(f"{path} is a training state (for --resume), not a checkpoint: pass the "
                                "*.safetensors file written beside it")
    if meta.get("format") != FORMAT or "model_config" not in meta:
        raise DenoisebenchError(f"checkpoint {path} was not written by 'denoisebench train': "
                                f"train one with 'denoisebench train --provider {name}'")
    if meta.get("provider") != name:
        raise DenoisebenchError(f"checkpoint {path} is for provider {meta.get('provider')!r}, not "
                                f"{name!r}: pass a {name} checkpoint")
    try:
        config = config_from_json(provider_cls.model_config_cls, meta["model_config"])
        model = provider_cls.build_model(config)
    except (ValueError, TypeError) as exc:
        raise DenoisebenchError(f"checkpoint {path} has a model config this version cannot build "
                                f"({exc}): retrain it with this version") from None
    load_state(model, tensors, path)
    return model.to(device).eval(), {**meta, "model_config_obj": config}


def load_state(model: nn.Module, tensors: dict[str, torch.Tensor], path: Path) -> None:
    """Load weights strictly; a mismatch is a one-line wrong-architecture error."""
    own = model.state_dict()
    missing = sorted(set(own) - set(tensors))
    extra = sorted(set(tensors) - set(own))
    wrong = sorted(k for k in set(own) & set(tensors) if own[k].shape != tensors[k].shape)
    if missing or extra or wrong:
        detail = (f"missing {missing[0]}" if missing else f"unexpected {extra[0]}" if extra
                  else f"{wrong[0]} has shape {tuple(tensors[wrong[0]].shape)}, "
                       f"expected {tuple(own[wrong[0]].shape)}")
        raise DenoisebenchError(f"checkpoint {path} does not match the model architecture ({detail}): "
                                "use a checkpoint trained with the same model config")
    model.load_state_dict(tensors, strict=True)


# --- training state ---------------------------------------------------------------------------

def _split_optimizer(opt_state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, entry in opt_state["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{idx}.{key}"] = value
            else:
                scalars.setdefault(str(idx), {})[key] = value
    return tensors, {"param_groups": opt_state["param_groups"], "scalars": scalars}


def _join_optimizer(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        _, idx, key = name.split(".", 2)
        state.setdefault(int(idx), {})[key] = value
    for idx, entry in meta["scalars"].items():
        state.setdefault(int(idx), {}).update(entry)
    return {"state": state, "param_groups": meta["param_groups"]}


def save_train_state(path: Path, *, model: nn.Module, ema: nn.Module, optimizer: torch.optim.Optimizer,
                     step: int, metadata: dict[str, str]) -> None:
    """Write everything ``--resume`` needs to ``state_path(path)``."""
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    tensors.update({f"ema.{k}": v for k, v in ema.state_dict().items()})
    opt_tensors, opt_meta = _split_optimizer(optimizer.state_dict())
    tensors.update(opt_tensors)
    tensors["rng.torch"] = torch.get_rng_state()
    meta = {"format": STATE_FORMAT, **metadata, "step": str(step), "optimizer": json.dumps(opt_meta)}
    _atomic_save(tensors, meta, state_path(path))


def load_train_state(path: Path, *, model: nn.Module, ema: nn.Module,
                     optimizer: torch.optim.Optimizer) -> dict[str, str]:
    """Restore model, EMA, optimiser and RNG from ``state_path(path)``; returns its metadata."""
    spath = state_path(path)
    tensors, meta = _read(spath, "training state")
    if meta.get("format") != STATE_FORMAT:
        raise DenoisebenchError(f"{spath} is not a denoisebench training state: start without --resume")
    groups: dict[str, dict[str, torch.Tensor]] = {"model": {}, "ema": {}, "optim": {}, "rng": {}}
    for name, value in tensors.items():
        head, _, rest = name.partition(".")
        groups.setdefault(head, {})[rest if head != "optim" else name] = value
    load_state(model, groups["model"], spath)
    load_state(ema, groups["ema"], spath)
    optimizer.load_state_dict(_join_optimizer(groups["optim"], json.loads(meta["optimizer"])))
    torch.set_rng_state(groups["rng"]["torch"])
    return meta
