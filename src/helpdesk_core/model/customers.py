"""The customer aggregate (R-CUS-1..4): a profile folded from its events, like a ticket.

A customer's ``id`` is its number (``C20261122001``). Every profile change is a
:class:`CustomerEvent` carrying the acting actor and the instant; ``seq`` is the 1-based position
in the customer's history, so after event ``n`` the customer's ``version`` is ``n``, the token
storages check for optimistic locking.

Contacts: ``emails`` and ``phones`` keep the order the host gave; the first of each is the
preferred one. :func:`email_key` and :func:`phone_key` give the normalised forms storages index
(``find by email/phone``).

Tags are plain names (``frequent buyer``) or typed as ``type:name`` (``segment:enterprise``)
with the types declared in ``[customers] tag_types`` (R-CUS-4).
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, Final

import attrs

from helpdesk_core.errors import ValidationError
from helpdesk_core.model.events import to_utc

CUSTOMER_KINDS: Final = ("individual", "company")
DEFAULT_TIERS: Final = ("normal", "vip", "strategic")

CUSTOMER_EDITABLE_FIELDS: Final = (
    "name",
    "kind",
    "emails",
    "phones",
    "organisation",
    "industry",
    "preferred_channel",
    "contact_hours",
    "tags",
)
"""What ``update_customer`` may change directly; the tier changes through :class:`TierChanged`."""


def email_key(value: str) -> str:
    """The form an email is matched by: NFKC (full-width letters), trimmed, case-folded."""
    return unicodedata.normalize("NFKC", value).strip().casefold()


def phone_key(value: str, country_code: str = "86") -> str:
    """The form a phone number is matched by: its digits, with the desk's own international
    prefix (``+86``, ``0086``) dropped so ``+86 138-1234-5678`` matches ``13812345678``. A number
    of another country keeps its code behind a ``+``."""
    text = unicodedata.normalize("NFKC", value).strip()
    international = text.startswith("+") or text.startswith("00")
    digits = "".join(ch for ch in text if ch.isdigit())
    if not international:
        return digits
    if text.startswith("00"):
        digits = digits[2:]
    if country_code and digits.startswith(country_code):
        return digits[len(country_code) :]
    return "+" + digits


def contact_keys(customer: Customer) -> frozenset[str]:
    """Every ``email:<key>`` and ``phone:<key>`` a storage indexes the customer under (the
    default country code; see :func:`phone_key`)."""
    return frozenset(
        [f"email:{email_key(e)}" for e in customer.emails]
        + [f"phone:{phone_key(p)}" for p in customer.phones]
    )


def _texts(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _tags(value: Iterable[str]) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset({value})
    return frozenset(value)


@attrs.frozen
class Customer:
    """A customer profile as of its latest event. Build it with :meth:`from_events`."""

    id: str
    kind: str
    name: str
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    organisation: str | None
    industry: str | None
    tier: str
    preferred_channel: str | None
    contact_hours: str | None
    tags: frozenset[str]
    facts: Mapping[str, Any]
    """Facts the host reported (``spend``, ``purchases``...), the latest value of each."""
    created_at: datetime
    updated_at: datetime
    created_by: str
    version: int
    merged_into: str | None = None
    merged_from: frozenset[str] = frozenset()

    @property
    def number(self) -> str:
        """The customer number; the same as ``id`` (R-CUS-1)."""
        return self.id

    @property
    def preferred_email(self) -> str | None:
        return self.emails[0] if self.emails else None

    @property
    def preferred_phone(self) -> str | None:
        return self.phones[0] if self.phones else None

    @classmethod
    def created(cls, event: CustomerCreated) -> Customer:
        return cls(
            id=event.customer_id,
            kind=event.kind_of,
            name=event.name,
            emails=event.emails,
            phones=event.phones,
            organisation=event.organisation,
            industry=event.industry,
            tier=event.tier,
            preferred_channel=event.preferred_channel,
            contact_hours=event.contact_hours,
            tags=event.tags,
            facts={},
            created_at=event.at,
            updated_at=event.at,
            created_by=event.actor,
            version=event.seq,
        )

    @classmethod
    def from_events(cls, events: Iterable[CustomerEvent]) -> Customer:
        """Fold a customer's history, oldest first; the first event must create it."""
        iterator = iter(events)
        first = next(iterator, None)
        if not isinstance(first, CustomerCreated):
            raise ValidationError("events", "a customer's history must start with CustomerCreated")
        if first.seq != 1:
            raise ValidationError("events", f"history starts at seq {first.seq}, expected 1")
        customer = cls.created(first)
        for event in iterator:
            customer = customer.apply(event)
        return customer

    def apply(self, event: CustomerEvent) -> Customer:
        """The customer after ``event``; the event must belong here and come next."""
        if event.customer_id != self.id:
            raise ValidationError(
                "event.customer_id", f"event for {event.customer_id!r} applied to {self.id!r}"
            )
        if event.seq != self.version + 1:
            raise ValidationError(
                "event.seq", f"expected seq {self.version + 1} on {self.id}, got {event.seq}"
            )
        return event.apply(self)


