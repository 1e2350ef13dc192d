"""Ticket events: every change is one, and a ticket's state is their fold (DESIGN principle 3).

Events are the audit log of ticket changes (R-SEC-1): each carries the acting actor's id and the
instant it happened. ``seq`` is the event's 1-based position in its ticket's history, so after
applying event ``n`` the ticket's ``version`` is ``n``.

:func:`event_to_dict` / :func:`event_from_dict` give every event a plain, JSON-ready form that
storages persist; the round trip is exact.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Final

import attrs

from helpdesk_core.errors import ValidationError
from helpdesk_core.model.fields import EDITABLE_FIELDS

if TYPE_CHECKING:
    from helpdesk_core.model.tickets import Ticket


def to_utc(value: datetime | str) -> datetime:
    """An aware instant as UTC; ISO strings accepted; naive datetimes refused."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise ValidationError("at", f"expected a datetime, got {value!r}")
    if value.tzinfo is UTC and type(value) is datetime and not value.fold:
        return value  # already a UTC instant (what stored documents decode to): nothing to do
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError("at", f"naive datetime {value.isoformat()}: give a time zone")
    return datetime.fromtimestamp(value.timestamp(), UTC).replace(microsecond=value.microsecond)


def _opt_utc(value: datetime | str | None) -> datetime | None:
    return None if value is None else to_utc(value)


