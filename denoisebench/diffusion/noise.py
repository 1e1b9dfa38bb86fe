"""Per-sample noise streams: sample i's noise depends only on (seed, i), never on the batch."""

from __future__ import annotations

import numpy as np
import torch

#: Step noise is drawn from each sample's stream in blocks of this many steps.
BLOCK = 64


def sample_seed(seed: int, index: int) -> int:
    """A 63-bit seed for sample ``index`` of a run seeded with ``seed`` (numpy SeedSequence)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1, np.uint64)[0] >> np.uint64(1))


class SampleNoise:
    """The Gaussian draws of a batch of samples: x_T first, then one draw per stochastic step."""

    def __init__(self, seed: int, indices: range | list[int], shape: tuple[int, ...],
                 device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> None:
        self.shape = tuple(shape)
        self.device = torch.device(device)
        self.dtype = dtype
        self.generators = [torch.Generator().manual_seed(sample_seed(seed, i)) for i in indices]
        self._block: torch.Tensor | None = None
        self._block_start = 0

    def initial(self) -> torch.Tensor:
        """x_T for every sample in the batch (B x C x H x W)."""
        return self._draw(1)[:, 0]

    def step(self, k: int) -> torch.Tensor:
        """The noise of stochastic step ``k`` (0-based, consecutive calls from 0)."""
        if self._block is None or not (self._block_start <= k < self._block_start + self._block.shape[1]):
            self._block_start = k
            self._block = self._draw(BLOCK)
        return self._block[:, k - self._block_start]

    def _draw(self, count: int) -> torch.Tensor:
        z = torch.stack([torch.randn((count, *self.shape), generator=g) for g in self.generators])
        return z.to(device=self.device, dtype=self.dtype)
