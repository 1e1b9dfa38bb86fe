"""The blind EDM preconditioning of kbnet (``precond=edm``) and its noise-std estimate."""

from __future__ import annotations

import pytest
import torch

from denoisebench.errors import DenoisebenchError
from denoisebench.providers.kbnet.arch import (PRECOND_SIGMA_DATA, KBNetConfig, KBNetS, estimate_noise_std,
                                               official_gray_config)
from denoisebench.providers.kbnet.shapes import infer_config

TINY = {"width": 4, "middle_blk_num": 1, "enc_blk_nums": (1,), "dec_blk_nums": (1,), "nset": 2}


def _digits(n: int, seed: int = 0) -> torch.Tensor:
    """Piecewise-constant [0, 1] images: dark background, a few bright bars (edges, like strokes)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 1, 28, 28)
    for i in range(n):
        r, c = torch.randint(4, 20, (2,), generator=g).tolist()
        x[i, 0, r:r + 6, c:c + 3] = 1.0
        x[i, 0, c:c + 2, r:r + 8] = 0.8
    return x


@pytest.mark.parametrize("s", [0.01, 0.1, 1.0, 80.0])
def test_the_noise_estimate_recovers_the_std_of_white_noise(s: float) -> None:
    g = torch.Generator().manual_seed(1)
    noisy = _digits(64) + s * torch.randn(64, 1, 28, 28, generator=g)
    est = estimate_noise_std(noisy)
    assert est.shape == (64,)
    assert abs(est.mean().item() / s - 1) < 0.1      # the median of |HH| / 0.6745 is unbiased for noise
    assert (est / s - 1).abs().max().item() < 0.5    # and each image's estimate is within 50 %


def test_the_noise_estimate_of_a_clean_image_is_zero() -> None:
    assert torch.equal(estimate_noise_std(_digits(4)), torch.zeros(4))


def test_odd_sizes_and_channels_are_accepted() -> None:
    g = torch.Generator().manual_seed(2)
    est = estimate_noise_std(0.5 + 0.2 * torch.randn(8, 3, 27, 31, generator=g))
    assert torch.allclose(est, torch.full((8,), 0.2), rtol=0.15)


def test_preconditioned_output_is_the_edm_combination() -> None:
    """D(y) = 0.5 + c_skip (y - 0.5) + c_out F(c_in (y - 0.5)) with s estimated from y, F without
    the global residual (the official network's body)."""
    torch.manual_seed(0)
    net = KBNetS(KBNetConfig(**TINY, precond="edm")).eval()
    y = _digits(3) + 0.3 * torch.randn(3, 1, 28, 28, generator=torch.Generator().manual_seed(3))
    s = estimate_noise_std(y).view(-1, 1, 1, 1)
    sd = PRECOND_SIGMA_DATA
    n2 = s ** 2 + sd ** 2
    with torch.no_grad():
        body = net._body((y - 0.5) / n2.sqrt(), residual=False)
        expected = 0.5 + sd ** 2 / n2 * (y - 0.5) + s * sd / n2.sqrt() * body
        assert torch.allclose(net(y), expected, atol=1e-6)


def test_preconditioning_keeps_clean_images_and_bounds_huge_noise() -> None:
    """At zero noise c_out vanishes, so D is the identity whatever the weights; at s = 1e4 the
    output does not grow with the noise (c_skip y -> 0), unlike y + f(y) without it."""
    torch.manual_seed(0)
    net = KBNetS(KBNetConfig(**TINY, precond="edm")).eval()
    clean = _digits(4)
    huge = clean + 1e4 * torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        assert torch.allclose(net(clean), clean, atol=1e-3)
        assert net(huge).abs().max().item() < 100


def test_official_checkpoints_are_not_preconditioned() -> None:
    assert official_gray_config().precond == "none"
    sd = KBNetS(KBNetConfig(**TINY, precond="edm")).state_dict()  # no extra parameters
    assert set(sd) == set(KBNetS(KBNetConfig(**TINY)).state_dict())
    assert infer_config(sd).precond == "none"


def test_gradients_reach_every_parameter_through_the_preconditioning() -> None:
    net = KBNetS(KBNetConfig(**TINY, precond="edm")).train()
    y = _digits(2) + 0.5 * torch.randn(2, 1, 28, 28, generator=torch.Generator().manual_seed(5))
    (net(y) - 0.5).square().mean().backward()
    assert [n for n, p in net.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()] == []


@pytest.mark.parametrize("kwargs, message", [({"precond": "karras"}, "precond must be one of none, edm"),
                                             ({"sigma_std": 0.0}, "sigma_std must be positive")])
def test_bad_values_are_one_line_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(DenoisebenchError, match=message) as err:
        KBNetConfig(**kwargs).validate()
    assert "\n" not in str(err.value)
