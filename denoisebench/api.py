"""The Python API: the CLI's verbs as functions that return pandas tables.

    import denoisebench as db
    r = db.run(provider="wiener", sampler="ddim", steps=10, num_samples=64)
    r.samples, r.metrics, r.path          # the bytes of samples.npz, the numbers of run.json
    db.load_runs("results/")              # a DataFrame, one row per run
    db.compare("results/")                # paired differences with 95% intervals and verdicts
    db.bench("suite.toml")                # fills a suite, returns load_runs of its cells

Every function raises :class:`denoisebench.DenoisebenchError` with the one line the CLI prints
(after ``Error: ``) for the same input. The CLI's ``compare`` and ``bench`` call the helpers here.
"""

from __future__ import annotations

import dataclasses
import io
import json
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import DenoisebenchError

if TYPE_CHECKING:
    import pandas as pd

    from .compare import Comparison
    from .suite.runner import SuitePlan

PathLike = str | Path

#: The first columns of :func:`load_runs`, in this order; the metric columns follow, then the rest.
RUN_COLUMNS = ("provider", "label", "sampler", "steps", "nfe", "seed", "n", "dataset")
TAIL_COLUMNS = ("ms_per_image", "images_per_s", "path", "run_id", "created", "dataset_hash", "device")
#: What :func:`compare` returns at least (one row per pair of entries, metric and setting).
COMPARE_COLUMNS = ("a", "b", "metric", "encoder", "diff", "ci_low", "ci_high", "verdict", "a_value", "b_value", "dataset",
                   "schedule", "sampler", "steps", "n", "seeds", "n_bootstrap", "level", "lower_is_better",
                   "reference", "across", "across_detail")
_PATH_FIELDS = ("results_dir", "checkpoint", "data_dir")
_OPTION_FIELDS = ("sampler_options", "options", "dataset_options")


@dataclass
class RunResult:
    """One finished run: its directory, its parsed run.json, its samples and metrics."""

    path: Path
    record: dict[str, Any]
    _samples: np.ndarray | None = field(default=None, repr=False)

    @property
    def samples(self) -> np.ndarray:
        """The generated images, uint8 N x H x W (x C for colour): the array in samples.npz."""
        if self._samples is None:
            from .runs.records import load_samples

            self._samples = load_samples(self.path)
        return self._samples

    @property
    def metrics(self) -> dict[str, Any]:
        """run.json's ``metrics`` object (empty for a run made with ``metrics=False``)."""
        return dict(self.record.get("metrics") or {})


def _option_value(value: object) -> str:
    """An option value as the CLI would pass it: bools as 1/0, everything else its str()."""
    return str(int(value)) if isinstance(value, bool) else str(value)


def run_config(**fields: Any) -> Any:
    """A :class:`~denoisebench.runs.runner.RunConfig` from keyword arguments named as its fields.

    Paths may be strings; option values may be numbers or bools (passed on as the CLI's strings).
    ``variance=``, ``eta=`` and ``clip_x0=`` are shorthands for those ``sampler_options``, as on the CLI.
    """
    from .runs.runner import RunConfig, with_sampler_shorthands

    shorthands = {key: fields.pop(key) for key in ("variance", "eta", "clip_x0") if key in fields}
    if shorthands:
        options = {str(k): _option_value(v) for k, v in dict(fields.get("sampler_options") or {}).items()}
        fields["sampler_options"] = with_sampler_shorthands(options, **shorthands)
    known = {f.name for f in dataclasses.fields(RunConfig)}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise DenoisebenchError(f"unknown run argument(s) {', '.join(unknown)}: use RunConfig's fields "
                                f"({', '.join(sorted(known))})")
    if "provider" not in fields:
        raise DenoisebenchError("run needs provider=NAME (see 'denoisebench providers')")
    values = dict(fields)
    for key in _PATH_FIELDS:
        if values.get(key) is not None:
            values[key] = Path(values[key])
    for key in _OPTION_FIELDS:
        if values.get(key) is not None:
            if not isinstance(values[key], Mapping):
                raise DenoisebenchError(f"{key} must be a dict of option name -> value, got {values[key]!r}")
            values[key] = {str(k): _option_value(v) for k, v in values[key].items()}
    if values.get("encoder_weights") is not None:
        values["encoder_weights"] = {str(k): Path(v) for k, v in dict(values["encoder_weights"]).items()}
    if values.get("encoders") is not None:
        values["encoders"] = tuple([values["encoders"]] if isinstance(values["encoders"], str) else values["encoders"])
    return RunConfig(**values)


