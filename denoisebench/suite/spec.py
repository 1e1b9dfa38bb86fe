"""A suite file: the matrix of entries x samplers x steps x seeds that ``denoisebench bench`` fills.

```toml
[suite]
dataset = "mnist-5k"      # name, num_samples, seeds, batch_size, device, schedule, metrics,
num_samples = 1000        # results_dir (relative to this file) and data_dir are optional
seeds = [0, 1, 2]

[[entry]]                 # provider (required), label, options, checkpoint, batch_size
provider = "unet"

[[entry]]
label = "kbnet-tweedie"
provider = "kbnet"
options = { mode = "tweedie" }

[[sampler]]               # name (required), steps (an integer or a list), options, label
name = "ddim"
steps = [20, 50]

[[train]]                 # a checkpoint trained into RESULTS_DIR/checkpoints/<label>.safetensors
label = "unet-n128-k0"    # label, provider, steps (required); model, train_size, train_subset, ...
provider = "unet"
steps = 1500
train_size = 128

[[entry]]                 # an entry sampling that checkpoint
provider = "unet"
checkpoint = "@unet-n128-k0"

[[probe]]                 # probe every entry (or those listed in entries); images, levels, seed, ...
images = 256
```

Parsing checks shapes and types only; :func:`denoisebench.suite.cells.expand` checks names
against the installed plugins. Every error is one line that names the file, line and key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DenoisebenchError
from .locate import find_line, key_on_line, toml_error_line

SUITE_KEYS = {"name": "suite name (default: the file's stem)", "dataset": "dataset id (default mnist-5k)",
              "num_samples": "images per cell (default 1000)", "seeds": "list of seeds (default [0])",
              "batch_size": "sampling batch (default 256)", "device": "cpu, cuda, cuda:N or mps (default cpu)",
              "schedule": "linear or cosine (default linear)", "metrics": "evaluate each run (default true)",
              "results_dir": "where runs go, relative to the suite file (default ./results)",
              "data_dir": "dataset files, relative to the suite file",
              "dataset_options": "dataset options, -D KEY=VALUE (a table, e.g. { size = 64 })"}
ENTRY_KEYS = {"provider": "provider name (required)", "label": "name in comparisons",
              "options": "provider options (a table)", "checkpoint": "weights file, relative to the suite file",
              "batch_size": "sampling batch for this entry",
              "dataset_options": "dataset options for this entry, over the suite's (a table)"}
SAMPLER_KEYS = {"name": "sampler name (required)", "steps": "steps: an integer or a list (required)",
                "options": "sampler options (a table)", "label": "name in comparisons"}
TRAIN_KEYS = {"label": "the checkpoint's name, referred to as checkpoint = \"@label\" (required)",
              "provider": "a trainable provider (required)", "steps": "optimiser steps (required)",
              "batch_size": "training batch", "lr": "peak learning rate", "warmup": "LR warm-up steps",
              "weight_decay": "AdamW weight decay", "ema_decay": "maximum EMA decay",
              "seed": "seed of weights, data order and noise (default 0)",
              "train_size": "train on N images of the train split (default all)",
              "train_subset": "which N-image subset, 0, 1, ...: different ones are disjoint (default 0)",
              "subset_seed": "seed of the order the subsets are cut from (default 0)",
              "model": "model options, -m KEY=VALUE (a table, e.g. { channels = \"8,16\" })",
              "dataset_options": "dataset options for this training, over the suite's (a table)",
              "save_every": "save every N steps (default 500)", "log_every": "log every N steps (default 50)"}
PROBE_KEYS = {"entries": "entry labels to probe (default: every entry)",
              "images": "train and held-out images each (default 256)", "levels": "noise levels (default 12)",
              "seed": "seed of the image choice, noise and bootstrap (default 0)",
              "jacobian": "auto, autograd, fd or none (default auto)",
              "jacobian_images": "held-out images for the trace (default 16)", "batch_size": "probe batch (default 128)"}
TABLES = {"suite": SUITE_KEYS, "entry": ENTRY_KEYS, "sampler": SAMPLER_KEYS, "train": TRAIN_KEYS,
          "probe": PROBE_KEYS}
#: ``checkpoint = "@label"``: the checkpoint the ``[[train]]`` of that label trains.
TRAINED_PREFIX = "@"


@dataclass(frozen=True)
class EntrySpec:
    """One ``[[entry]]``: a provider with its options and weights."""

    provider: str
    label: str
    options: dict[str, str] = field(default_factory=dict)
    checkpoint: Path | None = None
    batch_size: int | None = None
    index: int = 0
    dataset_options: dict[str, str] = field(default_factory=dict)
    #: The label of the ``[[train]]`` whose checkpoint this entry samples (``checkpoint = "@label"``).
    trained: str | None = None


@dataclass(frozen=True)
class TrainSpec:
    """One ``[[train]]``: a checkpoint the suite trains (``denoisebench train``'s options)."""

    label: str
    provider: str
    steps: int
    options: dict[str, Any] = field(default_factory=dict)  # trainer options other than steps, as TrainConfig fields
    model_options: dict[str, str] = field(default_factory=dict)
    dataset_options: dict[str, str] = field(default_factory=dict)
    index: int = 0


@dataclass(frozen=True)
class ProbeSpec:
    """One ``[[probe]]``: ``denoisebench probe`` of each listed entry."""

    entries: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)  # ProbeConfig fields: images, levels, seed, ...
    index: int = 0


