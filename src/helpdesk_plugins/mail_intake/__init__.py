"""Ways mail reaches a desk: an IMAP poller (:mod:`.imap`), a local SMTP/LMTP listener
(:mod:`.listener`) and files on disk (:mod:`.files`: .eml, mbox, Maildir).

Each hands the raw bytes of every message to an :data:`Ingest` callable (a desk's
``ingest_email``) and acknowledges the message to its source only after the callable returned,
that is after the ingest committed. A :class:`~helpdesk_core.errors.StorageError` from it means
nothing was recorded: the message stays with its source (unflagged on IMAP, a 451 answer to the
MTA, a failed line for a file) and is offered again.
"""

from __future__ import annotations

from collections.abc import Callable

from helpdesk_core.model.intake import IngestResult

Ingest = Callable[[bytes], IngestResult]
"""Takes one raw message and records it (``desk.ingest_email``); never raises for any bytes
except :class:`~helpdesk_core.errors.StorageError` (nothing recorded)."""

__all__ = ["Ingest"]
