"""Read every complete ``*/run.json`` under a results dir into one pandas DataFrame (a row per run).

Metric values are flattened by the metrics' declared columns (:mod:`.columns`): a column ``key``
holds the value at its path in the metric's result, ``key_std`` its uncertainty; the floor's
values sit in the same keys of the row's ``floor`` dict.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from ..options import canonical_label
from ..runs.records import RUN_FILE, STAGING_PREFIX, record_field as _get
from .columns import MetricSpec, builtin_specs, record_specs, registered_specs

#: Row fields the report itself fills; a metric column with one of these keys is not shown.
CORE_FIELDS = frozenset({
    "run_id", "run_dir", "created", "provider", "label", "sampler", "steps", "nfe", "dataset", "dataset_hash",
    "feature_sha256", "n", "images_per_s", "ms_per_image", "device", "floor_n", "floor", "has_grid",
    "has_nearest", "metric_specs", "kind", "runs", "seed", "seeds", "config", "entry_config", "entry_description",
    "partial"})


def _num(value: Any) -> float:
    """A finite float, or NaN for anything else (missing, None, a string, inf)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan
    return float(value) if math.isfinite(value) else math.nan


def metric_values(specs: list[MetricSpec], results: Callable[[MetricSpec], Any]) -> dict[str, float]:
    """Flat column values (and ``<key>_std``) of each metric's result, NaN where absent."""
    out: dict[str, float] = {}
    for spec in specs:
        result = results(spec)
        for col in spec.columns:
            if col.key in CORE_FIELDS or col.key in out:  # taken: the report notes it and leaves it out
                continue
            out[col.key] = _num(_get(result, *col.path))
            if col.std_path:
                out[f"{col.key}_std"] = _num(_get(result, *col.std_path))
    return out


def sampler_label(sampler: dict[str, Any]) -> str:
    """The label recorded by the sampler, else (older runs) the label of the sampler the record
    describes, rebuilt from the values of the options it declares ('ddpm large', 'ddim eta=0.5', + ' clip')."""
    if isinstance(sampler.get("label"), str) and sampler["label"]:
        return canonical_label(sampler["label"])  # older runs: 'ddim eta=0.0' -> 'ddim eta=0'
    rebuilt = recorded_sampler(sampler)
    if rebuilt is not None:
        return rebuilt.label()
    return str(sampler.get("name") or "?") + (" clip" if sampler.get("clip_x0") else "")


def _option_text(value: Any) -> str:
    return str(int(value)) if isinstance(value, bool) else str(value)


@functools.lru_cache(maxsize=256)
def _rebuild(name: str, steps: int, schedule: str, T: int, options: tuple[tuple[str, str], ...]) -> Any:  # noqa: N803
    from ..diffusion.schedule import make_schedule
    from ..plugins import get_registry

    cls, _info = get_registry().sampler(name)
    declared = {k: v for k, v in options if k in cls.options}  # the options this sampler declares
    return cls(make_schedule(schedule, max(T, steps)), steps, declared)


def recorded_sampler(sampler: dict[str, Any]) -> Any:
    """The installed sampler a run's ``sampler`` record describes (its name, steps, schedule and the
    recorded values of the options it declares), or None when that sampler is not installed or
    refuses those values."""
    schedule = sampler.get("schedule") if isinstance(sampler.get("schedule"), dict) else {}
    options = tuple(sorted((str(k), _option_text(v)) for k, v in sampler.items()
                           if v is not None and not isinstance(v, (dict, list))))
    try:
        return _rebuild(str(sampler.get("name")), int(sampler["steps"]), str(schedule.get("name") or "linear"),
                        int(schedule.get("T") or 1000), options)
    except Exception:  # noqa: BLE001 - an old or foreign record: its name must do
        return None


def provider_label(provider: dict[str, Any], suite: Any = None) -> str:
    """The row label of a run's provider.

    A suite's run is named by its entry's label when that says more than the provider's name (an
    explicit ``label``, or the default 'els patches=1024' that lists the entry's options), so that
    entries of one provider with different options are separate rows, named as in ``compare``.
    Otherwise: the label recorded by the provider ('kbnet (tweedie)'), else (older runs) its name
    and mode; a run given ``--checkpoint`` adds the file's stem: 'kbnet (tweedie) [my-weights]'.
    """
    entry = suite.get("entry") if isinstance(suite, dict) else None
    if isinstance(entry, str) and entry and entry != provider.get("name"):
        return entry
    label = provider.get("label")
    if not isinstance(label, str) or not label:
        name = str(provider.get("name") or "?")
        mode = _get(provider, "options", "mode") or _get(provider, "info", "mode")
        label = name if mode is None else f"{name} ({mode})"
    checkpoint = provider.get("checkpoint")
    if isinstance(checkpoint, str) and checkpoint:
        label += f" [{Path(checkpoint).stem}]"
    return label