def _tags(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


def _str_tuple(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


MESSAGE_KINDS = ("reply", "note", "customer")


@attrs.frozen
class Message:
    """One entry in a ticket's conversation or processing log (R-TKT-4).

    ``kind`` is ``reply`` (an agent's public reply), ``note`` (internal, never shown to the
    customer, never an SLA response) or ``customer`` (from the requester).
    """

    id: str
    kind: str = attrs.field(validator=attrs.validators.in_(MESSAGE_KINDS))
    author: str
    body: str
    channel: str
    at: datetime = attrs.field(converter=to_utc)

    @property
    def public(self) -> bool:
        return self.kind != "note"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        return cls(**{f.name: data[f.name] for f in attrs.fields(cls)})

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "author": self.author,
            "body": self.body,
            "channel": self.channel,
            "at": self.at.isoformat(),
        }


def _messages(value: Iterable[Message | Mapping[str, Any]]) -> tuple[Message, ...]:
    return tuple(m if isinstance(m, Message) else Message.from_dict(m) for m in value)


@attrs.frozen(kw_only=True)
class Event:
    """Base of all ticket events."""

    kind: ClassVar[str] = "event"
    ticket_id: str
    seq: int
    at: datetime = attrs.field(converter=to_utc)
    actor: str

    def apply(self, ticket: Ticket) -> Ticket:
        """The ticket after this event (the ticket before it is unchanged)."""
        raise NotImplementedError


def _bump(ticket: Ticket, event: Event, **changes: Any) -> Ticket:
    changes["version"], changes["updated_at"] = event.seq, event.at
    bumped: Ticket = _evolve(ticket, changes)
    return bumped


_PLAIN_INIT: dict[type[Any], tuple[Any, dict[str, int]] | None] = {}
"""Per attrs class: (getter of every field, field -> position) when its ``__init__`` merely
stores each argument (no converter, validator, alias or ``init=False`` field), else None."""


def _evolve(instance: Any, changes: dict[str, Any]) -> Any:
    """``attrs.evolve(instance, **changes)``, faster for classes whose ``__init__`` only stores
    its arguments (the ticket: every event folds one): the fields are read in one C call and
    passed positionally. Other classes, and unknown names, go through ``attrs.evolve``."""
    cls = type(instance)
    if cls not in _PLAIN_INIT:
        fields = attrs.fields(cls)
        plain = all(
            f.init and f.converter is None and f.validator is None and f.alias == f.name
            for f in fields
        )
        names = tuple(f.name for f in fields)
        _PLAIN_INIT[cls] = (
            (operator.attrgetter(*names), {n: i for i, n in enumerate(names)})
            if plain and len(names) > 1 and not hasattr(cls, "__attrs_post_init__")
            else None
        )
    shape = _PLAIN_INIT[cls]
    if shape is None or not changes.keys() <= shape[1].keys():
        return attrs.evolve(instance, **changes)
    get, position = shape
    values = list(get(instance))
    for name, value in changes.items():
        values[position[name]] = value
    return cls(*values)


@attrs.frozen(kw_only=True)
class TicketCreated(Event):
    kind: ClassVar[str] = "ticket_created"
    number: str
    subject: str
    description: str = ""
    type: str
    sub_category: str | None = None
    priority: str
    urgency: str | None = None
    channel: str
    status: str
    status_category: str
    requester: str | None = None
    organisation: str | None = None
    team: str | None = None
    department: str | None = None
    assignee: str | None = None
    tags: frozenset[str] = attrs.field(converter=_tags, factory=frozenset)
    custom: dict[str, Any] = attrs.field(factory=dict)
    expected_resolution_at: datetime | None = attrs.field(converter=_opt_utc, default=None)
    workaround: str | None = None
    split_from: str | None = None
    messages: tuple[Message, ...] = attrs.field(converter=_messages, default=())
    priority_auto: bool = False

    def apply(self, ticket: Ticket) -> Ticket:  # pragma: no cover - Ticket.from_events handles it
        raise ValidationError("events", "TicketCreated must be the first event of a ticket")


@attrs.frozen(kw_only=True)
class StatusChanged(Event):
    kind: ClassVar[str] = "status_changed"
    from_status: str
    to_status: str
    to_category: str
    reason: str | None = None
    reopen: bool = False

    def apply(self, ticket: Ticket) -> Ticket:
        return _bump(
            ticket,
            self,
            status=self.to_status,
            status_category=self.to_category,
            reopen_count=ticket.reopen_count + (1 if self.reopen else 0),
        )


@attrs.frozen(kw_only=True)
class Assigned(Event):
    kind: ClassVar[str] = "assigned"
    assignee: str | None
    team: str | None
    previous_assignee: str | None = None
    previous_team: str | None = None
    reason: str | None = None

    def apply(self, ticket: Ticket) -> Ticket:
        since = ticket.assignee_since if ticket.assignee == self.assignee else self.at
        return _bump(ticket, self, assignee=self.assignee, team=self.team, assignee_since=since)


@attrs.frozen(kw_only=True)
class _MessageEvent(Event):
    message_id: str
    body: str
    channel: str

    message_kind: ClassVar[str] = "reply"

    @property
    def message(self) -> Message:
        return Message(
            id=self.message_id,
            kind=self.message_kind,
            author=self.actor,
            body=self.body,
            channel=self.channel,
            at=self.at,
        )

    def apply(self, ticket: Ticket) -> Ticket:
        return _bump(ticket, self, messages=(*ticket.messages, self.message))


@attrs.frozen(kw_only=True)
class Replied(_MessageEvent):
    """An agent's public reply."""

    kind: ClassVar[str] = "replied"
    message_kind: ClassVar[str] = "reply"


@attrs.frozen(kw_only=True)
class NoteAdded(_MessageEvent):
    """An internal note (processing log, R-TKT-4): never visible to the customer."""

    kind: ClassVar[str] = "note_added"
    message_kind: ClassVar[str] = "note"


@attrs.frozen(kw_only=True)
class CustomerMessaged(_MessageEvent):
    """A message from the requester (or a member of their organisation)."""

    kind: ClassVar[str] = "customer_messaged"
    message_kind: ClassVar[str] = "customer"


@attrs.frozen(kw_only=True)
class PriorityChanged(Event):
    kind: ClassVar[str] = "priority_changed"
    from_priority: str
    to_priority: str
    reason: str | None = None

    def apply(self, ticket: Ticket) -> Ticket:
        return _bump(ticket, self, priority=self.to_priority, priority_confirmed=True)


@attrs.frozen(kw_only=True)
class PriorityConfirmed(Event):
    """An agent confirmed a priority set automatically at intake (R-SLA-5)."""

    kind: ClassVar[str] = "priority_confirmed"
    priority: str

    def apply(self, ticket: Ticket) -> Ticket:
        return _bump(ticket, self, priority_confirmed=True)


@attrs.frozen(kw_only=True)
class TransferRequested(Event):
    """A transfer that needs a supervisor's approval first (R-RTE-3)."""

    kind: ClassVar[str] = "transfer_requested"
    request_id: str
    to_team: str
    to_tier: int | None = None
    summary: str
    steps_tried: tuple[str, ...] = attrs.field(converter=_str_tuple, default=())

    def apply(self, ticket: Ticket) -> Ticket:
        return _bump(ticket, self, pending_transfer=self.request_id)


@attrs.frozen(kw_only=True)
class TransferDecided(Event):
    """A supervisor approved or rejected a requested transfer."""

    kind: ClassVar[str] = "transfer_decided"
    request_id: str
    approved: bool
    note: str | None = None

    def apply(self, ticket: Ticket) -> Ticket:
        return _bump(ticket, self, pending_transfer=None)


@attrs.frozen(kw_only=True)
class Transferred(Event):
    """The ticket moved to another team or tier with a hand-over summary and the steps already
    tried, so the customer never repeats the story (R-RTE-3, R-ORG-2). The new team picks it up:
    the assignee is cleared."""

    kind: ClassVar[str] = "transferred"
    from_team: str | None
    to_team: str
    to_tier: int | None = None
    summary: str
    steps_tried: tuple[str, ...] = attrs.field(converter=_str_tuple, default=())
    previous_assignee: str | None = None
    request_id: str | None = None

    def apply(self, ticket: Ticket) -> Ticket:
        tier = self.to_tier if self.to_tier is not None else ticket.tier
        since = self.at if ticket.assignee is not None else ticket.assignee_since
        return _bump(
            ticket, self, team=self.to_team, assignee=None, tier=tier, assignee_since=since
        )


TICKET_EDITABLE_FIELDS: Final = EDITABLE_FIELDS
"""Plain ticket fields ``set_fields`` may change (from :mod:`helpdesk_core.model.fields`)."""


@attrs.frozen(kw_only=True)
class FieldsChanged(Event):
    """Plain fields (``TICKET_EDITABLE_FIELDS``), custom fields and tags edited."""

    kind: ClassVar[str] = "fields_changed"
    changes: dict[str, Any] = attrs.field(factory=dict)
    custom: dict[str, Any] = attrs.field(factory=dict)
    tags_added: frozenset[str] = attrs.field(converter=_tags, factory=frozenset)
    tags_removed: frozenset[str] = attrs.field(converter=_tags, factory=frozenset)

    def apply(self, ticket: Ticket) -> Ticket:
        changes = dict(self.changes)
        if "expected_resolution_at" in changes:
            changes["expected_resolution_at"] = _opt_utc(changes["expected_resolution_at"])
        custom = {**ticket.custom, **self.custom}
        tags = (ticket.tags - self.tags_removed) | self.tags_added
        return _bump(ticket, self, custom=custom, tags=tags, **changes)


@attrs.frozen(kw_only=True)
class Merged(Event):
    """This ticket was merged into ``into``; its own history stays intact."""

    kind: ClassVar[str] = "merged"
    into: str
    from_status: str
    to_status: str
    to_category: str

    def apply(self, ticket: Ticket) -> Ticket:
        return _bump(
            ticket,
            self,
            merged_into=self.into,
            status=self.to_status,
            status_category=self.to_category,
        )


@attrs.frozen(kw_only=True)
class MergeReceived(Event):
    """Ticket ``source`` was merged into this one; its conversation is copied here."""

    kind: ClassVar[str] = "merge_received"
    source: str
    source_number: str
    messages: tuple[Message, ...] = attrs.field(converter=_messages, default=())

    def apply(self, ticket: Ticket) -> Ticket:
        merged = tuple(sorted((*ticket.messages, *self.messages), key=lambda m: (m.at, m.id)))
        return _bump(ticket, self, messages=merged, merged_from=ticket.merged_from | {self.source})


@attrs.frozen(kw_only=True)
class SplitOff(Event):
    """Messages of this ticket were split into the new ticket ``new_ticket``."""

    kind: ClassVar[str] = "split_off"
    new_ticket: str
    message_ids: tuple[str, ...] = attrs.field(converter=_str_tuple)

    def apply(self, ticket: Ticket) -> Ticket:
        return _bump(ticket, self, links=ticket.links | {("split_to", self.new_ticket)})


@attrs.frozen(kw_only=True)
class Linked(Event):
    """A relation to another ticket (``related``, ``duplicate_of``, ``parent_of``...)."""

    kind: ClassVar[str] = "linked"
    other: str
    relation: str

    def apply(self, ticket: Ticket) -> Ticket:
        return _bump(ticket, self, links=ticket.links | {(self.relation, self.other)})


@attrs.frozen(kw_only=True)
class RequesterChanged(Event):
    """The ticket's requester became another customer (their profiles were merged: the tickets
    follow the survivor, both customers' histories are kept)."""

    kind: ClassVar[str] = "requester_changed"
    from_requester: str | None
    to_requester: str
    organisation: str | None = None
    reason: str | None = None

    def apply(self, ticket: Ticket) -> Ticket:
        organisation = self.organisation if self.organisation is not None else ticket.organisation
        return _bump(ticket, self, requester=self.to_requester, organisation=organisation)


@attrs.frozen(kw_only=True)
class DuplicateSuspected(Event):
    """The ticket looks like a resubmission of the requester's open ticket ``other`` (R-TKT-5);
    ``score`` is :func:`helpdesk_core.duplicates.similarity`. Nothing is merged: an agent
    decides with ``merge``."""

    kind: ClassVar[str] = "duplicate_suspected"
    other: str
    score: float

    def apply(self, ticket: Ticket) -> Ticket:
        suspects = ticket.suspected_duplicates
        if self.other not in suspects:
            suspects = (*suspects, self.other)
        return _bump(ticket, self, suspected_duplicates=suspects)


@attrs.frozen(kw_only=True)
class SurveyAnswered(Event):
    """The customer rated a resolution of this ticket (R-CSAT-1): the reports' CSAT reads
    ``stars`` from here. ``actor`` is the requester who answered; the comment stays on the
    survey."""

    kind: ClassVar[str] = "survey_answered"
    survey_id: str
    stars: int
    cycle: int = 1

    def apply(self, ticket: Ticket) -> Ticket:
        return _bump(ticket, self)


@attrs.frozen(kw_only=True)
class WorkaroundSent(Replied):
    """The temporary workaround, sent to the customer as a public reply (R-TKT-6): it is a
    reply like any other (it answers the customer) and it meets the ``workaround`` SLA metric.
    ``expected_resolution_at`` is the resolution time the customer was told to expect."""

    kind: ClassVar[str] = "workaround_sent"
    message_kind: ClassVar[str] = "reply"
    expected_resolution_at: datetime | None = attrs.field(converter=_opt_utc, default=None)

    def apply(self, ticket: Ticket) -> Ticket:
        expected = self.expected_resolution_at
        return _bump(
            ticket,
            self,
            messages=(*ticket.messages, self.message),
            workaround=self.body,
            expected_resolution_at=expected
            if expected is not None
            else (ticket.expected_resolution_at),
        )


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        TicketCreated,
        StatusChanged,
        Assigned,
        Replied,
        NoteAdded,
        CustomerMessaged,
        PriorityChanged,
        FieldsChanged,
        Merged,
        MergeReceived,
        SplitOff,
        Linked,
        PriorityConfirmed,
        TransferRequested,
        TransferDecided,
        Transferred,
        RequesterChanged,
        DuplicateSuspected,
        SurveyAnswered,
        WorkaroundSent,
    )
}


