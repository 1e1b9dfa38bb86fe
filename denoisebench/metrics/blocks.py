"""Pairwise work in bounded memory: row x column blocks and running k-smallest merges.

Distance-like matrices between N and M vectors (N, M up to 60,000) are never held whole: the
metrics walk them block by block (:func:`spans`) and keep, per row, only the few smallest values
seen so far (:func:`merge_smallest`). Block sizes are chosen so one block stays a few tens of MB.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

#: Default block shape (rows x columns); a float64 block of this shape is 16 MiB.
ROW_BLOCK = 1024
COLUMN_BLOCK = 2048


def spans(n: int, size: int) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of consecutive chunks of ``size`` (the last may be shorter) covering ``0..n``."""
    if size < 1:
        raise ValueError(f"chunk size must be at least 1, got {size}")
    for start in range(0, n, size):
        yield start, min(start + size, n)


def merge_smallest(best: torch.Tensor | None, block: torch.Tensor, m: int) -> torch.Tensor:
    """The ``m`` smallest values per row of ``best`` and ``block`` together (fewer while fewer are seen)."""
    values = torch.topk(block, min(m, block.shape[1]), dim=1, largest=False).values
    if best is None:
        return values
    values = torch.cat([best, values], dim=1)
    return torch.topk(values, min(m, values.shape[1]), dim=1, largest=False).values


def merge_smallest_indexed(best: tuple[torch.Tensor, torch.Tensor] | None, block: torch.Tensor, m: int,
                           offset: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Like :func:`merge_smallest`, keeping column indices too: ``block``'s column j is ``offset + j``.

    ``best`` and the result are ``(values, indices)``.
    """
    top = torch.topk(block, min(m, block.shape[1]), dim=1, largest=False)
    if best is None:
        return top.values, top.indices + offset
    values = torch.cat([best[0], top.values], dim=1)
    index = torch.cat([best[1], top.indices + offset], dim=1)
    keep = torch.topk(values, min(m, values.shape[1]), dim=1, largest=False)
    return keep.values, torch.gather(index, 1, keep.indices)
