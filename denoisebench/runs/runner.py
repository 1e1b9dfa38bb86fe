"""``run``: validate the request, build provider and sampler, generate, measure, record."""

from __future__ import annotations

import datetime as dt
from typing import Any
import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import distributed, records
from ..datasets.base import DatasetOptions, ImageDataset
from .environment import describe_environment, parse_device
from ..errors import DenoisebenchError
from ..options import canonical_value
from ..plugins.manager import get_registry
from ..interfaces.provider import EpsilonProvider, ProviderContext
from ..diffusion.samplers import Sampler
from ..diffusion.schedule import make_schedule


#: ``run``'s default: the best FID-proxy at <= 20 network calls on the shipped U-Net over 3 seeds, at or
#: below the 1,000-step ancestral chain's (results/reference/nfe/README.md).
DEFAULT_SAMPLER, DEFAULT_STEPS = "dpmpp-2m-sde", 20
#: Seeds are fed to numpy's SeedSequence and torch.manual_seed: non-negative, 63 bits.
MAX_SEED = 2 ** 63 - 1


@dataclass
class RunConfig:
    """Everything ``denoisebench run`` takes; defaults are the CLI's."""

    provider: str
    dataset: str = "mnist-5k"
    sampler: str = DEFAULT_SAMPLER
    steps: int = DEFAULT_STEPS
    num_samples: int = 256
    batch_size: int = 256
    seed: int = 0
    device: str = "cpu"
    results_dir: Path = Path("results")
    schedule: str = "linear"
    T: int = 1000  # noqa: N815
    sampler_options: dict[str, str] = field(default_factory=dict)  # -s KEY=VALUE, the sampler's own options
    checkpoint: Path | None = None
    options: dict[str, str] = field(default_factory=dict)
    data_dir: Path | None = None
    metrics: bool = True
    dataset_options: dict[str, str] = field(default_factory=dict)  # -D KEY=VALUE
    encoders: tuple[str, ...] = ()  # feature-metric encoders (--encoder); empty: the dataset's defaults
    encoder_weights: dict[str, Path] = field(default_factory=dict)  # --encoder-weights NAME=PATH
    extra: dict[str, object] = field(default_factory=dict)  # written as run.json["suite"] (bench)


@dataclass
class PreparedRun:
    """A validated run, ready to generate."""

    config: RunConfig
    device: torch.device
    dataset: ImageDataset
    provider: EpsilonProvider
    provider_meta: dict[str, object]
    sampler: Sampler
    sampler_meta: dict[str, object] = field(default_factory=dict)
    nfe: int | None = None  # network evaluations per sample, as measured by the loop
    encoders: list[Any] | None = None  # the chosen Encoder instances (None: the pinned classifier only)
    encoder_skips: list[str] = field(default_factory=list)  # default encoders left out, one line each


def sampler_options(config: RunConfig) -> dict[str, str]:
    """The sampler's options (``-s KEY=VALUE``; the CLI's shorthands are already among them)."""
    return dict(config.sampler_options)

def with_sampler_shorthands(options: Mapping[str, str] | None, *, variance: str | None = None,
                            eta: float | None = None, clip_x0: bool = False) -> dict[str, str]:
    """``options`` plus the ``--variance``/``--eta``/``--clip-x0`` shorthands, which are sugar for
    ``-s variance=...``, ``-s eta=...``, ``-s clip_x0=1``; a shorthand that contradicts an option is a one-line error."""
    merged = dict(options or {})
    for key, value in (("variance", variance), ("eta", eta)):
        if value is not None:
            if key in merged and canonical_value(merged[key]) != canonical_value(value):
                raise DenoisebenchError(f"--{key} {value} contradicts -s {key}={merged[key]}: give one of them")
            merged[key] = str(value)
    if clip_x0:
        merged["clip_x0"] = "1"
    return merged

def validate(config: RunConfig) -> None:
    """Cheap checks of the request, before anything is loaded or written."""
    if config.num_samples < 1:
        raise DenoisebenchError(f"--num-samples must be at least 1, got {config.num_samples}")
    if not 0 <= config.seed <= MAX_SEED:
        raise DenoisebenchError(f"--seed must be an integer between 0 and 2**63 - 1, got {config.seed}")
    if config.batch_size < 1:
        raise DenoisebenchError(f"--batch-size must be at least 1, got {config.batch_size}")
    if config.T < 2:
        raise DenoisebenchError(f"T must be at least 2, got {config.T}")
    if not 1 <= config.steps <= config.T:
        raise DenoisebenchError(f"--steps must be between 1 and T = {config.T}, got {config.steps}")
    if config.checkpoint is not None and not config.checkpoint.is_file():
        raise DenoisebenchError(f"checkpoint {config.checkpoint} does not exist: pass an existing file")