def run(*, on_step: Callable[[int], None] | None = None, log: Callable[[str], None] | None = None,
        **fields: Any) -> RunResult:
    """``denoisebench run``: generate, evaluate and write one run directory; returns it.

    Keyword arguments are :class:`~denoisebench.runs.runner.RunConfig`'s fields (``provider``,
    ``sampler``, ``steps``, ``num_samples``, ``seed``, ``results_dir``, ``sampler_options``,
    ``options``, ...), with the CLI's defaults. ``on_step(k)`` is told of every k image-steps done,
    ``log`` receives the evaluation's progress lines.
    """
    from .runs.records import RUN_FILE
    from .runs.runner import execute

    run_dir = execute(run_config(**fields), on_step=on_step, log=log)
    return RunResult(run_dir, json.loads((run_dir / RUN_FILE).read_text(encoding="utf-8")))


def run_json_files(paths: PathLike | Iterable[PathLike]) -> list[Path]:
    """Every complete run's run.json under ``paths`` (results dirs at any depth, or run dirs).

    Staging (``.staging-*``), incomplete (``.incomplete-*``) and other hidden directories are skipped.
    """
    roots = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    found: list[Path] = []
    for root in roots:
        if not root.exists():
            raise DenoisebenchError(f"{root} does not exist: pass a results dir or a run dir")
        if root.is_file():
            raise DenoisebenchError(f"{root} is a file: pass a results dir or a run dir")
        found += [p for p in sorted(root.rglob("run.json"))
                  if not any(part.startswith(".") for part in p.relative_to(root).parts[:-1])]
    return list(dict.fromkeys(found))


def load_runs(paths: PathLike | Iterable[PathLike], *, strict: bool = False) -> pd.DataFrame:
    """One row per run under ``paths`` (results dirs, searched at any depth, or run dirs).

    Columns: provider, label, sampler, steps, nfe, seed, n, dataset, then every metric column the
    runs declare (floats; ``<key>_std`` for uncertainties; NaN where a run lacks it), then
    ms_per_image, images_per_s, path (the run dir), run_id, created, dataset_hash, device. Runs
    written by older versions are read too. An unreadable run.json is skipped with a warning, or
    with ``strict=True`` raises.
    """
    import pandas as pd

    from .report.columns import builtin_specs, registered_specs
    from .report.load import run_row

    rows: list[dict[str, Any]] = []
    metric_keys: list[str] = []
    registry, builtins = registered_specs(), builtin_specs()
    for file in run_json_files(paths):
        try:
            record = json.loads(file.read_text(encoding="utf-8"))
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            row = run_row(record, file.parent, registry, builtins)
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            reason = f"missing key {exc}" if isinstance(exc, KeyError) else (str(exc).splitlines() or [""])[0]
            message = f"unreadable or incomplete run.json {file} ({reason or type(exc).__name__})"
            if strict:
                raise DenoisebenchError(f"{message}: fix or remove that run dir") from None
            warnings.warn(f"skipping {message}", stacklevel=2)
            continue
        for spec in row["metric_specs"]:
            for col in spec.columns:
                for key in (col.key, f"{col.key}_std" if col.std_path else None):
                    if key is not None and key in row and key not in metric_keys:
                        metric_keys.append(key)
        row["path"] = row.pop("run_dir")
        rows.append(row)
    columns = [*RUN_COLUMNS, *metric_keys, *TAIL_COLUMNS]
    frame = pd.DataFrame(rows, columns=columns)
    for key in metric_keys + ["ms_per_image", "images_per_s"]:
        frame[key] = frame[key].astype(float)
    frame["nfe"] = frame["nfe"].astype("Int64")
    return frame


