"""The ticket aggregate (R-TKT-1, R-TKT-2, R-TKT-4, R-TKT-6): state folded from events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs

from helpdesk_core.errors import ValidationError
from helpdesk_core.model.events import Event, Message, TicketCreated


@attrs.frozen
class Ticket:
    """A ticket as of its latest event. Build it with :meth:`from_events`; never edit it.

    ``version`` equals the ``seq`` of the last applied event, so it strictly increases with every
    change and is the optimistic-locking token storages check.
    """

    id: str
    number: str
    subject: str
    description: str
    type: str
    sub_category: str | None
    priority: str
    urgency: str | None
    channel: str
    status: str
    status_category: str
    requester: str | None
    organisation: str | None
    assignee: str | None
    team: str | None
    department: str | None
    tags: frozenset[str]
    custom: Mapping[str, Any]
    expected_resolution_at: datetime | None
    workaround: str | None
    created_at: datetime
    updated_at: datetime
    created_by: str
    version: int
    messages: tuple[Message, ...] = ()
    merged_into: str | None = None
    merged_from: frozenset[str] = frozenset()
    split_from: str | None = None
    links: frozenset[tuple[str, str]] = frozenset()
    reopen_count: int = 0
    tier: int = 1
    priority_confirmed: bool = True
    """False while the priority is the automatic intake guess an agent has not confirmed."""
    pending_transfer: str | None = None
    assignee_since: datetime | None = None
    """When the current assignee (or the lack of one) began: escalation's "unassigned for N
    minutes" counts from here."""

    @classmethod
    def created(cls, event: TicketCreated) -> Ticket:
        return cls(
            id=event.ticket_id,
            number=event.number,
            subject=event.subject,
            description=event.description,
            type=event.type,
            sub_category=event.sub_category,
            priority=event.priority,
            urgency=event.urgency,
            channel=event.channel,
            status=event.status,
            status_category=event.status_category,
            requester=event.requester,
            organisation=event.organisation,
            assignee=event.assignee,
            team=event.team,
            department=event.department,
            tags=event.tags,
            custom=dict(event.custom),
            expected_resolution_at=event.expected_resolution_at,
            workaround=event.workaround,
            created_at=event.at,
            updated_at=event.at,
            created_by=event.actor,
            version=event.seq,
            messages=event.messages,
            split_from=event.split_from,
            priority_confirmed=not event.priority_auto,
            assignee_since=event.at,
        )

    @classmethod
    def from_events(cls, events: Iterable[Event]) -> Ticket:
        """Fold a ticket's full history, oldest first; the first event must create it."""
        iterator = iter(events)
        first = next(iterator, None)
        if not isinstance(first, TicketCreated):
            raise ValidationError("events", "a ticket's history must start with TicketCreated")
        if first.seq != 1:
            raise ValidationError("events", f"history starts at seq {first.seq}, expected 1")
        ticket = cls.created(first)
        for event in iterator:
            ticket = ticket.apply(event)
        return ticket

    def apply(self, event: Event) -> Ticket:
        """The ticket after ``event``; the event must belong here and come next."""
        if event.ticket_id != self.id:
            raise ValidationError(
                "event.ticket_id", f"event for {event.ticket_id!r} applied to {self.id!r}"
            )
        if event.seq != self.version + 1:
            raise ValidationError(
                "event.seq", f"expected seq {self.version + 1} on {self.id}, got {event.seq}"
            )
        return event.apply(self)

    @property
    def public_messages(self) -> tuple[Message, ...]:
        return tuple(m for m in self.messages if m.public)

    def message(self, message_id: str) -> Message | None:
        return next((m for m in self.messages if m.id == message_id), None)


def ticket_subject(ticket: Ticket, customer: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The flat field mapping conditions read for a ticket (``priority``, ``custom.x``,
    ``customer.tier``...). Storages translate conditions over exactly these names."""
    subject: dict[str, Any] = {
        "id": ticket.id,
        "number": ticket.number,
        "subject": ticket.subject,
        "type": ticket.type,
        "sub_category": ticket.sub_category,
        "priority": ticket.priority,
        "urgency": ticket.urgency,
        "channel": ticket.channel,
        "status": ticket.status,
        "status_category": ticket.status_category,
        "requester": ticket.requester,
        "organisation": ticket.organisation,
        "assignee": ticket.assignee,
        "team": ticket.team,
        "department": ticket.department,
        "tags": ticket.tags,
        "created_by": ticket.created_by,
        "tier": ticket.tier,
        "version": ticket.version,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "complexity": ticket.custom.get("complexity"),
    }
    for name, value in ticket.custom.items():
        subject[f"custom.{name}"] = value
    if customer:
        for name, value in customer.items():
            subject[f"customer.{name}"] = value
    return subject
