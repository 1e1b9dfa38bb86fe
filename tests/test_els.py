"""``els``: the chunked, de-duplicated machine against float64 brute force and closed forms;
translation equivariance; the provider contract; option errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from denoisebench import ProviderContext
from denoisebench.datasets.base import ImageDataset
from denoisebench.diffusion.schedule import linear_schedule
from denoisebench.errors import DenoisebenchError
from denoisebench.providers.els import ELSProvider
from denoisebench.providers.els.machine import els_x0
from denoisebench.providers.els.patches import PatchBank, build_banks
from denoisebench.providers.els.schedule import parse_patch_schedule
from denoisebench.providers.empirical import empirical_x0
from denoisebench.testing import check_provider


def toy_images(seed: int = 0, n: int = 6, h: int = 4, w: int = 4) -> np.ndarray:
    """uint8 images with few grey levels (so patches repeat) and two exact duplicate images."""
    rng = np.random.default_rng(seed)
    images = rng.choice(np.array([0, 0, 0, 128, 255], dtype=np.uint8), size=(n, h, w))
    images[1] = images[0]
    return images


def bank_tensors(banks: list[PatchBank], width: int) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    return [(torch.from_numpy(b.pixels(width)), *b.tensors(torch.float64)) for b in banks]


def circular(images: np.ndarray, size: int, **kw: object) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    return bank_tensors(build_banks(images, size, "circular", **kw), images.shape[2])


def weighted_mean(logw: list[float], centre: list[float]) -> float:
    """sum_k softmax(logw)_k centre_k, in float64."""
    w = np.exp(np.array(logw) - max(logw))
    return float((w * np.array(centre)).sum() / w.sum())


def brute_force_x0(x_t: np.ndarray, abar: float, images: np.ndarray, size: int) -> np.ndarray:
    """The ELS posterior mean by its definition, float64, one (pixel, image, position) at a time."""
    phi_all = images.astype(np.float64) / 127.5 - 1.0
    n, h, w = images.shape
    d = size // 2
    out = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            q = np.array([[x_t[(i + a) % h, (j + b) % w] for b in range(-d, d + 1)] for a in range(-d, d + 1)])
            logw, centre = [], []
            for img in phi_all:
                for r in range(h):
                    for c in range(w):
                        phi = np.array([[img[(r + a) % h, (c + b) % w] for b in range(-d, d + 1)]
                                        for a in range(-d, d + 1)])
                        logw.append(-((q - np.sqrt(abar) * phi) ** 2).sum() / (2 * (1 - abar)))
                        centre.append(img[r, c])
            out[i, j] = weighted_mean(logw, centre)
    return out


@pytest.mark.parametrize("size", [1, 3])
@pytest.mark.parametrize("chunk", [1, 5, 4096])
def test_chunked_deduplicated_machine_equals_brute_force(size: int, chunk: int) -> None:
    images = toy_images()
    (bank,) = build_banks(images, size, "circular")
    assert bank.distinct < bank.instances == images.size  # duplicates were present and merged
    assert bank.counts.sum() == images.size
    banks = circular(images, size)
    rng = np.random.default_rng(1)
    for abar in (0.05, 0.5, 0.97):
        x_t = rng.normal(size=(2, 1, 4, 4))
        got = els_x0(torch.from_numpy(x_t), torch.full((2,), abar, dtype=torch.float64), size, "circular", banks, chunk)
        for b in range(2):
            want = brute_force_x0(x_t[b, 0], abar, images, size)
            assert np.allclose(got[b, 0].numpy(), want, rtol=1e-10, atol=1e-12), (size, chunk, abar)


def brute_force_zeros_x0(x_t: np.ndarray, abar: float, images: np.ndarray, size: int) -> np.ndarray:
    """The boundary-aware machine by its definition: pixel (i, j) compares its in-image neighbourhood
    with the same neighbourhood shape around every training position of its boundary class."""
    phi_all = images.astype(np.float64) / 127.5 - 1.0
    n, h, w = images.shape
    d = size // 2

    def cls(c: int, m: int) -> int:
        return c if c < d or c >= m - d else -1

    out = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            offsets = [(a, b) for a in range(-d, d + 1) for b in range(-d, d + 1)
                       if 0 <= i + a < h and 0 <= j + b < w]
            logw, centre = [], []
            for img in phi_all:
                for r in range(h):
                    for c in range(w):
                        if (cls(r, h), cls(c, w)) != (cls(i, h), cls(j, w)):
                            continue
                        dist = sum((x_t[i + a, j + b] - np.sqrt(abar) * img[r + a, c + b]) ** 2 for a, b in offsets)
                        logw.append(-dist / (2 * (1 - abar)))
                        centre.append(img[r, c])
            out[i, j] = weighted_mean(logw, centre)
    return out


@pytest.mark.parametrize("size", [3, 5])
def test_boundary_aware_machine_equals_brute_force(size: int) -> None:
    images = toy_images(8, n=5, h=5, w=6)
    banks = bank_tensors(build_banks(images, size, "zeros"), 6)
    assert sorted(int(p) for b in banks for p in b[0]) == list(range(30))  # every pixel in one class
    x_t = np.random.default_rng(9).normal(size=(2, 1, 5, 6))
    abar = torch.tensor([0.3, 0.9], dtype=torch.float64)
    got = els_x0(torch.from_numpy(x_t), abar, size, "zeros", banks, chunk=3)
    for b in range(2):
        want = brute_force_zeros_x0(x_t[b, 0], float(abar[b]), images, size)
        assert np.allclose(got[b, 0].numpy(), want, rtol=1e-10, atol=1e-12), (size, b)


def test_whole_image_size_is_the_empirical_denoiser(tiny_dataset: ImageDataset) -> None:
    """zeros, P = 2 max(H, W) - 1: every pixel sees the whole image; the class-by-class machine, the
    provider's shortcut and ``empirical`` agree."""
    images = toy_images(10, n=7, h=4, w=5)
    banks = bank_tensors(build_banks(images, 9, "zeros"), 5)
    train = torch.from_numpy(images.reshape(7, -1).astype(np.float64) / 127.5 - 1.0)
    x_t = torch.from_numpy(np.random.default_rng(11).normal(size=(3, 1, 4, 5)))
    abar = torch.tensor([0.05, 0.5, 0.95], dtype=torch.float64)
    want = empirical_x0(x_t.flatten(1), abar, train, (train ** 2).sum(dim=1), chunk=3).view_as(x_t)
    assert torch.allclose(els_x0(x_t, abar, 9, "zeros", banks, chunk=4), want, rtol=1e-10, atol=1e-12)
    h, w = tiny_dataset.image_shape[1:]
    sched = linear_schedule(1000)
    provider = ELSProvider(ProviderContext(tiny_dataset, options={"patch": str(2 * max(h, w) - 1), "patches": "all"}))
    x = torch.randn(2, 1, h, w, dtype=torch.float64)
    t = torch.tensor([30, 700])
    train = torch.from_numpy(tiny_dataset.train_images.reshape(len(tiny_dataset.train_images), -1) / 127.5 - 1.0)
    want = empirical_x0(x.flatten(1), sched.alpha_bars[t], train, (train ** 2).sum(dim=1)).view_as(x)
    assert torch.allclose(provider.predict_x0(x, t, sched), want, rtol=1e-10, atol=1e-12)


