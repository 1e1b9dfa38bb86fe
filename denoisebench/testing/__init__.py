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
* ``run``: a short ``denoisebench run`` (``run_sampler``, DDIM by default, a few steps, a few
  samples, no metrics) through :mod:`denoisebench.runs.runner` writes a complete run directory.

The other axes have their own contracts: :func:`check_sampler` (:mod:`.samplers`),
:func:`check_metric` (:mod:`.metrics`) and :func:`check_dataset` (:mod:`.datasets`).

By default the data are a tiny synthetic dataset the kit builds itself (:func:`synthetic_dataset`),
so the checks take seconds for a cheap provider; pass ``dataset=`` for a real one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..datasets.base import DatasetOptions, ImageDataset
from ..diffusion.schedule import make_schedule
from ..interfaces.provider import EpsilonProvider, ProviderContext
from .checks import (_build, _check_batch_independent, _check_deterministic, _check_finite, _check_metadata,
                     _check_shape_and_inputs)
from .report import (CHECKS, ContractError, ContractReport, DatasetContractError, MetricContractError,
                     ProviderContractError, SamplerContractError)
from .run_check import KIT_PLUGIN, _check_run

__all__ = ["CHECKS", "ContractError", "ContractReport", "DATASET_CHECKS", "DatasetContractError", "KIT_PLUGIN",
           "METRIC_CHECKS", "MetricContractError", "ProviderContractError", "SAMPLER_CHECKS", "SamplerContractError",
           "check_dataset", "check_metric", "check_provider", "check_sampler", "provider_check", "synthetic_dataset"]


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
                   run_steps: int = 4, run_samples: int = 6, run_batch: int = 4, run_sampler: str = "ddim",
                   run_sampler_options: dict[str, str] | None = None, tmp_dir: Path | None = None, raise_on_failure: bool = True) -> ContractReport:
    """Check ``provider`` (a registered name or an ``EpsilonProvider`` subclass) against the contract.

    ``t_values`` defaults to every t in 1..T. ``atol``/``rtol`` bound the differences allowed by
    the determinism and batch-independence checks. The ``run`` check samples with ``run_sampler``
    (any registered sampler, with ``run_sampler_options``) and writes into ``tmp_dir`` (a fresh
    temporary directory when None). Raises :class:`ProviderContractError` listing every
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
                           device, tmp_dir, report, run_sampler, run_sampler_options)
    report.passed = [c for c in CHECKS if c not in report.failures and (run or c != "run")
                     and (instance is not None or c == "metadata")]
    if raise_on_failure:
        report.raise_for_failures()
    return report


def _resolve_class(provider: str | type[EpsilonProvider]) -> type[EpsilonProvider]:
    if isinstance(provider, str):
        from ..plugins import get_registry

        return get_registry().provider(provider)[0]
    if not (isinstance(provider, type) and issubclass(provider, EpsilonProvider)):
        raise TypeError(f"check_provider takes a provider name or an EpsilonProvider subclass, got {provider!r}")
    return provider


def _resolve_dataset(dataset: ImageDataset | str | None) -> ImageDataset:
    if dataset is None:
        return synthetic_dataset()
    if isinstance(dataset, str):
        from ..plugins import get_registry

        return get_registry().dataset(dataset).load(DatasetOptions())
    return dataset


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


from .datasets import DATASET_CHECKS, check_dataset  # noqa: E402
from .metrics import METRIC_CHECKS, check_metric  # noqa: E402
from .samplers import SAMPLER_CHECKS, check_sampler  # noqa: E402