@dataclass(frozen=True)
class SamplerSpec:
    """One ``[[sampler]]``: a sampler with its options, at one or more step counts."""

    name: str
    label: str
    steps: tuple[int, ...]
    options: dict[str, str] = field(default_factory=dict)
    index: int = 0


@dataclass(frozen=True)
class SuiteSpec:
    """A parsed suite file."""

    path: Path
    text: str
    name: str
    entries: tuple[EntrySpec, ...]
    samplers: tuple[SamplerSpec, ...]
    dataset: str = "mnist-5k"
    num_samples: int = 1000
    seeds: tuple[int, ...] = (0,)
    batch_size: int = 256
    device: str = "cpu"
    schedule: str = "linear"
    metrics: bool = True
    results_dir: Path | None = None
    data_dir: Path | None = None
    dataset_options: dict[str, str] = field(default_factory=dict)
    trains: tuple[TrainSpec, ...] = ()
    probes: tuple[ProbeSpec, ...] = ()

    def error(self, message: str, table: str, index: int | None = None, key: str | None = None) -> DenoisebenchError:
        """A one-line error that names this file, the line of ``key`` and the key."""
        return suite_error(self.path, self.text, message, table, index, key)


def suite_error(path: Path, text: str, message: str, table: str, index: int | None = None,
                key: str | None = None) -> DenoisebenchError:
    line = find_line(text, table, index, key)
    where = f"[[{table}]] {index + 1}" if index is not None else f"[{table}]"
    place = f"{path}" + (f" line {line}" if line else "")
    what = f"{where}, key '{key}'" if key else where
    return DenoisebenchError(f"{place}, {what}: {message}")


