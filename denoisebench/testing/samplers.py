"""The sampler contract: ``check_sampler("my-sampler")`` in a plugin's own test suite.

The checks (each a line of the report when it fails):

* ``metadata``: ``name`` without spaces, a one-line ``description``, ``options`` a dict of strings,
  ``evals_per_step`` a positive int, ``default_spacing`` one of the spacings;
* ``build``: ``Sampler(schedule, steps, options)`` works and sets ``timesteps`` (``steps`` distinct
  integers in 1..T, descending) and ``prev_timesteps`` (the next t, 0 after the last);
* ``shape-dtype``: every ``step`` returns a ``StepOutput`` whose ``prev_sample`` and
  ``pred_original_sample`` keep x's shape, dtype and device (float32 and float64), and calls
  ``model`` only at integer steps in 1..T;
* ``nfe``: the network evaluations counted in a chain equal the sampler's ``nfe``;
* ``deterministic``: two instances on the same noise streams give the same samples, whatever the
  global random state (randomness only from ``noise.step(i)``);
* ``batch-independent``: a sample is the same alone and inside a batch;
* ``gaussian``: on Gaussian data, where the exact eps is known, the samples have the data's mean and
  variance at t = 0 after ``moment_steps`` steps, and a deterministic sampler (``stochastic`` False; it must then run with
  ``noise=None``) converges to the exact probability-flow ODE solution as the steps double;
* ``providers``: it drives both kinds of provider, an epsilon provider and a restoration provider
  (through the core's adapter), to the same finite samples;
* ``run``: a short ``denoisebench run`` with it writes a complete run directory.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from ..diffusion.noise import SampleNoise
from ..diffusion.samplers.base import Sampler, StepOutput
from ..diffusion.samplers.spacing import SPACINGS
from ..diffusion.schedule import NoiseSchedule, make_schedule
from ..plugins.hookspecs import hookimpl
from ..providers.base import EpsilonProvider, ProviderContext
from .gaussian import MU, S2, GaussianDenoiser, GaussianEps, exact_ode, geometric_schedule
from .report import ContractReport, check_identity

SAMPLER_CHECKS = ("metadata", "build", "shape-dtype", "nfe", "deterministic", "batch-independent", "gaussian",
                  "providers", "run")
KIT_SAMPLER_PLUGIN = "denoisebench.testing.sampler"


class _Failed(Exception):
    """A chain could not go on; the report already says why."""


class _Model:
    """``model(x, t)`` over a provider: counted, and refusing t that is not an integer step in 1..T."""

    def __init__(self, provider: EpsilonProvider, schedule: NoiseSchedule, report: ContractReport) -> None:
        self.provider, self.schedule, self.report, self.calls = provider, schedule, report, 0

    def __call__(self, x: torch.Tensor, t: int) -> torch.Tensor:
        if isinstance(t, torch.Tensor) and t.numel() == 1:
            t = t.item()
        if isinstance(t, bool) or not float(t).is_integer() or not 1 <= int(t) <= self.schedule.T:
            self.report.fail("shape-dtype", f"called model(x, t) with t = {t!r}: t must be an integer step in "
                             f"1..{self.schedule.T} (use self.timesteps)")
            raise _Failed
        self.calls += 1
        t_vec = torch.full((x.shape[0],), int(t), dtype=torch.long, device=x.device)
        return self.provider.predict_eps(x, t_vec, self.schedule).to(x.dtype)


def _chain(sampler: Sampler, model: _Model, noise: SampleNoise | None, x: torch.Tensor,
           report: ContractReport, check: str, steps: int | None = None) -> torch.Tensor:
    """Run ``steps`` steps (default: the whole chain) from x, checking every StepOutput."""
    state: dict[str, Any] = {}
    for i in range(len(sampler.timesteps) if steps is None else steps):
        try:
            out = sampler.step(model, x, i, state, noise)
        except _Failed:
            raise
        except Exception as exc:  # noqa: BLE001 - reported
            report.fail(check, f"step {i} raised {type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}")
            raise _Failed from None
        if not isinstance(out, StepOutput):
            report.fail("shape-dtype", f"step {i} returned {type(out).__name__}, not a "
                        "denoisebench.StepOutput(prev_sample, pred_original_sample)")
            raise _Failed
        for field in ("prev_sample", "pred_original_sample"):
            value = getattr(out, field)
            if not isinstance(value, torch.Tensor) or value.shape != x.shape or value.dtype != x.dtype \
                    or value.device != x.device:
                got = (f"{tuple(value.shape)} {value.dtype}" if isinstance(value, torch.Tensor)
                       else type(value).__name__)
                report.fail("shape-dtype", f"step {i} returned {field} {got} for x {tuple(x.shape)} {x.dtype}: "
                            "keep x's shape, dtype and device")
                raise _Failed
        x = out.prev_sample
    return x


def _context() -> ProviderContext:
    from . import synthetic_dataset

    return ProviderContext(dataset=synthetic_dataset(n=24, size=8, heldout=8))


def _build(cls: type[Sampler], schedule: NoiseSchedule, steps: int, options: dict[str, str],
           report: ContractReport) -> Sampler | None:
    try:
        sampler = cls(schedule, steps, dict(options))
    except Exception as exc:  # noqa: BLE001 - reported
        report.fail("build", f"{cls.__name__}(schedule, {steps}, {options!r}) raised {type(exc).__name__}: {exc}")
        return None
    ts = list(getattr(sampler, "timesteps", []))
    if (len(ts) != steps or not all(isinstance(t, int) and 1 <= t <= schedule.T for t in ts)
            or any(a <= b for a, b in zip(ts, ts[1:]))):
        report.fail("build", f"timesteps must be {steps} distinct integers in 1..{schedule.T}, descending; got "
                    f"{ts[:6]}{'...' if len(ts) > 6 else ''}")
        return None
    if list(sampler.prev_timesteps) != ts[1:] + [0]:
        report.fail("build", "prev_timesteps must be timesteps[1:] + [0]: do not reassign it without the other")
        return None
    return sampler


def _check_metadata(cls: type[Sampler], report: ContractReport) -> None:
    check_identity(cls, report, options=True)
    eps = getattr(cls, "evals_per_step", None)
    if not isinstance(eps, int) or isinstance(eps, bool) or eps < 1:
        report.fail("metadata", f"evals_per_step must be a positive int, got {eps!r}")
    if getattr(cls, "default_spacing", None) not in SPACINGS:
        report.fail("metadata", f"default_spacing must be one of {', '.join(SPACINGS)}, got "
                    f"{getattr(cls, 'default_spacing', None)!r}")


def _samples(cls: type[Sampler], schedule: NoiseSchedule, steps: int, options: dict[str, str],
             provider: EpsilonProvider, seed: int, indices: range, shape: tuple[int, ...], dtype: torch.dtype,
             report: ContractReport, check: str) -> tuple[torch.Tensor, int]:
    """A whole chain for samples ``indices`` from their own noise streams; (x_0, model calls)."""
    sampler = cls(schedule, steps, dict(options))
    noise = SampleNoise(seed, indices, shape, dtype=dtype)
    model = _Model(provider, schedule, report)
    with torch.inference_mode():
        return _chain(sampler, model, noise, noise.initial(), report, check), model.calls


def _moments_and_ode(cls: type[Sampler], schedule: NoiseSchedule, options: dict[str, str],
                     provider: EpsilonProvider, seed: int, steps: tuple[int, int], moment_steps: int,
                     report: ContractReport, mean_tol: float, var_rtol: float) -> None:
    """The ``gaussian`` check (float64), on a schedule geometric in sigma, visited with 'linspace' (uniform
    steps in log sigma), where a solver's error falls at its order."""
    shape = (1, 8, 8)
    schedule = geometric_schedule()
    options = {"spacing": "linspace", **options}
    # ancestral samplers are biased in the variance at O(1 / steps) (beta~ low, beta high: 30% at 25
    # steps), so the moments are read after many steps
    x0, _ = _samples(cls, schedule, moment_steps, options, provider, seed, range(64), shape, torch.float64, report,
                     "gaussian")
    mean, var = float(x0.mean()), float(x0.var())
    if not (abs(mean - MU) <= mean_tol and abs(var / S2 - 1) <= var_rtol):
        report.fail("gaussian", f"on data N({MU}, {S2}) with the exact eps, {moment_steps} steps gave samples of mean "
                    f"{mean:.4f} and variance {var:.4f} (allowed: mean within {mean_tol}, variance within "
                    f"{100 * var_rtol:g}%)")
        return
    first = cls(schedule, steps[0], dict(options))
    if first.stochastic:
        return
    errors = []
    for count in steps:  # the error at the last grid sigma, before the final jump to sigma = 0
        sampler = cls(schedule, count, dict(options))
        start = torch.randn((4, *shape), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        model = _Model(provider, schedule, report)
        try:
            with torch.inference_mode():
                x = _chain(sampler, model, None, start, report, "gaussian", steps=count - 1)
        except _Failed:
            if "gaussian" in report.failures:
                report.failures["gaussian"] += (" (stochastic is False, so the kit ran the chain with noise=None: a "
                                                "sampler that draws noise.step(i) must say stochastic = True)")
            raise
        ab_first = float(schedule.alpha_bars[sampler.timesteps[0]])
        t_end = sampler.timesteps[-1]
        ab_end = float(schedule.alpha_bars[t_end])
        sigma = lambda ab: ((1 - ab) / ab) ** 0.5  # noqa: E731
        exact = exact_ode(start / ab_first ** 0.5, sigma(ab_first), sigma(ab_end))
        errors.append(float((x / ab_end ** 0.5 - exact).abs().max()))
    if not errors[1] <= 0.75 * errors[0] and errors[1] > 1e-9:  # order 1 halves it when the steps double
        report.fail("gaussian", f"a deterministic sampler must converge to the exact probability-flow ODE "
                    f"solution: max error {errors[0]:.3g} at {steps[0]} steps, {errors[1]:.3g} at {steps[1]} "
                    "(at least order 1 expected)")


def _check_providers(cls: type[Sampler], schedule: NoiseSchedule, steps: int, options: dict[str, str],
                     seed: int, report: ContractReport) -> None:
    outs = {}
    context = _context()
    for provider in (GaussianEps(context), GaussianDenoiser(context)):
        x0, _ = _samples(cls, schedule, steps, options, provider, seed, range(4), (1, 8, 8), torch.float32, report,
                         "providers")
        if not bool(torch.isfinite(x0).all()):
            report.fail("providers", f"non-finite samples with the {provider.name} provider")
            return
        outs[provider.name] = x0
    a, b = outs.values()
    worst = float((a - b).abs().max())
    if worst > 1e-2:
        report.fail("providers", f"an epsilon provider and a restoration provider with the same exact answer gave "
                    f"samples {worst:.3g} apart: call model(x, t) only with the loop's x_t scale and integer t")


def _check_run(cls: type[Sampler], options: dict[str, str], steps: int, seed: int, tmp_dir: Path | None,
               report: ContractReport) -> None:
    from ..runs.records import load_samples
    from ..runs.runner import RunConfig, execute
    from . import synthetic_dataset

    data = synthetic_dataset(n=24, size=8, heldout=8)
    with tempfile.TemporaryDirectory(prefix="denoisebench-testing-") as tmp:
        results = Path(tmp_dir) if tmp_dir is not None else Path(tmp)
        try:
            with _registered(cls, data) as dataset_id:
                run_dir = execute(RunConfig(provider="wiener", dataset=dataset_id, sampler=cls.name, steps=steps,
                                            num_samples=4, batch_size=4, seed=seed, results_dir=results,
                                            sampler_options=dict(options), metrics=False))
            images = load_samples(run_dir)
        except Exception as exc:  # noqa: BLE001 - reported
            report.fail("run", f"denoisebench run failed: {type(exc).__name__}: {exc}")
            return
        if images.shape != (4, 8, 8):
            report.fail("run", f"samples.npz holds {images.shape}, expected (4, 8, 8)")
        if tmp_dir is not None:
            report.run_dir = run_dir


@contextmanager
def _registered(cls: type[Sampler], data: Any) -> Iterator[str]:
    from ..datasets.base import DatasetSpec
    from ..plugins import get_registry, register_plugin, unregister_plugin

    known = get_registry().samplers.get(cls.name)
    if known is not None and known[0] is not cls:
        raise ValueError(f"another sampler named {cls.name!r} is already registered by plugin {known[1].plugin!r}")
    dataset_id = f"testkit-sampler-{data.id}"

    class _KitPlugin:
        @hookimpl
        def register_samplers(self, register: Callable[[type], None]) -> None:
            if known is None:
                register(cls)

        @hookimpl
        def register_datasets(self, register: Callable[[object], None]) -> None:
            register(DatasetSpec(dataset_id, "denoisebench.testing's dataset", lambda _opts: data))

    register_plugin(_KitPlugin(), KIT_SAMPLER_PLUGIN)
    try:
        yield dataset_id
    finally:
        unregister_plugin(KIT_SAMPLER_PLUGIN)


def check_sampler(sampler: str | type[Sampler], *, options: dict[str, str] | None = None, steps: int = 6,
                  schedule: str = "linear", T: int = 1000, seed: int = 0, batch: int = 5,  # noqa: N803
                  atol: float = 1e-6, gaussian_steps: tuple[int, int] = (25, 50), moment_steps: int = 200,
                  mean_tol: float = 0.05,
                  var_rtol: float = 0.15, run: bool = True, tmp_dir: Path | None = None,
                  raise_on_failure: bool = True) -> ContractReport:
    """Check ``sampler`` (a registered name or a ``Sampler`` subclass) against the contract.

    ``gaussian_steps`` are the two step counts of the ODE convergence check, ``moment_steps`` the
    chain length at which the samples' mean and variance must be within ``mean_tol`` and ``var_rtol``.

    Raises :class:`SamplerContractError` listing every failed check unless ``raise_on_failure`` is
    False; returns the report.
    """
    cls = _resolve(sampler)
    options = {str(k): str(v) for k, v in (options or {}).items()}
    report = ContractReport(getattr(cls, "name", repr(cls)), kind="sampler")
    sched = make_schedule(schedule, T)
    skipped: set[str] = set() if run else {"run"}
    with torch.random.fork_rng(devices=[]):
        _check_metadata(cls, report)
        built = _build(cls, sched, steps, options, report)
        if built is None:
            report.finish(("metadata", "build"))
            return _done(report, raise_on_failure)
        provider = GaussianEps(_context())
        _run_checks(cls, sched, steps, options, provider, seed, batch, atol, report)
        for check, fn in (("gaussian", lambda: _moments_and_ode(cls, sched, options, provider, seed, gaussian_steps,
                                                                 moment_steps, report, mean_tol, var_rtol)),
                          ("providers", lambda: _check_providers(cls, sched, steps, options, seed, report))):
            try:
                fn()
            except _Failed:
                report.fail(check, "no usable samples (see the failures above)")
        if run:
            _check_run(cls, options, steps, seed, tmp_dir, report)
    report.finish(SAMPLER_CHECKS, skipped)
    return _done(report, raise_on_failure)


def _run_checks(cls: type[Sampler], sched: NoiseSchedule, steps: int, options: dict[str, str],
                provider: EpsilonProvider, seed: int, batch: int, atol: float, report: ContractReport) -> None:
    """shape-dtype, nfe, deterministic and batch-independent."""
    shape = (1, 8, 8)
    try:
        for dtype in (torch.float32, torch.float64):
            x, calls = _samples(cls, sched, steps, options, provider, seed, range(batch), shape, dtype, report,
                                "shape-dtype")
        declared = cls(sched, steps, dict(options)).nfe
        if calls != declared:
            report.fail("nfe", f"a chain called the model {calls} times but nfe says {declared}: set evals_per_step "
                        "(or override nfe)")
        torch.manual_seed(seed + 1)
        a, _ = _samples(cls, sched, steps, options, provider, seed, range(batch), shape, torch.float64, report,
                        "deterministic")
        torch.manual_seed(seed + 2)
        b, _ = _samples(cls, sched, steps, options, provider, seed, range(batch), shape, torch.float64, report,
                        "deterministic")
        worst = float((a - b).abs().max())
        if not worst <= atol:
            report.fail("deterministic", f"two chains on the same noise streams differ by {worst:.3g}: draw "
                        "randomness only from noise.step(i), never the global RNG")
        for k in range(batch):
            alone, _ = _samples(cls, sched, steps, options, provider, seed, range(k, k + 1), shape, torch.float64,
                                report, "batch-independent")
            worst = float((alone - a[k:k + 1]).abs().max())
            if not worst <= atol:
                report.fail("batch-independent", f"sample {k} differs alone and inside a batch of {batch} (max "
                            f"difference {worst:.3g}): use each sample's own noise stream, no batch statistics")
                break
    except _Failed:
        for check in ("nfe", "deterministic", "batch-independent"):
            if check not in report.failures:
                report.fail(check, "no usable samples (see shape-dtype)")


def _done(report: ContractReport, raise_on_failure: bool) -> ContractReport:
    if raise_on_failure:
        report.raise_for_failures()
    return report


def _resolve(sampler: str | type[Sampler]) -> type[Sampler]:
    if isinstance(sampler, str):
        from ..plugins import get_registry

        return get_registry().sampler(sampler)[0]
    if not (isinstance(sampler, type) and issubclass(sampler, Sampler)):
        raise TypeError(f"check_sampler takes a sampler name or a Sampler subclass, got {sampler!r}")
    return sampler
