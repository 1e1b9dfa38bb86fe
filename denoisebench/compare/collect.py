"""Which runs can be compared: group run dirs by setting, entry and seed, by configuration.

A setting is the sampler's full configuration (name, steps, schedule, resolved options), the
dataset (id and content hash) and N; an entry is the provider's configuration (name, options
that change the samples, weights hash): :mod:`denoisebench.runs.identity`. Labels only name
them: a run made by ``denoisebench bench`` is named by its suite labels (``run.json["suite"]``),
any other run by its provider, options (less those the provider declares speed-only, such as
``workers``) and checkpoint ('kbnet mode=tweedie [my-weights]') and its sampler's label. Two
configurations under one label are kept apart, shown with their configuration in brackets, and
reported as a warning. Only runs whose ``samples.npz`` holds N images take part; when a
(setting, entry, seed) was run twice the newest run counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..runs.identity import (describe_provider, describe_sampler, disambiguate, provider_config, sampler_config,
                             setting_config, short_hash)
from ..runs.records import record_field as _get
from ..suite.status import StoredRun, scan_results


@dataclass(frozen=True)
class Setting:
    """What two entries must share to be compared; ``sampler`` is the sampler's label (display only),
    ``config`` the id of the full configuration that identifies the setting."""

    dataset: str
    dataset_hash: str
    schedule: str
    sampler: str = field(compare=False)
    steps: int
    n: int
    #: The runs' dataset options (-D), sorted; compare reloads the dataset with them.
    dataset_options: tuple[tuple[str, str], ...] = ()
    #: The first run's --data-dir: where compare reloads the dataset unless given its own.
    data_dir: str = field(default="", compare=False)
    config: str = ""

    def sort_key(self) -> tuple[str, str, str, int, int, str]:
        return (self.dataset, self.schedule, self.sampler, self.steps, self.n, self.config)

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
    entry_config: str = ""  # id of the provider's configuration (the entry's identity)
    entry_description: str = ""  # that configuration in words, to tell apart entries of one label
    sampler_description: str = ""
    memorised: float | None = None  # the run's memorised share, when it was evaluated
    recorded: tuple[tuple[str, float], ...] = ()  # (metric, value) its run.json holds, e.g. ("fid", 1.85)
    encoders: tuple[str, ...] = ()  # the encoders its evaluation used (run.json metrics.encoders)


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
                      n=int(r["num_samples"]), config=short_hash(setting_config(r)),
                      dataset_options=tuple(sorted((r["dataset"].get("options") or {}).items())),
                      data_dir=str(_get(r, "config", "data_dir") or ""))
    ms = _get(r, "timing", "ms_per_image")
    nfe = _get(r, "sampler", "nfe")
    memorised = _get(r, "metrics", "nearest", "memorised_share")
    recorded = tuple((m, float(v)) for m in ("fid", "kid") if isinstance(v := _get(r, "metrics", m, "value"), (int, float))
                     and not isinstance(v, bool))
    provider = provider_config(r)
    encoders = _get(r, "metrics", "encoders")
    return RunRef(run.run_dir, entry_label(r), setting, int(r["seed"]), str(r.get("created") or ""),
                  str(r["provider"]["name"]), float(ms) if isinstance(ms, (int, float)) else None,
                  int(nfe) if isinstance(nfe, int) else None, short_hash(provider), describe_provider(provider),
                  describe_sampler(sampler_config(r)),
                  float(memorised) if isinstance(memorised, (int, float)) and not isinstance(memorised, bool)
                  else None, recorded, tuple(str(k) for k in encoders) if isinstance(encoders, dict) else ())


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


def _newest_label(refs: list[RunRef], label: Callable[[RunRef], str]) -> str:
    return label(max(refs, key=lambda r: (r.created, str(r.run_dir))))


def display_names(refs: list[RunRef], warn: Callable[[str], None] | None = None) -> list[RunRef]:
    """``refs`` with labels that name configurations one to one: in each setting an entry
    configuration is shown under the label of its newest run there (a setting under its newest
    run's sampler label), and a label that two configurations share gets each configuration in
    brackets, with a warning."""
    by_entry: dict[tuple[Setting, str], list[RunRef]] = {}
    for ref in refs:
        by_entry.setdefault((ref.setting, ref.entry_config or ref.entry), []).append(ref)
    labelled = {key: _newest_label(v, lambda r: r.entry) for key, v in by_entry.items()}
    entry_names, entry_warnings = disambiguate(
        {f"{config}|{label}": label for (_s, config), label in labelled.items()},
        {f"{config}|{labelled[(s, config)]}": v[0].entry_description for (s, config), v in by_entry.items()
         if v[0].entry_description}, "entry")
    by_setting: dict[Setting, list[RunRef]] = {}
    for ref in refs:
        by_setting.setdefault(ref.setting, []).append(ref)
    titles: dict[tuple[str, str, str, int, int], dict[str, Setting]] = {}
    for setting in by_setting:
        titles.setdefault((setting.dataset, setting.dataset_hash, setting.schedule, setting.steps, setting.n),
                          {})[setting.config] = setting
    settings: dict[Setting, Setting] = {}
    sampler_warnings = []
    for same_title in titles.values():
        names, warned = disambiguate(
            {k: _newest_label(by_setting[s], lambda r: r.setting.sampler) for k, s in same_title.items()},
            {k: by_setting[s][0].sampler_description for k, s in same_title.items()
             if by_setting[s][0].sampler_description}, "sampler")
        sampler_warnings += warned
        settings.update({s: replace(s, sampler=names[k]) for k, s in same_title.items()})
    if warn is not None:
        for message in entry_warnings + sampler_warnings:
            warn(message)
    def entry_name(ref: RunRef) -> str:
        config = ref.entry_config or ref.entry
        return entry_names[f"{config}|{labelled[(ref.setting, config)]}"]

    return [replace(ref, entry=entry_name(ref), setting=settings[ref.setting]) for ref in refs]


def group_runs(refs: Iterable[RunRef], warn: Callable[[str], None] | None = None) -> Groups:
    """Runs by setting, entry and seed, each identified by its configuration and shown by its label
    (:func:`display_names`); the newest run of a (setting, entry, seed) wins."""
    groups: Groups = {}
    for ref in display_names(list(refs), warn):
        seeds = groups.setdefault(ref.setting, {}).setdefault(ref.entry, {})
        old = seeds.get(ref.seed)
        if old is None or (ref.created, str(ref.run_dir)) > (old.created, str(old.run_dir)):
            seeds[ref.seed] = ref
    return groups


def runs_of_plan(plan: Any) -> list[RunRef]:
    """The complete cells of a planned suite (:class:`~denoisebench.suite.SuitePlan`), named by the
    suite's current labels."""
    from ..suite.status import COMPLETE

    by_dir = {run.run_dir: run for run in plan.runs}
    refs = []
    for status in plan.statuses:
        if status.state == COMPLETE and status.run_dir in by_dir:
            ref = run_ref(by_dir[status.run_dir])
            refs.append(replace(ref, entry=status.cell.entry,
                                setting=replace(ref.setting, sampler=status.cell.sampler_label)))
    return refs
