"""What a run *is*, read from its run.json: the configuration that decides its samples.

Labels (a suite's entry and sampler labels, a provider's label) are names for display; two runs
belong together only when their configurations are equal:

* the provider: its name, its options (less the speed-only ones it declares, such as ``workers``)
  and the sha256 of the weights it loaded;
* the sampler: its name, steps, schedule and every option it resolved (spacing, eta, ...; an
  option given as ``-s`` but equal to the resolved default is the same configuration);
* the dataset id and content hash, and N.

``compare``, the leaderboard and the report group runs by these keys; the same label on two
configurations is a warning there, and they are kept apart.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .records import record_field

#: Fields of a sampler's record that describe the run, not the sampler's configuration.
SAMPLER_RECORD_ONLY = frozenset({"label", "nfe", "plugin", "distribution", "version", "options"})


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def short_hash(value: Any) -> str:
    """12 hex digits of the sha256 of ``value``'s canonical JSON."""
    return hashlib.sha256(_canonical(value).encode()).hexdigest()[:12]


def checkpoint_hash(record: dict[str, Any]) -> str | None:
    """The sha256 of the weights the provider loaded (recorded by the provider or the suite cell),
    else the checkpoint path given, else None (a provider without weights)."""
    info = record_field(record, "provider", "info")
    for key in ("sha256", "checkpoint_sha256"):
        value = record_field(info, key)
        if isinstance(value, str) and value:
            return value
    cell = record_field(record, "suite", "cell", "checkpoint_sha256")
    if isinstance(cell, str) and cell:
        return cell
    path = record_field(record, "provider", "checkpoint")
    return str(path) if path else None


def provider_config(record: dict[str, Any]) -> dict[str, Any]:
    """The provider's configuration: name, options that change the samples, weights hash."""
    provider = record["provider"]
    options = provider.get("options") or {}
    speed_only = set(provider.get("speed_options") or ())
    return {"provider": str(provider["name"]),
            "options": {str(k): str(v) for k, v in sorted(options.items()) if k not in speed_only},
            "checkpoint": checkpoint_hash(record)}


def sampler_config(record: dict[str, Any]) -> dict[str, Any]:
    """The sampler's configuration: its recorded fields (resolved options included), plus any given
    option the sampler did not record under its own name."""
    sampler = record["sampler"]
    resolved = {str(k): v for k, v in sampler.items() if k not in SAMPLER_RECORD_ONLY}
    given = sampler.get("options") or {}
    extra = {str(k): str(v) for k, v in given.items() if k not in resolved}
    if "schedule" not in resolved:
        resolved["schedule"] = record_field(record, "config", "schedule") or "linear"
    return {**resolved, "given": extra} if extra else resolved


def setting_config(record: dict[str, Any]) -> dict[str, Any]:
    """What two entries must share to be compared: the sampler's configuration, the data and N."""
    return {"sampler": sampler_config(record), "dataset": str(record["dataset"]["id"]),
            "dataset_hash": str(record["dataset"].get("hash") or ""), "n": int(record["num_samples"])}


def describe_provider(config: dict[str, Any]) -> str:
    """'kbnet mode=tweedie weights 9b6ac1bc': a provider configuration in a few words."""
    parts = [config["provider"], *(f"{k}={v}" for k, v in config["options"].items())]
    checkpoint = config.get("checkpoint")
    if checkpoint:
        parts.append(f"weights {checkpoint[:8]}" if len(checkpoint) == 64 else f"weights {checkpoint}")
    return " ".join(parts)


def describe_sampler(config: dict[str, Any]) -> str:
    """'ddim spacing=linspace eta=0.0': a sampler configuration in a few words."""
    skip = {"name", "steps", "schedule", "timesteps", "clip_x0", "given"}
    parts = [str(config.get("name", "?"))]
    parts += [f"{k}={v}" for k, v in sorted(config.items()) if k not in skip and not isinstance(v, (list, dict))]
    parts += [f"{k}={v}" for k, v in sorted((config.get("given") or {}).items())]
    return " ".join(parts)


def disambiguate(labels: dict[str, str], describe: dict[str, str], what: str) -> tuple[dict[str, str], list[str]]:
    """Display names for configurations (``labels``: configuration id -> label) that are unique:
    a label two or more configurations share gets each one's description in brackets (or its id).
    Returns the names and one warning per shared label."""
    by_label: dict[str, list[str]] = {}
    for config_id, label in labels.items():
        by_label.setdefault(label, []).append(config_id)
    names = dict(labels)
    warnings = []
    for label, ids in sorted(by_label.items()):
        if len(ids) < 2:
            continue
        descriptions = [describe.get(i, i) for i in ids]
        unique = len(set(descriptions)) == len(descriptions)
        for config_id in ids:
            names[config_id] = f"{label} [{describe.get(config_id, config_id) if unique else config_id}]"
        warnings.append(f"{what} label {label!r} names {len(ids)} different configurations ("
                        + "; ".join(sorted(names[i][len(label) + 2:-1] for i in ids))
                        + "): they are kept apart and shown as " + ", ".join(sorted(repr(names[i]) for i in ids))
                        + "; give each its own label")
    return names, warnings
