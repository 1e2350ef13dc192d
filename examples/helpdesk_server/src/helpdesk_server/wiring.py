"""Build the desk a server runs on: the configuration file (``--config``, ``HELPDESK_CONFIG``, or
the bundled ``demo.toml``) and the database (``--url``, ``HELPDESK_DATABASE_URL``)."""

from __future__ import annotations

import os
from pathlib import Path

from helpdesk_core import Helpdesk
from helpdesk_core.clock import Clock
from helpdesk_server.plugin import ServerSection
from helpdesk_server.settings import ServerSettings

DEMO_CONFIG = Path(__file__).with_name("demo.toml")
"""The demo desk's configuration (users, SLA, calendar), shipped with the package."""

DEMO_DATABASE = "sqlite:///helpdesk-demo.db"


def config_path(given: str | None) -> str:
    """``given``, else ``HELPDESK_CONFIG``, else the bundled demo configuration."""
    return given or os.environ.get("HELPDESK_CONFIG") or str(DEMO_CONFIG)


def open_desk(
    config: str | None = None, url: str | None = None, *, clock: Clock | None = None
) -> Helpdesk:
    """The desk a server serves; the ``[server]`` section is accepted with or without the
    entry-point plugins (``HELPDESK_DISABLE_PLUGIN_AUTOLOAD``)."""
    storage_url = url or os.environ.get("HELPDESK_DATABASE_URL") or DEMO_DATABASE
    return Helpdesk(
        config=config_path(config), storage_url=storage_url, plugins=[ServerSection()], clock=clock
    )


def server_settings(desk: Helpdesk) -> ServerSettings:
    """The desk's ``[server]`` section (an empty one when the file has none: nobody signs in)."""
    section = desk.config.sections.get("server")
    return section if isinstance(section, ServerSettings) else ServerSettings()
