"""denoisebench-skimage: discovered through its entry point, true to its noise-level rules,
and passing the denoisebench provider contract."""

from __future__ import annotations

import ast
import importlib.metadata
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from skimage.metrics import peak_signal_noise_ratio
from skimage.restoration import cycle_spin, denoise_nl_means, denoise_tv_chambolle, denoise_wavelet

from denoisebench import DenoisebenchError, ProviderContext
from denoisebench.plugins import manager as plugins
from denoisebench.cli import cli
from denoisebench.cli import listing as _providers_verb  # noqa: F401  (registers the verb)
from denoisebench.testing import check_provider, synthetic_dataset
from denoisebench_skimage.providers import _SERIAL as SERIAL

NAMES = ("tv", "wavelet", "nlmeans")
PACKAGE_DIR = Path(__file__).resolve().parents[1] / "denoisebench_skimage"


@pytest.fixture(autouse=True)
def all_plugins(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.delenv(plugins.LOAD_ENV, raising=False)
    plugins.reset()
    yield
    plugins.reset()


def provider(name: str, **options: str):  # type: ignore[no-untyped-def]
    """Build a provider the way the runner does: by name, through the registry."""
    cls, _ = plugins.get_registry().provider(name)
    return cls.from_context(ProviderContext(dataset=synthetic_dataset(), options=options))


def noisy_batch(s: float, n: int = 4, seed: int = 0) -> tuple[np.ndarray, torch.Tensor]:
    clean = synthetic_dataset().heldout_images[:n].astype(np.float32)[:, None] / 255
    rng = np.random.default_rng(seed)
    return clean, torch.from_numpy(clean + s * rng.standard_normal(clean.shape).astype(np.float32))


def test_entry_point_is_declared_by_the_distribution() -> None:
    [ep] = [ep for ep in importlib.metadata.entry_points(group="denoisebench") if ep.name == "skimage"]
    assert ep.value == "denoisebench_skimage"
    assert ep.dist is not None and ep.dist.name == "denoisebench-skimage"


def test_providers_are_discovered_through_entry_points() -> None:
    result = CliRunner().invoke(cli, ["providers", "--json"], catch_exceptions=False)
    assert result.exit_code == 0
    rows = {r["name"]: r for r in json.loads(result.stdout)["providers"]}
    for name in NAMES:
        assert (rows[name]["plugin"], rows[name]["distribution"], rows[name]["kind"]) == (
            "skimage", "denoisebench-skimage", "restoration")
        assert rows[name]["version"] == importlib.metadata.version("denoisebench-skimage")


def test_load_plugins_env_can_leave_the_plugin_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(plugins.LOAD_ENV, "")
    plugins.reset()
    assert not set(NAMES) & set(plugins.get_registry().providers)
    monkeypatch.setenv(plugins.LOAD_ENV, "skimage")
    plugins.reset()
    assert set(NAMES) <= set(plugins.get_registry().providers)


@pytest.mark.parametrize("name", NAMES)
def test_provider_passes_the_contract(name: str, tmp_path: Path) -> None:
    report = check_provider(name, tmp_dir=tmp_path)
    assert report.ok


def test_scaled_mode_passes_the_contract(tmp_path: Path) -> None:
    assert check_provider("tv", options={"mode": "scaled"}, tmp_dir=tmp_path, t_values=list(range(1, 1001, 7))).ok


@pytest.mark.parametrize(("name", "reference"), [
    ("tv", lambda y, s: denoise_tv_chambolle(y, weight=0.7 * s)),
    ("wavelet", lambda y, s: cycle_spin(y, denoise_wavelet, max_shifts=1, func_kw={
        "sigma": 1.0 * s, "wavelet": "db1", "wavelet_levels": 3, "mode": "soft", "method": "BayesShrink", "rescale_sigma": True},
        **SERIAL)),
    ("nlmeans", lambda y, s: denoise_nl_means(y, patch_size=5, patch_distance=4, h=0.8 * s, sigma=s,
                                              fast_mode=True)),
])
def test_noise_level_rule_is_the_documented_one(name: str, reference) -> None:  # type: ignore[no-untyped-def]
    stds = torch.tensor([0.05, 0.3, 2.0, 0.05])  # one noise std per image, mixed
    _, y = noisy_batch(0.3)
    out = provider(name).denoise(y, stds)
    for i, s in enumerate(stds.tolist()):
        expected = np.clip(reference(y[i, 0].numpy(), s), 0, 1)
        np.testing.assert_allclose(out[i, 0].numpy(), expected, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_denoising_improves_psnr(name: str) -> None:
    clean, y = noisy_batch(0.15)
    out = provider(name).denoise(y, torch.full((len(y),), 0.15)).numpy()
    for x, noisy, den in zip(clean, y.numpy(), out):
        assert peak_signal_noise_ratio(x, den, data_range=1) > peak_signal_noise_ratio(
            x, np.clip(noisy, 0, 1), data_range=1) + 2


def test_options_strength_sigma_and_clip() -> None:
    _, y = noisy_batch(0.2)
    s = torch.full((len(y),), 0.1)
    np.testing.assert_allclose(provider("tv", strength="2").denoise(y, s).numpy(),
                               provider("tv").denoise(y, 2 * s).numpy(), atol=1e-6)
    estimated = provider("nlmeans", sigma="estimate")
    np.testing.assert_array_equal(estimated.denoise(y, s).numpy(), estimated.denoise(y, 5 * s).numpy())
    unclipped = provider("wavelet", clip="false").denoise(y * 4, s)
    assert provider("wavelet", clip="off").clip is False and provider("wavelet", clip="1").clip is True
    assert unclipped.min() < 0 or unclipped.max() > 1
    clipped = provider("wavelet").denoise(y * 4, s)
    assert clipped.min() >= 0 and clipped.max() <= 1
    info = provider("tv", strength="2").info()
    assert info["rule_constant"] == 0.7 and info["strength"] == 2.0 and info["mode"] == "tweedie"


@pytest.mark.parametrize("options", [{"strength": "-1"}, {"strength": "x"}, {"sigma": "guess"},
                                     {"clip": "maybe"}, {"mode": "magic"}, {"radius": "3"}, {"workers": "0"},
                                     {"workers": "all"}])
def test_bad_options_are_one_line_errors(options: dict[str, str]) -> None:
    with pytest.raises(DenoisebenchError) as info:
        provider("tv", **options)
    assert "\n" not in str(info.value) and "'tv'" in str(info.value)


def test_two_worker_processes_give_the_one_process_output() -> None:
    """-o workers=2 (denoisebench.PerImageRestorationProvider) changes the speed, not one bit of the output."""
    _, y = noisy_batch(0.2, n=6)
    stds = torch.tensor([0.05, 0.1, 0.2, 0.4, 0.8, 1.6])
    serial = provider("nlmeans").denoise(y, stds)
    parallel = provider("nlmeans", workers="2")
    try:
        assert torch.equal(parallel.denoise(y, stds), serial)
        assert parallel.info()["workers"] == 2
    finally:
        parallel.close()


def test_plugin_uses_only_the_public_api() -> None:
    """The plugin needs nothing private from the core: no underscore names, public modules only."""
    allowed = {"denoisebench", "denoisebench.plugins"}
    for path in PACKAGE_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("denoisebench") \
                    and not (node.module or "").startswith("denoisebench_skimage"):
                assert node.module in allowed, f"{path.name} imports {node.module}"
                assert not [a.name for a in node.names if a.name.startswith("_")], path.name
            if isinstance(node, ast.Import):
                assert not [a.name for a in node.names if a.name.startswith("denoisebench.")], path.name


def test_tuning_table_has_every_constant() -> None:
    from denoisebench_skimage.tune import GRIDS, measure

    table = measure(synthetic_dataset().heldout_images[:2], stds=(0.1,))
    for name, grid in GRIDS.items():
        assert sorted(table[table.provider == name].c) == sorted(grid)
    assert table["mean"].notna().all()
