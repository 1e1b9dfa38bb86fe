"""The training state beside a checkpoint (``*.state.safetensors``), tied to it by a run id.

The state holds everything ``--resume`` needs: the raw weights (``model.*``), the EMA weights
(``ema.*``), the optimiser's tensors (``optim.<i>.<key>``, its other parts as JSON metadata), the
torch RNG state and the step. A fresh run draws a random ``run_id`` that both files carry in their
metadata; ``--resume`` refuses a state whose run id differs from its checkpoint's (a state copied
from another run), or one older than its checkpoint, so resuming never replaces a checkpoint with
another run's work. Files from before run ids are tied by content instead: the checkpoint's
tensors must equal the state's EMA weights.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ...errors import DenoisebenchError
from .files import load_strict, read_tensors, write_tensors
from .weights import STATE_FORMAT, read_metadata


def state_path(path: Path) -> Path:
    """Where the training state of the checkpoint ``path`` lives."""
    path = Path(path)
    return path.with_name(path.name.removesuffix(".safetensors") + ".state.safetensors")


def new_run_id() -> str:
    """A fresh run id (random, 32 hex digits)."""
    return uuid.uuid4().hex


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
    """Write everything ``--resume`` needs to ``state_path(path)`` (``metadata`` holds the run id)."""
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    tensors.update({f"ema.{k}": v for k, v in ema.state_dict().items()})
    opt_tensors, opt_meta = _split_optimizer(optimizer.state_dict())
    tensors.update(opt_tensors)
    tensors["rng.torch"] = torch.get_rng_state()
    meta = {**metadata, "format": STATE_FORMAT, "step": str(step), "optimizer": json.dumps(opt_meta)}
    write_tensors(state_path(path), tensors, meta)


def read_state_metadata(path: Path) -> dict[str, str]:
    """The metadata of the training state of checkpoint ``path``; one-line errors if absent or foreign."""
    spath = state_path(path)
    if not spath.is_file():
        raise DenoisebenchError(f"no training state {spath} to resume: run without --resume")
    meta = read_metadata(spath, "training state")
    if meta.get("format") != STATE_FORMAT:
        raise DenoisebenchError(f"{spath} is not a denoisebench training state: start without --resume")
    return meta


def _same_content(path: Path, spath: Path) -> bool:
    """Whether the checkpoint's tensors are exactly the state's EMA weights (files without run ids)."""
    weights, _, _ = read_tensors(path)
    state, _, _ = read_tensors(spath, "training state")
    ema = {k[len("ema."):]: v for k, v in state.items() if k.startswith("ema.")}
    return weights.keys() == ema.keys() and all(torch.equal(weights[k], ema[k]) for k in weights)


def check_state_belongs(path: Path) -> dict[str, str]:
    """The state's metadata, once it is shown to belong to the checkpoint ``path`` (if that exists).

    Refused: a state of another run (run ids differ, or, without run ids, different weights), and
    a state older than its checkpoint (resuming it would throw the newer steps away).
    """
    meta, spath = read_state_metadata(path), state_path(path)
    if not Path(path).is_file():
        return meta  # nothing to overwrite: the state alone defines the run
    ckpt = read_metadata(path)
    fix = "pass the -o of the run that wrote this state, or start a new run with --overwrite"
    if meta.get("run_id") and ckpt.get("run_id"):
        if meta["run_id"] != ckpt["run_id"]:
            raise DenoisebenchError(f"training state {spath} belongs to run {meta['run_id'][:8]}, checkpoint {path} "
                                    f"to run {ckpt['run_id'][:8]}: {fix}")
    elif meta.get("step") != ckpt.get("step") or not _same_content(path, spath):
        raise DenoisebenchError(f"training state {spath} does not match checkpoint {path} (no common run id "
                                f"and different weights): {fix}")
    if int(meta.get("step", 0)) < int(ckpt.get("step", 0)):
        raise DenoisebenchError(f"training state {spath} (step {meta.get('step')}) is older than checkpoint "
                                f"{path} (step {ckpt.get('step')}): resuming would discard steps; {fix}")
    return meta


def load_train_state(path: Path, *, model: nn.Module, ema: nn.Module,
                     optimizer: torch.optim.Optimizer) -> dict[str, str]:
    """Restore model, EMA, optimiser and RNG from ``state_path(path)``; returns its metadata."""
    spath = state_path(path)
    meta = check_state_belongs(path)
    tensors, _, _ = read_tensors(spath, "training state")
    groups: dict[str, dict[str, torch.Tensor]] = {"model": {}, "ema": {}, "optim": {}, "rng": {}}
    for name, value in tensors.items():
        head, _, rest = name.partition(".")
        groups.setdefault(head, {})[rest if head != "optim" else name] = value
    hint = "start a new run with --overwrite"
    load_strict(model, groups["model"], spath, "the model built from the run's config", hint)
    load_strict(ema, groups["ema"], spath, "the model built from the run's config", hint)
    optimizer.load_state_dict(_join_optimizer(groups["optim"], json.loads(meta["optimizer"])))
    torch.set_rng_state(groups["rng"]["torch"])
    return meta