def register_event_type(cls: type[Event]) -> type[Event]:
    """Make a plugin's or a later module's event class known to the codec (usable as decorator)."""
    existing = EVENT_TYPES.get(cls.kind)
    if existing is not None and existing is not cls:
        raise ValidationError("kind", f"event kind {cls.kind!r} is already {existing.__name__}")
    EVENT_TYPES[cls.kind] = cls
    return cls


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted(_plain(v) for v in value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Message):
        return value.to_dict()
    return value


def event_to_dict(event: Event) -> dict[str, Any]:
    """A JSON-ready dict with a ``kind`` key; :func:`event_from_dict` reverses it exactly."""
    data: dict[str, Any] = {"kind": event.kind}
    for field in attrs.fields(type(event)):
        data[field.name] = _plain(getattr(event, field.name))
    return data


def event_from_dict(data: Mapping[str, Any]) -> Event:
    """Rebuild an event from :func:`event_to_dict` output; an unknown kind is an error."""
    kind = data.get("kind")
    cls = EVENT_TYPES.get(str(kind))
    if cls is None:
        raise ValidationError("kind", f"unknown event kind {kind!r}")
    names = _field_names(cls)
    if not names.issuperset(data):
        unknown = set(data) - names
        raise ValidationError("event", f"unknown fields for {kind}: {sorted(unknown)}")
    values = dict(data)
    del values["kind"]
    return cls(**values)


_FIELD_NAMES: dict[type[Event], frozenset[str]] = {}
"""A memo of each event class's document keys (class metadata, the same for every desk)."""


def _field_names(cls: type[Event]) -> frozenset[str]:
    """The keys an event document of ``cls`` may hold (its attrs fields and ``kind``)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = frozenset({"kind", *(f.name for f in attrs.fields(cls))})
    return names
