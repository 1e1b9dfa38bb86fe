"""The contract's end-to-end check: a short ``denoisebench run`` through the real runner."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..datasets.base import DatasetSpec, ImageDataset
from ..plugins.hookspecs import hookimpl
from ..interfaces.provider import EpsilonProvider, ProviderContext
from .report import ContractReport

KIT_PLUGIN = "denoisebench.testing"


@contextmanager
def _registered(cls: type[EpsilonProvider], data: ImageDataset, dataset_arg: ImageDataset | str | None
                ) -> Iterator[tuple[str, str]]:
    """Make the provider and the dataset runnable by name for the runner; undo afterwards."""
    from ..plugins import get_registry, register_plugin, unregister_plugin

    registry = get_registry()
    known = registry.providers.get(cls.name)
    if known is not None and known[0] is not cls:
        raise ValueError(f"another provider named {cls.name!r} is already registered by plugin "
                         f"{known[1].plugin!r}: rename one, or check that one by name")
    dataset_id = dataset_arg if isinstance(dataset_arg, str) else f"testkit-{data.id}"

    class _KitPlugin:
        @hookimpl
        def register_providers(self, register: Callable[[type], None]) -> None:
            if known is None:
                register(cls)

        @hookimpl
        def register_datasets(self, register: Callable[[object], None]) -> None:
            if not isinstance(dataset_arg, str):
                register(DatasetSpec(dataset_id, "denoisebench.testing's dataset", lambda _opts: data))

    register_plugin(_KitPlugin(), KIT_PLUGIN)
    try:
        yield cls.name, dataset_id
    finally:
        unregister_plugin(KIT_PLUGIN)


def _check_run(cls: type[EpsilonProvider], data: ImageDataset, dataset_arg: ImageDataset | str | None,
               context: ProviderContext, schedule: str, T: int, steps: int, samples: int, batch: int,  # noqa: N803
               device: str, tmp_dir: Path | None, report: ContractReport, sampler: str = "ddim",
               sampler_options: dict[str, str] | None = None) -> None:
    from ..runs.records import RUN_FILE, load_samples, samples_shape
    from ..runs.runner import RunConfig, execute

    with tempfile.TemporaryDirectory(prefix="denoisebench-testing-") as tmp:
        results = Path(tmp_dir) if tmp_dir is not None else Path(tmp)
        try:
            with _registered(cls, data, dataset_arg) as (name, dataset_id):
                config = RunConfig(provider=name, dataset=dataset_id, sampler=sampler, steps=steps,
                                   sampler_options={str(k): str(v) for k, v in (sampler_options or {}).items()},
                                   num_samples=samples, batch_size=batch, seed=context.seed, device=device,
                                   results_dir=results, schedule=schedule, T=T, checkpoint=context.checkpoint,
                                   options=dict(context.options), metrics=False)
                run_dir = execute(config)
            record = json.loads((run_dir / RUN_FILE).read_text())
            images = load_samples(run_dir)
        except Exception as exc:
            report.fail("run", f"denoisebench run failed: {type(exc).__name__}: {exc}")
            return
        expected = samples_shape(samples, data.image_shape)
        if images.shape != expected or images.dtype != np.uint8:
            report.fail("run", f"samples.npz holds {images.dtype} {images.shape}, expected uint8 {expected}")
        elif record.get("provider", {}).get("name") != cls.name:
            report.fail("run", f"run.json names provider {record.get('provider')!r}, expected {cls.name!r}")
        if tmp_dir is not None:
            report.run_dir = run_dir
