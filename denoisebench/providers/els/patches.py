"""Training patches for the ELS machine: extraction, boundary classes, exact de-duplication, subsampling.

A patch of odd size P = 2d + 1 is taken around every pixel of every training image. Two boundary
conventions (Kamb & Ganguli's code has both):

* ``circular``: wrap-around padding; every position of every image is one patch of a single
  pool, invariant under translations of the torus (the fully equivariant ELS machine).
* ``zeros``: the boundary-aware ("boundary-broken") machine for zero-padded networks. A patch
  that overlaps the border is compared only over its in-image pixels, and only with training
  patches whose overlap with the border is the same. Per axis a coordinate c is its own class when
  c < d or c >= n - d and "interior" otherwise; pixel i pools the training patches at all positions
  of its (row class, column class). Interior pixels pool all interior positions (equivariance);
  when P >= 2n - 1 every pixel is its own class and sees the whole image, which makes the machine
  the exact empirical (memorising) denoiser. Implemented by padding training images with -1 and
  the query with -sqrt(abar), so the padded entries of q - sqrt(abar) phi are exactly 0.

Colour: a patch is C x P x P (every channel of the P x P neighbourhood), flattened channel-major
as ``F.unfold`` orders it, and the estimate at pixel i is the weighted mean of the C centre
values: the channels of a pixel share one softmax, as they share one patch.

Identical patches of a class (MNIST has hundreds of thousands of all-background ones) are merged
exactly into one row with its count; the softmax then adds log(count) to that row's logit, which
gives the same weights as keeping every copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from numpy.lib.stride_tricks import sliding_window_view

from ...errors import DenoisebenchError

PADDINGS = ("zeros", "circular")
#: Refuse banks whose uint8 patch matrices would together exceed this many bytes.
MAX_BANK_BYTES = 2 * 10**9


@dataclass(frozen=True)
class PatchBank:
    """Distinct training patches of one size and one boundary class, with their multiplicities.

    ``rows`` x ``cols`` are the pixel positions whose queries this bank answers (and where its
    patches were taken)."""

    size: int
    patches: np.ndarray  # K x (C P^2) uint8, distinct rows, channel-major
    counts: np.ndarray  # K int64, how many sampled patch instances each row stands for
    instances: int  # patch instances the bank was built from (all of the class, or the sample)
    population: int  # patch instances of the class in the train split
    rows: np.ndarray
    cols: np.ndarray
    channels: int = 1

    @property
    def distinct(self) -> int:
        return int(len(self.counts))

    def pixels(self, width: int) -> np.ndarray:
        """Flat (row-major) indices of the pixels this bank answers."""
        return (self.rows[:, None] * width + self.cols[None, :]).ravel()

    def tensors(self, dtype: torch.dtype, device: torch.device | str = "cpu"
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """(keys, values) for the streaming softmax: keys K x (C P^2 + 2) = [phi, |phi|^2, log count],
        values K x (C + 1) = [centre pixel of phi in each channel, 1]."""
        phi = torch.from_numpy(self.patches).to(device=device, dtype=dtype) / 127.5 - 1.0
        log_count = torch.from_numpy(np.log(self.counts.astype(np.float64))).to(device=device, dtype=dtype)
        keys = torch.cat([phi, (phi * phi).sum(dim=1, keepdim=True), log_count[:, None]], dim=1)
        area = self.size * self.size
        centres = phi[:, [c * area + area // 2 for c in range(self.channels)]]
        values = torch.cat([centres, torch.ones_like(centres[:, :1])], dim=1)
        return keys.contiguous(), values.contiguous()


def max_patch_size(height: int, width: int, padding: str) -> int:
    """circular: the largest odd size that fits the torus once; zeros: 2 max(H, W) - 1 (the whole
    image seen from every pixel; larger sizes add only padding)."""
    if padding == "circular":
        m = min(height, width)
        return m if m % 2 else m - 1
    return 2 * max(height, width) - 1


def check_patch_size(size: int, height: int, width: int, padding: str = "zeros") -> None:
    """A one-line error unless ``size`` is odd and at most :func:`max_patch_size`."""
    if size < 1 or size % 2 == 0:
        raise DenoisebenchError(f"patch size must be an odd integer >= 1, got {size}")
    top = max_patch_size(height, width, padding)
    if size > top:
        raise DenoisebenchError(f"patch size {size} exceeds the {height} x {width} image with {padding} padding: "
                                f"use an odd size <= {top}")


def boundary_classes(n: int, d: int) -> list[np.ndarray]:
    """Coordinates 0..n-1 grouped by how a half-width-d patch overlaps the border: each of the
    first and last d coordinates alone, the rest (the interior) together."""
    groups = [np.array([c]) for c in range(n) if c < d or c >= n - d]
    interior = np.array([c for c in range(n) if d <= c < n - d], dtype=np.int64)
    return groups + ([interior] if len(interior) else [])


def _bank_from_positions(windows: np.ndarray, size: int, rows: np.ndarray, cols: np.ndarray,
                         sample: int | None, rng: np.random.Generator) -> PatchBank:
    """``windows``: N x H x W x C x P x P (a view); the patches at ``rows`` x ``cols``."""
    n, channels = windows.shape[0], windows.shape[3]
    width = channels * size * size
    population = n * len(rows) * len(cols)
    take = population if sample is None or sample >= population else int(sample)
    if take == population:
        flat = np.ascontiguousarray(windows[:, rows][:, :, cols]).reshape(population, width)
    else:
        idx = np.sort(rng.choice(population, size=take, replace=False))
        ni, ri, ci = np.unravel_index(idx, (n, len(rows), len(cols)))
        flat = np.ascontiguousarray(windows[ni, rows[ri], cols[ci]]).reshape(take, width)
    keyed = flat.view(np.dtype((np.void, width))).ravel()
    _, first, counts = np.unique(keyed, return_index=True, return_counts=True)
    return PatchBank(size, flat[first], counts.astype(np.int64), take, population, rows, cols, channels)


def build_banks(images: np.ndarray, size: int, padding: str = "zeros", sample: int | None = None,
                seed: int = 0) -> list[PatchBank]:
    """One bank per boundary class (``circular``: a single class) of the patches of ``size`` in
    ``images`` (uint8 N x H x W, or N x H x W x C for colour), distinct rows with counts.

    ``sample``: draw at most that many patch instances per class, uniformly without replacement
    (seeded by ``seed`` and the class), instead of all; counts then refer to the sample, an
    unbiased stand-in for the class in both sums of the softmax.
    """
    chw = np.moveaxis(images[..., None] if images.ndim == 3 else images, 3, 1)  # N x C x H x W, a view
    n, channels, h, w = chw.shape
    check_patch_size(size, h, w, padding)
    d = size // 2
    pad = ((0, 0), (0, 0), (d, d), (d, d))
    if padding == "circular":
        row_groups, col_groups = [np.arange(h)], [np.arange(w)]
        padded = np.pad(chw, pad, mode="wrap")
    else:
        row_groups, col_groups = boundary_classes(h, d), boundary_classes(w, d)
        padded = np.pad(chw, pad, mode="constant", constant_values=0)
    need = sum(min(n * len(r) * len(c), sample or n * h * w) for r in row_groups for c in col_groups)
    if need * channels * size * size > MAX_BANK_BYTES:
        raise DenoisebenchError(f"the patch banks of size {size} would hold {need:,} patches of "
                                f"{channels * size * size} values, too many for memory: pass a smaller -o patches=M")
    # N x C x H x W x P x P -> N x H x W x C x P x P, still a view
    windows = np.moveaxis(sliding_window_view(padded, (size, size), axis=(2, 3)), 1, 3)
    banks = []
    for i, rows in enumerate(row_groups):
        for j, cols in enumerate(col_groups):
            rng = np.random.default_rng([seed, i, j])
            banks.append(_bank_from_positions(windows, size, rows, cols, sample, rng))
    return banks


def query_patches(x: torch.Tensor, size: int, padding: str, abar: torch.Tensor) -> torch.Tensor:
    """The patch of ``size`` around every pixel of ``x`` (B x C x H x W) as B x (H W) x (C P^2),
    pixels in row-major order, each patch channel-major. ``zeros``: padded with -sqrt(abar) per image, the noiseless image of the
    training patches' padding (-1), so padded entries drop out of ||q - sqrt(abar) phi||^2."""
    d = size // 2
    if d == 0:
        padded = x
    elif padding == "circular":
        padded = F.pad(x, (d, d, d, d), mode="circular")
    else:
        c, h, w = x.shape[1:]
        fill = -abar.to(dtype=x.dtype, device=x.device).sqrt().view(-1, 1, 1, 1)
        padded = fill.expand(x.shape[0], c, h + 2 * d, w + 2 * d).clone()
        padded[:, :, d:d + h, d:d + w] = x
    b = x.shape[0]
    return F.unfold(padded, size).transpose(1, 2).reshape(b, -1, x.shape[1] * size * size)