def network_evaluations(sampler: dict[str, Any]) -> int | None:
    """Network evaluations per image: recorded, else (older runs) those of the sampler the record describes."""
    nfe = sampler.get("nfe")
    if isinstance(nfe, int) and not isinstance(nfe, bool) and nfe > 0:
        return nfe
    rebuilt = recorded_sampler(sampler) if isinstance(sampler.get("steps"), int) else None
    return int(rebuilt.nfe) if rebuilt is not None else None


def ms_per_image(timing: Any) -> float:
    """Sampling milliseconds per image: recorded, else derived from images/s."""
    ms = _num(_get(timing, "ms_per_image"))
    if math.isnan(ms):
        rate = _num(_get(timing, "images_per_s"))
        ms = 1000.0 / rate if rate > 0 else math.nan
    return ms


def configuration_ids(record: dict[str, Any]) -> dict[str, str]:
    """The run's configuration (:mod:`denoisebench.runs.identity`): ``config`` identifies the row
    (provider, sampler, data and N), ``entry_config`` the provider's part, shown in words as
    ``entry_description`` where two configurations share a label."""
    from ..runs.identity import describe_provider, provider_config, setting_config, short_hash

    try:
        provider, setting = provider_config(record), setting_config(record)
    except (KeyError, TypeError, ValueError, AttributeError):  # an old or partial record: its labels must do
        return {"config": "", "entry_config": "", "entry_description": ""}
    return {"config": short_hash([provider, setting]), "entry_config": short_hash(provider),
            "entry_description": describe_provider(provider)}


def run_row(record: dict[str, Any], run_dir: Path, registry: dict[str, MetricSpec],
            builtins: dict[str, MetricSpec]) -> dict[str, Any]:
    """One DataFrame row from a parsed run.json."""
    provider, sampler, dataset = record["provider"], record["sampler"], record["dataset"]
    if not isinstance(provider, dict) or not isinstance(sampler, dict) or not isinstance(dataset, dict):
        raise ValueError("provider, sampler and dataset must be objects")
    m = record.get("metrics") or {}
    if not isinstance(m, dict):
        raise ValueError("metrics must be an object")
    specs = record_specs(m, registry, builtins)
    row: dict[str, Any] = {
        "run_id": run_dir.name, "run_dir": str(run_dir), "created": str(record.get("created") or ""),
        "provider": str(provider.get("name") or "?"), "label": provider_label(provider, record.get("suite")),
        "sampler": sampler_label(sampler), "steps": int(sampler.get("steps") or 0),
        "nfe": network_evaluations(sampler),
        "dataset": str(dataset.get("id") or "?"), "dataset_hash": str(dataset.get("hash") or ""),
        "feature_sha256": str(_get(m, "feature_network_sha256") or "none"),
        "n": int(record.get("num_samples") or _get(m, "n") or 0),
        "seed": int(record["seed"]) if isinstance(record.get("seed"), int) else 0,
        "images_per_s": _num(_get(record, "timing", "images_per_s")),
        "ms_per_image": ms_per_image(record.get("timing")),
        "device": str(_get(record, "environment", "device_name") or _get(record, "environment", "device") or ""),
        **metric_values(specs, lambda spec: m.get(spec.name)),
        "floor_n": _get(m, "floor", "n"),
        "has_grid": (run_dir / "grid.png").is_file(), "has_nearest": (run_dir / "nearest.png").is_file(),
        "metric_specs": tuple(specs),
        **configuration_ids(record),
    }
    has_floor = isinstance(m.get("floor"), dict)
    row["floor"] = metric_values(specs, lambda spec: spec.floor_result(m)) if has_floor else None
    return row


def run_files(paths: Path | list[Path]) -> list[Path]:
    """The run.json files of results dirs and run dirs (a run dir is one that holds run.json itself)."""
    found: list[Path] = []
    for root in [paths] if isinstance(paths, Path) else paths:
        if (root / RUN_FILE).is_file():
            found.append(root / RUN_FILE)
        elif root.is_dir():
            found += [p for p in sorted(root.glob(f"*/{RUN_FILE}"))
                      if not p.parent.name.startswith((".", STAGING_PREFIX))]
    return list(dict.fromkeys(found))


def load_runs(results_dir: Path | list[Path], warn: Callable[[str], None]) -> pd.DataFrame:
    """A row per readable run under results dirs or run dirs; unreadable ones are skipped with ``warn``."""
    rows = []
    registry, builtins = registered_specs(), builtin_specs()
    for path in run_files(results_dir):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            rows.append(run_row(record, path.parent, registry, builtins))
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if isinstance(exc, KeyError):
                reason = f"missing key {exc}"
            warn(f"skipping {path}: unreadable or incomplete run.json ({reason})")
    return pd.DataFrame(rows)
