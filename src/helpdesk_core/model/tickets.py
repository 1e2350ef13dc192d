"""The ticket aggregate (R-TKT-1, R-TKT-2, R-TKT-4, R-TKT-6): state folded from events."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from operator import attrgetter
from typing import Any, Final

import attrs

from helpdesk_core.errors import ValidationError
from helpdesk_core.model.events import Event, Message, TicketCreated, to_utc
from helpdesk_core.model.fields import TICKET_FIELD_SPECS


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
    suspected_duplicates: tuple[str, ...] = ()
    """Open tickets of the same requester this one probably resubmits (R-TKT-5), in the order
    they were suspected; agents merge them with ``merge``."""

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


_PLAIN: Final = tuple(f.name for f in TICKET_FIELD_SPECS if f.condition and f.kind != "custom")
_PLAIN_VALUES: Final = attrgetter(*_PLAIN)
_FROM_CUSTOM: Final = tuple(
    f.name for f in TICKET_FIELD_SPECS if f.condition and f.kind == "custom"
)


def ticket_subject(ticket: Ticket, customer: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The flat field mapping conditions read for a ticket (the condition fields of
    :data:`~helpdesk_core.model.fields.TICKET_FIELD_SPECS`, ``custom.x``, ``customer.tier``...).
    Storages translate conditions over exactly these names."""
    subject: dict[str, Any] = dict(zip(_PLAIN, _PLAIN_VALUES(ticket), strict=True))
    custom = ticket.custom
    for name in _FROM_CUSTOM:
        subject[name] = custom.get(name)
    for name, value in custom.items():
        subject[f"custom.{name}"] = value
    if customer:
        for name, value in customer.items():
            subject[f"customer.{name}"] = value
    return subject


def subject_reader(fields: Collection[str]) -> Callable[[Ticket], tuple[Any, ...]] | None:
    """A function giving the values a condition reading ``fields`` finds in a ticket's
    :func:`ticket_subject`, without building the subject: equal values, the same verdict (how
    the SLA walk tells that an event changed nothing its policy conditions read). None when a
    field is a ``customer.*`` one (the requester's profile holds those, not the ticket)."""
    plain: list[str] = []
    custom: list[str] = []
    for name in sorted(fields):
        if name.startswith("customer."):
            return None
        if name in _FROM_CUSTOM:
            custom.append(name)
        elif name.startswith("custom."):
            custom.append(name[len("custom.") :])
        elif name in _PLAIN:
            plain.append(name)
        # any other name is absent from every subject: always None, nothing to read
    values = attrgetter(*plain) if plain else None

    def read(ticket: Ticket) -> tuple[Any, ...]:
        found = ticket.custom
        own = () if values is None else values(ticket)
        return (own, *(found.get(key) for key in custom))

    return read


_TICKET_TIMES = ("created_at", "updated_at", "expected_resolution_at", "assignee_since")


def ticket_to_dict(ticket: Ticket) -> dict[str, Any]:
    """A JSON-ready dict of the whole ticket state; :func:`ticket_from_dict` reverses it exactly.

    Storages persist this document beside the ticket's events so reads need no fold.
    """
    data: dict[str, Any] = {}
    for field in attrs.fields(Ticket):
        value = getattr(ticket, field.name)
        if field.name in _TICKET_TIMES:
            value = None if value is None else value.isoformat()
        elif field.name in ("tags", "merged_from"):
            value = sorted(value)
        elif field.name == "suspected_duplicates":
            value = list(value)
        elif field.name == "links":
            value = sorted([a, b] for a, b in value)
        elif field.name == "messages":
            value = [m.to_dict() for m in value]
        elif field.name == "custom":
            value = dict(value)
        data[field.name] = value
    return data


def ticket_from_dict(data: Mapping[str, Any]) -> Ticket:
    """Rebuild a ticket from :func:`ticket_to_dict` output; unknown keys are an error."""
    names = {f.name for f in attrs.fields(Ticket)}
    unknown = set(data) - names
    if unknown:
        raise ValidationError("ticket", f"unknown ticket fields {sorted(unknown)}")
    values = dict(data)
    for name in _TICKET_TIMES:
        if values.get(name) is not None:
            values[name] = to_utc(values[name])
    for name in ("tags", "merged_from"):
        if name in values:
            values[name] = frozenset(values[name])
    if "suspected_duplicates" in values:
        values["suspected_duplicates"] = tuple(values["suspected_duplicates"])
    if "links" in values:
        values["links"] = frozenset((str(a), str(b)) for a, b in values["links"])
    if "messages" in values:
        values["messages"] = tuple(Message.from_dict(m) for m in values["messages"])
    if "custom" in values:
        values["custom"] = dict(values["custom"])
    return Ticket(**values)


def base_version(ticket: Ticket, new_events: Sequence[Event]) -> int:
    """Check what a storage is asked to save and return the version it must replace.

    ``new_events`` must be non-empty, belong to ``ticket``, have consecutive seqs and end at
    ``ticket.version``; the stored version must then be ``new_events[0].seq - 1`` (0: a new
    ticket). Storages call this first in ``save_ticket``.
    """
    if not new_events:
        raise ValidationError("new_events", "saving a ticket needs at least one new event")
    seqs = [e.seq for e in new_events]
    if seqs != list(range(seqs[0], seqs[0] + len(seqs))) or seqs[-1] != ticket.version:
        raise ValidationError(
            "new_events", f"seqs {seqs} are not consecutive up to version {ticket.version}"
        )
    if any(e.ticket_id != ticket.id for e in new_events):
        raise ValidationError("new_events", f"an event does not belong to {ticket.id}")
    return seqs[0] - 1
