"""Recording a run: its id, the metrics, run.json and the files of the run directory, written atomically."""

from __future__ import annotations

import datetime as dt
import re
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from . import records
from ..datasets.base import ImageDataset
from ..plugins.manager import get_registry
from .environment import describe_environment
from .prepare import PreparedRun


def slug(text: str) -> str:
    """A file-name-safe form of a label: 'kbnet (tweedie)' -> 'kbnet-tweedie', 'ddim eta=0.5' ->
    'ddim-eta0.5' (an option's value stays joined to its key)."""
    return "-".join(re.findall(r"[A-Za-z0-9.]+", re.sub(r"=+", "", text))) or "run"

def run_id_for(prepared: PreparedRun, now: dt.datetime) -> str:
    """``<time>-<provider label>-<sampler label>-<steps>steps-n<N>-seed<seed>``, e.g.
    ``...-euler-ancestral-eta0-10steps-n32-seed0``: no option value runs into the step count.
    (Runs before this wrote ``<sampler label><steps>``, e.g. ``ddim50``; only the name changed.)"""
    cfg = prepared.config
    return (f"{now:%Y%m%d-%H%M%S}-{slug(prepared.provider.label())}-{slug(prepared.sampler.label())}"
            f"-{cfg.steps}steps-n{cfg.num_samples}-seed{cfg.seed}")

def compute_metrics(images: np.ndarray, dataset: ImageDataset, seed: int,
                    progress: Callable[[str], None] | None = None, encoders: list[Any] | None = None,
                    encoder_skips: list[str] | None = None) -> dict[str, object]:
    """The metrics object of run.json (filled by :mod:`denoisebench.metrics`) on the chosen encoders."""
    from ..metrics import evaluate

    for line in encoder_skips or []:
        if progress is not None:
            progress(f"Warning: {line}")
    return evaluate(images, dataset, seed=seed, progress=progress, encoders=encoders,
                    encoder_skips=encoder_skips or (), catalogue=get_registry())

def write_run(prepared: PreparedRun, images: np.ndarray, now: dt.datetime, sampling_s: float, started: float,
              log: Callable[[str], None] | None, distributed_block: dict[str, object]) -> Path:
    """Evaluate ``images`` once and write the run directory atomically (staged, then renamed)."""
    config = prepared.config
    with records.staged_run_dir(config.results_dir, run_id_for(prepared, now)) as (staging, final):
        records.save_npz_deterministic(staging / records.SAMPLES_FILE, images=images)
        metrics: dict[str, object] = {}
        if config.metrics:
            metrics = compute_metrics(images, prepared.dataset, config.seed, progress=log,
                                      encoders=prepared.encoders, encoder_skips=prepared.encoder_skips)
        records.save_grid(staging / records.GRID_FILE, images)
        if config.metrics:
            from ..report.figures import save_run_figures

            save_run_figures(staging, images, prepared.dataset)
        record = build_record(prepared, now, sampling_s, time.perf_counter() - started, metrics)
        record["distributed"] = distributed_block
        records.write_json_atomic(staging / records.RUN_FILE, record)
    return final[0]

def build_record(prepared: PreparedRun, now: dt.datetime, sampling_s: float, wall_s: float,
                 metrics: dict[str, object]) -> dict[str, object]:
    cfg = prepared.config
    n, steps = cfg.num_samples, cfg.steps
    nfe = prepared.nfe if prepared.nfe is not None else prepared.sampler.nfe
    return {
        "schema_version": records.SCHEMA_VERSION,
        "created": now.isoformat(timespec="seconds"),
        "command": sys.argv[:],
        "provider": {**prepared.provider_meta, "info": prepared.provider.info()},
        "sampler": {**prepared.sampler.describe(), **prepared.sampler_meta, "nfe": nfe},
        "dataset": {**prepared.dataset.describe(), "shape": list(prepared.dataset.image_shape)},  # (C, H, W)
        "seed": cfg.seed,
        "num_samples": n,
        "batch_size": cfg.batch_size,
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items() if k != "extra"},
        "environment": describe_environment(prepared.device),
        "timing": {
            "wall_s": round(wall_s, 3),
            "sampling_s": round(sampling_s, 3),
            "images_per_s": round(n / sampling_s, 3) if sampling_s > 0 else None,
            "ms_per_image": round(1000 * sampling_s / n, 4) if sampling_s > 0 else None,
            "ms_per_image_step": round(1000 * sampling_s / (n * steps), 4) if sampling_s > 0 else None,
            "ms_per_image_nfe": round(1000 * sampling_s / (n * nfe), 4) if sampling_s > 0 and nfe else None,
        },
        "metrics": metrics,
        **({"suite": dict(cfg.extra)} if cfg.extra else {}),
    }
