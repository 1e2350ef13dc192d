"""Who hears of what: the notifications an outbox message turns into (R-SLA-4, R-TKT-1).

The rules, in one place:

* a committed ``ticket_created``, ``replied`` or ``status_changed`` event tells the requester;
* a ``customer_messaged`` or ``assigned`` event tells the assignee;
* nobody is told of their own action;
* an escalation notice goes to each recipient its level resolved when it fired
  (:func:`helpdesk_core.escalation.resolve_recipients`);
* a queue alarm, raised or cleared, goes to the recipients resolved when it changed
  (:mod:`helpdesk_core.monitoring`, ``[alarms] recipients``);
* a survey invitation goes to the requester it names, with the token in ``data`` (the host's
  notifier renders the link to its answer page); an unsatisfied rating goes to the supervisors
  resolved when it was given (:mod:`helpdesk_core.surveys`, rules 2 and 6);
* an ``acknowledgement`` (a ticket made from a customer's mail or web form, issue 23) tells that
  customer the ticket's number, as a ``ticket_created`` notification to their address;
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

TELLS_REQUESTER: Final = frozenset(
    {"replied", "status_changed", "ticket_created", "workaround_sent"}
)
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
    if message.topic == "alarm":
        return _alarm(message.key, message.payload)
    if message.topic == "survey":
        return [_survey_invitation(message.key, message.payload)]
    if message.topic == "survey_unsatisfied":
        return _survey_unsatisfied(message.key, message.payload)
    if message.topic == "acknowledgement":
        return _acknowledgement(message.key, message.payload)
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


def _alarm(key: str, data: Mapping[str, Any]) -> list[Notification]:
    team = data.get("team") or "tickets of no team"
    word = "Queue alarm" if data["state"] == "raised" else "Queue alarm cleared"
    return [
        Notification(
            key=f"{key}:{recipient}",
            recipient=recipient,
            subject=f"{word}: {team} ({data['rule']})",
            body=str(data["detail"]),
            event_kind=f"alarm_{data['state']}",
            data={k: data[k] for k in ("rule", "team", "state", "episode", "value", "threshold")},
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


def _survey_invitation(key: str, data: Mapping[str, Any]) -> Notification:
    return Notification(
        key=key,
        recipient=str(data["recipient"]),
        subject=f"[{data['number']}] How did we do? {data['subject']}",
        body=f"Please rate our answer (1-5 stars) before {data['expires_at']}.",
        event_kind="survey_invitation",
        ticket_id=str(data["ticket_id"]),
        data={k: data[k] for k in ("survey_id", "token", "channel", "expires_at")},
    )


def _survey_unsatisfied(key: str, data: Mapping[str, Any]) -> list[Notification]:
    action = data["action"]
    done = "reopened" if action == "reopen" else f"follow-up ticket {data['follow_up']} opened"
    body = f"The customer rated {data['stars']} of 5 stars; the ticket was {done}."
    if action != "reopen":
        body = f"The customer rated {data['stars']} of 5 stars; {done}."
    if data.get("comment"):
        body += f"\nComment: {data['comment']}"
    return [
        Notification(
            key=f"{key}:{recipient}",
            recipient=recipient,
            subject=f"[{data['number']}] Unsatisfied customer: {data['subject']}",
            body=body,
            event_kind="survey_unsatisfied",
            ticket_id=str(data["ticket_id"]),
            data={k: data[k] for k in ("survey_id", "stars", "action", "follow_up")},
        )
        for recipient in data["recipients"]
    ]


def _acknowledgement(key: str, data: Mapping[str, Any]) -> list[Notification]:
    extra = {k: data[k] for k in ("email", "name", "in_reply_to") if data.get(k)}
    return [
        Notification(
            key=f"{key}:{data['recipient']}",
            recipient=str(data["recipient"]),
            subject=f"[{data['number']}] {data['subject']}",
            body="",
            event_kind="ticket_created",
            ticket_id=str(data["ticket_id"]),
            data={"number": data["number"], "ticket_subject": data["subject"], **extra},
        )
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
            data={k: data[k] for k in ("to_status",) if data.get(k)},
        )
        for recipient in recipients
        if recipient != data.get("actor")
    ]
