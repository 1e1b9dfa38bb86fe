"""A trainable provider's weights: where they are, how they are written, how a network is rebuilt.

Every trainable provider loads its weights the same way: ``--checkpoint`` else the class's
``default_checkpoint`` (:func:`resolve_checkpoint`), then :func:`load_weights`, which accepts

* a checkpoint written by ``denoisebench train`` (``format`` = :data:`FORMAT`, the provider's name,
  the model config as JSON and the provenance in its metadata),
* any safetensors file whose metadata holds a ``model_config``,
* a file with no config at all (a network's official ``.pth`` release, a bare safetensors state
  dict), when the provider's recipe can read the architecture off the tensor shapes
  (:meth:`~denoisebench.training.recipe.TrainingRecipe.infer_config`).

The network is then loaded strictly: a missing, unexpected or wrongly shaped tensor is a one-line
error naming the first one.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ...errors import DenoisebenchError
from ...fileio import sha256_file
from ...interfaces.recipe import recipe_of
from .files import first_mismatch, load_strict, read_tensors, write_tensors

if TYPE_CHECKING:
    from ...interfaces.provider import ProviderContext

FORMAT = "denoisebench-checkpoint/1"
STATE_FORMAT = "denoisebench-train-state/1"


@dataclass(frozen=True)
class LoadedWeights:
    """Where a network's weights came from."""

    path: Path
    sha256: str
    #: ``denoisebench-train``, ``safetensors+config``, ``safetensors`` (bare) or ``torch`` (.pth).
    kind: str
    #: The model config the network was built from.
    config: Any
    #: The file's metadata (empty for .pth files).
    metadata: dict[str, str]


def config_to_json(config: Any) -> str:
    """A model config dataclass as the JSON stored in checkpoints."""
    return json.dumps(dataclasses.asdict(config), sort_keys=True)


def save_weights(path: Path, model: nn.Module, metadata: dict[str, str]) -> None:
    """Write a model's weights with ``metadata`` (string values) to ``path``, atomically."""
    write_tensors(path, dict(model.state_dict()), {"format": FORMAT, **metadata})


def read_metadata(path: Path, what: str = "checkpoint") -> dict[str, str]:
    """The metadata of a safetensors file, without reading its tensors."""
    path = Path(path)
    if not path.is_file():
        raise DenoisebenchError(f"{what} {path} does not exist: pass an existing file")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except Exception as exc:  # noqa: BLE001 - any reader failure means a bad file for the user
        raise DenoisebenchError(f"{what} {path} could not be read ({type(exc).__name__}): "
                                "pass a .safetensors file written by 'denoisebench train'") from None


def resolve_checkpoint(provider_cls: type, context: ProviderContext) -> Path:
    """``--checkpoint`` if given, else the provider's ``default_checkpoint``; a one-line error if absent."""
    name = getattr(provider_cls, "name", "?")
    given = context.checkpoint
    path = Path(given) if given is not None else getattr(provider_cls, "default_checkpoint", None)
    if path is not None and Path(path).is_file():
        return Path(path)
    train = f" or train one with 'denoisebench train --provider {name}'" if recipe_of(provider_cls) else ""
    if given is not None:
        raise DenoisebenchError(f"checkpoint {given} does not exist: pass an existing file to --checkpoint{train}")
    where = f"its default weights {path} are missing" if path is not None else "it has no default weights"
    raise DenoisebenchError(f"provider {name!r} needs weights and {where}: pass --checkpoint PATH{train}")


def _config_of(recipe: Any, name: str, path: Path, sd: dict[str, torch.Tensor],
               meta: dict[str, str], container: str) -> tuple[Any, str]:
    """The model config of a file and what kind of file it is."""
    if "model_config" in meta:
        try:
            config = recipe.config_from_dict(json.loads(meta["model_config"]))
        except (ValueError, TypeError) as exc:
            raise DenoisebenchError(f"checkpoint {path} has a model config this version cannot build "
                                    f"({exc}): retrain it with this version") from None
        return config, "denoisebench-train" if meta.get("format") == FORMAT else "safetensors+config"
    config = recipe.infer_config(sd)
    if config is None:
        raise DenoisebenchError(f"checkpoint {path} was not written by 'denoisebench train' (it stores no "
                                f"model config): train one with 'denoisebench train --provider {name}'")
    return config, container


def check_shapes_before_building(recipe: Any, config: Any, sd: dict[str, torch.Tensor], path: Path,
                                 name: str) -> None:
    """Refuse a file whose declared config does not fit its own tensors, before the network is built.

    The network is built on torch's ``meta`` device (shapes only, no memory), so a tiny file that
    declares a huge ``model_config`` costs nothing; a recipe that cannot build on ``meta`` is
    checked by the strict load after building, as before.
    """
    try:
        with torch.device("meta"):
            skeleton = recipe(config).build_model()
    except Exception:  # noqa: BLE001 - the real build below reports what is wrong with the config
        return
    declared = sum(int(t.numel()) for t in skeleton.state_dict().values())
    stored = sum(int(t.numel()) for t in sd.values())
    problem = first_mismatch(skeleton, sd)
    if problem is not None:
        raise DenoisebenchError(f"checkpoint {path} does not fit {recipe.describe(config)}, the model config it "
                                f"declares: {problem} ({declared:,} numbers declared, {stored:,} stored); pass a "
                                f"{name} checkpoint whose config matches its weights")


def load_weights(provider_cls: type, path: Path, device: torch.device | str = "cpu"
                 ) -> tuple[nn.Module, LoadedWeights]:
    """Rebuild ``provider_cls``'s network from a weights file and load it strictly.

    Returns the network (eval mode, on ``device``) and where it came from. A missing, corrupt,
    foreign or wrong-architecture file raises a one-line ``DenoisebenchError``.
    """
    recipe, name, path = recipe_of(provider_cls), getattr(provider_cls, "name", "?"), Path(path)
    if recipe is None:
        raise DenoisebenchError(f"provider {name!r} has no training recipe, so no checkpoint format")
    sd, meta, container = read_tensors(path)
    if meta.get("format") == STATE_FORMAT:
        raise DenoisebenchError(f"{path} is a training state (for --resume), not a checkpoint: pass the "
                                "*.safetensors file written beside it")
    if meta.get("format") == FORMAT and meta.get("provider") not in (None, name):
        raise DenoisebenchError(f"checkpoint {path} is for provider {meta.get('provider')!r}, not "
                                f"{name!r}: pass a {name} checkpoint")
    config, kind = _config_of(recipe, name, path, sd, meta, container)
    check_shapes_before_building(recipe, config, sd, path, name)
    try:
        model = recipe(config).build_model()
    except (DenoisebenchError, ValueError, TypeError) as exc:
        raise DenoisebenchError(f"checkpoint {path}: {exc}") from None
    load_strict(model, sd, path, recipe.describe(config), f"pass a {name} checkpoint of this architecture")
    return model.to(device).eval(), LoadedWeights(path, sha256_file(path), kind, config, meta)
