"""The probe's noise: image i of a split at step t gets noise that depends only on (seed, split, i, t).

So every provider (and every ``--images``/``--levels`` choice that keeps the image and the step)
sees the same noisy inputs. The streams are tagged so they differ from sampling's per-sample noise.
"""

from __future__ import annotations

import numpy as np
import torch

from .images import SPLIT_CODES

_TAG = 0x70726F6265  # "probe"


def probe_seed(seed: int, split: str, index: int, t: int) -> int:
    """A 63-bit generator seed for (seed, split, image index, step t) via numpy's SeedSequence."""
    state = np.random.SeedSequence([seed, _TAG, SPLIT_CODES[split], int(index), int(t)]).generate_state(1, np.uint64)
    return int(state[0] >> np.uint64(1))


def probe_noise(seed: int, split: str, indices: np.ndarray | list[int], t: int,
                shape: tuple[int, ...]) -> torch.Tensor:
    """Standard normal noise, len(indices) x shape, float32 on the CPU."""
    out = torch.empty((len(indices), *shape), dtype=torch.float32)
    for row, i in enumerate(indices):
        out[row] = torch.randn(shape, generator=torch.Generator().manual_seed(probe_seed(seed, split, int(i), t)))
    return out
