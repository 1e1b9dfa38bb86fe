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

Speed (CPU inference, where this network is benchmarked). The forward is written for speed and
checked against the plain one kept in :mod:`.reference` (equal to float round-off): activations
are channels-last (the grouped and 1 x 1 convolutions run 2-5x faster than on contiguous
B x C x H x W), the layer norm is ``F.layer_norm`` over the channels-last rows, the three 1 x 1
convolutions that read the normalised input run as one, the learned scales (``attgamma``,
``ga1``, ``beta``, ``gamma``) are folded into the weights of the convolution before them, and
the attention is one grouped convolution with all bases stacked followed by a per-pixel
matrix-vector product, run over chunks of the batch whose responses stay in cache. The
parameters and their names are untouched, so official checkpoints load as before.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from .config import KBNetConfig, official_gray_config  # noqa: F401 - official_gray_config re-exported

#: EDM's sigma_data for the ``edm`` preconditioning: the RMS distance of a [0, 1] image from
#: mid-grey is at most 0.5 (MNIST's, mostly black or white pixels, is about 0.47).
PRECOND_SIGMA_DATA = 0.5
#: Phi^{-1}(3/4): the median of |N(0, s^2)| is 0.6745 s.
_MAD_TO_STD = 0.6744897501960817


class LayerNorm2d(nn.Module):
    """Layer norm over the channel dimension of B x C x H x W maps (biased variance, eps 1e-6)."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # F.layer_norm normalises the last dim: the channels of a channels-last map, read in place.
        rows = x.permute(0, 2, 3, 1)
        return F.layer_norm(rows, (x.shape[1],), self.weight, self.bias, self.eps).permute(0, 3, 1, 2)


class SimpleGate(nn.Module):
    """NAFNet's gate: split the channels in two halves and multiply them."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return a * b


#: Bytes of basis responses (nset times the attention's input) computed at once: the batch is run
#: in chunks this size so the responses are still in cache when they are mixed.
KBA_CHUNK_BYTES = 2 ** 21


def stacked_bases(w: torch.Tensor, b: torch.Tensor, channels: int, kernel: int,
                  scale: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """All bases as one grouped-conv weight (C * nset) x gc x k x k and bias (C * nset).

    Output channel ``o * nset + s`` is basis s's output channel o, so each group's outputs stay
    together (as a grouped convolution needs) and each pixel's responses read as a C x nset
    matrix. ``scale`` (C,) multiplies every basis's output channel o (a folded per-channel scale).
    """
    nset = w.shape[1]
    weight = w.view(nset, channels, -1).transpose(0, 1)
    bias = b[0].t()
    if scale is not None:
        weight, bias = weight * scale.view(-1, 1, 1), bias * scale.view(-1, 1)
    return weight.reshape(channels * nset, -1, kernel, kernel), bias.reshape(-1)


def kernel_basis_attention(x: torch.Tensor, att: torch.Tensor, w: torch.Tensor, b: torch.Tensor,
                           kernel: int, groups: int, scale: torch.Tensor | None = None) -> torch.Tensor:
    """Apply each pixel's mixture of the kernel bases to ``x``.

    ``x`` is B x C x H x W, ``att`` B x nset x H x W, ``w`` 1 x nset x (C * C/groups * k^2) (basis
    s reshaped is a grouped-conv weight C x C/groups x k x k), ``b`` 1 x nset x C. Returns
    ``out[:, o, p] = scale[o] * sum_s att[:, s, p] * (conv(x, w_s, groups)[:, o, p] + b_s[o])``
    (``scale`` defaults to 1), channels-last.

    All bases are applied at once as one grouped convolution (:func:`stacked_bases`); each pixel's
    C x nset responses are then mixed with its nset coefficients by a batched matrix-vector
    product. Both run over chunks of the batch (``KBA_CHUNK_BYTES``) so the responses, nset times
    the size of ``x``, are mixed while still in cache.
    """
    bsz, c, h, wd = x.shape
    nset, pix = att.shape[1], h * wd
    weight, bias = stacked_bases(w, b, c, kernel, scale)
    step = max(1, KBA_CHUNK_BYTES // (x.element_size() * c * nset * pix))
    out = []
    for i in range(0, bsz, step):
        responses = F.conv2d(x[i:i + step], weight, bias, padding=kernel // 2, groups=groups)
        n = responses.shape[0]
        responses = responses.permute(0, 2, 3, 1).reshape(n * pix, c, nset)
        coefficients = att[i:i + step].permute(0, 2, 3, 1).reshape(n * pix, nset, 1)
        out.append(torch.bmm(responses, coefficients).view(n, h, wd, c).permute(0, 3, 1, 2))
    return out[0] if len(out) == 1 else torch.cat(out)


def _scaled_conv(conv: nn.Conv2d, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``conv(x) * scale`` for a per-output-channel ``scale`` (1 x C x 1 x 1), folded into the weights."""
    s = scale.reshape(-1)
    return F.conv2d(x, conv.weight * s.view(-1, 1, 1, 1), conv.bias * s, conv.stride, conv.padding,
                    conv.dilation, conv.groups)


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
        """The official ``KBBlock_s`` (:func:`.reference.block_forward`), computed faster."""
        c = self.c
        x = self.norm1(inp)
        sca = self.sca(x)
        # conv11's 1x1, conv1 and conv211 all read x: one convolution, split by channels.
        first = (self.conv11[0], self.conv1, self.conv211)
        both = F.conv2d(x, torch.cat([m.weight for m in first]), torch.cat([m.bias for m in first]))
        x1, uf, att = both.split([c, c, self.nset], dim=1)
        x1 = self.conv11[1](x1)
        uf = self.conv21(uf)
        att = _scaled_conv(self.conv2[2], self.conv2[1](self.conv2[0](x)), self.attgamma) + att
        x = kernel_basis_attention(uf, att, self.w, self.b, self.k, self.g, scale=self.ga1.view(-1)) + uf
        y = inp + _scaled_conv(self.conv3, x * x1 * sca, self.beta)
        return y + _scaled_conv(self.conv5, self.sg(self.conv4(self.norm2(y))), self.gamma)


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
        x = self.intro(inp).contiguous(memory_format=torch.channels_last)
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
