"""Records kept beside ticket events: the transactional outbox and the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

import attrs

from helpdesk_core.model.events import to_utc

OUTBOX_STATES: Final = ("pending", "delivered", "dead")


@attrs.frozen
class OutboxMessage:
    """Something to deliver after a commit, written in the same transaction (DESIGN 7).

    ``key`` is the idempotency key receivers use to drop redeliveries: delivery is at least once.
    ``topic`` says who handles it (``event`` for notifiers of committed events).
    """

    id: str
    topic: str
    key: str
    payload: dict[str, Any]
    created_at: datetime = attrs.field(converter=to_utc)
    available_at: datetime = attrs.field(converter=to_utc)
    state: str = "pending"
    attempts: int = 0
    last_error: str | None = None
    claimed_by: str | None = None
    lease_until: datetime | None = attrs.field(
        default=None, converter=attrs.converters.optional(to_utc)
    )


def delivery_state(delivered: bool, retry_at: datetime | None) -> str:
    """An outbox message's state after a delivery attempt: delivered, pending again (a retry
    is scheduled) or dead."""
    if delivered:
        return "delivered"
    return "pending" if retry_at is not None else "dead"


OUTBOX_MAX_ATTEMPTS: Final = 8
"""Delivery attempts before an outbox message is dead (kept, with its last error)."""

OUTBOX_FIRST_BACKOFF: Final = timedelta(seconds=30)


def retry_at(message: OutboxMessage, failed_at: datetime) -> datetime | None:
    """When a message whose delivery just failed is tried again: exponential back-off from 30 s
    (30 s, 1 min, 2 min, ...), or ``None`` once it has had :data:`OUTBOX_MAX_ATTEMPTS` attempts
    (it is dead)."""
    if message.attempts + 1 >= OUTBOX_MAX_ATTEMPTS:
        return None
    return failed_at + OUTBOX_FIRST_BACKOFF * (1 << message.attempts)


@attrs.frozen
class AuditRecord:
    """One user operation, allowed or denied (R-SEC-1). Ticket changes are also events."""

    id: str
    at: datetime = attrs.field(converter=to_utc)
    actor: str
    action: str
    target: str | None
    allowed: bool
    rule: str | None = None
    detail: str | None = None


@attrs.frozen
class Firing:
    """An escalation level that fired, recorded in the transaction that took its actions.

    ``key`` is ``ticket|policy|level|metric|cycle`` and unique: a second firing of the same
    level for the same cycle is refused, whichever worker tries (exactly once).
    """

    key: str
    ticket_id: str
    policy: str
    level: int
    metric: str
    cycle: int
    at: datetime = attrs.field(converter=to_utc)
    worker: str
