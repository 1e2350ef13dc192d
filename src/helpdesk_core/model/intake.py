"""What the desk did with one inbound message (an email, a web form): :class:`IngestResult`.

Every input leaves a record: a ticket message (``created`` / ``appended``), an ignored record
(automated mail, bounces, loops) or a quarantine record (unusable input, raw bytes kept).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Final, Literal

import attrs

from helpdesk_core.model.events import to_utc

IngestOutcome = Literal["created", "appended", "ignored", "quarantined"]

INGEST_OUTCOMES: Final = ("created", "appended", "ignored", "quarantined")

IGNORE_REASONS: Final = ("auto_submitted", "precedence", "loop", "dsn", "own_message")
"""Reason codes of the ``ignored`` outcome (no ticket, no acknowledgement)."""

QUARANTINE_REASONS: Final = ("unparseable", "refused", "failed")
"""Reason codes of the ``quarantined`` outcome (raw bytes and reason kept): ``unparseable``
input; ``refused``: an agent's mail on a ticket that agent may not reply to; ``failed``: the
desk could not file it (the detail says why)."""


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


INTAKE_CHANNELS: Final = ("email", "web_form")


def _opt_bytes(value: bytes | None) -> bytes | None:
    return None if value is None else bytes(value)


@attrs.frozen
class IntakeRecord:
    """What became of one inbound message; every ingested input leaves exactly one.

    ``dedupe_key`` is ``"<Message-ID or empty>|<SHA-256 of the raw bytes>"`` for mail
    (``web:<email key>:<idempotency key>`` for a web form that has one): a store keeps at most
    one record per key, which is how a redelivery is recognised. ``raw`` holds the message's
    bytes for ``ignored`` and ``quarantined`` records and a keyed web form's canonical JSON
    (None otherwise: the ticket message is the record). ``promoted_to`` is the ticket an agent
    made from an ignored or quarantined record (:func:`helpdesk_core.desk.Helpdesk.promote_intake`).
    """

    id: str
    at: datetime = attrs.field(converter=to_utc)
    channel: str
    outcome: IngestOutcome = attrs.field(validator=_check_outcome)
    dedupe_key: str
    message_id: str | None = None
    sender: str | None = None
    subject: str = ""
    ticket_id: str | None = None
    customer_id: str | None = None
    reason: str | None = None
    detail: str | None = None
    raw: bytes | None = attrs.field(default=None, converter=_opt_bytes, repr=False)
    promoted_to: str | None = None

    def result(self, *, duplicate: bool = False) -> IngestResult:
        """The :class:`IngestResult` this record stands for."""
        return IngestResult(
            outcome=self.outcome,
            ticket_id=self.ticket_id,
            message_id=self.message_id,
            customer_id=self.customer_id,
            reason=self.reason,
            detail=self.detail,
            duplicate=duplicate,
        )


MAX_MESSAGE_KEY: Final = 200
"""Longer Message-IDs (up to 998 characters, any script) are keyed by their digest: stores
index these keys, and an index entry must stay small."""


def message_key(message_id: str) -> str:
    """How stores index a Message-ID: itself when it is short printable ASCII, else
    ``#`` and the hex SHA-256 of its UTF-8 form (so NUL, odd characters or great length never
    reach an index)."""
    if (
        len(message_id) <= MAX_MESSAGE_KEY
        and message_id.isascii()
        and message_id.isprintable()
        and not message_id.startswith("#")
    ):
        return message_id
    data = message_id.encode("utf-8", errors="surrogatepass")
    return "#" + hashlib.sha256(data).hexdigest()


def dedupe_key(message_id: str | None, sha256: str) -> str:
    """The redelivery key of a message: its Message-ID (or nothing, see :func:`message_key`)
    and its bytes' digest."""
    return f"{'' if message_id is None else message_key(message_id)}|{sha256}"


@attrs.frozen
class Attachment:
    """A file that came with an inbound message, kept in the store (``desk.attachment``)."""

    id: str
    ticket_id: str
    filename: str
    content_type: str
    content: bytes = attrs.field(converter=bytes, repr=False)
    at: datetime = attrs.field(converter=to_utc)
    message_id: str | None = None
    """The ticket message it came with."""

    @property
    def size(self) -> int:
        return len(self.content)


@attrs.frozen
class MailPart:
    """An attachment as a mail channel read it (not yet stored)."""

    filename: str
    content_type: str
    content: bytes = attrs.field(converter=bytes, repr=False)


@attrs.frozen
class InboundMail:
    """The full reading of one raw email by a mail channel (``MailChannel.parse_mail``).

    ``reason``/``detail`` classify mail that must make no ticket (``auto_submitted``,
    ``precedence``, ``loop``, ``dsn``, ``own_message``, ``unparseable``); None: a person wrote
    it. ``thread_ids`` are In-Reply-To then References, newest first. ``sent_tickets`` maps
    those of them the desk itself sent to the ticket they belong to.
    """

    sha256: str
    message_id: str | None = None
    sender: str | None = None
    sender_name: str = ""
    cc: tuple[str, ...] = ()
    to: tuple[str, ...] = ()
    subject: str = ""
    text: str = ""
    reply_text: str = ""
    thread_ids: tuple[str, ...] = ()
    sent_tickets: Mapping[str, str] = attrs.field(factory=dict)
    ticket_token: str | None = None
    attachments: tuple[MailPart, ...] = ()
    rejected_attachments: tuple[str, ...] = ()
    """Readable notes on attachments left out (over a limit, a type not allowed)."""
    reason: str | None = None
    detail: str | None = None
