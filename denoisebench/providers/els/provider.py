"""``els``: the equivariant local score (ELS) machine of Kamb & Ganguli (ICML 2025), no training.

The optimal denoiser under two constraints of a convolutional network: locality (pixel i's
estimate sees only the P x P patch of x_t around i) and translation equivariance (the same
function at every position). Its x0 estimate at pixel i is the posterior mean of the centre pixel
under the empirical distribution of *all* training patches at *all* positions
(:mod:`.machine`), a mosaic of training patches. P shrinks as the noise falls
(:mod:`.schedule`); the default schedule was calibrated against the shipped U-Net
(``benchmarks/calibrate_els.py``).

It is an ``EpsilonProvider`` directly, like ``empirical``: the machine is defined on x_t with its
sqrt(abar) scaling, and eps = (x_t - sqrt(abar) x0_hat) / sqrt(1 - abar) is exact (a restoration
provider would round-trip through [0, 1] units for nothing). Boundaries (:mod:`.patches`):
``zeros``, the boundary-aware machine of zero-padded networks (default; our U-Net pads with zeros),
or ``circular``, the fully equivariant machine on the torus. With ``zeros`` the whole-image size
2 max(H, W) - 1 is computed as what it equals, the empirical denoiser of the train split.

Colour (C = 3): patches are C x P x P and the estimate of a pixel's C values is one softmax over
them (:mod:`.patches`). The default schedule was calibrated on 28 x 28 digits; on other shapes
its whole-image entries (55) mean this image's whole-image size and its other sizes are capped by
it (:func:`default_schedule_for`); an explicit ``-o patch`` beyond the image is a one-line error.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from ...datasets.base import to_nhwc
from ...diffusion.forward import eps_from_x0
from ...diffusion.schedule import NoiseSchedule
from ...errors import DenoisebenchError
from ...interfaces.provider import EpsilonProvider, ProviderContext
from ..empirical import empirical_x0
from .machine import els_x0
from .patches import PADDINGS, PatchBank, build_banks, check_patch_size, max_patch_size
from .schedule import parse_patch_schedule

#: sigma:P, the size with the largest median r^2 against the shipped U-Net's x0 predictions on 8
#: noisy held-out mnist-5k digits at t = 5, 10, 25, 50, 100, 200, ..., 1000 (linear schedule), among
#: P = 1, 3, ..., 13 and 55 (the whole image), zeros padding, patches = 4096. Measured 2026-11-27 by
#: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/calibrate_els.py (defaults); table and r^2 in
#: results/reference/analytic/README.md.
DEFAULT_SCHEDULE = ("0.02645:1,0.04357:1,0.09227:1,0.1728:1,0.3388:3,0.7193:3,1.234:5,2.031:11,3.424:55,"
                    "6.135:55,11.94:55,25.53:55,60.27:55,157.4:55")
#: At most this many training patches per boundary class by default (a class holds up to 4,000 x 24 x
#: 24 = 2.3 M in mnist-5k's train split): the cost of a call is at most 784 x 4096 patch distances
#: per image. What the subsample costs in accuracy: results/reference/analytic/README.md.
DEFAULT_PATCHES = 4096


#: The size that stands for "the whole image" in :data:`DEFAULT_SCHEDULE` (2 x 28 - 1).
DEFAULT_WHOLE = 55


def default_schedule_for(height: int, width: int, padding: str) -> str:
    """:data:`DEFAULT_SCHEDULE` for an H x W image: its whole-image entries (55, for 28 x 28) become
    this image's largest size, the others are capped by it. Unchanged for 28 x 28 with zeros."""
    top = max_patch_size(height, width, padding)
    entries = []
    for item in DEFAULT_SCHEDULE.split(","):
        sigma, size = item.split(":")
        entries.append(f"{sigma}:{top if int(size) == DEFAULT_WHOLE else min(int(size), top)}")
    return ",".join(entries)