def test_boundary_aware_machine_is_equivariant_in_the_interior() -> None:
    """zeros: a pixel whose patch lies inside the image, before and after a shift, gets the same
    estimate, because interior pixels pool all interior positions."""
    images = toy_images(12, n=4, h=9, w=9)
    banks = bank_tensors(build_banks(images, 3, "zeros"), 9)
    x_t = torch.from_numpy(np.random.default_rng(13).normal(size=(1, 1, 9, 9)))
    abar = torch.tensor([0.5], dtype=torch.float64)
    out = els_x0(x_t, abar, 3, "zeros", banks)
    moved = els_x0(torch.roll(x_t, (2, 1), dims=(2, 3)), abar, 3, "zeros", banks)
    inner = slice(2, 6), slice(1, 7)  # these pixels and their shifts are interior, their patches unwrapped
    assert torch.allclose(moved[0, 0, 4:8, 2:8], out[0, 0, inner[0], inner[1]], rtol=1e-12, atol=1e-12)
    assert not torch.allclose(moved[0, 0, :2], torch.roll(out, (2, 1), dims=(2, 3))[0, 0, :2])  # borders differ


def test_whole_torus_patch_is_the_empirical_denoiser_of_all_translates() -> None:
    """P = H = W (odd): every patch is a whole image rolled, so ELS equals the exact MMSE denoiser of
    the training set augmented with all circular shifts of every image."""
    images = toy_images(2, n=5, h=5, w=5)
    shifts = np.stack([np.roll(img, (a, b), axis=(0, 1)) for img in images for a in range(5) for b in range(5)])
    train = torch.from_numpy(shifts.reshape(len(shifts), -1).astype(np.float64) / 127.5 - 1.0)
    x_t = torch.from_numpy(np.random.default_rng(3).normal(size=(3, 1, 5, 5)))
    abar = torch.tensor([0.1, 0.6, 0.99], dtype=torch.float64)
    got = els_x0(x_t, abar, 5, "circular", circular(images, 5), chunk=7)
    want = empirical_x0(x_t.flatten(1), abar, train, (train ** 2).sum(dim=1), chunk=11).view_as(x_t)
    assert torch.allclose(got, want, rtol=1e-10, atol=1e-12)


