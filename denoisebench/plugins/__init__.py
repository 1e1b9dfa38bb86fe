"""The plugin system: hook specs (:mod:`.hookspecs`), the one manager (:mod:`.manager`) and the
builtin plugin (:mod:`.builtin`), which registers the project's own providers, samplers, metrics
and datasets through the same hooks as third-party packages."""

from .manager import (ENTRY_POINT_GROUP, LOAD_ENV, PluginInfo, Registry, get_plugin_manager, get_registry,
                      register_plugin, reset, unregister_plugin)

__all__ = ["ENTRY_POINT_GROUP", "LOAD_ENV", "PluginInfo", "Registry", "get_plugin_manager", "get_registry",
           "register_plugin", "reset", "unregister_plugin"]
