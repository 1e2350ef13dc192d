"""What the desk did with one inbound message (an email, a web form): :class:`IngestResult`.

Every input leaves a record: a ticket message (``created`` / ``appended``), an ignored record
(automated mail, bounces, loops) or a quarantine record (unusable input, raw bytes kept).
"""

from __future__ import annotations

from typing import Final, Literal

import attrs

IngestOutcome = Literal["created", "appended", "ignored", "quarantined"]

INGEST_OUTCOMES: Final = ("created", "appended", "ignored", "quarantined")

IGNORE_REASONS: Final = ("auto_submitted", "precedence", "loop", "dsn", "own_message")
"""Reason codes of the ``ignored`` outcome (no ticket, no acknowledgement)."""

QUARANTINE_REASONS: Final = ("unparseable",)
"""Reason codes of the ``quarantined`` outcome (raw bytes and reason kept)."""


def _check_outcome(instance: IngestResult, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in INGEST_OUTCOMES:
        raise ValueError(f"outcome must be one of {INGEST_OUTCOMES}, got {value!r}")


@attrs.frozen
class IngestResult:
    """The outcome of ``desk.ingest_email(raw)`` or ``desk.submit_web_form(payload)``.

    ``ticket_id`` is set for ``created`` and ``appended``; ``reason`` (a code such as
    ``auto_submitted``, ``precedence``, ``loop``, ``dsn``, ``own_message``, ``unparseable``) and
    its readable ``detail`` for ``ignored`` and ``quarantined``. ``duplicate`` is True when the
    same message (Message-ID or none, SHA-256 of the raw bytes) was ingested before: the result
    is then the first delivery's and nothing was written.
    """

    outcome: IngestOutcome = attrs.field(validator=_check_outcome)
    ticket_id: str | None = None
    message_id: str | None = None
    customer_id: str | None = None
    reason: str | None = None
    detail: str | None = None
    duplicate: bool = False
