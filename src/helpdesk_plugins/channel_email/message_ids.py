"""Message-IDs the desk sends, and recognising them when they come back.

Ours look like ``<helpdesk.<ticket id>.<32 hex>@<our domain>>``: the hex is a SHA-256 of the
notification's idempotency key, so a redelivered notification carries the same Message-ID (the
recipient's client shows it once), and the ticket id lets a reply thread by its In-Reply-To or
References alone.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Final

OWN_PREFIX: Final = "helpdesk."
_SAFE_TICKET: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_OWN: Final = re.compile(
    r"^helpdesk\.(?:(?P<ticket>[A-Za-z0-9_-]{1,64})\.)?[0-9a-f]{32}@(?P<domain>[^@\s]+)$"
)


def make_message_id(key: str, domain: str, ticket_id: str | None = None) -> str:
    """Our Message-ID (without angle brackets) for the notification ``key``."""
    digest = hashlib.sha256(key.encode("utf-8", errors="surrogatepass")).hexdigest()[:32]
    ticket = f"{ticket_id}." if ticket_id and _SAFE_TICKET.match(ticket_id) else ""
    return f"{OWN_PREFIX}{ticket}{digest}@{domain}"


def is_own_message_id(message_id: str | None, domains: Iterable[str]) -> bool:
    """True when ``message_id`` (with or without brackets) is one the desk generated."""
    if not message_id:
        return False
    match = _OWN.match(message_id.strip().strip("<>"))
    return match is not None and match["domain"].lower() in {d.lower() for d in domains}


def ticket_of_message_id(message_id: str, domains: Iterable[str]) -> str | None:
    """The ticket id carried by one of our Message-IDs (a reply's In-Reply-To/References)."""
    match = _OWN.match(message_id.strip().strip("<>"))
    if not match or match["domain"].lower() not in {d.lower() for d in domains}:
        return None
    return match["ticket"]
