"""``probe`` end to end: validate, build the provider(s), estimate at every level, summarise, record."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..datasets.base import DatasetOptions, ImageDataset
from ..diffusion.schedule import make_schedule
from ..errors import DenoisebenchError
from ..plugins.manager import get_registry
from ..interfaces.provider import EpsilonProvider, ProviderContext
from ..runs.environment import describe_environment, parse_device
from ..runs.records import prepare_results_dir
from ..runs.runner import MAX_SEED, slug
from . import agreement, jacobian, statistics
from .estimates import batched_x0, noisy
from .images import stratified_choice
from .levels import DEFAULT_LEVELS, choose_levels
from .noise import probe_noise
from .record import KIND, SCHEMA_VERSION, write_probe


@dataclass
class ProbeConfig:
    """Everything ``denoisebench probe`` takes; defaults are the CLI's."""

    provider: str
    options: dict[str, str] = field(default_factory=dict)
    checkpoint: Path | None = None
    dataset: str = "mnist-5k"
    data_dir: Path | None = None
    dataset_options: dict[str, str] = field(default_factory=dict)
    images: int = 256
    levels: int = DEFAULT_LEVELS
    seed: int = 0
    schedule: str = "linear"
    T: int = 1000  # noqa: N815
    batch_size: int = 128
    device: str = "cpu"
    clip: bool = True
    jacobian: str = "auto"
    jacobian_images: int = 16
    jacobian_probes: int = 2
    against: str | None = None
    against_options: dict[str, str] = field(default_factory=dict)
    against_checkpoint: Path | None = None
    trajectory: int = 16
    sampler: str = "dpmpp-2m-sde"
    steps: int = 20
    results_dir: Path = Path("results")


def validate(config: ProbeConfig) -> None:
    """Cheap checks before anything is loaded."""
    checks = [(config.images >= 1, f"--images must be at least 1, got {config.images}"),
              (config.levels >= 1, f"--levels must be at least 1, got {config.levels}"),
              (0 <= config.seed <= MAX_SEED, f"--seed must be an integer between 0 and 2**63 - 1, got {config.seed}"),
              (config.batch_size >= 1, f"--batch-size must be at least 1, got {config.batch_size}"),
              (config.jacobian in jacobian.METHODS,
               f"--jacobian must be one of {', '.join(jacobian.METHODS)}, got {config.jacobian!r}"),
              (config.jacobian_probes >= 1, f"--jacobian-probes must be at least 1, got {config.jacobian_probes}"),
              (config.jacobian_images >= 1, f"--jacobian-images must be at least 1, got {config.jacobian_images}"),
              (config.trajectory >= 0, f"--trajectory must be 0 or more, got {config.trajectory}"),
              (1 <= config.steps <= config.T, f"--steps must be between 1 and T = {config.T}, got {config.steps}")]
    for ok, message in checks:
        if not ok:
            raise DenoisebenchError(message)
    for path, flag in ((config.checkpoint, "--checkpoint"), (config.against_checkpoint, "--against-checkpoint")):
        if path is not None and not Path(path).is_file():
            raise DenoisebenchError(f"{flag} {path} does not exist: pass an existing file")
    if config.against is None and (config.against_options or config.against_checkpoint):
        raise DenoisebenchError("-a/--against-option and --against-checkpoint need --against OTHER")


def build_provider(name: str, dataset: ImageDataset, device: torch.device, checkpoint: Path | None,
                   options: dict[str, str], seed: int) -> tuple[EpsilonProvider, dict[str, Any]]:
    """The provider ``name`` for ``dataset`` and the facts a record keeps about it."""
    cls, info = get_registry().provider(name)
    if checkpoint is not None and not cls.takes_checkpoint():
        raise DenoisebenchError(f"provider {name!r} loads no weights, so a checkpoint would be ignored: drop it")
    provider = cls.from_context(ProviderContext(dataset=dataset, device=device, checkpoint=checkpoint,
                                                options=dict(options), seed=seed))
    meta = {"name": cls.name, "description": cls.description, "plugin": info.plugin,
            "distribution": info.distribution, "version": info.version, "options": dict(options),
            "label": provider.label(), "checkpoint": str(checkpoint) if checkpoint else None,
            "info": provider.info()}
    return provider, meta


def _labels(labels: np.ndarray, count: int) -> np.ndarray | None:
    return labels if labels is not None and len(labels) == count else None


