"""The one plugin manager: builtins and entry-point plugins, registered through the same hooks.

Every hook implementation is called on its own, so a plugin that fails to import, or whose hook
raises, is recorded by name with its error and every other provider still works.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from . import hookspecs
from ..datasets.base import DatasetSpec
from ..diffusion.samplers.base import Sampler
from ..errors import DenoisebenchError, ProviderError
from ..interfaces.catalogue import install_default
from ..interfaces.provider import EpsilonProvider

ENTRY_POINT_GROUP = "denoisebench"
LOAD_ENV = "DENOISEBENCH_LOAD_PLUGINS"
BUILTIN_PLUGINS = {"denoisebench.builtin": "denoisebench.plugins.builtin"}


@dataclass(frozen=True)
class PluginInfo:
    """Where a registered thing came from."""

    plugin: str
    distribution: str
    version: str


@dataclass
class Registry:
    """Everything the plugins registered, plus the failures."""

    providers: dict[str, tuple[type[EpsilonProvider], PluginInfo]] = field(default_factory=dict)
    samplers: dict[str, tuple[type[Sampler], PluginInfo]] = field(default_factory=dict)
    metrics: dict[str, tuple[type, PluginInfo]] = field(default_factory=dict)
    datasets: dict[str, tuple[DatasetSpec, PluginInfo]] = field(default_factory=dict)
    encoders: dict[str, tuple[type, PluginInfo]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def _lookup(self, table: dict[str, tuple[Any, PluginInfo]], kind: str, name: str) -> tuple[Any, PluginInfo]:
        if name not in table:
            known = ", ".join(sorted(table)) or "none"
            hint = (f" ({len(self.errors)} plugin error(s): see 'denoisebench {kind}s')" if self.errors else "")
            raise DenoisebenchError(f"unknown {kind} {name!r}: available {kind}s are {known}{hint}")
        return table[name]

    def provider(self, name: str) -> tuple[type[EpsilonProvider], PluginInfo]:
        return self._lookup(self.providers, "provider", name)

    def sampler(self, name: str) -> tuple[type[Sampler], PluginInfo]:
        return self._lookup(self.samplers, "sampler", name)

    def metric(self, name: str) -> tuple[type, PluginInfo]:
        return self._lookup(self.metrics, "metric", name)

    def encoder(self, name: str) -> tuple[type, PluginInfo]:
        return self._lookup(self.encoders, "encoder", name)

    def dataset(self, name: str) -> DatasetSpec:
        if name not in self.datasets:
            known = ", ".join(sorted(self.datasets)) or "none"
            raise DenoisebenchError(f"unknown dataset {name!r}: available datasets are {known}")
        return self.datasets[name][0]


def _builtin_info(module: str) -> PluginInfo:
    from .. import __version__

    return PluginInfo(module, "denoisebench", __version__)


def unknown_hooks(pm: pluggy.PluginManager, plugin: object, name: str) -> list[str]:
    """One error per hook implementation of ``plugin`` that matches no hook (a misspelt name)."""
    known = ", ".join(sorted(n for n in dir(hookspecs) if n.startswith("register_")))
    return [f"plugin {name!r} implements unknown hook {caller.name!r}: the hooks are {known}"
            for caller in (pm.get_hookcallers(plugin) or []) if caller.spec is None]


def make_plugin_manager(load_entry_points: bool = True) -> tuple[pluggy.PluginManager, list[str], dict[str, PluginInfo]]:
    """A fresh manager with the builtins and (optionally) the installed entry-point plugins.

    ``DENOISEBENCH_LOAD_PLUGINS``, when set, is a comma-separated allow-list of entry-point
    names; empty means none but the builtins.
    """

    pm = pluggy.PluginManager("denoisebench")
    pm.add_hookspecs(hookspecs)
    errors: list[str] = []
    infos: dict[str, PluginInfo] = {}
    for name, module in BUILTIN_PLUGINS.items():
        pm.register(importlib.import_module(module), name=name)
        infos[name] = _builtin_info(name)
    if not load_entry_points:
        return pm, errors, infos
    allowed = os.environ.get(LOAD_ENV)
    allow = None if allowed is None else {n.strip() for n in allowed.split(",") if n.strip()}
    # sorted by name, then distribution: the first of two plugins registering one name wins, always the same one
    entry_points = sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP),
                          key=lambda ep: (ep.name, ep.dist.name if ep.dist else ""))
    for ep in entry_points:
        if allow is not None and ep.name not in allow:
            continue
        dist = ep.dist.name if ep.dist else "?"
        version = ep.dist.version if ep.dist else "?"
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
        except Exception as exc:  # a broken plugin must not break the tool
            errors.append(f"plugin {ep.name!r} ({dist}) failed to load: {type(exc).__name__}: {exc}")
            continue
        errors.extend(unknown_hooks(pm, plugin, ep.name))
        infos[ep.name] = PluginInfo(ep.name, dist, version)
    for name in sorted((allow or set()) - {ep.name for ep in entry_points}):
        errors.append(f"{LOAD_ENV} names plugin {name!r}, which is not installed")
    return pm, errors, infos


def collect(pm: pluggy.PluginManager, errors: list[str], infos: dict[str, PluginInfo]) -> Registry:
    """Call each plugin's hooks separately and gather what they register."""
    registry = Registry(errors=list(errors))

    def call_each(hook_name: str, add: Callable[[object, PluginInfo], None]) -> None:
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            info = infos.get(impl.plugin_name) or PluginInfo(impl.plugin_name, "?", "?")

            def register(obj: object, _info: PluginInfo = info, _name: str = impl.plugin_name) -> None:
                try:
                    add(obj, _info)
                except DenoisebenchError as exc:  # one bad registration; the plugin's others stand
                    registry.errors.append(f"plugin {_name!r}: {exc}")

            try:
                impl.function(register)
            except Exception as exc:
                registry.errors.append(
                    f"plugin {impl.plugin_name!r} failed in {hook_name}: {type(exc).__name__}: {exc}")

    def add_class(table: dict[str, tuple[Any, PluginInfo]], kind: str, base: type, error: type[Exception]
                  ) -> Callable[[object, PluginInfo], None]:
        def add(cls: object, info: PluginInfo) -> None:
            if not (isinstance(cls, type) and issubclass(cls, base)):
                article = "an" if base.__name__[0] in "AEIOU" else "a"
                raise error(f"{cls!r} is not {article} {base.__name__} subclass")
            name = getattr(cls, "name", None)
            if not isinstance(name, str) or not name:
                raise error(f"{kind} class {cls.__name__} has no name: set the class attribute name")
            description = getattr(cls, "description", None)
            if not isinstance(description, str) or not description.strip():
                raise error(f"{kind} {name!r} ({cls.__name__}) has no description: set a one-line "
                            "class attribute description")
            if name in table:
                other = table[name][1].plugin
                raise error(f"{kind} name {name!r} is already registered by plugin {other!r}")
            table[name] = (cls, info)
        return add

    from ..encoders.base import Encoder
    from ..metrics.base import Metric

    add_provider = add_class(registry.providers, "provider", EpsilonProvider, ProviderError)
    add_sampler = add_class(registry.samplers, "sampler", Sampler, DenoisebenchError)
    add_metric = add_class(registry.metrics, "metric", Metric, DenoisebenchError)
    add_encoder = add_class(registry.encoders, "encoder", Encoder, DenoisebenchError)

    def add_dataset(spec: object, info: PluginInfo) -> None:
        if not isinstance(spec, DatasetSpec):
            raise DenoisebenchError(f"{spec!r} is not a DatasetSpec")
        if spec.id in registry.datasets:
            other = registry.datasets[spec.id][1].plugin
            raise DenoisebenchError(f"dataset id {spec.id!r} is already registered by plugin {other!r}")
        registry.datasets[spec.id] = (spec, info)

    call_each("register_providers", add_provider)
    call_each("register_samplers", add_sampler)
    call_each("register_metrics", add_metric)
    call_each("register_datasets", add_dataset)  # type: ignore[arg-type]
    call_each("register_encoders", add_encoder)
    return registry