def option_value(value: Any) -> str | None:
    """A TOML scalar as the string an option parser takes (booleans as 1/0); None if not a scalar."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float, str)):
        return str(value)
    return None


class _Table:
    """Typed reads of one parsed table, with errors that point at the key's line."""

    def __init__(self, path: Path, text: str, name: str, data: Any, index: int | None) -> None:
        self.path, self.text, self.name, self.index = path, text, name, index
        if not isinstance(data, dict):
            raise self.error("must be a table", None)
        self.data = data
        allowed = TABLES[name]
        for key in data:
            if key not in allowed:
                raise self.error(f"unknown key: the keys are {', '.join(allowed)}", key)

    def error(self, message: str, key: str | None) -> DenoisebenchError:
        return suite_error(self.path, self.text, message, self.name, self.index, key)

    def has(self, key: str) -> bool:
        return key in self.data

    def string(self, key: str, default: str | None = None, required: bool = False) -> str | None:
        if key not in self.data:
            if required:
                raise self.error("is required", key)
            return default
        value = self.data[key]
        if not isinstance(value, str) or not value.strip():
            raise self.error(f"must be a non-empty string, got {value!r}", key)
        return value.strip()

    def integer(self, key: str, default: int | None, minimum: int = 1) -> int | None:
        if key not in self.data:
            return default
        value = self.data[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.error(f"must be an integer >= {minimum}, got {value!r}", key)
        return value

    def number(self, key: str, minimum: float = 0.0, below: float | None = None,
               inclusive: bool = False) -> float | None:
        """A float (or integer) > ``minimum`` (>= with ``inclusive``) and, with ``below``, < ``below``;
        None when absent."""
        if key not in self.data:
            return None
        value = self.data[key]
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (
            value >= minimum if inclusive else value > minimum)
        if not ok or (below is not None and value >= below):
            bounds = f"{'>=' if inclusive else '>'} {minimum:g}" + (f" and < {below:g}" if below is not None else "")
            raise self.error(f"must be a number {bounds}, got {value!r}", key)
        return float(value)

    def strings(self, key: str) -> tuple[str, ...] | None:
        """A non-empty list of non-empty strings; None when absent."""
        if key not in self.data:
            return None
        value = self.data[key]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.error(f"must be a non-empty list of strings, got {value!r}", key)
        return tuple(v.strip() for v in value)

    def integers(self, key: str, default: tuple[int, ...] | None, minimum: int, required: bool = False
                 ) -> tuple[int, ...] | None:
        if key not in self.data:
            if required:
                raise self.error("is required", key)
            return default
        value = self.data[key]
        values = [value] if isinstance(value, int) and not isinstance(value, bool) else value
        if not isinstance(values, list) or not values or any(
                isinstance(v, bool) or not isinstance(v, int) or v < minimum for v in values):
            raise self.error(f"must be an integer >= {minimum} or a non-empty list of them, got {value!r}", key)
        if len(set(values)) != len(values):
            raise self.error(f"lists a value twice: {value!r}", key)
        return tuple(values)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self.error(f"must be true or false, got {value!r}", key)
        return value

    def options(self, key: str = "options") -> dict[str, str]:
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            raise self.error(f"must be a table such as {{ mode = \"tweedie\" }}, got {value!r}", key)
        out = {}
        for k, v in value.items():
            text = option_value(v)
            if text is None:
                raise self.error(f"option {k!r} must be a string, number or boolean, got {v!r}", key)
            out[str(k)] = text
        return out

    def path_value(self, key: str, base: Path) -> Path | None:
        text = self.string(key)
        if text is None:
            return None
        p = Path(text).expanduser()
        return p if p.is_absolute() else base / p


def _options_label(options: dict[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(options.items()))


def _parse_entry(path: Path, text: str, data: Any, index: int) -> EntrySpec:
    table = _Table(path, text, "entry", data, index)
    provider = table.string("provider", required=True)
    assert provider is not None
    options = table.options()
    named = table.string("checkpoint")
    trained = named[len(TRAINED_PREFIX):].strip() if named and named.startswith(TRAINED_PREFIX) else None
    if named is not None and trained == "":
        raise table.error("'@' must be followed by the label of a [[train]] table, e.g. \"@unet-n128-k0\"",
                          "checkpoint")
    checkpoint = None if trained else table.path_value("checkpoint", path.parent)
    stem = trained or (checkpoint.stem if checkpoint else "")
    default = " ".join(filter(None, [provider, _options_label(options), f"[{stem}]" if stem else ""]))
    return EntrySpec(provider=provider, label=table.string("label", default) or default, options=options,
                     checkpoint=checkpoint, batch_size=table.integer("batch_size", None), index=index,
                     dataset_options=table.options("dataset_options"), trained=trained)


#: [[train]] keys read as integers >= their minimum, and as floats in a range: TrainConfig fields.
_TRAIN_INTS = {"batch_size": 1, "warmup": 0, "seed": 0, "train_size": 1, "train_subset": 0, "subset_seed": 0,
               "save_every": 1, "log_every": 1}
_TRAIN_FLOATS = {"lr": (0.0, None, False), "weight_decay": (0.0, None, True), "ema_decay": (0.0, 1.0, True)}


def _parse_train(path: Path, text: str, data: Any, index: int) -> TrainSpec:
    table = _Table(path, text, "train", data, index)
    label = table.string("label", required=True)
    provider = table.string("provider", required=True)
    if not table.has("steps"):
        raise table.error("is required: the optimiser steps of this training", "steps")
    steps = table.integer("steps", None)
    assert label is not None and provider is not None and steps is not None
    if any(c in label for c in "/\\") or label.startswith("."):
        raise table.error(f"must not contain '/' or '\\' nor start with '.': it names the checkpoint file, "
                          f"got {label!r}", "label")
    options: dict[str, Any] = {}
    for key, minimum in _TRAIN_INTS.items():
        value = table.integer(key, None, minimum=minimum)
        if value is not None:
            options[key] = value
    for key, (low, high, inclusive) in _TRAIN_FLOATS.items():
        value = table.number(key, low, high, inclusive)
        if value is not None:
            options[key] = value
    if "train_size" not in options and ("train_subset" in options or "subset_seed" in options):
        raise table.error("needs train_size = N: the subset is a block of N images",
                          "train_subset" if "train_subset" in options else "subset_seed")
    return TrainSpec(label=label, provider=provider, steps=steps, options=options,
                     model_options=table.options("model"), dataset_options=table.options("dataset_options"),
                     index=index)


_PROBE_INTS = {"images": 1, "levels": 1, "seed": 0, "jacobian_images": 1, "batch_size": 1}


def _parse_probe(path: Path, text: str, data: Any, index: int, labels: list[str]) -> ProbeSpec:
    table = _Table(path, text, "probe", data, index)
    entries = table.strings("entries") or tuple(labels)
    for label in entries:
        if label not in labels:
            raise table.error(f"no [[entry]] has label {label!r}: the labels are {', '.join(map(repr, labels))}",
                              "entries")
    options: dict[str, Any] = {k: v for k, m in _PROBE_INTS.items() if (v := table.integer(k, None, m)) is not None}
    jacobian = table.string("jacobian")
    if jacobian is not None:
        from ..probe.jacobian import METHODS

        if jacobian not in METHODS:
            raise table.error(f"must be one of {', '.join(METHODS)}, got {jacobian!r}", "jacobian")
        options["jacobian"] = jacobian
    return ProbeSpec(entries=tuple(dict.fromkeys(entries)), options=options, index=index)


def _check_trained_entries(path: Path, text: str, entries: tuple[EntrySpec, ...],
                           trains: tuple[TrainSpec, ...]) -> None:
    """Every ``checkpoint = "@label"`` names a ``[[train]]`` of the same provider."""
    by_label = {t.label: t for t in trains}
    for e in entries:
        if e.trained is None:
            continue
        train = by_label.get(e.trained)
        if train is None:
            known = ", ".join(repr(t) for t in by_label) or "none: declare a [[train]] table"
            raise suite_error(path, text, f"no [[train]] has label {e.trained!r}: the trained checkpoints are {known}",
                              "entry", e.index, "checkpoint")
        if train.provider != e.provider:
            raise suite_error(path, text, f"checkpoint @{e.trained} is trained for provider {train.provider!r}, "
                              f"but this entry's provider is {e.provider!r}: use the same provider",
                              "entry", e.index, "provider")


def _parse_sampler(path: Path, text: str, data: Any, index: int) -> SamplerSpec:
    table = _Table(path, text, "sampler", data, index)
    name = table.string("name", required=True)
    assert name is not None
    options = table.options()
    steps = table.integers("steps", None, minimum=1, required=True)
    assert steps is not None
    default = " ".join(filter(None, [name, _options_label(options)]))
    return SamplerSpec(name=name, label=table.string("label", default) or default, steps=steps,
                       options=options, index=index)


def _check_unique_labels(path: Path, text: str, table: str, labels: list[str]) -> None:
    seen: dict[str, int] = {}
    for i, label in enumerate(labels):
        if label in seen:
            raise suite_error(path, text, f"label {label!r} is already used by [[{table}]] {seen[label] + 1}: "
                              "give one of them another label", table, i, "label")
        seen[label] = i


def parse_suite(text: str, path: Path) -> SuiteSpec:
    """Parse the text of a suite file; raises a one-line :class:`DenoisebenchError` when malformed."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, _col = toml_error_line(str(exc))
        key = key_on_line(text.splitlines()[line - 1]) if line and line <= len(text.splitlines()) else None
        where = f"{path}" + (f" line {line}" if line else "") + (f", key '{key}'" if key else "")
        raise DenoisebenchError(f"{where}: not valid TOML ({exc})") from None
    for name in doc:
        if name not in TABLES:
            raise suite_error(path, text, "unknown table: a suite has [suite], [[entry]], [[sampler]], [[train]] "
                              "and [[probe]]", name)
    for name in ("train", "probe"):
        if name in doc and not isinstance(doc[name], list):
            raise suite_error(path, text, f"must be an array of tables, written [[{name}]]", name)
    for name in ("entry", "sampler"):
        if name not in doc:
            raise DenoisebenchError(f"{path}: no [[{name}]] table: declare at least one")
        if not isinstance(doc[name], list):
            raise suite_error(path, text, f"must be an array of tables, written [[{name}]]", name)
        if not doc[name]:
            raise DenoisebenchError(f"{path}: '{name}' is an empty list: declare at least one [[{name}]] table")
    suite = _Table(path, text, "suite", doc.get("suite", {}), None)
    entries = tuple(_parse_entry(path, text, d, i) for i, d in enumerate(doc["entry"]))
    samplers = tuple(_parse_sampler(path, text, d, i) for i, d in enumerate(doc["sampler"]))
    _check_unique_labels(path, text, "entry", [e.label for e in entries])
    _check_unique_labels(path, text, "sampler", [s.label for s in samplers])
    trains = tuple(_parse_train(path, text, d, i) for i, d in enumerate(doc.get("train", [])))
    _check_unique_labels(path, text, "train", [t.label for t in trains])
    _check_trained_entries(path, text, entries, trains)
    probes = tuple(_parse_probe(path, text, d, i, [e.label for e in entries]) for i, d in enumerate(doc.get("probe", [])))
    schedule = suite.string("schedule", "linear")
    if schedule not in ("linear", "cosine"):
        raise suite.error(f"must be 'linear' or 'cosine', got {schedule!r}", "schedule")
    return SuiteSpec(
        path=path, text=text, name=suite.string("name", path.stem) or path.stem, entries=entries,
        samplers=samplers, dataset=suite.string("dataset", "mnist-5k") or "mnist-5k",
        num_samples=suite.integer("num_samples", 1000) or 1000,
        seeds=suite.integers("seeds", (0,), minimum=0) or (0,),
        batch_size=suite.integer("batch_size", 256) or 256, device=suite.string("device", "cpu") or "cpu",
        schedule=schedule or "linear", metrics=suite.boolean("metrics", True),
        results_dir=suite.path_value("results_dir", path.parent), data_dir=suite.path_value("data_dir", path.parent),
        dataset_options=suite.options("dataset_options"), trains=trains, probes=probes)


def load_suite(path: Path) -> SuiteSpec:
    """Read and parse a suite file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise DenoisebenchError(f"cannot read suite file {path} ({reason}): pass an existing TOML file") from None
    return parse_suite(text, path)
