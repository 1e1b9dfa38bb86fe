"""``empirical``: the exact optimal (MMSE) denoiser of the training set.

For data distributed as the empirical measure of the train split {x_j}, the posterior mean is

    x0_hat(x_t) = sum_j w_j x_j,  w = softmax_j( -||x_t - sqrt(abar_t) x_j||^2 / (2 (1 - abar_t)) ).

It needs no training and reproduces training images: the memorisation reference. The softmax is
computed in log space with a running (online) log-sum-exp over chunks of the train split, so
memory is bounded by batch x chunk.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from ..diffusion.forward import eps_from_x0
from ..diffusion.schedule import NoiseSchedule
from ..interfaces.provider import EpsilonProvider, ProviderContext


def empirical_x0(x_t: torch.Tensor, abar: torch.Tensor, train: torch.Tensor,
                 train_sq: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """Posterior mean of x_0 under the empirical prior ``train`` (N x D); ``x_t`` is B x D.

    ``abar`` holds each row's alpha-bar (B,); ``train_sq`` is ||x_j||^2 (N,).
    """
    a = abar.to(x_t.dtype).view(-1, 1)
    scale = 1.0 / (1.0 - a)
    m = torch.full((x_t.shape[0], 1), -torch.inf, dtype=x_t.dtype, device=x_t.device)
    denom = torch.zeros_like(m)
    num = torch.zeros_like(x_t)
    for start in range(0, train.shape[0], chunk):
        xj = train[start:start + chunk]
        # log-weight up to a per-row constant: (sqrt(a) <x_t, x_j> - a ||x_j||^2 / 2) / (1 - a)
        logits = (a.sqrt() * (x_t @ xj.T) - 0.5 * a * train_sq[start:start + chunk]) * scale
        m_new = torch.maximum(m, logits.max(dim=1, keepdim=True).values)
        correction = torch.exp(m - m_new)
        w = torch.exp(logits - m_new)
        denom = denom * correction + w.sum(dim=1, keepdim=True)
        num = num * correction + w @ xj
        m = m_new
    return num / denom


class EmpiricalProvider(EpsilonProvider):
    name: ClassVar[str] = "empirical"
    description: ClassVar[str] = "exact optimal denoiser of the train split (no training; memorises)"
    options: ClassVar[dict[str, str]] = {"chunk": "train images per chunk of the softmax (default 4096)"}

    def __init__(self, context: ProviderContext) -> None:
        super().__init__(context)
        self.chunk = int(context.options.get("chunk", 4096))
        self.train = context.dataset.train_tensor(context.device).flatten(1)
        self.train_sq = (self.train ** 2).sum(dim=1)

    def predict_eps(self, x_t: torch.Tensor, t: torch.Tensor, schedule: NoiseSchedule) -> torch.Tensor:
        abar = schedule.alpha_bars[t.cpu()].to(x_t.device)
        x0 = empirical_x0(x_t.flatten(1), abar, self.train, self.train_sq, self.chunk).view_as(x_t)
        return eps_from_x0(x_t, x0, t, schedule)

    def info(self) -> dict[str, object]:
        return {"train_images": int(self.train.shape[0])}