_pm: pluggy.PluginManager | None = None
_registry: Registry | None = None
_extra: list[tuple[object, str]] = []


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager (built on first use)."""
    global _pm, _registry
    if _pm is None:
        _pm, errors, infos = make_plugin_manager()
        for plugin, name in _extra:
            _pm.register(plugin, name=name)
            infos[name] = PluginInfo(name, "(registered at run time)", "-")
            errors.extend(unknown_hooks(_pm, plugin, name))
        _registry = collect(_pm, errors, infos)
    return _pm


def get_registry() -> Registry:
    """What all plugins registered; failures are in ``errors``."""
    get_plugin_manager()
    assert _registry is not None
    return _registry


def register_plugin(plugin: object, name: str) -> None:
    """Register a plugin object at run time (tests, notebooks); rebuilds the registry."""
    _extra.append((plugin, name))
    reset()


def unregister_plugin(name: str) -> None:
    """Undo :func:`register_plugin`."""
    _extra[:] = [(p, n) for p, n in _extra if n != name]
    reset()


def reset() -> None:
    """Forget the manager so the next use rebuilds it (after installing plugins, in tests)."""
    global _pm, _registry
    _pm, _registry = None, None


install_default(get_registry)  # the low layers' default catalogue (denoisebench.interfaces.catalogue)
