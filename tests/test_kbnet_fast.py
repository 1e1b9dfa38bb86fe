"""The fast KBNet_s forward against the plain one (``kbnet.reference``), to float round-off.

The plain forward is the implementation the speed work started from; the fast one folds scales
into weights, fuses convolutions, runs channels-last and chunks the kernel basis attention, none
of which may change the function, its gradients or the parameter names.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from denoisebench.providers.kbnet import arch
from denoisebench.providers.kbnet.arch import KBNetConfig, KBNetS, kernel_basis_attention
from denoisebench.providers.kbnet.provider import DEFAULT_CHECKPOINT, load_network
from denoisebench.providers.kbnet.reference import block_forward, reference_forward
from denoisebench.providers.kbnet.reference import kernel_basis_attention as reference_kba


def randomised(config: KBNetConfig, seed: int = 0, dtype: torch.dtype = torch.float64) -> KBNetS:
    """A network whose every parameter matters (the init leaves the learned scales at 0.01)."""
    torch.manual_seed(seed)
    net = KBNetS(config).to(dtype)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return net.eval()


def noisy(n: int, size: tuple[int, int], seed: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Clean-looking [0, 1] images plus noise of very different stds (as the sampler sends)."""
    g = torch.Generator().manual_seed(seed)
    s = torch.logspace(-2, 1.9, n, dtype=dtype).view(-1, 1, 1, 1)
    return torch.rand(n, 1, *size, generator=g, dtype=dtype) + s * torch.randn(n, 1, *size, generator=g, dtype=dtype)


SMALL = KBNetConfig(width=8, middle_blk_num=1, enc_blk_nums=(1, 1), dec_blk_nums=(1, 1), nset=4)


@pytest.mark.parametrize("config", [
    SMALL,
    dataclasses.replace(SMALL, precond="none", lightweight=True),
    dataclasses.replace(SMALL, width=4, nset=32, gc=4, enc_blk_nums=(0, 2), dec_blk_nums=(1, 0)),  # official nset
], ids=["edm", "official-form-lightweight", "nset32"])
@pytest.mark.parametrize("size", [(28, 28), (13, 17)])
def test_fast_forward_is_the_reference_forward(config: KBNetConfig, size: tuple[int, int]) -> None:
    net = randomised(config)
    y = noisy(5, size, seed=1)
    with torch.no_grad():
        fast, ref = net(y), reference_forward(net, y)
    assert fast.shape == y.shape
    assert torch.allclose(fast, ref, rtol=1e-9, atol=1e-9 * ref.abs().max().item())


def test_the_shipped_weights_give_the_reference_output_in_float32() -> None:
    net, _ = load_network(DEFAULT_CHECKPOINT)
    y = noisy(6, (28, 28), seed=2, dtype=torch.float32)
    with torch.inference_mode():
        fast, ref = net.eval()(y), reference_forward(net, y)
    scale = ref.abs().max().item()
    assert torch.allclose(fast, ref, rtol=1e-4, atol=1e-5 * scale), (fast - ref).abs().max().item()


def test_each_block_is_the_reference_block_over_several_attention_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    net = randomised(dataclasses.replace(SMALL, nset=3), seed=3)
    block = net.encoders[1][0]
    # chunks of 2 images: 7 images run as 2 + 2 + 2 + 1
    monkeypatch.setattr(arch, "KBA_CHUNK_BYTES", 2 * 8 * block.c * block.nset * 7 * 5)
    x = torch.randn(7, block.c, 7, 5, dtype=torch.float64)
    with torch.no_grad():
        ref = block_forward(block, x)
        assert torch.allclose(block(x), ref, atol=1e-11)
        assert torch.allclose(block(x.contiguous(memory_format=torch.channels_last)), ref, atol=1e-11)


def test_attention_with_a_scale_is_the_scaled_reference() -> None:
    g = torch.Generator().manual_seed(4)
    c, nset = 8, 5
    x = torch.randn(3, c, 6, 4, generator=g, dtype=torch.float64)
    att = torch.randn(3, nset, 6, 4, generator=g, dtype=torch.float64)
    w = torch.randn(1, nset, c * 4 * 9, generator=g, dtype=torch.float64)
    b = torch.randn(1, nset, c, generator=g, dtype=torch.float64)
    scale = torch.randn(c, generator=g, dtype=torch.float64)
    ours = kernel_basis_attention(x, att, w, b, 3, c // 4, scale=scale)
    assert torch.allclose(ours, reference_kba(x, att, w, b, 3, c // 4) * scale.view(1, -1, 1, 1), atol=1e-11)


def test_gradients_are_the_reference_gradients() -> None:
    """Training runs the fast forward: its gradients must be the plain forward's."""
    net = randomised(dataclasses.replace(SMALL, precond="none"), seed=5).train()
    y = noisy(3, (12, 12), seed=6)

    def grads(forward) -> dict[str, torch.Tensor]:  # type: ignore[no-untyped-def]
        net.zero_grad(set_to_none=True)
        (forward(y) - 0.5).square().mean().backward()
        return {n: p.grad.clone() for n, p in net.named_parameters() if p.grad is not None}

    fast, ref = grads(net), grads(lambda v: reference_forward(net, v))
    assert fast.keys() == ref.keys() == {n for n, _ in net.named_parameters()}
    for name in ref:
        assert torch.allclose(fast[name], ref[name], rtol=1e-8, atol=1e-10), name


def test_the_reference_forward_leaves_the_network_fast_afterwards() -> None:
    net = randomised(SMALL)
    y = noisy(2, (8, 8), seed=7)
    with torch.no_grad():
        reference_forward(net, y)
    assert "_body" not in vars(net)  # the class's fast body again
