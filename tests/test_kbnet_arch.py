"""KBNet_s re-implementation: official parameter names/shapes, kernel basis attention, padding."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from denoisebench.errors import DenoisebenchError
from denoisebench.providers.kbnet.arch import (KBNetConfig, KBNetS, LayerNorm2d, kernel_basis_attention,
                                               official_gray_config, pad_to_multiple)


def official_kbnet_s_shapes(img_channel: int = 1, width: int = 64, middle: int = 12,
                            enc: tuple[int, ...] = (2, 2, 4, 8), dec: tuple[int, ...] = (2, 2, 2, 2)
                            ) -> dict[str, tuple[int, ...]]:
    """The state-dict keys and shapes of zhangyi-3/KBNet ``KBNet_s`` (kbnet_s_arch.py), written
    out from the official module definitions (KBBlock_s with nset=32, k=3, gc=4, DW_Expand=2,
    FFN_Expand=2, lightweight=False)."""

    def conv(name: str, cin: int, cout: int, k: int, groups: int = 1, bias: bool = True) -> dict:
        out = {f"{name}.weight": (cout, cin // groups, k, k)}
        if bias:
            out[f"{name}.bias"] = (cout,)
        return out

    def block(p: str, c: int) -> dict:
        nset, interc = 32, min(c, 32)
        d = {f"{p}.w": (1, nset, c * c // (c // 4) * 9), f"{p}.b": (1, nset, c),
             f"{p}.ga1": (1, c, 1, 1), f"{p}.attgamma": (1, nset, 1, 1),
             f"{p}.beta": (1, c, 1, 1), f"{p}.gamma": (1, c, 1, 1)}
        for n in ("norm1", "norm2"):
            d.update({f"{p}.{n}.weight": (c,), f"{p}.{n}.bias": (c,)})
        d.update(conv(f"{p}.sca.1", c, c, 1))
        d.update(conv(f"{p}.conv11.0", c, c, 1))
        d.update(conv(f"{p}.conv11.1", c, c, 5, groups=c // 4))
        d.update(conv(f"{p}.conv1", c, c, 1))
        d.update(conv(f"{p}.conv21", c, c, 3, groups=c))
        d.update(conv(f"{p}.conv2.0", c, interc, 3, groups=interc))
        d.update(conv(f"{p}.conv2.2", interc // 2, nset, 1))
        d.update(conv(f"{p}.conv211", c, nset, 1))
        d.update(conv(f"{p}.conv3", c, c, 1))
        d.update(conv(f"{p}.conv4", c, 2 * c, 1))
        d.update(conv(f"{p}.conv5", c, c, 1))
        return d

    shapes: dict[str, tuple[int, ...]] = {}
    shapes.update(conv("intro", img_channel, width, 3))
    shapes.update(conv("ending", width, img_channel, 3))
    chan = width
    for i, n in enumerate(enc):
        for j in range(n):
            shapes.update(block(f"encoders.{i}.{j}", chan))
        shapes.update(conv(f"downs.{i}", chan, 2 * chan, 2))
        chan *= 2
    for j in range(middle):
        shapes.update(block(f"middle_blks.{j}", chan))
    for i, n in enumerate(dec):
        shapes.update(conv(f"ups.{i}.0", chan, 2 * chan, 1, bias=False))
        chan //= 2
        for j in range(n):
            shapes.update(block(f"decoders.{i}.{j}", chan))
    return shapes


def test_official_gray_config_has_the_official_names_and_shapes() -> None:
    with torch.device("meta"):
        net = KBNetS(official_gray_config())
    ours = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert ours == official_kbnet_s_shapes()
    assert sum(v.numel() for v in net.parameters()) == 141_964_353


def test_configurable_widths_and_blocks_keep_the_naming_scheme() -> None:
    cfg = KBNetConfig(width=8, middle_blk_num=1, enc_blk_nums=(1, 2), dec_blk_nums=(2, 1), nset=32)
    with torch.device("meta"):
        net = KBNetS(cfg)
    expected = official_kbnet_s_shapes(width=8, middle=1, enc=(1, 2), dec=(2, 1))
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == expected


def per_pixel_kba(x: torch.Tensor, att: torch.Tensor, w: torch.Tensor, b: torch.Tensor,
                  k: int, groups: int) -> torch.Tensor:
    """The definition, pixel by pixel: kernel_p = sum_s att[p, s] w_s, out_p = kernel_p * patch_p + bias_p."""
    bsz, c, h, wd = x.shape
    nset, gc = att.shape[1], c // groups
    patches = F.unfold(x, k, padding=k // 2).view(bsz, c, k * k, h * wd)  # channel-major, like conv
    out = torch.zeros(bsz, c, h * wd, dtype=x.dtype)
    bases = w.view(nset, c, gc, k * k)  # basis s as a grouped-conv weight (out, in/groups, k*k)
    for n in range(bsz):
        for p in range(h * wd):
            a = att[n, :, p // wd, p % wd]
            kernel = torch.einsum("s,soik->oik", a, bases)
            for o in range(c):
                grp = o // gc
                out[n, o, p] = (kernel[o] * patches[n, grp * gc:(grp + 1) * gc, :, p]).sum() + a @ b[0, :, o]
    return out.view(bsz, c, h, wd)


@pytest.mark.parametrize("c,nset", [(4, 3), (8, 5)])
def test_kernel_basis_attention_matches_its_per_pixel_definition(c: int, nset: int) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, c, 5, 4, generator=g, dtype=torch.float64)
    att = torch.randn(2, nset, 5, 4, generator=g, dtype=torch.float64)
    w = torch.randn(1, nset, c * 4 * 9, generator=g, dtype=torch.float64)
    b = torch.randn(1, nset, c, generator=g, dtype=torch.float64)
    ours = kernel_basis_attention(x, att, w, b, 3, c // 4)
    assert torch.allclose(ours, per_pixel_kba(x, att, w, b, 3, c // 4), atol=1e-10)


def test_kernel_basis_attention_with_one_basis_is_a_grouped_convolution() -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, 8, 6, 6, generator=g, dtype=torch.float64)
    w = torch.randn(1, 1, 8 * 4 * 9, generator=g, dtype=torch.float64)
    b = torch.randn(1, 1, 8, generator=g, dtype=torch.float64)
    ours = kernel_basis_attention(x, torch.ones(1, 1, 6, 6, dtype=torch.float64), w, b, 3, 2)
    ref = F.conv2d(x, w.view(8, 4, 3, 3), b.view(8), padding=1, groups=2)
    assert torch.allclose(ours, ref, atol=1e-10)


def test_layer_norm_normalises_over_channels() -> None:
    ln = LayerNorm2d(6)
    with torch.no_grad():
        ln.weight.uniform_(0.5, 2.0)
        ln.bias.uniform_(-1.0, 1.0)
    x = torch.randn(2, 6, 3, 5, dtype=torch.float64)
    ref = F.layer_norm(x.permute(0, 2, 3, 1), (6,), ln.weight.double(), ln.bias.double(), eps=1e-6)
    assert torch.allclose(ln.double()(x), ref.permute(0, 3, 1, 2), atol=1e-12)


def _tiny() -> KBNetS:
    """A small official-form network (no preconditioning: the noise estimate would see the padding)."""
    torch.manual_seed(0)
    return KBNetS(KBNetConfig(width=4, middle_blk_num=1, enc_blk_nums=(1, 1), dec_blk_nums=(1, 1), nset=2,
                              precond="none")).eval()


@pytest.mark.parametrize("size", [(28, 28), (13, 17), (3, 2)])
def test_any_size_is_padded_to_the_multiple_and_cropped_back(size: tuple[int, int]) -> None:
    net = _tiny()
    x = torch.rand(2, 1, *size)
    with torch.no_grad():
        out = net(x)
        padded = pad_to_multiple(x, net.config.pad_multiple)
        assert padded.shape[-2] % 4 == 0 and padded.shape[-1] % 4 == 0
        assert torch.equal(net(padded)[..., :size[0], :size[1]], out)
    assert out.shape == x.shape


def test_reflect_padding_where_possible() -> None:
    x = torch.arange(6.0).view(1, 1, 1, 6).expand(1, 1, 6, 6)
    assert torch.equal(pad_to_multiple(x, 8)[0, 0, 0], torch.tensor([0., 1, 2, 3, 4, 5, 4, 3]))


def test_gradients_reach_every_parameter() -> None:
    net = _tiny().train()
    (net(torch.rand(2, 1, 8, 8)) - 0.5).abs().mean().backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert missing == []


@pytest.mark.parametrize("kwargs", [{"width": 24}, {"enc_blk_nums": (1,), "dec_blk_nums": (1, 1)},
                                    {"sigma_dist": "normal"}, {"sigma_min": 0.0, "sigma_dist": "loguniform"}])
def test_bad_configs_are_one_line_errors(kwargs: dict) -> None:
    with pytest.raises(DenoisebenchError) as err:
        KBNetS(KBNetConfig(**kwargs))
    assert "\n" not in str(err.value)
