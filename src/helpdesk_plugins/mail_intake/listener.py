"""A local SMTP or LMTP listener (``helpdesk mail listen``) built on aiosmtpd (the ``email``
extra): the host's MTA (Postfix, Exim...) hands the desk's mail to it.

Rules:

1. Every accepted message is ingested as the raw bytes received (the envelope is not part of
   the message; recipients and sender are the MTA's business).
2. ``250`` is answered only after ingest returned, that is after its records committed; the
   reply text names the outcome and the ticket.
3. A :class:`~helpdesk_core.errors.StorageError` answers ``451 4.3.0``: a temporary failure,
   so the MTA keeps the message and retries later. Nothing was recorded.
4. A message above ``max_bytes`` is refused with ``552`` while it is being received (the size
   is also announced in EHLO/LHLO ``SIZE``).
5. LMTP answers DATA once per accepted recipient (RFC 2033); the message is ingested once.

Ingest runs in a worker thread, so one slow database call does not stall other connections.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Final

from helpdesk_core.errors import PluginError, StorageError
from helpdesk_plugins.mail_intake import Ingest

if TYPE_CHECKING:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger("helpdesk.mail.listen")

DEFAULT_MAX_BYTES: Final = 25_000_000
"""Largest message accepted by default (bytes), announced as SIZE."""


class IngestHandler:
    """The aiosmtpd handler: each message's DATA is answered after ingest (module rules)."""

    def __init__(self, ingest: Ingest, *, lmtp: bool = False) -> None:
        self.ingest = ingest
        self.lmtp = lmtp

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content
        if raw is None:  # pragma: no cover - aiosmtpd always sets it before DATA is handled
            raw = b""
        try:
            result = await asyncio.get_running_loop().run_in_executor(None, self.ingest, raw)
        except StorageError as exc:
            log.warning("ingest failed, answering 451 so the MTA retries: %s", exc)
            status = "451 4.3.0 Temporary failure: the helpdesk cannot store mail; try later"
        else:
            ticket = f" {result.ticket_id}" if result.ticket_id else ""
            status = f"250 2.0.0 OK: {result.outcome}{ticket}"
        if self.lmtp:
            return "\r\n".join([status] * max(len(envelope.rcpt_tos), 1))
        return status


def make_controller(
    ingest: Ingest,
    *,
    host: str = "127.0.0.1",
    port: int = 8025,
    lmtp: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Controller:
    """An aiosmtpd controller (call ``.start()`` / ``.stop()``) serving SMTP, or LMTP."""
    try:
        from aiosmtpd.controller import Controller
        from aiosmtpd.lmtp import LMTP
        from aiosmtpd.smtp import SMTP
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise PluginError(
            "the mail listener needs aiosmtpd: pip install 'helpdesk-core[email]'"
        ) from exc

    class IngestController(Controller):
        def factory(self) -> Any:
            server_class = LMTP if lmtp else SMTP
            return server_class(self.handler, **self.SMTP_kwargs)

    return IngestController(
        IngestHandler(ingest, lmtp=lmtp),
        hostname=host,
        port=port,
        data_size_limit=max_bytes,
        ident="helpdesk",
    )
