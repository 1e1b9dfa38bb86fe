"""``wiener``: exact against the float64 closed form for Gaussian data, and the provider contract."""

from __future__ import annotations

import numpy as np
import torch

from denoisebench import ProviderContext
from denoisebench.datasets.base import ImageDataset
from denoisebench.diffusion.schedule import linear_schedule
from denoisebench.providers.wiener import WienerProvider, gaussian_fit
from denoisebench.testing import check_provider


def test_eps_is_the_exact_eps_of_gaussian_data(tiny_dataset: ImageDataset) -> None:
    """Data x0 ~ N(mu, Sigma) in [-1, 1] units: E[eps | x_t] = sqrt(1 - a) (a Sigma + (1 - a) I)^-1 (x_t - sqrt(a) mu)."""
    rng = np.random.default_rng(0)
    d = 16
    mean01 = rng.uniform(0.2, 0.8, d)
    a_mat = rng.normal(size=(d, d))
    cov01 = a_mat @ a_mat.T / d * 0.05 + 1e-3 * np.eye(d)
    lam, vecs = np.linalg.eigh(cov01)
    provider = WienerProvider(ProviderContext(tiny_dataset), moments=(mean01, lam, vecs))
    schedule = linear_schedule(1000)
    t = torch.tensor([1, 10, 200, 600, 1000])
    x_t = torch.from_numpy(rng.normal(size=(len(t), 1, 4, 4)))
    eps = provider.predict_eps(x_t, t, schedule).numpy().reshape(len(t), d)
    mu, sigma = 2 * mean01 - 1, 4 * cov01
    for k, step in enumerate(t.tolist()):
        a = float(schedule.alpha_bars[step])
        exact = np.sqrt(1 - a) * np.linalg.solve(a * sigma + (1 - a) * np.eye(d),
                                                  x_t[k].numpy().reshape(d) - np.sqrt(a) * mu)
        assert np.allclose(eps[k], exact, rtol=1e-8, atol=1e-9), step


def test_fit_matches_numpy_moments() -> None:
    images = np.random.default_rng(1).uniform(size=(50, 3, 3))
    mean, lam, vecs = gaussian_fit(images)
    cov = (vecs * lam) @ vecs.T
    assert np.allclose(mean, images.reshape(50, -1).mean(0))
    assert np.allclose(cov, np.cov(images.reshape(50, -1), rowvar=False, bias=True))


def test_contract() -> None:
    assert check_provider("wiener").ok