def trained_on(checkpoint: Path | str | None) -> np.ndarray | None:
    """The train-split indices a checkpoint was trained on (``train --train-size``), else None."""
    if checkpoint is None or not str(checkpoint).endswith(".safetensors") or not Path(checkpoint).is_file():
        return None
    import json

    from ..training.checkpoint import read_metadata

    try:
        subset = read_metadata(Path(checkpoint)).get("train_subset")
    except DenoisebenchError:
        return None
    return np.asarray(json.loads(subset)["indices"], dtype=np.int64) if subset else None


def train_choice(dataset: ImageDataset, pool: np.ndarray | None, count: int, seed: int) -> np.ndarray:
    """The probe's train images: a stratified choice from the split, or from ``pool`` (the images a
    checkpoint was trained on) when it saw only part of the split."""
    total = len(dataset.train_images)
    labels = _labels(dataset.train_labels, total)
    if pool is None:
        return stratified_choice(labels, total, count, seed, "train")
    if len(pool) and (pool.min() < 0 or pool.max() >= total):
        raise DenoisebenchError(f"the checkpoint's training subset does not fit dataset {dataset.id!r} "
                                f"({total} train images): probe it on the dataset it was trained on")
    sub = stratified_choice(labels[pool] if labels is not None else None, len(pool), count, seed, "train")
    return np.sort(pool[sub])


