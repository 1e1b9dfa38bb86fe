"""Which runs can be compared: group run dirs by setting (dataset, schedule, sampler, steps, N),
entry and seed.

A run made by ``denoisebench bench`` is named by its suite labels (``run.json["suite"]``); any
other run by its provider, options (less those the provider declares speed-only, such as
``workers``) and checkpoint ('kbnet mode=tweedie [my-weights]') and its sampler's label. Only runs whose ``samples.npz`` holds N images take part; when a (setting,
entry, seed) was run twice the newest run counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..runs.records import record_field as _get
from ..suite.status import StoredRun, scan_results


@dataclass(frozen=True, order=True)
class Setting:
    """What two entries must share to be compared."""

    dataset: str
    dataset_hash: str
    schedule: str
    sampler: str
    steps: int
    n: int
    #: The runs' dataset options (-D), sorted; compare reloads the dataset with them.
    dataset_options: tuple[tuple[str, str], ...] = ()
    #: The first run's --data-dir: where compare reloads the dataset unless given its own.
    data_dir: str = field(default="", compare=False)

    def describe(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "schedule": self.schedule, "sampler": self.sampler, "steps": self.steps,
                "n": self.n}

    def title(self) -> str:
        return f"{self.dataset}, {self.sampler} {self.steps} steps, N = {self.n}" + (
            f", {self.schedule} schedule" if self.schedule != "linear" else "")


@dataclass(frozen=True)
class RunRef:
    """One run: where it is, which entry and setting it belongs to, its seed."""

    run_dir: Path
    entry: str
    setting: Setting
    seed: int
    created: str = ""
    provider: str = ""
    ms_per_image: float | None = None
    nfe: int | None = None


#: setting -> entry -> seed -> run
Groups = dict[Setting, dict[str, dict[int, RunRef]]]


def entry_label(record: dict[str, Any]) -> str:
    """The suite's entry label, else 'provider k=v ... [checkpoint stem]'."""
    suite_label = _get(record, "suite", "entry")
    if isinstance(suite_label, str) and suite_label:
        return suite_label
    provider = record["provider"]
    options = provider.get("options") or {}
    speed_only = set(provider.get("speed_options") or ())  # e.g. workers: the samples are the same
    parts = [str(provider["name"]), *(f"{k}={v}" for k, v in sorted(options.items()) if k not in speed_only)]
    checkpoint = provider.get("checkpoint")
    if isinstance(checkpoint, str) and checkpoint:
        parts.append(f"[{Path(checkpoint).stem}]")
    return " ".join(parts)


def sampler_label(record: dict[str, Any]) -> str:
    """The suite's sampler label, else the sampler's own ('ddim eta=0.5')."""
    suite_label = _get(record, "suite", "sampler_label")
    if isinstance(suite_label, str) and suite_label:
        return suite_label
    sampler = record["sampler"]
    return str(sampler.get("label") or sampler["name"])


def run_ref(run: StoredRun) -> RunRef:
    """The :class:`RunRef` of a stored run (raises KeyError/TypeError/ValueError when malformed)."""
    r = run.record
    schedule = _get(r, "config", "schedule") or _get(r, "sampler", "schedule", "name") or "linear"
    setting = Setting(dataset=str(r["dataset"]["id"]), dataset_hash=str(r["dataset"].get("hash") or ""),
                      schedule=str(schedule), sampler=sampler_label(r), steps=int(r["sampler"]["steps"]),
                      n=int(r["num_samples"]),
                      dataset_options=tuple(sorted((r["dataset"].get("options") or {}).items())),
                      data_dir=str(_get(r, "config", "data_dir") or ""))
    ms = _get(r, "timing", "ms_per_image")
    nfe = _get(r, "sampler", "nfe")
    return RunRef(run.run_dir, entry_label(r), setting, int(r["seed"]), str(r.get("created") or ""),
                  str(r["provider"]["name"]), float(ms) if isinstance(ms, (int, float)) else None,
                  int(nfe) if isinstance(nfe, int) else None)


def runs_in(results_dir: Path, warn: Callable[[str], None]) -> list[RunRef]:
    """Every run in ``results_dir`` with a readable record; malformed ones are reported and skipped."""
    stored, warnings = scan_results(results_dir)
    for w in warnings:
        warn(w)
    refs = []
    for run in stored:
        try:
            refs.append(run_ref(run))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            warn(f"ignoring {run.run_dir}: run.json lacks what a comparison needs ({type(exc).__name__}: {exc})")
    return refs


def group_runs(refs: Iterable[RunRef]) -> Groups:
    """Runs by setting, entry and seed; the newest run of a (setting, entry, seed) wins."""
    groups: Groups = {}
    for ref in refs:
        seeds = groups.setdefault(ref.setting, {}).setdefault(ref.entry, {})
        old = seeds.get(ref.seed)
        if old is None or (ref.created, str(ref.run_dir)) > (old.created, str(old.run_dir)):
            seeds[ref.seed] = ref
    return groups


def runs_of_plan(plan: Any) -> list[RunRef]:
    """The complete cells of a planned suite (:class:`~denoisebench.suite.SuitePlan`), named by the
    suite's current labels."""
    from dataclasses import replace

    from ..suite.status import COMPLETE

    by_dir = {run.run_dir: run for run in plan.runs}
    refs = []
    for status in plan.statuses:
        if status.state == COMPLETE and status.run_dir in by_dir:
            ref = run_ref(by_dir[status.run_dir])
            refs.append(replace(ref, entry=status.cell.entry,
                                setting=replace(ref.setting, sampler=status.cell.sampler_label)))
    return refs