def prepare(config: RunConfig) -> PreparedRun:
    """Resolve names, load data and build provider and sampler; raises one-line errors.

    Under torchrun every rank prepares (on its own device) and the ranks agree on the outcome:
    a failure on any rank fails every rank with the same one-line error.
    """
    session = distributed.current()
    if session is None:
        return _prepare(config)
    return session.phase("prepare", lambda: _prepare(config, session))


def _prepare(config: RunConfig, session: distributed.Session | None = None) -> PreparedRun:
    validate(config)
    registry = get_registry()
    provider_cls, info = registry.provider(config.provider)
    if config.checkpoint is not None and not provider_cls.takes_checkpoint():
        raise DenoisebenchError(f"provider {config.provider!r} loads no weights, so --checkpoint would be "
                                "ignored: drop --checkpoint")
    sampler_cls, sampler_info = registry.sampler(config.sampler)
    dataset_spec = registry.dataset(config.dataset)
    dataset_spec.check_options(config.dataset_options)
    device = parse_device(config.device)
    if session is not None:
        device = distributed.rank_device(device, session.launch.local_rank)
    schedule = make_schedule(config.schedule, config.T)
    sampler = sampler_cls(schedule, config.steps, sampler_options(config))
    from ..interrupts import deferred_interrupt

    with deferred_interrupt():  # Ctrl-C here is one line, not a parser error of the data's reader
        dataset = dataset_spec.open(DatasetOptions(data_dir=config.data_dir, params=dict(config.dataset_options)))
    context = ProviderContext(dataset=dataset, device=device, checkpoint=config.checkpoint,
                              options=dict(config.options), seed=config.seed)
    provider = provider_cls.from_context(context)
    encoders: list[Any] | None = None
    encoder_skips: list[str] = []
    if config.metrics:
        from ..encoders.selection import choose_encoders

        encoders, encoder_skips = choose_encoders(config.encoders, dataset_spec, dataset.image_shape,
                                                  config.encoder_weights)
    if session is None or session.is_main:  # only rank 0 writes
        records.prepare_results_dir(config.results_dir)
    meta = {"name": provider_cls.name, "description": provider_cls.description,
            "plugin": info.plugin, "distribution": info.distribution, "version": info.version,
            "options": dict(config.options), "speed_options": sorted(provider_cls.speed_options),
            "label": provider.label(),
            "checkpoint": str(config.checkpoint) if config.checkpoint else None}
    sampler_meta = {"plugin": sampler_info.plugin, "distribution": sampler_info.distribution,
                    "version": sampler_info.version}
    return PreparedRun(config, device, dataset, provider, meta, sampler, sampler_meta, encoders=encoders,
                       encoder_skips=encoder_skips)


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


def execute(config: RunConfig | PreparedRun, on_step: Callable[[int], None] | None = None,
            log: Callable[[str], None] | None = None) -> Path:
    """Run end to end and return the run directory, which appears complete or not at all.

    The samples are written first, so an error in the evaluation or the final writes keeps them
    (in ``.incomplete-<run id>``, named by the one-line error); Ctrl-C leaves nothing. Under
    torchrun each rank generates its share and rank 0 evaluates and writes the one run directory
    (:func:`execute_sharded`); every rank returns its path.
    """
    started = time.perf_counter()
    prepared = config if isinstance(config, PreparedRun) else prepare(config)
    session = distributed.current()
    if session is not None:
        return execute_sharded(prepared, session, started, on_step, log)
    config = prepared.config
    now = dt.datetime.now(dt.timezone.utc)
    torch.manual_seed(config.seed)
    t0 = time.perf_counter()
    images = generate_images(prepared, on_step)
    sampling_s = time.perf_counter() - t0
    ranks = [{"rank": 0, "local_rank": 0, **distributed.describe_rank(prepared.device), "samples": len(images),
              "sampling_s": round(sampling_s, 3)}]
    return write_run(prepared, images, now, sampling_s, started, log, {"world_size": 1, "ranks": ranks})