def run_probe(config: ProbeConfig, log: Callable[[str], None] | None = None,
              write: bool = True) -> tuple[dict[str, Any], Path | None]:
    """Probe ``config.provider``; returns the record and, when ``write``, its directory."""
    say = log or (lambda _msg: None)
    validate(config)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    registry = get_registry()
    device = parse_device(config.device)
    spec = registry.dataset(config.dataset)
    dataset = spec.load(DatasetOptions(data_dir=config.data_dir, params=dict(config.dataset_options)))
    schedule = make_schedule(config.schedule, config.T)
    provider, meta = build_provider(config.provider, dataset, device, config.checkpoint, config.options, config.seed)
    other = other_meta = None
    if config.against is not None:
        other, other_meta = build_provider(config.against, dataset, device, config.against_checkpoint,
                                           config.against_options, config.seed)
    if write:
        prepare_results_dir(config.results_dir)
    shape = dataset.image_shape
    pool = trained_on(config.checkpoint or meta["info"].get("path"))
    chosen = {"train": train_choice(dataset, pool, config.images, config.seed),
              "heldout": stratified_choice(_labels(dataset.heldout_labels, len(dataset.heldout_images)),
                                           len(dataset.heldout_images), config.images, config.seed, "heldout")}
    if min(len(v) for v in chosen.values()) == 0:
        raise DenoisebenchError(f"dataset {config.dataset!r} has an empty train or held-out split: probe needs both")
    clean = {"train": dataset.train_tensor()[torch.from_numpy(chosen["train"])],
             "heldout": dataset.heldout_tensor()[torch.from_numpy(chosen["heldout"])]}
    boots = {s: statistics.bootstrap_indices(len(chosen[s]), config.seed, s) for s in chosen}
    levels = choose_levels(schedule, config.levels)
    jac_count = min(config.jacobian_images, len(chosen["heldout"]))
    jac_plan: jacobian.JacobianPlan | None = None
    rows: list[dict[str, Any]] = []
    per_image: dict[str, list[list[float]]] = {"mse_train": [], "mse_heldout": []}  # level x image: paired comparisons
    for k, (t, sigma) in enumerate(levels):
        say(f"probe level {k + 1}/{len(levels)}: t={t}, sigma={sigma:.4g}")
        x_t = {s: noisy(clean[s], probe_noise(config.seed, s, chosen[s], t, shape), t, schedule) for s in chosen}
        est = {s: batched_x0(provider, x_t[s], t, schedule, config.batch_size, device) for s in chosen}
        if config.clip:
            est = {s: v.clamp(-1, 1) for s, v in est.items()}
        mse = {s: statistics.per_image_mse(est[s], clean[s]) for s in chosen}
        row: dict[str, Any] = {"sigma": sigma, "t": t,
                               **statistics.level_statistics(mse["train"], mse["heldout"], boots["train"],
                                                             boots["heldout"])}
        jac_in = x_t["heldout"][:jac_count].to(device)
        if jac_plan is None:
            jac_plan = jacobian.plan(provider, jac_in, t, schedule, config.jacobian, config.seed)
        if jac_plan.method != "none":
            tr = jacobian.trace_per_pixel(provider, jac_in, t, schedule, jac_plan.method,
                                          config.jacobian_probes, config.seed)
            row["jacobian_trace"] = float(tr.mean())
            row["jacobian_trace_se"] = float(tr.std(ddof=1) / np.sqrt(len(tr))) if len(tr) > 1 else float("nan")
        else:
            row["jacobian_trace"] = None
            row["jacobian_trace_se"] = None
        if other is not None:
            both = torch.cat([x_t["train"], x_t["heldout"]])
            a = torch.cat([est["train"], est["heldout"]]) if not config.clip else \
                batched_x0(provider, both, t, schedule, config.batch_size, device)
            b = batched_x0(other, both, t, schedule, config.batch_size, device)
            summary = agreement.pair_summary(a, b)
            row["against_r2_median"], row["against_mse"] = summary["r2_median"], summary["mse"]
        rows.append(row)
        per_image["mse_train"].append([float(f"{v:.6g}") for v in mse["train"]])
        per_image["mse_heldout"].append([float(f"{v:.6g}") for v in mse["heldout"]])
    against_record = None
    if other is not None:
        trajectory: list[dict[str, float]] = []
        if config.trajectory:
            say(f"trajectory: {config.trajectory} chains of {config.sampler} {config.steps}")
            sampler_cls, _ = registry.sampler(config.sampler)
            sampler = sampler_cls(schedule, config.steps, {})
            trajectory = agreement.trajectory_agreement(provider, other, sampler, config.trajectory, config.seed,
                                                        shape, config.batch_size, device)
        against_record = {"provider": other_meta, "on_probe_inputs": "per level: against_r2_median, against_mse",
                          "trajectory": {"sampler": config.sampler, "steps": config.steps,
                                         "chains": config.trajectory, "calls": trajectory,
                                         "r2_median_over_calls": float(np.median([c["r2_median"] for c in trajectory]))
                                         if trajectory else None}}
    now = dt.datetime.now(dt.timezone.utc)
    record: dict[str, Any] = {
        "kind": KIND, "schema_version": SCHEMA_VERSION, "created": now.isoformat(timespec="seconds"),
        "command": "probe", "provider": meta, "dataset": dataset.describe(),
        "dataset_options": dict(config.dataset_options),
        "schedule": schedule.describe(), "seed": config.seed,
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
        "images": {"count_train": int(len(chosen["train"])), "count_heldout": int(len(chosen["heldout"])),
                   "train": chosen["train"].tolist(), "heldout": chosen["heldout"].tolist(),
                   "choice": "seeded, class-stratified (largest-remainder quotas) when labels exist",
                   "train_pool": "the checkpoint's training subset" if pool is not None else "the train split",
                   "train_pool_size": int(len(pool)) if pool is not None else int(len(dataset.train_images))},
        "noise": "image i of split s at step t: torch.randn seeded by SeedSequence([seed, 'probe', s, i, t])",
        "statistics": {"mse_units": "[0, 1] pixel units, per pixel, mean over images",
                       "psnr": "10 log10(1 / mse), data range 1", "clip_x0": config.clip,
                       "gap": "(mse_heldout - mse_train) / mse_heldout",
                       "intervals": f"percentile bootstrap {1 - statistics.ALPHA:.0%} over images, "
                                    f"{statistics.BOOTSTRAP} replicates"},
        "jacobian": {"method": jac_plan.method if jac_plan else "none",
                     "reason": jac_plan.reason if jac_plan else "no levels",
                     "images": jac_count, "probes": config.jacobian_probes,
                     "definition": "Hutchinson tr(dD/dy) / pixels, y = x_t / sqrt(abar_t), held-out inputs"},
        "levels": rows, "against": against_record,
        "per_image": {**per_image, "note": "per level, per image MSE ([0, 1] units, 6 significant digits) in the "
                                           "order of images.train / images.heldout (compare pairs probes by them)"},
        "timing": {"wall_s": round(time.perf_counter() - wall0, 3), "cpu_s": round(time.process_time() - cpu0, 3)},
        "environment": describe_environment(device),
    }
    if not write:
        return record, None
    probe_id = f"probe-{now:%Y%m%d-%H%M%S}-{slug(provider.label())}-m{config.images}-seed{config.seed}"
    return record, write_probe(config.results_dir, probe_id, record)
