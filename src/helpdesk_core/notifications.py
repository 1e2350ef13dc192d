"""Who hears of what: the notifications an outbox message turns into (R-SLA-4, R-TKT-1).

The rules, in one place:

* a committed ``ticket_created``, ``replied`` or ``status_changed`` event tells the requester;
* a ``customer_messaged`` or ``assigned`` event tells the assignee;
* nobody is told of their own action;
* an escalation notice goes to each recipient its level resolved when it fired
  (:func:`helpdesk_core.escalation.resolve_recipients`);
* a review notice (approval warning or breach, an overdue improvement action) goes to the
  recipients resolved when it fired (:mod:`helpdesk_core.reviews`, rule 6).

Each notification carries an idempotency key ``<outbox key>:<recipient>`` so a notifier can drop
a redelivery (delivery is at least once).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from helpdesk_core.model.records import OutboxMessage
from helpdesk_core.model.tickets import Ticket
from helpdesk_core.ports import Notification

TELLS_REQUESTER: Final = frozenset({"replied", "status_changed", "ticket_created"})
TELLS_ASSIGNEE: Final = frozenset({"customer_messaged", "assigned"})


def needs_ticket(message: OutboxMessage) -> str | None:
    """The id of the ticket whose current state :func:`notifications` needs, if any."""
    if message.topic != "event":
        return None
    return str(message.payload["ticket_id"])


def notifications(message: OutboxMessage, ticket: Ticket | None) -> list[Notification]:
    """What ``message`` is delivered as: one notification per recipient (none for a topic no
    rule covers, or for an event whose ticket no longer exists)."""
    if message.topic == "escalation":
        return _escalation(message.key, message.payload)
    if message.topic == "review":
        return _review(message.key, message.payload)
    if message.topic != "event" or ticket is None:
        return []
    return _event(message.key, message.payload, ticket)


def _escalation(key: str, data: Mapping[str, Any]) -> list[Notification]:
    return [
        Notification(
            key=f"{key}:{recipient}",
            recipient=recipient,
            subject=f"[{data['number']}] Escalation: {data['subject']}",
            body=str(data["reason"]),
            event_kind="escalation",
            ticket_id=str(data["ticket_id"]),
            data={k: data[k] for k in ("policy", "level", "metric", "cycle", "on_call")},
        )
        for recipient in data["recipients"]
    ]


def _review(key: str, data: Mapping[str, Any]) -> list[Notification]:
    return [
        Notification(
            key=f"{key}:{recipient}",
            recipient=recipient,
            subject=f"[{data['number']}] Review: {data['subject']}",
            body=str(data["text"]),
            event_kind=str(data["kind"]),
            ticket_id=str(data["ticket_id"]),
            data={k: data[k] for k in ("review_id", "due_at", "action_id")},
        )
        for recipient in data["recipients"]
    ]


def _event(key: str, data: Mapping[str, Any], ticket: Ticket) -> list[Notification]:
    kind = data["kind"]
    recipients: list[str] = []
    if kind in TELLS_REQUESTER and ticket.requester:
        recipients.append(ticket.requester)
    if kind in TELLS_ASSIGNEE and ticket.assignee:
        recipients.append(ticket.assignee)
    body = data.get("body") or (
        f"Status: {data.get('to_status')}" if kind == "status_changed" else kind
    )
    return [
        Notification(
            key=f"{key}:{recipient}",
            recipient=recipient,
            subject=f"[{ticket.number}] {ticket.subject}",
            body=str(body),
            event_kind=kind,
            ticket_id=ticket.id,
        )
        for recipient in recipients
        if recipient != data.get("actor")
    ]