def test_circular_translation_equivariance() -> None:
    images = toy_images(4, n=4, h=6, w=6)
    banks = circular(images, 3)
    x_t = torch.from_numpy(np.random.default_rng(5).normal(size=(1, 1, 6, 6)))
    abar = torch.tensor([0.4], dtype=torch.float64)
    out = els_x0(x_t, abar, 3, "circular", banks, chunk=8)
    shifted = els_x0(torch.roll(x_t, (2, -1), dims=(2, 3)), abar, 3, "circular", banks, chunk=8)
    assert torch.allclose(shifted, torch.roll(out, (2, -1), dims=(2, 3)), rtol=1e-12, atol=1e-12)
    assert not torch.allclose(out, torch.roll(out, (2, -1), dims=(2, 3)))  # the check has teeth


def test_subsample_is_a_fixed_uniform_sample() -> None:
    images = toy_images(6, n=20, h=6, w=6)
    (a,), (b,) = build_banks(images, 3, "circular", 100, seed=7), build_banks(images, 3, "circular", 100, seed=7)
    assert np.array_equal(a.patches, b.patches) and np.array_equal(a.counts, b.counts)
    assert a.counts.sum() == a.instances == 100 and a.population == images.size
    assert not np.array_equal(build_banks(images, 3, "circular", 100, seed=8)[0].counts, a.counts)
    for bank in build_banks(images, 3, "zeros", 30, seed=7):  # at most 30 per boundary class
        assert bank.instances == min(30, bank.population) == bank.counts.sum()


def test_provider_uses_the_schedule_and_is_exact_eps(tiny_dataset: ImageDataset) -> None:
    sched = linear_schedule(1000)
    provider = ELSProvider(ProviderContext(tiny_dataset, options={"patch": "0.05:1,5:3", "patches": "all"}))
    width = tiny_dataset.image_shape[2]
    t = torch.tensor([1, 999])
    assert provider.sizes_for(sched.alpha_bars[t]) == [1, 3]
    x_t = torch.randn(2, *tiny_dataset.image_shape, dtype=torch.float64)
    x0 = provider.predict_x0(x_t, t, sched)
    for row, size in enumerate((1, 3)):
        banks = bank_tensors(build_banks(tiny_dataset.train_images, size, "zeros"), width)
        want = els_x0(x_t[row:row + 1], sched.alpha_bars[t[row:row + 1]], size, "zeros", banks)
        assert torch.allclose(x0[row:row + 1], want, rtol=1e-12, atol=1e-12)
    ab = sched.alpha_bars[t].double().view(-1, 1, 1, 1)
    eps = provider.predict_eps(x_t, t, sched)
    assert torch.allclose(ab.sqrt() * x0 + (1 - ab).sqrt() * eps, x_t, atol=1e-12)


def test_contract() -> None:
    few_t = [1, 2, 10, 50, 200, 500, 800, 999, 1000]
    assert check_provider("els", options={"patch": "0.2:1,2:3,20:5", "patches": "256"}, t_values=few_t).ok
    assert check_provider("els", options={"patch": "0.2:3,2:1", "padding": "circular", "patches": "256"},
                          t_values=few_t, run=False).ok


@pytest.mark.parametrize("options, words", [
    ({"patch": "4"}, "odd"), ({"patch": "x"}, "odd"), ({"patch": "0.1:3,abc"}, "SIGMA:P"),
    ({"patch": "-1:3"}, "SIGMA:P"), ({"patch": "99"}, "exceeds"), ({"patches": "0"}, ">= 1 or all"),
    ({"chunk": "many"}, "integer"), ({"colour": "1"}, "has no option"), ({"padding": "reflect"}, "zeros"),
])
def test_bad_options_are_one_line_errors(tiny_dataset: ImageDataset, options: dict[str, str], words: str) -> None:
    with pytest.raises(DenoisebenchError) as info:
        ELSProvider(ProviderContext(tiny_dataset, options=options))
    assert words in str(info.value) and "\n" not in str(info.value)