# -- events -------------------------------------------------------------------------------------
@attrs.frozen(kw_only=True)
class CustomerEvent:
    """Base of all customer profile events."""

    kind: ClassVar[str] = "customer_event"
    customer_id: str
    seq: int
    at: datetime = attrs.field(converter=to_utc)
    actor: str

    def apply(self, customer: Customer) -> Customer:
        raise NotImplementedError


def _bump(customer: Customer, event: CustomerEvent, **changes: Any) -> Customer:
    return attrs.evolve(customer, version=event.seq, updated_at=event.at, **changes)


@attrs.frozen(kw_only=True)
class CustomerCreated(CustomerEvent):
    """The profile made on first contact (R-CUS-1). ``kind_of`` is individual or company."""

    kind: ClassVar[str] = "customer_created"
    kind_of: str
    name: str
    emails: tuple[str, ...] = attrs.field(converter=_texts, default=())
    phones: tuple[str, ...] = attrs.field(converter=_texts, default=())
    organisation: str | None = None
    industry: str | None = None
    tier: str = "normal"
    preferred_channel: str | None = None
    contact_hours: str | None = None
    tags: frozenset[str] = attrs.field(converter=_tags, factory=frozenset)

    def apply(self, customer: Customer) -> Customer:  # pragma: no cover - from_events handles it
        raise ValidationError("events", "CustomerCreated must be the first event of a customer")


def _field_value(name: str, value: Any) -> Any:
    if name in ("emails", "phones"):
        return tuple(value)
    if name == "tags":
        return frozenset(value)
    return value


@attrs.frozen(kw_only=True)
class CustomerUpdated(CustomerEvent):
    """Profile fields changed: ``before`` and ``after`` hold exactly the changed fields, in
    their JSON form (contacts and tags as lists)."""

    kind: ClassVar[str] = "customer_updated"
    before: dict[str, Any] = attrs.field(factory=dict)
    after: dict[str, Any] = attrs.field(factory=dict)

    def apply(self, customer: Customer) -> Customer:
        changes = {name: _field_value(name, value) for name, value in self.after.items()}
        return _bump(customer, self, **changes)


@attrs.frozen(kw_only=True)
class TierChanged(CustomerEvent):
    """The tier moved, with a readable reason ("tier raised to vip after purchase", R-CUS-3)."""

    kind: ClassVar[str] = "tier_changed"
    from_tier: str
    to_tier: str
    reason: str
    rule: str | None = None
    """The ``[customers] tier_rules`` entry that decided it, if a rule did."""

    def apply(self, customer: Customer) -> Customer:
        return _bump(customer, self, tier=self.to_tier)


@attrs.frozen(kw_only=True)
class FactRecorded(CustomerEvent):
    """The host reported a fact about the customer (a purchase, the total spend)."""

    kind: ClassVar[str] = "fact_recorded"
    name: str
    value: Any

    def apply(self, customer: Customer) -> Customer:
        return _bump(customer, self, facts={**customer.facts, self.name: self.value})


@attrs.frozen(kw_only=True)
class CustomerMerged(CustomerEvent):
    """This customer was merged into ``into``; its own history stays intact."""

    kind: ClassVar[str] = "customer_merged"
    into: str
    tickets: tuple[str, ...] = attrs.field(converter=_texts, default=())
    """The tickets whose requester moved to ``into``."""

    def apply(self, customer: Customer) -> Customer:
        return _bump(customer, self, merged_into=self.into)


@attrs.frozen(kw_only=True)
class CustomerMergeReceived(CustomerEvent):
    """Customer ``source`` was merged into this one: its contacts, tags and the facts this one
    lacked are taken over (this one's values win), so lookups by the source's email or phone
    find the survivor."""

    kind: ClassVar[str] = "customer_merge_received"
    source: str
    emails: tuple[str, ...] = attrs.field(converter=_texts, default=())
    phones: tuple[str, ...] = attrs.field(converter=_texts, default=())
    tags: frozenset[str] = attrs.field(converter=_tags, factory=frozenset)
    facts: dict[str, Any] = attrs.field(factory=dict)
    tickets: tuple[str, ...] = attrs.field(converter=_texts, default=())

    def apply(self, customer: Customer) -> Customer:
        emails = _union(customer.emails, self.emails, email_key)
        phones = _union(customer.phones, self.phones, phone_key)
        return _bump(
            customer,
            self,
            emails=emails,
            phones=phones,
            tags=customer.tags | self.tags,
            facts={**self.facts, **customer.facts},
            merged_from=customer.merged_from | {self.source},
        )


def _union(mine: Sequence[str], theirs: Sequence[str], key: Any) -> tuple[str, ...]:
    seen = {key(v) for v in mine}
    extra = []
    for value in theirs:
        if key(value) not in seen:
            seen.add(key(value))
            extra.append(value)
    return (*mine, *extra)


CUSTOMER_EVENT_TYPES: Final[Mapping[str, type[CustomerEvent]]] = {
    cls.kind: cls
    for cls in (
        CustomerCreated,
        CustomerUpdated,
        TierChanged,
        FactRecorded,
        CustomerMerged,
        CustomerMergeReceived,
    )
}


