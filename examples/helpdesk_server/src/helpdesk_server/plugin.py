"""The ``helpdesk`` entry-point plugin of the server: it registers the ``[server]`` section, so a
desk's TOML file may carry the server's users and demo settings and still load in
``helpdesk worker --config`` (any desk with this package installed accepts the section).

Importing this module is cheap (no web framework): every desk in the environment loads it.
"""

from __future__ import annotations

from helpdesk_core import hookimpl
from helpdesk_core.config import SectionRegistrar
from helpdesk_server.settings import parse_server


@hookimpl(trylast=True)
def helpdesk_register_config_sections(register: SectionRegistrar) -> None:
    register("server", parse_server)


class ServerSection:
    """The same registration as an instance, for desks built with entry points switched off
    (both register the one parser function, so a desk may have both)."""

    @hookimpl(trylast=True)
    def helpdesk_register_config_sections(self, register: SectionRegistrar) -> None:
        register("server", parse_server)
