"""The contract kit: no false failures for NaN output, and seed mode's round-off is not blamed on the author."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F  # noqa: N812

from denoisebench import EpsilonProvider, RestorationProvider
from denoisebench.testing import check_provider


class AllNaN(EpsilonProvider):
    name, description = "all-nan", "returns NaN everywhere"

    def predict_eps(self, x_t, t, schedule):
        return torch.full_like(x_t, float("nan"))


def test_nan_output_fails_only_the_finite_check() -> None:
    report = check_provider(AllNaN, run=False, raise_on_failure=False, t_values=[1, 500, 1000])
    assert set(report.failures) == {"finite"}


class BatchedBlur(RestorationProvider):
    """A batched 5x5 blur: its float32 round-off differs slightly with the batch size (as the
    docs' gaussblur does), which seed mode's per-image rescaling used to blow up."""

    name, description = "batched-blur", "a batched 5x5 box blur"

    def denoise(self, y, noise_std):
        b, c, h, w = y.shape
        k = torch.full((b * c, 1, 5, 5), 1 / 25, dtype=y.dtype, device=y.device)
        return F.conv2d(F.pad(y.reshape(1, b * c, h, w), (2, 2, 2, 2), mode="reflect"), k,
                        groups=b * c).reshape(b, c, h, w)


def test_seed_mode_checks_the_denoiser_not_the_adapter_rescaling(tmp_path: Path) -> None:
    report = check_provider(BatchedBlur, options={"mode": "seed"}, run=False, raise_on_failure=False)
    assert "batch-independent" not in report.failures, report.failures


def test_the_docs_gaussblur_passes_in_seed_mode(tmp_path: Path) -> None:
    import types

    guide = (Path(__file__).resolve().parents[1] / "docs" / "plugins.md").read_text()
    code = guide.split("### A complete example", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    module = types.ModuleType("denoisebench_gaussian")
    exec(compile(code, "docs/plugins.md", "exec"), module.__dict__)  # noqa: S102
    report = check_provider(module.GaussianBlur, options={"mode": "seed"}, run=False, raise_on_failure=False)
    assert report.ok, report.failures
