"""Known-correct providers the plugin tests build broken variants of."""

from __future__ import annotations

from typing import ClassVar

import torch

import denoisebench


class GaussianOracle(denoisebench.EpsilonProvider):
    """The exact E[eps | x_t] for data x_0 ~ N(0, I): x_t ~ N(0, I), so eps_hat = sqrt(1 - abar_t) x_t."""

    name: ClassVar[str] = "gauss-oracle"
    description: ClassVar[str] = "posterior-mean noise for standard-normal data"

    def predict_eps(self, x_t: torch.Tensor, t: torch.Tensor, schedule: denoisebench.NoiseSchedule) -> torch.Tensor:
        ab = schedule.alpha_bars[t.cpu()].to(x_t.dtype).view(-1, 1, 1, 1)
        return (1 - ab).sqrt() * x_t
