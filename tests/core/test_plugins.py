"""The plugin system: built-ins through the same hooks, entry points, host plugins, rejection of
malformed plugins."""

from __future__ import annotations

import importlib.metadata

import pytest

from helpdesk_core import Helpdesk, PluginError, hookimpl
from helpdesk_core.plugins import PluginManager
from helpdesk_plugins.storage_memory import MemoryStorage


def test_builtins_are_registered_through_hooks() -> None:
    manager = PluginManager(load_entrypoints=False)
    assert "helpdesk_plugins.storage_memory" in manager.names()
    assert "helpdesk_plugins.notify_log" in manager.names()


def test_unknown_hook_is_rejected() -> None:
    class Typo:
        @hookimpl
        def helpdesk_event_commited(self, event: object, ticket: object) -> None: ...

    with pytest.raises(PluginError, match="helpdesk_event_commited"):
        PluginManager([Typo()], load_entrypoints=False)


def test_unknown_hook_argument_is_rejected() -> None:
    class BadArgs:
        @hookimpl
        def helpdesk_event_committed(self, event: object, tikcet: object) -> None: ...

    with pytest.raises(PluginError, match="tikcet"):
        PluginManager([BadArgs()], load_entrypoints=False)


def test_class_instead_of_instance_is_rejected() -> None:
    class Plugin:
        @hookimpl
        def helpdesk_event_committed(self, event: object, ticket: object) -> None: ...

    with pytest.raises(PluginError, match="instance"):
        PluginManager([Plugin], load_entrypoints=False)


def test_host_storage_plugin_wins_over_builtin() -> None:
    opened: list[str] = []

    class HostStorage:
        @hookimpl
        def helpdesk_storage_open(self, url: str, config: object) -> MemoryStorage | None:
            opened.append(url)
            return MemoryStorage("memory://host") if url == "memory://" else None

    desk = Helpdesk(plugins=[HostStorage()], load_entrypoints=False)
    assert opened == ["memory://"]
    assert desk.storage.url == "memory://host"


def test_unknown_storage_url_names_the_url() -> None:
    with pytest.raises(PluginError, match="nosuch://x"):
        Helpdesk(storage_url="nosuch://x", load_entrypoints=False)


def test_entry_point_plugin_is_found() -> None:
    """examples/helpdesk_example_plugin is installed into the test environment (nox does it)."""
    names = [ep.name for ep in importlib.metadata.entry_points(group="helpdesk")]
    assert "example" in names, (
        "install the example plugin: pip install -e examples/helpdesk_example_plugin"
    )
    desk = Helpdesk(load_entrypoints=True)
    assert "example" in desk.plugins.names()
    assert "example-inbox" in [n.name for n in desk.notifiers]
    off = Helpdesk(load_entrypoints=False)
    assert "example" not in off.plugins.names()


def test_entry_points_switched_off_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELPDESK_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert "example" not in Helpdesk().plugins.names()