def comparison(target: PathLike = "results", *, metrics: Iterable[str] | None = None, bootstrap: int = 1000,
               seed: int = 0, fixed_reference: bool = False, results_dir: PathLike | None = None,
               data_dir: PathLike | None = None, warn: Callable[[str], None] | None = None,
               progress: Callable[[str], None] | None = None, encoders: Iterable[str] | None = None) -> Comparison:
    """The paired comparison of a results dir or a suite's runs (what ``denoisebench compare`` renders).

    ``encoders``: decide each feature metric on these (default: the classifier, the encoders the runs
    recorded, and ``pixels`` for all but FD); every pair also gets a verdict across encoders."""
    from .compare import METRICS, SampleSource, compare_runs, runs_in, runs_of_plan
    from .encoders import encoder_class

    target = Path(target)
    warn = warn or (lambda message: warnings.warn(message, stacklevel=3))
    chosen = list(metrics or [])
    unknown = [m for m in chosen if m not in METRICS]
    if unknown:
        raise DenoisebenchError(f"--metric {unknown[0]!r} cannot be paired: choose from "
                                f"{', '.join(METRICS)}")
    encoder_names = list(encoders or [])
    for name in encoder_names:  # one-line errors for an unknown encoder or absent weights, before any work
        encoder_class(name)(None).require_weights()
    if bootstrap < 100:
        raise DenoisebenchError(f"bootstrap must be at least 100 replicates, got {bootstrap}")
    order = None
    if target.is_file() or target.suffix == ".toml":
        from .suite import load_suite, plan_suite

        plan = plan_suite(load_suite(target), Path(results_dir) if results_dir is not None else None,
                          check_device=False)
        for w in plan.warnings:
            warn(w)
        missing = len(plan.statuses) - plan.complete
        if missing:
            warn(f"{missing} of {len(plan.statuses)} cells of suite {plan.suite.name} are not complete in "
                 f"{plan.results_dir} (run 'denoisebench bench {target}'); comparing the complete ones")
        refs, order = runs_of_plan(plan), [e.label for e in plan.suite.entries]
    else:
        if results_dir is not None:
            raise DenoisebenchError("--results-dir is for a suite; pass the results dir itself as the argument")
        if not target.is_dir():
            raise DenoisebenchError(f"{target} is neither a results dir nor a suite file: pass one")
        refs = runs_in(target, warn)
    source = SampleSource(memorisation=not chosen or "memorised" in chosen,
                          data_dir=Path(data_dir) if data_dir is not None else None)
    return compare_runs(refs, source, chosen or None, bootstrap, seed, order, progress=progress, warn=warn,
                        resample_reference=not fixed_reference, encoders=encoder_names or None)


def compare(target: PathLike = "results", **options: Any) -> pd.DataFrame:
    """``denoisebench compare``: one row per (pair of entries, metric, encoder, setting).

    Columns a, b, metric, encoder (whose features; None for the memorised share), diff (a - b),
    ci_low, ci_high (the 95% interval), verdict ('a better',
    'b better', 'tied'), a_value, b_value, the setting (dataset, schedule, sampler, steps, n), seeds,
    n_bootstrap, level, lower_is_better, reference, across ('robust', 'split', 'level', 'one encoder':
    how the encoders decided this pair and metric) and across_detail (which encoder favours which
    entry). ``target`` is a results dir or a suite file; options are :func:`comparison`'s
    (``metrics``, ``encoders``, ``bootstrap``, ``seed``, ``fixed_reference``, ``results_dir``, ``data_dir``).
    """
    import pandas as pd

    from .compare.render import to_records

    rows = []
    for row in to_records(comparison(target, **options)):
        row["seeds"] = tuple(row["seeds"])
        rows.append(row)
    extra = [k for row in rows for k in row if k not in COMPARE_COLUMNS]
    return pd.DataFrame(rows, columns=[*COMPARE_COLUMNS, *dict.fromkeys(extra)])


def plan_bench(suite_file: PathLike, results_dir: PathLike | None = None, device: str | None = None,
               check_device: bool = True, warn: Callable[[str], None] | None = None) -> SuitePlan:
    """Load a suite, apply ``device`` and find its pending cells (what ``bench`` and ``bench --dry-run`` do)."""
    from .suite import load_suite, plan_suite

    suite = load_suite(Path(suite_file))
    if device is not None:
        from .runs.environment import parse_device

        parse_device(device)
        suite = dataclasses.replace(suite, device=device)
    plan = plan_suite(suite, Path(results_dir) if results_dir is not None else None, check_device=check_device)
    for warning in plan.warnings:
        (warn or (lambda message: warnings.warn(message, stacklevel=3)))(warning)
    return plan


def bench(suite_file: PathLike, *, results_dir: PathLike | None = None, device: str | None = None,
          workers: int = 1, threads: int | None = None) -> pd.DataFrame:
    """``denoisebench bench``: run the suite's missing cells, then :func:`load_runs` of all its cells."""
    import os

    from .suite.progress import SuiteProgress
    from .suite.runner import run_cells, run_plan_parallel

    if workers < 1:
        raise DenoisebenchError(f"workers must be at least 1, got {workers}")
    plan = plan_bench(suite_file, results_dir, device)
    if plan.has_work:  # [[train]] cells first, [[probe]] cells last (suite.runner)
        if workers > 1:
            quiet = SuiteProgress(len(plan.statuses), plan.complete, plan.pending, stream=io.StringIO(),
                                  interactive=False)
            run_plan_parallel(plan, quiet, workers, threads or max(1, (os.cpu_count() or 1) // workers))
        else:
            from .suite.runner import run_probes, run_trains

            run_trains(plan)
            run_cells(plan.pending, plan.results_dir, plan.suite.name)
            run_probes(plan)
        plan = plan_bench(suite_file, results_dir, device, warn=lambda _message: None)
    return load_runs([s.run_dir for s in plan.statuses if s.run_dir is not None and s.state == "complete"])
