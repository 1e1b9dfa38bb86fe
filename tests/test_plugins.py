"""The plugin system seen from the command line: registration, failures, duplicates, allow-list.

Providers here are registered at run time through the hooks (``register_plugin``) or through
fake entry points (``importlib.metadata.entry_points`` patched as ``denoisebench.plugins`` uses it).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import denoisebench
from denoisebench.plugins import manager as plugins
from denoisebench.cli import cli
from denoisebench.cli import listing as _providers_verb  # noqa: F401  (registers the verb)
from denoisebench.cli import run as _run_verb  # noqa: F401
from denoisebench.datasets.base import DatasetSpec
from oracles import GaussianOracle
from denoisebench.testing import synthetic_dataset

DATASET = "plugin-test-synthetic"




class WrongShape(GaussianOracle):
    name: ClassVar[str] = "wrong-shape"

    def predict_eps(self, x_t: torch.Tensor, t: torch.Tensor, schedule: denoisebench.NoiseSchedule) -> torch.Tensor:
        return x_t[..., 1:]


class NaNEps(GaussianOracle):
    name: ClassVar[str] = "nan-eps"

    def predict_eps(self, x_t: torch.Tensor, t: torch.Tensor, schedule: denoisebench.NoiseSchedule) -> torch.Tensor:
        return torch.full_like(x_t, float("nan"))


def make_plugin(*providers: type, fail: str | None = None, with_dataset: bool = False) -> object:
    """A plugin object whose register_providers registers ``providers`` (or raises ``fail``)."""

    def register_providers(register: Callable[[type], None]) -> None:
        for cls in providers:
            register(cls)
        if fail:
            raise RuntimeError(fail)

    def register_datasets(register: Callable[[object], None]) -> None:
        if with_dataset:
            data = synthetic_dataset(n=24, heldout=8)
            register(DatasetSpec(DATASET, "tiny synthetic set for plugin tests", lambda _opts: data))

    plugin = types.SimpleNamespace(register_providers=denoisebench.hookimpl(register_providers))
    if with_dataset:
        plugin.register_datasets = denoisebench.hookimpl(register_datasets)
    return plugin


@dataclass
class FakeDist:
    name: str
    version: str = "9.9.9"


@dataclass
class FakeEntryPoint:
    """Just what ``make_plugin_manager`` uses of an entry point: name, dist, load()."""

    name: str
    dist: FakeDist
    target: object = None
    module: str | None = None

    def load(self) -> object:
        return importlib.import_module(self.module) if self.module else self.target


@pytest.fixture
def registered() -> Iterator[Callable[[object, str], None]]:
    """``registered(plugin, name)`` for the test; everything is unregistered afterwards."""
    names: list[str] = []

    def add(plugin: object, name: str) -> None:
        names.append(name)
        plugins.register_plugin(plugin, name)

    yield add
    for name in names:
        plugins.unregister_plugin(name)
    plugins.reset()


@pytest.fixture
def fake_entry_points(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """``fake_entry_points(*eps)``: the installed entry points plus ``eps`` for group denoisebench."""
    real = importlib.metadata.entry_points

    def install(*eps: FakeEntryPoint) -> None:
        def entry_points(**kwargs: object) -> object:
            if kwargs.get("group") == plugins.ENTRY_POINT_GROUP:
                return [*real(**kwargs), *eps]
            return real(**kwargs)

        monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
        monkeypatch.delenv(plugins.LOAD_ENV, raising=False)
        plugins.reset()

    yield install
    plugins.reset()


def invoke(*args: str) -> object:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def providers_json() -> dict[str, object]:
    result = invoke("providers", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def provider_names(listing: dict[str, object]) -> set[str]:
    return {row["name"] for row in listing["providers"]}


def run_args(provider: str, tmp_path: Path) -> list[str]:
    return ["run", "--provider", provider, "--dataset", DATASET, "--no-metrics", "-n", "3",
            "--batch-size", "2", "--steps", "3", "--results-dir", str(tmp_path)]


def last_error_line(result: object) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def test_registered_provider_is_listed_and_runs(registered, tmp_path: Path) -> None:
    registered(make_plugin(GaussianOracle, with_dataset=True), "oracle-plugin")
    row = next(r for r in providers_json()["providers"] if r["name"] == "gauss-oracle")
    assert row["plugin"] == "oracle-plugin"
    assert row["kind"] == "epsilon"
    assert "empirical" in provider_names(providers_json())

    result = invoke(*run_args("gauss-oracle", tmp_path))
    assert result.exit_code == 0, result.output
    run_dir = Path(result.stdout.strip().splitlines()[-1])
    record = json.loads((run_dir / "run.json").read_text())
    assert record["provider"]["name"] == "gauss-oracle"
    assert record["provider"]["plugin"] == "oracle-plugin"
    with np.load(run_dir / "samples.npz") as data:
        assert data["images"].shape == (3, 28, 28) and data["images"].dtype == np.uint8


def test_plugin_that_fails_to_import_is_named_and_the_rest_works(fake_entry_points, registered,
                                                                tmp_path: Path) -> None:
    good = types.SimpleNamespace(register_providers=denoisebench.hookimpl(
        lambda register: register(GaussianOracle)))
    fake_entry_points(
        FakeEntryPoint("broken", FakeDist("denoisebench-broken"), module="denoisebench_no_such_module_xyz"),
        FakeEntryPoint("fine", FakeDist("denoisebench-fine"), target=good))
    registered(make_plugin(with_dataset=True), "data-plugin")

    listing = providers_json()
    assert {"empirical", "gauss-oracle"} <= provider_names(listing)
    [error] = [e for e in listing["errors"] if "broken" in e]
    assert "denoisebench-broken" in error and "ModuleNotFoundError" in error and "\n" not in error
    fine = next(r for r in listing["providers"] if r["name"] == "gauss-oracle")
    assert (fine["plugin"], fine["distribution"], fine["version"]) == ("fine", "denoisebench-fine", "9.9.9")

    text = invoke("providers")
    assert text.exit_code == 0
    assert any(line.startswith("Warning: plugin 'broken'") for line in text.stderr.splitlines())
    assert invoke(*run_args("gauss-oracle", tmp_path)).exit_code == 0


def test_plugin_whose_hook_raises_is_named_and_the_rest_works(registered, tmp_path: Path) -> None:
    registered(make_plugin(fail="boom"), "hook-raises")
    registered(make_plugin(GaussianOracle, with_dataset=True), "oracle-plugin")
    listing = providers_json()
    assert {"empirical", "gauss-oracle"} <= provider_names(listing)
    assert "plugin 'hook-raises' failed in register_providers: RuntimeError: boom" in listing["errors"]
    assert invoke(*run_args("gauss-oracle", tmp_path)).exit_code == 0


def test_bad_registration_is_named_and_the_plugins_other_providers_stand(registered) -> None:
    registered(make_plugin(int, GaussianOracle), "half-bad")  # type: ignore[arg-type]
    listing = providers_json()
    assert "gauss-oracle" in provider_names(listing)
    assert any(e.startswith("plugin 'half-bad':") and "not an EpsilonProvider" in e for e in listing["errors"])


@pytest.mark.parametrize(("provider", "words"), [
    (WrongShape, ("'wrong-shape'", "shape")),
    (NaNEps, ("'nan-eps'", "non-finite")),
])
def test_misbehaving_provider_fails_the_run_with_one_line(registered, tmp_path: Path, provider: type,
                                                          words: tuple[str, ...]) -> None:
    registered(make_plugin(provider, GaussianOracle, with_dataset=True), "misbehaving")
    result = invoke(*run_args(provider.name, tmp_path))
    assert result.exit_code == 2
    line = last_error_line(result)
    assert line.startswith("Error: ") and all(w in line for w in words), result.stderr
    assert not [p for p in tmp_path.iterdir() if not p.name.startswith(".")]  # nothing half-written
    assert invoke(*run_args("gauss-oracle", tmp_path)).exit_code == 0  # the others still work


def test_two_providers_with_one_name_is_a_clear_error(registered, tmp_path: Path) -> None:
    class Other(GaussianOracle):
        description: ClassVar[str] = "a second provider that reuses the name"

    class Shadow(GaussianOracle):
        name: ClassVar[str] = "empirical"

    registered(make_plugin(GaussianOracle, with_dataset=True), "first")
    registered(make_plugin(Other, Shadow), "second")
    listing = providers_json()
    errors = listing["errors"]
    assert "plugin 'second': provider name 'gauss-oracle' is already registered by plugin 'first'" in errors
    assert "plugin 'second': provider name 'empirical' is already registered by plugin 'denoisebench.builtin'" in errors
    rows = {r["name"]: r for r in listing["providers"]}
    assert rows["gauss-oracle"]["plugin"] == "first"  # the first registration stands
    assert rows["empirical"]["plugin"] == "denoisebench.builtin"  # a plugin cannot shadow a builtin


def test_load_plugins_env_restricts_entry_point_plugins(fake_entry_points, monkeypatch: pytest.MonkeyPatch) -> None:
    class Beta(GaussianOracle):
        name: ClassVar[str] = "beta-oracle"

    fake_entry_points(
        FakeEntryPoint("alpha", FakeDist("denoisebench-alpha"), target=make_plugin(GaussianOracle)),
        FakeEntryPoint("beta", FakeDist("denoisebench-beta"), target=make_plugin(Beta)))

    def loaded(value: str | None) -> tuple[dict[str, str], list[str]]:
        if value is None:
            monkeypatch.delenv(plugins.LOAD_ENV, raising=False)
        else:
            monkeypatch.setenv(plugins.LOAD_ENV, value)
        plugins.reset()
        listing = providers_json()
        return {r["name"]: r["plugin"] for r in listing["providers"]}, listing["errors"]

    everything, _ = loaded(None)
    assert {"gauss-oracle", "beta-oracle", "empirical"} <= set(everything)
    only_alpha, _ = loaded("alpha")
    assert "gauss-oracle" in only_alpha and "beta-oracle" not in only_alpha
    assert set(loaded(" alpha , beta ")[0]) >= {"gauss-oracle", "beta-oracle"}
    builtins_only, errors = loaded("")
    assert "empirical" in builtins_only
    assert set(builtins_only.values()) == {"denoisebench.builtin"}  # no entry-point plugin at all
    assert not errors
    _, errors = loaded("alpha,gamma")
    assert f"{plugins.LOAD_ENV} names plugin 'gamma', which is not installed" in errors


def test_unknown_provider_points_at_plugin_errors(fake_entry_points, tmp_path: Path) -> None:
    fake_entry_points(FakeEntryPoint("broken", FakeDist("denoisebench-broken"),
                                     module="denoisebench_no_such_module_xyz"))
    result = invoke("run", "--provider", "from-broken", "--no-metrics", "--results-dir", str(tmp_path))
    assert result.exit_code == 2
    line = last_error_line(result)
    assert line.startswith("Error: unknown provider 'from-broken'") and "denoisebench providers" in line


def test_guide_example_passes_the_contract(registered, tmp_path: Path) -> None:
    """The complete example in docs/plugins.md registers, lists and passes the test kit."""
    from denoisebench.testing import check_provider

    guide = (Path(__file__).resolve().parents[1] / "docs" / "plugins.md").read_text()
    code = guide.split("## A complete example", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    module = types.ModuleType("denoisebench_gaussian")
    exec(compile(code, "docs/plugins.md", "exec"), module.__dict__)  # noqa: S102
    registered(module, "gaussian")
    row = next(r for r in providers_json()["providers"] if r["name"] == "gaussblur")
    assert (row["plugin"], row["kind"]) == ("gaussian", "restoration")
    assert check_provider("gaussblur", tmp_dir=tmp_path).ok


def test_entry_point_order_is_by_name_not_sys_path_and_run_warns(fake_entry_points, tmp_path: Path) -> None:
    """Two installed plugins registering one provider name: the plugin whose entry-point name sorts
    first wins whatever order the entry points come in, and `run` says so."""
    class Twin(GaussianOracle):
        description: ClassVar[str] = "the same name from another plugin"

    zeta = FakeEntryPoint("zeta", FakeDist("denoisebench-zeta"), target=make_plugin(Twin, with_dataset=True))
    alpha = FakeEntryPoint("alpha", FakeDist("denoisebench-alpha"), target=make_plugin(GaussianOracle))
    winners = []
    for order in ((zeta, alpha), (alpha, zeta)):
        fake_entry_points(*order)
        winners.append({r["name"]: r for r in providers_json()["providers"]}["gauss-oracle"]["plugin"])
    assert winners == ["alpha", "alpha"]
    result = invoke(*run_args("gauss-oracle", tmp_path))
    assert result.exit_code == 0
    assert "Warning: plugin 'zeta': provider name 'gauss-oracle' is already registered by plugin 'alpha'" in result.stderr


def test_a_class_without_description_is_refused_at_registration(registered) -> None:
    class NoDescription(GaussianOracle):
        name: ClassVar[str] = "no-description"
        description: ClassVar[str] = ""

    registered(make_plugin(NoDescription), "careless")
    listing = providers_json()  # the listing still works for every other plugin
    assert "no-description" not in provider_names(listing) and "empirical" in provider_names(listing)
    assert any(e.startswith("plugin 'careless': provider 'no-description'") and "has no description" in e
               for e in listing["errors"])
