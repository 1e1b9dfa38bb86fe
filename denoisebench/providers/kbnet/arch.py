"""A re-implementation of KBNet's small variant, ``KBNet_s`` (Zhang et al., 2023).

The module and parameter names and shapes are those of the official ``KBNet_s``
(zhangyi-3/KBNet, ``basicsr/models/archs/kbnet_s_arch.py``), so its checkpoints load with strict
key matching. The network is a NAFNet-style U-Net of ``KBBlockS`` blocks: ``intro`` (3x3 conv),
``encoders[i]`` + ``downs[i]`` (2x2 stride-2 conv, channels doubled), ``middle_blks``,
``ups[i]`` (1x1 conv + pixel shuffle, channels halved) + skip + ``decoders[i]``, ``ending``
(3x3 conv) and a global residual: the network predicts the clean image as ``y + f(y)``.

Kernel basis attention (KBA). Each block holds ``nset`` learned grouped-convolution kernels
(the "kernel bases" ``w``, with biases ``b``). At every pixel p a small branch predicts mixing
coefficients ``att[p]`` (nset values), and the block applies the pixel's own kernel
``sum_s att[p, s] * w_s`` (a k x k grouped conv, ``gc`` channels per group) plus
``sum_s att[p, s] * b_s``. The official code builds that per-pixel kernel explicitly (a custom
autograd function over ``unfold``); by linearity the same output is ``sum_s att[:, s] * conv(x,
w_s)``, which is what :func:`kernel_basis_attention` computes, in plain torch (autograd gives the
gradients, so no custom backward is needed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from ...errors import DenoisebenchError

SIGMA_DISTS = ("uniform", "loguniform", "lognormal", "schedule")
PRECONDS = ("none", "edm")
#: EDM's sigma_data for the ``edm`` preconditioning: the RMS distance of a [0, 1] image from
#: mid-grey is at most 0.5 (MNIST's, mostly black or white pixels, is about 0.47).
PRECOND_SIGMA_DATA = 0.5
#: Phi^{-1}(3/4): the median of |N(0, s^2)| is 0.6745 s.
_MAD_TO_STD = 0.6744897501960817


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


class LayerNorm2d(nn.Module):
    """Layer norm over the channel dimension of B x C x H x W maps (biased variance, eps 1e-6)."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu = x.mean(dim=1, keepdim=True)
        var = (x - mu).square().mean(dim=1, keepdim=True)
        y = (x - mu) * torch.rsqrt(var + self.eps)
        return y * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class SimpleGate(nn.Module):
    """NAFNet's gate: split the channels in two halves and multiply them."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return a * b


def kernel_basis_attention(x: torch.Tensor, att: torch.Tensor, w: torch.Tensor, b: torch.Tensor,
                           kernel: int, groups: int) -> torch.Tensor:
    """Apply each pixel's mixture of the kernel bases to ``x``.

    ``x`` is B x C x H x W, ``att`` B x nset x H x W, ``w`` 1 x nset x (C * C/groups * k^2) (basis
    s reshaped is a grouped-conv weight C x C/groups x k x k), ``b`` 1 x nset x C. Returns
    ``out[:, o, p] = sum_s att[:, s, p] * (conv(x, w_s, groups)[:, o, p] + b_s[o])``.

    All bases are applied at once as one batched matrix product per group on the unfolded k x k
    patches, then mixed per pixel; on CPU this beats both a stacked grouped convolution and the
    official per-pixel kernel construction.
    """
    bsz, c, h, wd = x.shape
    nset, gc, pix = att.shape[1], c // groups, h * wd
    patches = F.unfold(x, kernel, padding=kernel // 2).view(bsz, groups, gc * kernel * kernel, pix)
    bases = w.view(nset, groups, gc, gc * kernel * kernel).transpose(0, 1)
    responses = torch.matmul(bases.reshape(groups, nset * gc, -1), patches)  # B x g x (S*gc) x P
    att = att.reshape(bsz, nset, pix)
    out = (responses.view(bsz, groups, nset, gc, pix) * att.view(bsz, 1, nset, 1, pix)).sum(dim=2)
    out = out.reshape(bsz, c, pix) + torch.matmul(b[0].t(), att)
    return out.view(bsz, c, h, wd)


class KBBlockS(nn.Module):
    """``KBBlock_s``: layer norm, KBA mixed with a 5x5 grouped-conv branch and channel attention,
    then a simple-gate feed-forward; both halves are residual with learned scales."""

    def __init__(self, c: int, dw_expand: int = 2, ffn_expand: int = 2, nset: int = 32, k: int = 3,
                 gc: int = 4, lightweight: bool = False) -> None:
        super().__init__()
        self.k, self.c, self.nset = k, c, nset
        self.g = c // gc
        dw_ch, ffn_ch = dw_expand * c, ffn_expand * c
        self.w = nn.Parameter(torch.empty(1, nset, c * c // self.g * k * k))
        self.b = nn.Parameter(torch.empty(1, nset, c))
        self._init_bases()
        self.norm1 = LayerNorm2d(c)
        self.norm2 = LayerNorm2d(c)
        self.sca = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, c, 1))
        if lightweight:
            self.conv11 = nn.Sequential(nn.Conv2d(c, c, 1), nn.Conv2d(c, c, 3, padding=1, groups=c))
        else:
            self.conv11 = nn.Sequential(nn.Conv2d(c, c, 1), nn.Conv2d(c, c, 5, padding=2, groups=c // 4))
        self.conv1 = nn.Conv2d(c, c, 1)
        self.conv21 = nn.Conv2d(c, c, 3, padding=1, groups=c)
        interc = min(c, 32)
        self.conv2 = nn.Sequential(nn.Conv2d(c, interc, 3, padding=1, groups=interc), SimpleGate(),
                                   nn.Conv2d(interc // 2, nset, 1))
        self.conv211 = nn.Conv2d(c, nset, 1)
        self.conv3 = nn.Conv2d(dw_ch // 2, c, 1)
        self.conv4 = nn.Conv2d(c, ffn_ch, 1)
        self.conv5 = nn.Conv2d(ffn_ch // 2, c, 1)
        self.sg = SimpleGate()
        self.ga1 = nn.Parameter(torch.full((1, c, 1, 1), 1e-2))
        self.attgamma = nn.Parameter(torch.full((1, nset, 1, 1), 1e-2))
        self.beta = nn.Parameter(torch.full((1, c, 1, 1), 1e-2))
        self.gamma = nn.Parameter(torch.full((1, c, 1, 1), 1e-2))

    def _init_bases(self) -> None:
        """Kaiming-uniform bases and a bias bound of 1/sqrt(fan_in), as for a linear layer."""
        nn.init.kaiming_uniform_(self.w, a=math.sqrt(5))
        fan_in = self.w.shape[1] * self.w.shape[2]
        nn.init.uniform_(self.b, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        x = self.norm1(inp)
        sca = self.sca(x)
        x1 = self.conv11(x)
        att = self.conv2(x) * self.attgamma + self.conv211(x)
        uf = self.conv21(self.conv1(x))
        x = kernel_basis_attention(uf, att, self.w, self.b, self.k, self.g) * self.ga1 + uf
        x = self.conv3(x * x1 * sca)
        y = inp + x * self.beta
        x = self.conv5(self.sg(self.conv4(self.norm2(y))))
        return y + x * self.gamma


class KBNetS(nn.Module):
    """``KBNet_s``: maps a noisy B x C x H x W image to its restored version (same size).

    Any H, W: the input is padded (reflect, or replicate where reflect cannot reach) to a multiple
    of ``2 ** levels`` and the output cropped back.
    """

    def __init__(self, config: KBNetConfig | None = None) -> None:
        super().__init__()
        cfg = config or KBNetConfig()
        cfg.validate()
        self.config = cfg

        def stage(ch: int, n: int) -> nn.Sequential:
            return nn.Sequential(*[KBBlockS(ch, ffn_expand=cfg.ffn_scale, nset=cfg.nset, k=cfg.kernel,
                                            gc=cfg.gc, lightweight=cfg.lightweight) for _ in range(n)])

        self.intro = nn.Conv2d(cfg.img_channel, cfg.width, 3, padding=1)
        self.encoders = nn.ModuleList()
        self.downs = nn.ModuleList()
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        self.ending = nn.Conv2d(cfg.width, cfg.img_channel, 3, padding=1)
        chan = cfg.width
        for n in cfg.enc_blk_nums:
            self.encoders.append(stage(chan, n))
            self.downs.append(nn.Conv2d(chan, 2 * chan, 2, stride=2))
            chan *= 2
        self.middle_blks = stage(chan, cfg.middle_blk_num)
        for n in cfg.dec_blk_nums:
            self.ups.append(nn.Sequential(nn.Conv2d(chan, 2 * chan, 1, bias=False), nn.PixelShuffle(2)))
            chan //= 2
            self.decoders.append(stage(chan, n))

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        if self.config.precond == "edm":
            s = estimate_noise_std(inp).detach().clamp_min(1e-4).view(-1, 1, 1, 1)
            sd = PRECOND_SIGMA_DATA
            norm = (s.square() + sd ** 2).sqrt()
            centred = inp - 0.5
            return 0.5 + (sd / norm) ** 2 * centred + (s * sd / norm) * self._body(centred / norm, residual=False)
        return self._body(inp, residual=True)

    def _body(self, inp: torch.Tensor, residual: bool) -> torch.Tensor:
        h, w = inp.shape[-2:]
        inp = pad_to_multiple(inp, self.config.pad_multiple)
        x = self.intro(inp)
        skips = []
        for encoder, down in zip(self.encoders, self.downs):
            x = encoder(x)
            skips.append(x)
            x = down(x)
        x = self.middle_blks(x)
        for decoder, up, skip in zip(self.decoders, self.ups, reversed(skips)):
            x = decoder(up(x) + skip)
        x = self.ending(x) + inp if residual else self.ending(x)
        return x[..., :h, :w]


def estimate_noise_std(y: torch.Tensor) -> torch.Tensor:
    """Blind per-image estimate of the std of white Gaussian noise in ``y`` (B x C x H x W -> B).

    Donoho's rule: the median absolute value of the finest diagonal Haar detail coefficients over
    0.6745. For white noise of std s each coefficient (a - b - c + d) / 2 of a 2 x 2 block is
    N(0, s^2); the median ignores the few large coefficients on the edges of the image content.
    """
    y = y[..., : y.shape[-2] // 2 * 2, : y.shape[-1] // 2 * 2]
    hh = (y[..., 0::2, 0::2] - y[..., 0::2, 1::2] - y[..., 1::2, 0::2] + y[..., 1::2, 1::2]) / 2
    return hh.flatten(1).abs().median(dim=1).values / _MAD_TO_STD


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad the bottom and right of ``x`` so H and W are multiples of ``multiple``."""
    h, w = x.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    if ph == 0 and pw == 0:
        return x
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