class ELSProvider(EpsilonProvider):
    name: ClassVar[str] = "els"
    description: ClassVar[str] = ("equivariant local score machine (Kamb & Ganguli 2025): mosaic of training "
                                  "patches, optimal under locality + equivariance (no training)")
    options: ClassVar[dict[str, str]] = {
        "patch": "odd patch size for every t, or SIGMA:P,... with sigma = sqrt((1 - abar) / abar) (each t uses "
                 "the entry nearest in log sigma); default: the calibrated schedule",
        "patches": f"at most this many training patches per boundary class, a fixed uniform sample, or all "
                   f"(default {DEFAULT_PATCHES})",
        "chunk": "training patches per chunk of the streaming softmax (default 2048)",
        "sample_seed": "seed of the patch sample (default 0)",
        "padding": "image boundary: zeros (boundary-aware, default) or circular (fully equivariant, torus)",
    }

    def __init__(self, context: ProviderContext) -> None:
        super().__init__(context)
        opts = context.options
        _, height, width = context.dataset.image_shape
        self.padding = opts.get("padding", "zeros")
        if self.padding not in PADDINGS:
            raise DenoisebenchError(f"option padding of provider 'els' must be one of {', '.join(PADDINGS)}, "
                                    f"got {self.padding!r}")
        given = opts.get("patch")
        self.schedule = parse_patch_schedule(given if given is not None
                                             else default_schedule_for(height, width, self.padding))
        self.patches = self._int_option("patches", DEFAULT_PATCHES, allow_all=True)
        self.chunk = self._int_option("chunk", 2048)
        self.sample_seed = self._int_option("sample_seed", 0, low=0)
        self.train = context.dataset.train_images  # N x H x W (grey) or N x H x W x C
        self.width = width
        self.whole = max_patch_size(height, width, "zeros") if self.padding == "zeros" else None
        for size in self.schedule.sizes():
            check_patch_size(size, height, width, self.padding)
        self._banks: dict[int, list[PatchBank]] = {}
        self._tensors: dict[tuple[int, torch.dtype], list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]] = {}

    def _int_option(self, key: str, default: int, low: int = 1, allow_all: bool = False) -> int | None:
        raw = str(self.context.options.get(key, default)).strip()
        if allow_all and raw.lower() == "all":
            return None
        try:
            value = int(raw)
        except ValueError:
            value = low - 1
        if value < low:
            also = " or all" if allow_all else ""
            raise DenoisebenchError(f"option {key} of provider 'els' must be an integer >= {low}{also}, got {raw!r}")
        return value

    def banks(self, size: int) -> list[PatchBank]:
        """The (cached) distinct training patches of ``size``, one bank per boundary class."""
        if size not in self._banks:
            self._banks[size] = build_banks(self.train, size, self.padding, self.patches, self.sample_seed)
        return self._banks[size]

    def _bank_tensors(self, size: int, dtype: torch.dtype) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        key = (size, dtype)
        if key not in self._tensors:
            device = self.context.device
            self._tensors[key] = [(torch.from_numpy(bank.pixels(self.width)).to(device), *bank.tensors(dtype, device))
                                  for bank in self.banks(size)]
        return self._tensors[key]

    def _whole_image_x0(self, x_t: torch.Tensor, abar: torch.Tensor) -> torch.Tensor:
        """P = 2 max(H, W) - 1 with zeros: every pixel is its own class and compares whole images,
        so the machine is the empirical denoiser (of at most ``patches`` train images)."""
        key = (self.whole, x_t.dtype)
        if key not in self._tensors:
            images = self.train
            if self.patches is not None and self.patches < len(images):
                rng = np.random.default_rng([self.sample_seed, 0, 0])
                images = images[np.sort(rng.choice(len(images), self.patches, replace=False))]
            chw = np.moveaxis(to_nhwc(images), 3, 1).reshape(len(images), -1)  # channel-major, as x_t.flatten(1)
            flat = torch.from_numpy(np.ascontiguousarray(chw)).to(self.context.device, x_t.dtype) / 127.5 - 1
            self._tensors[key] = [(flat, (flat ** 2).sum(dim=1), flat)]
        flat, sq, _ = self._tensors[key][0]
        return empirical_x0(x_t.flatten(1), abar, flat, sq, self.chunk).view_as(x_t)

    def sizes_for(self, abar: torch.Tensor) -> list[int]:
        """The patch size of each row's noise level."""
        sigma = ((1 - abar.double()) / abar.double()).sqrt()
        return [self.schedule.size_at(float(s)) for s in sigma]

    def predict_x0(self, x_t: torch.Tensor, t: torch.Tensor, schedule: NoiseSchedule) -> torch.Tensor:
        """The ELS estimate of x0 (rows grouped by patch size)."""
        abar = schedule.alpha_bars[t.cpu()]
        sizes = torch.tensor(self.sizes_for(abar))
        x0 = torch.empty_like(x_t)
        abar = abar.to(x_t.device)  # the schedule may live on the CPU while x_t is on a GPU
        for size in sizes.unique().tolist():
            rows = (sizes == size).nonzero().view(-1).to(x_t.device)
            sub = x_t[rows]
            if size == self.whole:
                x0[rows] = self._whole_image_x0(sub, abar[rows])
            else:
                x0[rows] = els_x0(sub, abar[rows], size, self.padding,
                                  self._bank_tensors(size, x_t.dtype), self.chunk)
        return x0

    def predict_eps(self, x_t: torch.Tensor, t: torch.Tensor, schedule: NoiseSchedule) -> torch.Tensor:
        return eps_from_x0(x_t, self.predict_x0(x_t, t, schedule), t, schedule)

    def info(self) -> dict[str, object]:
        banks = {str(size): {"classes": len(group), "instances": sum(b.instances for b in group),
                             "distinct": sum(b.distinct for b in group)}
                 for size, group in sorted(self._banks.items())}
        return {"patch_schedule": self.schedule.text(), "patches": self.patches if self.patches else "all",
                "sample_seed": self.sample_seed, "padding": self.padding, "banks": banks,
                "train_images": int(len(self.train))}
