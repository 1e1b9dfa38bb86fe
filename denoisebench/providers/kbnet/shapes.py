"""Reading a ``KBNet_s`` architecture off a state dict, for weights files that store no config.

The official checkpoints (zhangyi-3/KBNet ``gau_gray_15/25/50.pth``) hold only tensors; the block
counts, width, basis count and group size are all visible in their keys and shapes. The file
reading and strict loading are the generic ones of :mod:`denoisebench.training.checkpoint`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

import torch

from .config import KBNetConfig, official_gray_config


def _count_blocks(sd: Mapping[str, torch.Tensor], stage: str) -> list[int]:
    counts: dict[int, int] = {}
    for key in sd:
        m = re.match(rf"{stage}\.(\d+)\.(\d+)\.", key)
        if m:
            level, block = int(m.group(1)), int(m.group(2))
            counts[level] = max(counts.get(level, 0), block + 1)
    return [counts.get(i, 0) for i in range(max(counts, default=-1) + 1)]


def infer_config(sd: Mapping[str, torch.Tensor], base: KBNetConfig | None = None) -> KBNetConfig:
    """Read a KBNet_s architecture off a state dict's keys and shapes.

    Fields that cannot be read (the training noise range, the parameter-free ``precond``) come from
    ``base`` (default: the official gray config). Where the file does not look like a KBNet_s at
    all, ``base`` itself is returned and the strict load then names the first bad key.
    """
    base = base or official_gray_config()
    try:
        intro = sd["intro.weight"]
        width, img_channel = int(intro.shape[0]), int(intro.shape[1])
        levels = sum(1 for k in sd if re.fullmatch(r"downs\.\d+\.weight", k))
        enc = _count_blocks(sd, "encoders")
        dec = _count_blocks(sd, "decoders")
        enc += [0] * (levels - len(enc))
        dec += [0] * (levels - len(dec))
        middle = max((int(k.split(".")[1]) + 1 for k in sd if re.match(r"middle_blks\.\d+\.", k)), default=0)
        block = next(k[: -len("w")] for k in sd if re.fullmatch(r"(encoders|middle_blks|decoders)\.[\d.]+\.w", k))
        nset, c = int(sd[block + "b"].shape[1]), int(sd[block + "b"].shape[2])
        # w holds c * gc * k^2 numbers per basis; the kernel size k is taken from ``base`` (3).
        per_basis = int(sd[block + "w"].shape[2])
        if per_basis % (c * base.kernel ** 2):
            return base
        config = dataclasses.replace(
            base, img_channel=img_channel, width=width, middle_blk_num=middle,
            enc_blk_nums=tuple(enc), dec_blk_nums=tuple(dec),
            ffn_scale=int(sd[block + "conv4.weight"].shape[0]) // c,
            lightweight=int(sd[block + "conv11.1.weight"].shape[-1]) == 3, nset=nset,
            gc=per_basis // (c * base.kernel ** 2))
    except (KeyError, StopIteration, IndexError, ZeroDivisionError, ValueError):
        return base
    return config if config._problem() is None else base


def describe_config(config: KBNetConfig) -> str:
    """A short architecture label for messages."""
    return (f"KBNet_s(img_channel={config.img_channel}, width={config.width}, middle={config.middle_blk_num}, "
            f"enc={list(config.enc_blk_nums)}, dec={list(config.dec_blk_nums)})")