def execute_sharded(prepared: PreparedRun, session: distributed.Session, started: float,
                    on_step: Callable[[int], None] | None = None, log: Callable[[str], None] | None = None) -> Path:
    """This rank's batches, gathered on rank 0, which evaluates once and writes the run directory.

    ``timing.sampling_s`` is the generation's wall time across ranks (from the common start after
    ``prepare`` to the last rank's end); each rank's own time is in ``distributed.ranks``.
    """
    from ..diffusion.loop import generate

    cfg = prepared.config
    now = dt.datetime.now(dt.timezone.utc)
    torch.manual_seed(cfg.seed)
    batches = distributed.shard_batches(cfg.num_samples, cfg.batch_size, session.rank, session.world_size)
    counter: list[int] = []
    own_s = [0.0]
    t0 = time.perf_counter()

    def work() -> list[np.ndarray]:
        parts = []
        for indices in batches:
            session.check_abort()
            parts.append(generate(prepared.provider, prepared.sampler, cfg.num_samples, cfg.seed, cfg.batch_size,
                                  prepared.dataset.image_shape, prepared.device, on_step, indices=indices,
                                  counter=counter))
            session.heartbeat()
        own_s[0] = time.perf_counter() - t0
        return parts

    parts = session.phase("generate", work, abortable=True) or []
    sampling_s = time.perf_counter() - t0  # every rank is done: the wall time across ranks
    payload = {"rank": session.rank, "local_rank": session.launch.local_rank,
               **distributed.describe_rank(prepared.device), "batches": [b.start for b in batches],
               "images": np.concatenate(parts) if parts else None, "nfe": counter[0] if counter else None,
               "sampling_s": round(own_s[0], 3)}
    gathered = session.gather(payload)

    def evaluate_and_write() -> Path:
        assert gathered is not None
        images = assemble(gathered, cfg.num_samples, cfg.batch_size, prepared.dataset.image_shape)
        prepared.nfe = next((p["nfe"] for p in gathered if p["nfe"] is not None), None)
        ranks = [{k: v for k, v in p.items() if k not in ("images", "batches", "nfe")} | {"samples": _share_size(p, cfg)}
                 for p in gathered]
        block = {"world_size": session.world_size, "backend": distributed.BACKEND,
                 "sharding": "round-robin over the single-process batches", "ranks": ranks}

        def heartbeat_log(message: str) -> None:
            session.heartbeat()  # metrics can take minutes: the waiting ranks must not think rank 0 hung
            if log is not None:
                log(message)

        return write_run(prepared, images, now, sampling_s, started, heartbeat_log, block)

    session.phase("write", evaluate_and_write if session.is_main else None, publish=str)
    return Path(session.values[0])


def _share_size(part: dict[str, object], cfg: RunConfig) -> int:
    return sum(min(start + cfg.batch_size, cfg.num_samples) - start for start in part["batches"])  # type: ignore[union-attr]


def assemble(parts: list[dict[str, object]], num_samples: int, batch_size: int,
             image_shape: tuple[int, ...]) -> np.ndarray:
    """The ranks' batches put back in sample order; every index must come exactly once."""
    images = np.zeros(records.samples_shape(num_samples, image_shape), dtype=np.uint8)
    seen = np.zeros(num_samples, dtype=bool)
    for part in parts:
        offset = 0
        for start in part["batches"]:  # type: ignore[union-attr]
            stop = min(start + batch_size, num_samples)
            if seen[start:stop].any():
                raise RuntimeError(f"samples {start}..{stop - 1} came from two ranks")
            images[start:stop] = part["images"][offset:offset + stop - start]  # type: ignore[index]
            seen[start:stop] = True
            offset += stop - start
    if not seen.all():
        raise RuntimeError(f"{int((~seen).sum())} samples came from no rank")
    return images


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


def generate_images(prepared: PreparedRun, on_step: Callable[[int], None] | None = None) -> np.ndarray:
    from ..diffusion.loop import generate

    cfg = prepared.config
    counter: list[int] = []
    images = generate(prepared.provider, prepared.sampler, cfg.num_samples, cfg.seed, cfg.batch_size,
                      prepared.dataset.image_shape, prepared.device, on_step, counter=counter)
    prepared.nfe = counter[0] if counter else None
    return images


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
