"""Padding images to the sizes a network needs, and cropping its output back."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def padded_size(size: int, multiple: int, minimum: int = 0) -> int:
    """The smallest size >= max(size, minimum) that is a multiple of ``multiple``."""
    return multiple * math.ceil(max(size, minimum) / multiple)


def pad_to_multiple(x: torch.Tensor, multiple: int, minimum: int = 0) -> tuple[torch.Tensor, tuple[int, int, int, int]]:
    """Pad the last two dims of ``x`` (B x C x H x W) to multiples of ``multiple`` (and >= ``minimum``).

    The padding is split evenly between the two sides (the extra pixel, if any, at the bottom/right)
    and uses reflection, which keeps the image statistics near the border; replication is used
    where reflection is impossible (a pad at least as large as the side). Returns the padded tensor
    and ``(top, bottom, left, right)`` for :func:`crop`.
    """
    h, w = x.shape[-2:]
    ph, pw = padded_size(h, multiple, minimum) - h, padded_size(w, multiple, minimum) - w
    top, left = ph // 2, pw // 2
    pads = (top, ph - top, left, pw - left)
    if ph == 0 and pw == 0:
        return x, pads
    mode = "reflect" if max(pads[0], pads[1]) < h and max(pads[2], pads[3]) < w else "replicate"
    return F.pad(x, (left, pw - left, top, ph - top), mode=mode), pads


def crop(x: torch.Tensor, pads: tuple[int, int, int, int]) -> torch.Tensor:
    """Undo :func:`pad_to_multiple`."""
    top, bottom, left, right = pads
    h, w = x.shape[-2:]
    return x[..., top:h - bottom, left:w - right]
