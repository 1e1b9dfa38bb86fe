"""The weights that ship with a provider, found by dataset from their own manifests.

Each shipped ``NAME.safetensors`` has a manifest ``NAME.json`` beside it (written by
``python -m denoisebench.training.export``) that names its ``provider`` and its ``dataset``
(``{"id": ..., "hash": ...}``). :func:`shipped_for` picks the file of a provider for a dataset:
the manifests are the registry, nothing else lists them. Where several files of one provider
share a dataset (kbnet's recipe ablation), the one named ``PROVIDER-DATASET`` is the default.
"""

from __future__ import annotations

import json
from pathlib import Path

from ...errors import DenoisebenchError


def shipped_weights(provider: str, folder: Path) -> dict[str, list[Path]]:
    """Dataset id -> the shipped weights files of ``provider`` in ``folder`` (default first)."""
    out: dict[str, list[Path]] = {}
    for manifest in sorted(Path(folder).glob("*.json")):
        try:
            data = json.loads(manifest.read_text())
        except (OSError, ValueError):
            continue
        weights = manifest.with_suffix(".safetensors")
        if not isinstance(data, dict) or data.get("provider") != provider or not weights.is_file():
            continue
        dataset = (data.get("dataset") or {}).get("id") or "mnist-5k"
        out.setdefault(dataset, []).append(weights)
    for dataset, files in out.items():
        files.sort(key=lambda p: (p.stem != f"{provider}-{dataset}", p.name))
    return out


def shipped_for(provider: str, folder: Path, dataset: str) -> Path:
    """The shipped weights of ``provider`` for ``dataset``, else a one-line error saying how to train one."""
    found = shipped_weights(provider, folder)
    if dataset in found:
        return found[dataset][0]
    have = ", ".join(sorted(found)) or "none"
    raise DenoisebenchError(
        f"no shipped {provider} checkpoint for dataset {dataset} (shipped for: {have}): train one with "
        f"'denoisebench train --provider {provider} --dataset {dataset} -o {provider}-{dataset}.safetensors' "
        "and pass it with --checkpoint")
