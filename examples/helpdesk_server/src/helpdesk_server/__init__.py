"""The reference server of helpdesk_core: an HTTP API under ``/api/v1`` and a server-rendered web
UI over one :class:`~helpdesk_core.Helpdesk`, plus the ``helpdesk serve`` and ``helpdesk demo``
commands. Every route calls the facade; the facade's permission checks are the only policy."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
