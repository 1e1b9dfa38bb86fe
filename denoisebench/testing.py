"""The provider contract: checks any plugin author runs in their own test suite.

    from denoisebench.testing import check_provider

    def test_my_provider(tmp_path):
        check_provider("my-provider", tmp_dir=tmp_path)   # a registered name, or the class

or, with the fixture (import it into the test module or a ``conftest.py``)::

    from denoisebench.testing import provider_check  # noqa: F401

    def test_my_provider(provider_check):
        provider_check(MyProvider, options={"mode": "tweedie"})

:func:`check_provider` runs every check, then raises :class:`ProviderContractError` (an
``AssertionError``) naming each failed one. The checks:

* ``metadata``: a ``name``, a one-line ``description``, ``options`` as a dict of strings;
* ``build``: ``from_context`` returns an ``EpsilonProvider``;
* ``shape-dtype``: ``predict_eps`` returns a tensor of the input's shape, dtype and device;
* ``finite``: the output is finite for every t = 1..T (swept in a few batches of noised images);
* ``input-unchanged``: ``x_t`` and ``t`` are not modified in place;
* ``deterministic``: two instances built with the same seed give the same output, whatever the
  global random state (draw randomness from a generator seeded with ``context.seed``);
* ``batch-independent``: an image's output is the same alone and inside a larger batch of mixed t
  (``t`` holds one step per image);
* ``run``: a short ``denoisebench run`` (DDIM, a few steps, a few samples, no metrics) through
  :mod:`denoisebench.runs.runner` writes a complete run directory.

By default the data are a tiny synthetic dataset the kit builds itself (:func:`synthetic_dataset`),
so the checks take seconds for a cheap provider; pass ``dataset=`` for a real one.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .datasets.base import DatasetOptions, DatasetSpec, ImageDataset
from .diffusion.forward import q_sample
from .plugins.hookspecs import hookimpl
from .providers.base import EpsilonProvider, ProviderContext
from .diffusion.schedule import NoiseSchedule, make_schedule

CHECKS = ("metadata", "build", "shape-dtype", "finite", "input-unchanged", "deterministic",
          "batch-independent", "run")
KIT_PLUGIN = "denoisebench.testing"


class ProviderContractError(AssertionError):
    """A provider failed one or more contract checks; the message lists each one."""


@dataclass
class ContractReport:
    """What :func:`check_provider` found: the checks that passed, and one line per failure."""

    provider: str
    passed: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    run_dir: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.failures

    def fail(self, check: str, message: str) -> None:
        self.failures.setdefault(check, message)

    def summary(self) -> str:
        lines = [f"provider {self.provider!r} failed {len(self.failures)} of the denoisebench "
                 "provider contract checks:"]
        lines += [f"  - {check}: {message}" for check, message in self.failures.items()]
        return "\n".join(lines)

    def raise_for_failures(self) -> None:
        if self.failures:
            raise ProviderContractError(self.summary())


def synthetic_dataset(n: int = 64, size: int = 28, heldout: int = 16, seed: int = 0) -> ImageDataset:
    """``n`` smooth random blobs (uint8, ``size`` x ``size``), the last ``heldout`` held out."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    field_ = gaussian_filter(rng.standard_normal((n, size, size)), sigma=(0, 2.0, 2.0))
    lo = field_.min(axis=(1, 2), keepdims=True)
    hi = field_.max(axis=(1, 2), keepdims=True)
    images = np.round(255 * (field_ - lo) / (hi - lo)).astype(np.uint8)
    labels = np.arange(n, dtype=np.int64) % 10
    cut = n - heldout
    return ImageDataset(f"synthetic-{n}x{size}", images[:cut], labels[:cut], images[cut:], labels[cut:])


