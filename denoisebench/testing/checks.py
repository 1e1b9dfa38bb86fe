"""The contract checks that call the provider directly (everything but the end-to-end run)."""

from __future__ import annotations

import numpy as np
import torch

from ..diffusion.forward import q_sample
from ..diffusion.schedule import NoiseSchedule
from ..interfaces.provider import EpsilonProvider, ProviderContext
from ..interfaces.restoration import RestorationProvider
from .report import ContractReport, check_identity


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
    check_identity(cls, report, options=True)


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
    """Equal within tolerance where both are finite, and non-finite at the same places (the
    ``finite`` check reports NaN itself, so NaN in both is no extra failure here)."""
    both = torch.isfinite(a) & torch.isfinite(b)
    if not torch.isfinite(a).equal(torch.isfinite(b)):
        return False, float("inf")
    diff = (a.double() - b.double()).abs()[both]
    ok = bool((diff <= atol + rtol * b.double().abs()[both]).all())
    return ok, float(diff.max()) if diff.numel() else 0.0


def _denoised(provider: RestorationProvider, x_t: torch.Tensor, t: torch.Tensor, sched: NoiseSchedule
              ) -> torch.Tensor:
    """The author's own function, D(u, s_t), on the adapter's exact (tweedie) inputs for x_t at t."""
    ab = sched.alpha_bars[t.cpu()].to(x_t.dtype).to(x_t.device).view(-1, 1, 1, 1)
    u = (x_t / ab.sqrt() + 1) / 2
    s = (((1 - ab) / ab).sqrt() / 2).view(-1)
    with torch.inference_mode():
        return provider._call(u, s)


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
    """An image's output alone equals its output inside a larger batch of mixed t.

    For a ``RestorationProvider`` the author's ``denoise`` is compared, in [0, 1] units: the
    adapter's per-image arithmetic (``seed`` mode divides by each residual's std) would otherwise
    amplify float32 round-off of a batched convolution into a false failure.
    """
    restoration = isinstance(provider, RestorationProvider)
    what = "denoise()" if restoration else "predict_eps"
    t = _mixed_t(sched, batch)
    x_t, t_vec = _inputs(x0, t, sched, seed)
    x_more, t_more = _inputs(x0, list(reversed(t)), sched, seed + 1, offset=len(t))

    def output(x: torch.Tensor, tt: torch.Tensor) -> torch.Tensor | None:
        if not restoration:
            return _call_checked(provider, x, tt, sched, report)
        try:
            return _denoised(provider, x, tt, sched)  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - reported, like predict_eps's errors
            report.fail("shape-dtype", f"denoise raised {type(exc).__name__}: {exc}")
            return None

    full = output(torch.cat([x_t, x_more]), torch.cat([t_vec, t_more]))
    if full is None:
        report.fail("batch-independent", "no usable output to compare (see shape-dtype)")
        return
    for i in range(len(t)):
        alone = output(x_t[i:i + 1], t_vec[i:i + 1])
        if alone is None:
            report.fail("batch-independent", "no usable output for a batch of one (see shape-dtype)")
            return
        ok, worst = _close(full[i:i + 1], alone, atol, rtol)
        if not ok:
            report.fail("batch-independent", f"{what} of image {i} (t = {t[i]}) differs alone and inside a batch "
                        f"of {full.shape[0]} with mixed t (max difference {worst:.3g}, tolerance {atol:g} + "
                        f"{rtol:g} x |value|): use each image's own t or noise level and no statistics across "
                        "the batch")
            return
