"""The plain KBNet_s forward pass, kept as the definition the fast one in :mod:`.arch` is held to.

This is the forward of ``KBBlockS`` as first written (the module layout of the official code: a
layer norm written out over dim 1, each convolution on its own, the learned scales applied as
multiplications, the kernel basis attention over ``unfold`` patches). :mod:`.arch` computes the
same function faster (fused 1x1 convolutions, scales folded into weights, channels-last memory,
the attention as one grouped convolution); ``tests/test_kbnet_fast.py`` asserts the two agree to
float round-off and ``benchmarks/bench_kbnet_speed.py`` times them side by side. It runs on a
``KBNetS`` module's own parameters, so it needs no weights of its own.
"""

from __future__ import annotations

from contextlib import contextmanager
from collections.abc import Iterator

import torch
import torch.nn.functional as F  # noqa: N812

from .arch import KBBlockS, KBNetS, LayerNorm2d


def layer_norm(norm: LayerNorm2d, x: torch.Tensor) -> torch.Tensor:
    """Layer norm over dim 1 of B x C x H x W, written out (biased variance)."""
    mu = x.mean(dim=1, keepdim=True)
    var = (x - mu).square().mean(dim=1, keepdim=True)
    y = (x - mu) * torch.rsqrt(var + norm.eps)
    return y * norm.weight.view(1, -1, 1, 1) + norm.bias.view(1, -1, 1, 1)


def simple_gate(x: torch.Tensor) -> torch.Tensor:
    a, b = x.chunk(2, dim=1)
    return a * b


def kernel_basis_attention(x: torch.Tensor, att: torch.Tensor, w: torch.Tensor, b: torch.Tensor,
                           kernel: int, groups: int) -> torch.Tensor:
    """``out[:, o, p] = sum_s att[:, s, p] * (conv(x, w_s, groups)[:, o, p] + b_s[o])`` via unfold."""
    bsz, c, h, wd = x.shape
    nset, gc, pix = att.shape[1], c // groups, h * wd
    patches = F.unfold(x, kernel, padding=kernel // 2).view(bsz, groups, gc * kernel * kernel, pix)
    bases = w.view(nset, groups, gc, gc * kernel * kernel).transpose(0, 1)
    responses = torch.matmul(bases.reshape(groups, nset * gc, -1), patches)  # B x g x (S*gc) x P
    att = att.reshape(bsz, nset, pix)
    out = (responses.view(bsz, groups, nset, gc, pix) * att.view(bsz, 1, nset, 1, pix)).sum(dim=2)
    out = out.reshape(bsz, c, pix) + torch.matmul(b[0].t(), att)
    return out.view(bsz, c, h, wd)


def block_forward(block: KBBlockS, inp: torch.Tensor) -> torch.Tensor:
    """``KBBlock_s`` as the official code computes it, step by step."""
    x = layer_norm(block.norm1, inp)
    sca = block.sca(x)
    x1 = block.conv11(x)
    att = block.conv2[2](simple_gate(block.conv2[0](x))) * block.attgamma + block.conv211(x)
    uf = block.conv21(block.conv1(x))
    x = kernel_basis_attention(uf, att, block.w, block.b, block.k, block.g) * block.ga1 + uf
    x = block.conv3(x * x1 * sca)
    y = inp + x * block.beta
    x = block.conv5(simple_gate(block.conv4(layer_norm(block.norm2, y))))
    return y + x * block.gamma


def _reference_body(net: KBNetS, inp: torch.Tensor, residual: bool) -> torch.Tensor:
    from .arch import pad_to_multiple

    h, w = inp.shape[-2:]
    inp = pad_to_multiple(inp.contiguous(), net.config.pad_multiple)
    x = net.intro(inp)
    skips = []
    for encoder, down in zip(net.encoders, net.downs):
        for block in encoder:
            x = block_forward(block, x)
        skips.append(x)
        x = down(x)
    for block in net.middle_blks:
        x = block_forward(block, x)
    for decoder, up, skip in zip(net.decoders, net.ups, reversed(skips)):
        x = up(x) + skip
        for block in decoder:
            x = block_forward(block, x)
    x = net.ending(x) + inp if residual else net.ending(x)
    return x[..., :h, :w]


def reference_forward(net: KBNetS, inp: torch.Tensor) -> torch.Tensor:
    """``net(inp)`` computed the plain way (contiguous memory, no fusion)."""
    with using_reference(net):
        return net(inp)


@contextmanager
def using_reference(net: KBNetS) -> Iterator[KBNetS]:
    """Within the block, ``net(...)`` runs the plain forward (its preconditioning is shared)."""
    net._body = lambda x, residual: _reference_body(net, x, residual)  # type: ignore[method-assign]
    try:
        yield net
    finally:
        del net._body  # the class's fast body again
