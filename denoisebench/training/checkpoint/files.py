"""Weights files on disk: reading safetensors and torch ``.pth`` files, strict loading, atomic writes.

Nothing here knows a model. A ``.pth`` file is read with ``torch.load(weights_only=True)`` (no
arbitrary unpickling); the state dict is taken from under the keys training frameworks nest it in
(``{"net": ...}`` for the official KBNet files, ``params``/``params_ema`` for BasicSR) and the
``module.`` prefix of ``nn.DataParallel`` / DDP models is stripped. Every failure is a one-line
:class:`~denoisebench.errors.DenoisebenchError` naming the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from ...errors import DenoisebenchError
from ...fileio import atomic_path

#: Keys under which training frameworks nest the state dict (BasicSR uses ``params``/``params_ema``).
NESTING_KEYS = ("net", "params", "params_ema", "state_dict", "model")
#: The prefix ``nn.DataParallel`` and DDP put before every key.
WRAPPER_PREFIX = "module."


def is_safetensors(path: Path) -> bool:
    """safetensors files start with an 8-byte header length and a JSON header."""
    with open(path, "rb") as f:
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b"{"


def _reason(exc: BaseException) -> str:
    """The first sentence of an exception's message, whole (torch's run on for paragraphs)."""
    text = (str(exc).strip().splitlines() or [""])[0]
    sentence = text.split(". ")[0].rstrip(".")
    if len(sentence) > 120:
        sentence = sentence[:120].rsplit(" ", 1)[0] + " ..."
    return f"{type(exc).__name__}: {sentence}" if sentence else type(exc).__name__


def read_tensors(path: Path, what: str = "checkpoint") -> tuple[dict[str, torch.Tensor], dict[str, str], str]:
    """The tensors, the metadata and the container (``safetensors`` or ``torch``) of a file.

    torch files have no metadata; their object is unwrapped by :func:`unwrap_state_dict`.
    """
    path = Path(path)
    if not path.is_file():
        raise DenoisebenchError(f"{what} {path} does not exist: pass an existing file")
    try:
        if is_safetensors(path):
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as f:
                metadata = dict(f.metadata() or {})
                tensors = {k: f.get_tensor(k) for k in f.keys()}
            return tensors, metadata, "safetensors"
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any reader failure means a bad file for the user
        raise DenoisebenchError(f"{what} {path} could not be read ({_reason(exc)}): pass a .safetensors "
                                "file or a .pth state dict") from None
    return unwrap_state_dict(obj, path), {}, "torch"


def unwrap_state_dict(obj: object, path: Path | str = "checkpoint") -> dict[str, torch.Tensor]:
    """Take ``obj["net"]`` (or ``params``, ...) if present, check it is named tensors, strip ``module.``."""
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
        out[key.removeprefix(WRAPPER_PREFIX)] = value
    return out


def first_mismatch(model: nn.Module, sd: Mapping[str, torch.Tensor]) -> str | None:
    """The first problem of a strict load, in the model's key order, or None if it fits.

    Missing keys and shape mismatches are reported in the network's own order; keys the network
    does not have come after, in the file's order; the count of further problems is appended.
    """
    own = model.state_dict()
    problems: list[str] = []
    for key, value in own.items():
        if key not in sd:
            problems.append(f"missing key {key!r}")
        elif tuple(sd[key].shape) != tuple(value.shape):
            problems.append(f"key {key!r} has shape {tuple(sd[key].shape)}, expected {tuple(value.shape)}")
    problems += [f"unexpected key {key!r}" for key in sd if key not in own]
    if not problems:
        return None
    return problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")


def load_strict(model: nn.Module, sd: Mapping[str, torch.Tensor], path: Path | str, label: str,
                hint: str) -> None:
    """Copy ``sd`` into ``model`` with strict key and shape matching, else a one-line error.

    ``label`` names the architecture in the message; ``hint`` says what to pass instead.
    """
    problem = first_mismatch(model, sd)
    if problem:
        raise DenoisebenchError(f"checkpoint {path} does not fit {label}: {problem}; {hint}")
    own = model.state_dict()
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in sd.items()}, strict=True)


def write_tensors(path: Path, tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str]) -> None:
    """Write tensors (to CPU, contiguous) and string metadata as safetensors, atomically."""
    from safetensors.torch import save_file

    with atomic_path(Path(path)) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp),
                  metadata=dict(metadata))