# -- codecs -------------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted(_plain(v) for v in value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def customer_event_to_dict(event: CustomerEvent) -> dict[str, Any]:
    """A JSON-ready dict with a ``kind`` key; :func:`customer_event_from_dict` reverses it."""
    data: dict[str, Any] = {"kind": event.kind}
    for field in attrs.fields(type(event)):
        data[field.name] = _plain(getattr(event, field.name))
    return data


def customer_event_from_dict(data: Mapping[str, Any]) -> CustomerEvent:
    """Rebuild a customer event; an unknown kind or field is a ValidationError."""
    kind = data.get("kind")
    cls = CUSTOMER_EVENT_TYPES.get(str(kind))
    if cls is None:
        raise ValidationError("kind", f"unknown customer event kind {kind!r}")
    names = {f.name for f in attrs.fields(cls)}
    unknown = set(data) - names - {"kind"}
    if unknown:
        raise ValidationError("event", f"unknown fields for {kind}: {sorted(unknown)}")
    return cls(**{k: v for k, v in data.items() if k != "kind"})


_TIMES: Final = ("created_at", "updated_at")


def customer_to_dict(customer: Customer) -> dict[str, Any]:
    """The whole profile as a JSON-ready dict; :func:`customer_from_dict` reverses it exactly."""
    return {f.name: _plain(getattr(customer, f.name)) for f in attrs.fields(Customer)}


def customer_from_dict(data: Mapping[str, Any]) -> Customer:
    names = {f.name for f in attrs.fields(Customer)}
    unknown = set(data) - names
    if unknown:
        raise ValidationError("customer", f"unknown customer fields {sorted(unknown)}")
    values = dict(data)
    for name in _TIMES:
        values[name] = to_utc(values[name])
    values["emails"] = tuple(values.get("emails", ()))
    values["phones"] = tuple(values.get("phones", ()))
    values["tags"] = frozenset(values.get("tags", ()))
    values["merged_from"] = frozenset(values.get("merged_from", ()))
    values["facts"] = dict(values.get("facts", {}))
    return Customer(**values)


def customer_base_version(customer: Customer, new_events: Sequence[CustomerEvent]) -> int:
    """Check what a storage is asked to save and return the version it must replace (0: a new
    customer). Storages call this first in ``save_customer``."""
    if not new_events:
        raise ValidationError("new_events", "saving a customer needs at least one new event")
    seqs = [e.seq for e in new_events]
    if seqs != list(range(seqs[0], seqs[0] + len(seqs))) or seqs[-1] != customer.version:
        raise ValidationError(
            "new_events", f"seqs {seqs} are not consecutive up to version {customer.version}"
        )
    if any(e.customer_id != customer.id for e in new_events):
        raise ValidationError("new_events", f"an event does not belong to {customer.id}")
    return seqs[0] - 1


def customer_subject(customer: Customer | None) -> dict[str, Any]:
    """The ``customer.*`` condition fields of a profile (without the prefix), for
    :func:`~helpdesk_core.model.tickets.ticket_subject`'s ``customer`` argument. A ticket whose
    requester has no record gets an empty mapping: every ``customer.*`` field is then None."""
    if customer is None:
        return {}
    return {
        "tier": customer.tier,
        "tags": customer.tags,
        "organisation": customer.organisation,
        "industry": customer.industry,
        "kind": customer.kind,
    }


CUSTOMER_FIELDS: Final = tuple(
    f"customer.{name}" for name in ("tier", "tags", "organisation", "industry", "kind")
)
"""The ``customer.*`` fields conditions may read (plugins may register more)."""


@attrs.frozen
class ProfileTimeline:
    """A requester's ``customer.*`` fields through time, for decisions taken "as of the event
    being decided" (R-CUS-3): an SLA policy chosen when the ticket was opened keeps the tier the
    customer had then, even if the tier is raised later; a re-target at a later ticket event reads
    the profile as of that event. Build it with :meth:`of` from the customer's profile events."""

    instants: tuple[datetime, ...]
    subjects: tuple[Mapping[str, Any], ...]

    @classmethod
    def of(cls, events: Iterable[CustomerEvent]) -> ProfileTimeline | None:
        """The timeline of a profile history (oldest first); None for no history."""
        history = list(events)
        if not history:
            return None
        customer = Customer.from_events(history[:1])
        instants, subjects = [history[0].at], [customer_subject(customer)]
        for event in history[1:]:
            customer = customer.apply(event)
            subject = customer_subject(customer)
            if subject == subjects[-1]:
                continue
            if event.at == instants[-1]:
                subjects[-1] = subject
            else:
                instants.append(event.at)
                subjects.append(subject)
        return cls(tuple(instants), tuple(subjects))

    def at(self, instant: datetime) -> Mapping[str, Any]:
        """The ``customer.*`` fields as of ``instant`` (the profile after every event at or
        before it); before the profile existed, none (every field None)."""
        index = bisect_right(self.instants, instant)
        return self.subjects[index - 1] if index else {}