def check_provider(provider: str | type[EpsilonProvider], dataset: ImageDataset | str | None = None, *,
                   options: dict[str, str] | None = None, checkpoint: Path | None = None,
                   seed: int = 0, schedule: str = "linear", T: int = 1000,  # noqa: N803
                   t_values: list[int] | None = None, sweep_batch: int = 250, batch: int = 6,
                   atol: float = 1e-4, rtol: float = 1e-4, device: str = "cpu", run: bool = True,
                   run_steps: int = 4, run_samples: int = 6, run_batch: int = 4,
                   tmp_dir: Path | None = None, raise_on_failure: bool = True) -> ContractReport:
    """Check ``provider`` (a registered name or an ``EpsilonProvider`` subclass) against the contract.

    ``t_values`` defaults to every t in 1..T. ``atol``/``rtol`` bound the differences allowed by
    the determinism and batch-independence checks. The ``run`` check writes into ``tmp_dir`` (a
    fresh temporary directory when None). Raises :class:`ProviderContractError` listing every
    failed check unless ``raise_on_failure`` is False; returns the report.
    """
    cls = _resolve_class(provider)
    report = ContractReport(getattr(cls, "name", repr(cls)))
    data = _resolve_dataset(dataset)
    sched = make_schedule(schedule, T)
    dev = torch.device(device)
    context = ProviderContext(dataset=data, device=dev, checkpoint=checkpoint, options=dict(options or {}),
                              seed=seed)
    with torch.random.fork_rng(devices=[]):
        _check_metadata(cls, report)
        instance = _build(cls, context, report)
        if instance is not None:
            x0 = data.train_tensor(dev)
            _check_shape_and_inputs(instance, x0, sched, seed, batch, report)
            _check_finite(instance, x0, sched, seed, t_values or list(range(1, sched.T + 1)),
                          sweep_batch, report)
            _check_deterministic(cls, instance, context, x0, sched, seed, batch, atol, rtol, report)
            _check_batch_independent(instance, x0, sched, seed, batch, atol, rtol, report)
            if run:
                _check_run(cls, data, dataset, context, schedule, T, run_steps, run_samples, run_batch,
                           device, tmp_dir, report)
    report.passed = [c for c in CHECKS if c not in report.failures and (run or c != "run")
                     and (instance is not None or c == "metadata")]
    if raise_on_failure:
        report.raise_for_failures()
    return report


def _resolve_class(provider: str | type[EpsilonProvider]) -> type[EpsilonProvider]:
    if isinstance(provider, str):
        from .plugins.manager import get_registry

        return get_registry().provider(provider)[0]
    if not (isinstance(provider, type) and issubclass(provider, EpsilonProvider)):
        raise TypeError(f"check_provider takes a provider name or an EpsilonProvider subclass, got {provider!r}")
    return provider


def _resolve_dataset(dataset: ImageDataset | str | None) -> ImageDataset:
    if dataset is None:
        return synthetic_dataset()
    if isinstance(dataset, str):
        from .plugins.manager import get_registry

        return get_registry().dataset(dataset).load(DatasetOptions())
    return dataset


