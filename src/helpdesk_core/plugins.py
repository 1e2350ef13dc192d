"""One plugin manager per :class:`~helpdesk_core.desk.Helpdesk`: built-ins, entry points, host
plugins (in that registration order; host plugins win firstresult hooks because built-ins are
``trylast``)."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final

import pluggy

from helpdesk_core import hookspecs
from helpdesk_core.errors import PluginError

if TYPE_CHECKING:
    from helpdesk_core.config import ConfigRegistry

DEFAULT_PLUGINS: Final = (
    "helpdesk_core.builtins",
    "helpdesk_plugins.regex_re2",
    "helpdesk_plugins.storage_memory",
    "helpdesk_plugins.storage_sql",
    "helpdesk_plugins.notify_log",
    "helpdesk_plugins.notify_smtp",
    "helpdesk_plugins.notify_webhook",
    "helpdesk_plugins.channel_email.channel",
)
"""Modules of the built-in plugins, registered through the same hooks as any other."""

ENTRY_POINT_GROUP: Final = "helpdesk"
DISABLE_AUTOLOAD_ENV: Final = "HELPDESK_DISABLE_PLUGIN_AUTOLOAD"


class PluginManager:
    """A typed wrapper over :class:`pluggy.PluginManager` for one desk."""

    def __init__(
        self, plugins: Iterable[object] = (), *, load_entrypoints: bool | None = None
    ) -> None:
        self._pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        for name in DEFAULT_PLUGINS:
            self.register(importlib.import_module(name), name=name)
        if load_entrypoints is None:
            load_entrypoints = not os.environ.get(DISABLE_AUTOLOAD_ENV)
        if load_entrypoints:
            try:
                self._pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
            except pluggy.PluginValidationError as exc:
                raise PluginError(f"entry-point plugin {exc.plugin!r} is invalid: {exc}") from exc
        for plugin in plugins:
            self.register(plugin)
        try:
            self._pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginError(
                f"plugin {self._pm.get_name(exc.plugin) or exc.plugin!r} implements an unknown "
                f"hook: {exc}"
            ) from exc

    def register(self, plugin: object, name: str | None = None) -> None:
        """Register a module or an instance; a class (not an instance) is an error."""
        if isinstance(plugin, type):
            raise PluginError(
                f"register an instance of {plugin.__qualname__}, not the class itself"
            )
        if plugin is None:
            raise PluginError("cannot register None as a plugin")
        try:
            self._pm.register(plugin, name=name)
        except ValueError as exc:
            raise PluginError(f"plugin {name or plugin!r} is already registered: {exc}") from exc
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"plugin {name or plugin!r} is invalid: {exc}") from exc

    @property
    def hook(self) -> Any:
        """The hook relay: ``manager.hook.helpdesk_storage_open(url=..., config=...)``."""
        return self._pm.hook

    def names(self) -> list[str]:
        """Names of the registered plugins, in registration order."""
        return [name for name, _ in self._pm.list_name_plugin()]

    def is_registered(self, plugin: object) -> bool:
        return self._pm.is_registered(plugin)

    def plugin_modules(self) -> list[ModuleType]:
        return [p for p in self._pm.get_plugins() if isinstance(p, ModuleType)]

    def config_registry(self) -> ConfigRegistry:
        """This desk's registry: the built-in condition fields, then every plugin's fields,
        operators and regex engine (``helpdesk_register_conditions``), then every plugin's
        config sections (``helpdesk_register_config_sections``). Built fresh on every call."""
        from helpdesk_core.conditions import ConditionRegistry
        from helpdesk_core.config import ConfigRegistry

        conditions = ConditionRegistry.builtin()
        self.hook.helpdesk_register_conditions(registry=conditions)
        registry = ConfigRegistry(conditions=conditions)
        self.hook.helpdesk_register_config_sections(register=registry.add_section)
        return registry
