"""Which ticket an inbound mail belongs to, and whether it may be acknowledged.

Threading order (issue 23): In-Reply-To, then References newest first, each checked against the
Message-IDs we sent (they carry the ticket id, :mod:`.message_ids`) and then the ones we
received (the store's index, through ``ticket_of_received``); then the ``[#<number>]`` subject
token (through ``ticket_of_number``); else a new ticket (None).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from helpdesk_plugins.channel_email.message_ids import ticket_of_message_id
from helpdesk_plugins.channel_email.parse import ParsedEmail
from helpdesk_plugins.channel_email.settings import EmailSettings


def thread_ticket(
    parsed: ParsedEmail,
    settings: EmailSettings,
    *,
    ticket_of_received: Callable[[str], str | None],
    ticket_of_number: Callable[[str], str | None],
) -> str | None:
    """The id of the ticket ``parsed`` replies to, or None for a new ticket."""
    for message_id in parsed.thread_ids:
        ticket = ticket_of_message_id(message_id, settings.domains)
        if ticket is None:
            ticket = ticket_of_received(message_id)
        if ticket is not None:
            return ticket
    if parsed.ticket_token:
        return ticket_of_number(parsed.ticket_token)
    return None


def may_acknowledge(sent_at: Iterable[datetime], now: datetime, limit: int) -> bool:
    """True when fewer than ``limit`` acknowledgements went to the address in the hour before
    ``now`` (``[email] ack_limit_per_hour``, 3 by default)."""
    since = now - timedelta(hours=1)
    return sum(1 for at in sent_at if since < at <= now) < limit
