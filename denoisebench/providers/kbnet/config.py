"""The architecture and training-draw settings of a ``KBNet_s`` (:class:`KBNetConfig`).

The network itself is :mod:`.arch`; a config stored in a checkpoint rebuilds it exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import DenoisebenchError

SIGMA_DISTS = ("uniform", "loguniform", "lognormal", "schedule")
PRECONDS = ("none", "edm")


@dataclass
class KBNetConfig:
    """Architecture of a ``KBNet_s`` plus the noise range its training draws from.

    The defaults are the small MNIST restoration model (``denoisebench train --provider kbnet``):
    width 16, 8 kernel bases (32, the official number, costs about twice as much on CPU, where
    KBA dominates) and no blocks at full resolution (28 x 28 inputs are padded to 32; blocks run at
    16, 8 and 4 pixels). :func:`official_gray_config` is the official grayscale model.
    ``sigma_min``/``sigma_max`` are the per-image noise std range of training in [0, 1] units and
    ``sigma_dist`` how it is drawn: ``uniform``, ``loguniform``, ``lognormal`` (log s normal with
    mean ``sigma_mean`` and std ``sigma_std``, clamped to the range, as in EDM) or ``schedule``
    (s = s_t of the training schedule at a uniform t: the noise levels a sampler visits); they do
    not change the network. The default, ``schedule``, trains at exactly the noise levels the
    sampler meets (s_t = sqrt((1 - abar_t) / abar_t) / 2: 0.005 at t = 1 to 79 at t = 1000 for
    the linear schedule); the default clamp range [0.002, 80] contains them all, so ``tweedie``
    never leaves it.
    ``precond`` wraps the network without adding parameters: ``none`` is the official KBNet_s
    (global residual, D(y) = y + f(y)); ``edm`` is Karras et al.'s preconditioning about mid-grey,
    D(y) = 0.5 + c_skip (y - 0.5) + c_out f(c_in (y - 0.5)), with the noise std that c_* need
    estimated from y itself (:func:`estimate_noise_std`), so the network stays blind.
    ``loss`` (``l2`` or ``l1``) and ``loss_weight`` (``x0`` or ``edm``) choose the training loss
    (``KBNetRecipe.training_loss`` in :mod:`.training`): only ``l2`` trains the posterior mean
    that Tweedie's formula needs; ``l1``, the usual restoration loss, trains the posterior median.
    """

    img_channel: int = 1
    width: int = 16
    middle_blk_num: int = 2
    enc_blk_nums: tuple[int, ...] = (0, 1, 2)
    dec_blk_nums: tuple[int, ...] = (1, 1, 0)
    ffn_scale: int = 2
    lightweight: bool = False
    nset: int = 8
    kernel: int = 3
    gc: int = 4
    sigma_min: float = 0.002
    sigma_max: float = 80.0
    sigma_dist: str = "schedule"
    sigma_mean: float = -1.9
    sigma_std: float = 1.2
    loss: str = "l2"
    loss_weight: str = "x0"
    precond: str = "edm"

    def __post_init__(self) -> None:
        self.enc_blk_nums = tuple(int(n) for n in self.enc_blk_nums)
        self.dec_blk_nums = tuple(int(n) for n in self.dec_blk_nums)

    def validate(self) -> None:
        """Raise a one-line ``DenoisebenchError`` if the network cannot be built."""
        problem = self._problem()
        if problem:
            raise DenoisebenchError(f"bad kbnet model config: {problem}")

    def _problem(self) -> str | None:
        if len(self.enc_blk_nums) != len(self.dec_blk_nums):
            return "enc_blk_nums and dec_blk_nums need one entry per level each"
        if min((*self.enc_blk_nums, *self.dec_blk_nums, self.middle_blk_num), default=0) < 0:
            return "block counts must be non-negative"
        if self.img_channel < 1 or self.nset < 1 or self.gc < 1 or self.ffn_scale < 1:
            return "img_channel, nset, gc and ffn_scale must be positive"
        for level in range(len(self.enc_blk_nums) + 1):
            c = self.width * 2 ** level
            if self.width < 4 or c % 4 or c % self.gc or c % min(c, 32):
                return (f"width {self.width} gives {c} channels at level {level}: use a multiple of 4 "
                        f"and of gc={self.gc} that doubles into multiples of 32 (4, 8, 16, 32, 64, ...)")
        if self.kernel < 1 or self.kernel % 2 == 0:
            return f"kernel must be odd, got {self.kernel}"
        if self.sigma_dist not in SIGMA_DISTS:
            return f"sigma_dist must be one of {', '.join(SIGMA_DISTS)}, got {self.sigma_dist!r}"
        if self.sigma_std <= 0:
            return f"sigma_std must be positive, got {self.sigma_std}"
        if self.precond not in PRECONDS:
            return f"precond must be one of {', '.join(PRECONDS)}, got {self.precond!r}"
        if self.loss not in ("l1", "l2"):
            return f"loss must be 'l1' or 'l2', got {self.loss!r}"
        if self.loss_weight not in ("edm", "x0"):
            return f"loss_weight must be 'edm' or 'x0', got {self.loss_weight!r}"
        if not 0 <= self.sigma_min <= self.sigma_max or (self.sigma_dist != "uniform" and self.sigma_min <= 0):
            return (f"need 0 <= sigma_min <= sigma_max (sigma_min > 0 unless uniform), got "
                    f"{self.sigma_min}, {self.sigma_max}")
        return None

    @property
    def pad_multiple(self) -> int:
        """Input sides are padded to a multiple of this (one halving per level)."""
        return 2 ** len(self.enc_blk_nums)


def official_gray_config() -> KBNetConfig:
    """The official grayscale Gaussian-denoising ``KBNet_s`` (``gau_gray_15/25/50``).

    ``Denoising/Options/gau_gray_*.yml`` set ``KBNet_s(img_channel=1)`` with the class defaults:
    width 64, 12 middle blocks, encoders (2, 2, 4, 8), decoders (2, 2, 2, 2), ffn_scale 2, 32 bases;
    each model is trained at one noise std, sigma/255.
    """
    return KBNetConfig(img_channel=1, width=64, middle_blk_num=12, enc_blk_nums=(2, 2, 4, 8),
                       dec_blk_nums=(2, 2, 2, 2), nset=32, sigma_min=0.0, sigma_max=50 / 255,
                       sigma_dist="uniform", precond="none")