def _inputs(x0: torch.Tensor, t: list[int], sched: NoiseSchedule, seed: int, offset: int = 0
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """x_t for steps ``t``: train images (cycled) noised with seeded Gaussian noise."""
    idx = torch.arange(offset, offset + len(t)) % x0.shape[0]
    g = torch.Generator().manual_seed(seed * 1_000_003 + offset)
    noise = torch.randn((len(t), *x0.shape[1:]), generator=g).to(x0.device)
    t_vec = torch.tensor(t, dtype=torch.long, device=x0.device)
    return q_sample(x0[idx], t_vec, sched, noise), t_vec


def _mixed_t(sched: NoiseSchedule, count: int) -> list[int]:
    """``count`` steps spread over 1..T, both ends included."""
    return [int(v) for v in np.unique(np.round(np.geomspace(1, sched.T, count)))] if count > 1 else [sched.T]


def _predict(provider: EpsilonProvider, x_t: torch.Tensor, t: torch.Tensor, sched: NoiseSchedule) -> torch.Tensor:
    with torch.inference_mode():
        return provider.predict_eps(x_t, t, sched)


def _check_metadata(cls: type[EpsilonProvider], report: ContractReport) -> None:
    name, desc = getattr(cls, "name", None), getattr(cls, "description", None)
    if not isinstance(name, str) or not name.strip() or any(c.isspace() for c in name):
        report.fail("metadata", f"name must be a non-empty string without spaces, got {name!r}")
    if not isinstance(desc, str) or not desc.strip() or "\n" in desc.strip():
        report.fail("metadata", f"description must be one non-empty line, got {desc!r}")
    opts = getattr(cls, "options", None)
    if not isinstance(opts, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in opts.items()):
        report.fail("metadata", f"options must be a dict of option name -> one-line help, got {opts!r}")


def _build(cls: type[EpsilonProvider], context: ProviderContext, report: ContractReport) -> EpsilonProvider | None:
    try:
        instance = cls.from_context(context)
    except Exception as exc:
        report.fail("build", f"from_context raised {type(exc).__name__}: {exc}")
        return None
    if not isinstance(instance, EpsilonProvider):
        report.fail("build", f"from_context returned {type(instance).__name__}, not an EpsilonProvider")
        return None
    return instance


def _call_checked(provider: EpsilonProvider, x_t: torch.Tensor, t: torch.Tensor, sched: NoiseSchedule,
                  report: ContractReport) -> torch.Tensor | None:
    """predict_eps on copies of the inputs, with the shape, dtype and input checks.

    Returns None when the output is unusable. The provider gets copies, so a provider that
    modifies its input fails only ``input-unchanged``.
    """
    x_in, t_in = x_t.clone(), t.clone()
    try:
        eps = _predict(provider, x_in, t_in, sched)
    except Exception as exc:
        report.fail("shape-dtype", f"predict_eps raised {type(exc).__name__}: {exc}")
        return None
    if not (torch.equal(x_in, x_t) and torch.equal(t_in, t)):
        report.fail("input-unchanged", "predict_eps modified its input x_t or t in place: work on a copy")
    if not isinstance(eps, torch.Tensor):
        report.fail("shape-dtype", f"predict_eps returned {type(eps).__name__}, not a torch.Tensor")
        return None
    if eps.shape != x_t.shape or eps.dtype != x_t.dtype or eps.device != x_t.device:
        report.fail("shape-dtype", f"predict_eps returned {tuple(eps.shape)} {eps.dtype} on {eps.device} for "
                    f"x_t {tuple(x_t.shape)} {x_t.dtype} on {x_t.device}: keep shape, dtype and device")
        return None
    return eps


def _check_shape_and_inputs(provider: EpsilonProvider, x0: torch.Tensor, sched: NoiseSchedule, seed: int,
                            batch: int, report: ContractReport) -> None:
    for t in (_mixed_t(sched, batch), [sched.T] * batch, [1]):
        x_t, t_vec = _inputs(x0, t, sched, seed)
        _call_checked(provider, x_t, t_vec, sched, report)


def _check_finite(provider: EpsilonProvider, x0: torch.Tensor, sched: NoiseSchedule, seed: int,
                  t_values: list[int], sweep_batch: int, report: ContractReport) -> None:
    bad: list[int] = []
    for start in range(0, len(t_values), sweep_batch):
        chunk = t_values[start:start + sweep_batch]
        x_t, t_vec = _inputs(x0, chunk, sched, seed, offset=start)
        eps = _call_checked(provider, x_t, t_vec, sched, report)
        if eps is None:
            report.fail("finite", "no usable output to check (see shape-dtype)")
            return
        finite = torch.isfinite(eps).flatten(1).all(dim=1).cpu()
        bad += [t for t, ok in zip(chunk, finite.tolist()) if not ok]
    if bad:
        report.fail("finite", f"non-finite values (NaN or inf) at {len(bad)} of {len(t_values)} steps, "
                    f"e.g. t = {', '.join(map(str, bad[:5]))}")


def _close(a: torch.Tensor, b: torch.Tensor, atol: float, rtol: float) -> tuple[bool, float]:
    diff = (a.double() - b.double()).abs()
    ok = bool((diff <= atol + rtol * b.double().abs()).all()) and torch.isfinite(a).equal(torch.isfinite(b))
    return ok, float(diff.nan_to_num(0.0).max()) if diff.numel() else 0.0


def _check_deterministic(cls: type[EpsilonProvider], first: EpsilonProvider, context: ProviderContext,
                         x0: torch.Tensor, sched: NoiseSchedule, seed: int, batch: int, atol: float,
                         rtol: float, report: ContractReport) -> None:
    x_t, t_vec = _inputs(x0, _mixed_t(sched, batch), sched, seed)
    torch.manual_seed(seed + 1)
    a = _call_checked(first, x_t, t_vec, sched, report)
    torch.manual_seed(seed + 2)  # a different global random state must not matter
    try:
        second = cls.from_context(context)
    except Exception as exc:
        report.fail("deterministic", f"building a second instance raised {type(exc).__name__}: {exc}")
        return
    b = _call_checked(second, x_t, t_vec, sched, report)
    again = _call_checked(first, x_t, t_vec, sched, report)
    if a is None or b is None or again is None:
        report.fail("deterministic", "no usable output to compare (see shape-dtype)")
        return
    for label, other in (("a second instance built with the same seed", b), ("a repeated call", again)):
        ok, worst = _close(other, a, atol, rtol)
        if not ok:
            report.fail("deterministic", f"{label} gave a different output (max difference {worst:.3g}): "
                        "draw randomness from a generator seeded with context.seed")
            return


def _check_batch_independent(provider: EpsilonProvider, x0: torch.Tensor, sched: NoiseSchedule, seed: int,
                             batch: int, atol: float, rtol: float, report: ContractReport) -> None:
    t = _mixed_t(sched, batch)
    x_t, t_vec = _inputs(x0, t, sched, seed)
    x_more, t_more = _inputs(x0, list(reversed(t)), sched, seed + 1, offset=len(t))
    full = _call_checked(provider, torch.cat([x_t, x_more]), torch.cat([t_vec, t_more]), sched, report)
    if full is None:
        report.fail("batch-independent", "no usable output to compare (see shape-dtype)")
        return
    for i in range(len(t)):
        alone = _call_checked(provider, x_t[i:i + 1], t_vec[i:i + 1], sched, report)
        if alone is None:
            report.fail("batch-independent", "no usable output for a batch of one (see shape-dtype)")
            return
        ok, worst = _close(full[i:i + 1], alone, atol, rtol)
        if not ok:
            report.fail("batch-independent", f"image {i} (t = {t[i]}) differs alone and inside a batch of "
                        f"{full.shape[0]} with mixed t (max difference {worst:.3g}): use each image's own t "
                        "and no statistics across the batch")
            return


@contextmanager
def _registered(cls: type[EpsilonProvider], data: ImageDataset, dataset_arg: ImageDataset | str | None
                ) -> Iterator[tuple[str, str]]:
    """Make the provider and the dataset runnable by name for the runner; undo afterwards."""
    from .plugins.manager import get_registry, register_plugin, unregister_plugin

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
               device: str, tmp_dir: Path | None, report: ContractReport) -> None:
    from .runs.records import RUN_FILE, load_samples
    from .runs.runner import RunConfig, execute

    with tempfile.TemporaryDirectory(prefix="denoisebench-testing-") as tmp:
        results = Path(tmp_dir) if tmp_dir is not None else Path(tmp)
        try:
            with _registered(cls, data, dataset_arg) as (name, dataset_id):
                config = RunConfig(provider=name, dataset=dataset_id, sampler="ddim", steps=steps,
                                   num_samples=samples, batch_size=batch, seed=context.seed, device=device,
                                   results_dir=results, schedule=schedule, T=T, checkpoint=context.checkpoint,
                                   options=dict(context.options), metrics=False)
                run_dir = execute(config)
            record = json.loads((run_dir / RUN_FILE).read_text())
            images = load_samples(run_dir)
        except Exception as exc:
            report.fail("run", f"denoisebench run failed: {type(exc).__name__}: {exc}")
            return
        expected = (samples, *data.image_shape[1:])
        if images.shape != expected or images.dtype != np.uint8:
            report.fail("run", f"samples.npz holds {images.dtype} {images.shape}, expected uint8 {expected}")
        elif record.get("provider", {}).get("name") != cls.name:
            report.fail("run", f"run.json names provider {record.get('provider')!r}, expected {cls.name!r}")
        if tmp_dir is not None:
            report.run_dir = run_dir


try:  # the fixture, for suites that use pytest (a test-only dependency)
    import pytest
except ImportError:  # pragma: no cover
    pytest = None  # type: ignore[assignment]

if pytest is not None:
    @pytest.fixture
    def provider_check(tmp_path: Path) -> Callable[..., ContractReport]:
        """``provider_check(provider, **kwargs)``: :func:`check_provider` writing into ``tmp_path``."""

        def check(provider: str | type[EpsilonProvider], **kwargs: Any) -> ContractReport:
            kwargs.setdefault("tmp_dir", tmp_path)
            return check_provider(provider, **kwargs)

        return check
