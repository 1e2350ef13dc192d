"""Reports: KPIs computed from the ticket event stream (R-RPT-1, R-RPT-3).

Every KPI is a function ``reports.<name>(events, *, start, end, tz, group_by=(), sla=None)``
returning a :class:`Report` (``.rows``, a list of mappings; ``.columns``; ``.to_csv()``,
``.to_json()``). The desk's ``report`` command calls the same functions on the events the actor
may see. :data:`REPORTS` maps each name to its function; :func:`many` computes several
reports in one pass over the stream.

Rules every KPI shares (the docs state them word for word; tests hold them):

1. **The period.** ``start`` and ``end`` are aware instants or dates. A date is a local day in
   ``tz`` (the desk's zone): ``start=date(2026, 11, 1), end=date(2026, 11, 30)`` is the whole of
   November from local midnight to local midnight, whatever the DST changes in between; an
   instant ``end`` is exclusive. The period is the half-open ``[start, end)``.
2. **As of end.** Each ticket's history is read as it stood at ``end`` (events at or after
   ``end`` are ignored), so a report of a closed period never changes later.
3. **The cohort.** A ticket belongs to the report when it was created inside the period, and to
   the period bucket (``hour``, ``day``, ``week``, ``month``, local in ``tz``) of its creation
   instant, exactly once. Exception: :func:`backlog_by_age` counts every ticket still open at
   ``end``, whenever it was created.
4. **Grouping.** ``group_by`` names dimensions from :data:`DIMENSIONS`; ticket fields (``type``,
   ``channel``, ``priority``, ``team``, ``department``, ``agent`` = the assignee) take their
   value as of ``end``. Counts and sums of any grouping add up to the ungrouped report.
5. **Durations** are calendar (wall-clock) time in seconds. ``median`` and ``p90`` use the
   nearest-rank method: the smallest value with at least that share of the values at or below
   it (the lower middle value for an even count); ``mean`` is the arithmetic mean.
6. **Resolved** means the ticket's status is in a ``solved`` or ``closed`` category at ``end``
   (a merged ticket counts as closed); the resolution instant is the last entry into such a
   status. A reopen (leaving solved/closed for a working status) starts over: the ticket is
   unresolved until it is resolved again, and resolution time runs from creation to the final
   resolution.

Memory: events must come grouped by ticket, each ticket's history contiguous and oldest first
(what a store's per-ticket event stream gives; ``sorted(events, key=lambda e: (e.ticket_id,
e.seq))`` makes any stream so, at the cost of holding it). Each ticket is folded into a few
numbers and dropped, so counts, rates and means stream in constant memory; medians and p90 keep
one packed 8-byte float per ticket of each group (an exact quantile cannot stream); SLA
compliance holds one ticket's events at a time, and SLA clocks are evaluated once per ticket
for every report that reads them (not at all when none does).

At scale: every command keeps one row of report facts per ticket in its store
(:func:`facts_document`, as of the ticket's last event, SLA clocks included), and
:func:`from_store` computes the reports from those rows with the same figures, refolding from
the events only the tickets whose row cannot answer as of ``end``. ``desk.report`` reads that way.

CSAT reads ``survey_answered`` events (their ``stars`` fold into :class:`TicketFacts` like
replies do); the ``tier`` dimension asks a lookup (:func:`requester_tiers` reads the customers
port); KB usage reads article uses, not ticket events (:func:`kb_usage`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from types import MappingProxyType
from typing import Any, Final, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from helpdesk_core.conditions import TRUE, Condition, field_is
from helpdesk_core.errors import ValidationError
from helpdesk_core.model.customers import Customer, CustomerEvent, ProfileTimeline
from helpdesk_core.model.events import (
    Assigned,
    Event,
    FieldsChanged,
    Merged,
    PriorityChanged,
    Replied,
    RequesterChanged,
    StatusChanged,
    TicketCreated,
    Transferred,
    to_utc,
)
from helpdesk_core.model.knowledge import ArticleUse
from helpdesk_core.ports import CustomerQuery, StoredFacts
from helpdesk_core.sla import DONE_CATEGORIES, SlaClock, SlaConfig, evaluate

__all__ = [
    "DIMENSIONS",
    "FACTS_FORMAT",
    "REPORTS",
    "ClockOutcome",
    "Report",
    "TicketFacts",
    "agent_performance",
    "average_wait",
    "backlog_by_age",
    "csat",
    "facts_document",
    "first_contact_resolution",
    "first_response_time",
    "from_store",
    "handling_time",
    "kb_usage",
    "many",
    "on_time",
    "quantile",
    "reopen_rate",
    "report",
    "requester_tiers",
    "resolution_time",
    "sla_compliance",
    "sla_fingerprint",
    "stored_events",
    "ticket_facts",
    "volumes",
]

TICKET_DIMENSIONS: Final = (
    "type",
    "channel",
    "priority",
    "team",
    "department",
    "agent",
    "tier",
)
PERIOD_DIMENSIONS: Final = ("hour", "day", "week", "month")
DIMENSIONS: Final = TICKET_DIMENSIONS + PERIOD_DIMENSIONS
"""What ``group_by`` may name."""

SURVEY_ANSWERED: Final = "survey_answered"
"""The event kind CSAT reads: a customer's survey answer on a ticket, with ``stars`` (1-5)."""

SATISFIED_STARS: Final = 4
"""CSAT counts an answer of 4 or 5 stars as satisfied (the top-two-box rule)."""

TierLookup = Callable[[str], str | None]
ProfileLookup = Callable[[str], ProfileTimeline | None]
"""A requester's ``customer.*`` fields through time (None: no record), for SLA policies whose
conditions read them (R-CUS-3): each ticket's policy is chosen as of its events, exactly as the
live SLA clocks choose it (:func:`helpdesk_core.service.workers.requester_timeline`)."""
"""The tier of a requester (a customer id), or None when there is no profile."""

BACKLOG_BUCKETS: Final[tuple[tuple[str, timedelta | None], ...]] = (
    ("<1h", timedelta(hours=1)),
    ("1h-4h", timedelta(hours=4)),
    ("4h-24h", timedelta(hours=24)),
    ("1d-3d", timedelta(days=3)),
    ("3d-7d", timedelta(days=7)),
    (">=7d", None),
)
"""Backlog age buckets: each is ``[previous bound, bound)``."""


# ---------------------------------------------------------------------- the result
@attrs.frozen
class Report:
    """A computed report: ``rows`` are mappings over ``columns``, sorted by their group."""

    name: str
    columns: tuple[str, ...]
    rows: list[Mapping[str, Any]]
    start: datetime
    end: datetime

    def to_csv(self) -> str:
        """The rows as CSV with a header line; missing values (no data) are empty cells."""
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(self.columns), lineterminator="\n")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({c: "" if row.get(c) is None else row.get(c) for c in self.columns})
        return out.getvalue()

    def to_json(self) -> str:
        """``{"report", "start", "end", "columns", "rows"}`` as JSON (instants in ISO form)."""
        return json.dumps(
            {
                "report": self.name,
                "start": self.start.isoformat(),
                "end": self.end.isoformat(),
                "columns": list(self.columns),
                "rows": [dict(r) for r in self.rows],
            },
            ensure_ascii=False,
        )


# ---------------------------------------------------------------------- one ticket's facts
@attrs.frozen(slots=True)
class ClockOutcome:
    """What the KPIs read of one SLA clock cycle (a :class:`~helpdesk_core.sla.SlaClock`
    narrowed): its policy, metric, state and due instant."""

    policy: str
    metric: str
    state: str
    due_at: datetime | None

    @classmethod
    def of(cls, clock: SlaClock) -> ClockOutcome:
        return cls(clock.policy, clock.metric, clock.state, clock.due_at)

    def at(self, end: datetime) -> ClockOutcome:
        """The outcome at a later ``end`` with no event in between: an undecided cycle whose
        due instant ``end`` has passed is breached (rule 7 of the SLA engine, ``>``), every
        other outcome stays as it is (no event means no new cycle, pause or resumption)."""
        if self.state in _DECIDED or self.due_at is None or not end > self.due_at:
            return self
        return ClockOutcome(self.policy, self.metric, "breached", self.due_at)


_DECIDED: Final = frozenset({"met", "breached"})


@attrs.define
class TicketFacts:
    """What the KPIs read of one ticket, folded from its events as of ``end`` (rule 2)."""

    id: str
    created_at: datetime
    type: str
    channel: str
    priority: str
    team: str | None
    department: str | None
    assignee: str | None
    category: str
    expected_resolution_at: datetime | None
    requester: str | None = None
    first_pickup_at: datetime | None = None
    """First assignment to an agent or first agent public reply, whichever came first."""
    first_reply_at: datetime | None = None
    first_replier: str | None = None
    public_replies: int = 0
    replies_at_resolution: int = 0
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    ever_resolved: bool = False
    reopens: int = 0
    handling: timedelta = timedelta(0)
    """Time in ``open``-category statuses (being worked), up to the resolution or ``end``."""
    open_since: datetime | None = None
    clocks: tuple[ClockOutcome, ...] = ()
    ratings: list[int] = attrs.field(factory=list)
    """Stars of every ``survey_answered`` event before ``end`` (one per rated resolution)."""

    @property
    def resolved(self) -> bool:
        return self.category in DONE_CATEGORIES


def _created(event: TicketCreated) -> TicketFacts:
    facts = TicketFacts(
        id=event.ticket_id,
        created_at=event.at,
        type=event.type,
        channel=event.channel,
        priority=event.priority,
        team=event.team,
        department=event.department,
        assignee=event.assignee,
        category=event.status_category,
        expected_resolution_at=event.expected_resolution_at,
        requester=event.requester,
    )
    if event.assignee is not None:
        facts.first_pickup_at = event.at
    if facts.category == "open":
        facts.open_since = event.at
    return facts


def _category_change(facts: TicketFacts, event: Event, category: str, reopen: bool) -> None:
    at = event.at
    before = facts.category
    if before == category:
        return
    if before == "open" and facts.open_since is not None:
        facts.handling += at - facts.open_since
        facts.open_since = None
    if category == "open":
        facts.open_since = at
    if category in DONE_CATEGORIES:
        if before not in DONE_CATEGORIES:
            facts.resolved_at = at
            facts.resolved_by = facts.assignee or event.actor
            facts.replies_at_resolution = facts.public_replies
            facts.ever_resolved = True
    elif before in DONE_CATEGORIES:
        facts.resolved_at = None
        facts.resolved_by = None
        facts.reopens += 1
    elif reopen:  # a reopen flagged on a transition that did not leave solved/closed
        facts.reopens += 1
    facts.category = category


def _fold(facts: TicketFacts, event: Event) -> None:
    """Apply one later event of the ticket to its facts (other kinds change nothing)."""
    if isinstance(event, Replied):
        facts.public_replies += 1
        if facts.first_reply_at is None:
            facts.first_reply_at = event.at
            facts.first_replier = event.actor
        if facts.first_pickup_at is None:
            facts.first_pickup_at = event.at
    elif isinstance(event, StatusChanged):
        _category_change(facts, event, event.to_category, event.reopen)
    elif isinstance(event, Merged):
        _category_change(facts, event, event.to_category, False)
    elif isinstance(event, Assigned):
        facts.assignee, facts.team = event.assignee, event.team
        if event.assignee is not None and facts.first_pickup_at is None:
            facts.first_pickup_at = event.at
    elif isinstance(event, Transferred):
        facts.team, facts.assignee = event.to_team, None
    elif isinstance(event, RequesterChanged):
        facts.requester = event.to_requester
    elif event.kind == SURVEY_ANSWERED:
        stars = getattr(event, "stars", None)
        if isinstance(stars, int) and not isinstance(stars, bool) and 1 <= stars <= 5:
            facts.ratings.append(stars)
    elif isinstance(event, PriorityChanged):
        facts.priority = event.to_priority
    elif isinstance(event, FieldsChanged):
        changes = event.changes
        if "type" in changes:
            facts.type = changes["type"]
        if "department" in changes:
            facts.department = changes["department"]
        if "expected_resolution_at" in changes:
            value = changes["expected_resolution_at"]
            facts.expected_resolution_at = None if value is None else to_utc(value)


def ticket_facts(
    events: Iterable[Event],
    *,
    end: datetime,
    sla: SlaConfig | None = None,
    clocks_from: datetime | None = None,
    profiles: ProfileLookup | None = None,
) -> Iterator[TicketFacts]:
    """Fold a by-ticket event stream (see the module doc) into one :class:`TicketFacts` per
    ticket created before ``end``; with ``sla`` each carries its SLA clocks as of ``end``
    (only tickets created at or after ``clocks_from``, when given: the others are outside
    every cohort and their clocks would be computed for nothing)."""
    facts: TicketFacts | None = None
    kept: list[Event] = []
    keep = False
    skipping: str | None = None
    for event in events:
        if event.ticket_id == skipping:
            continue
        if facts is not None and event.ticket_id == facts.id:
            if event.at < end:
                _fold(facts, event)
                if keep:
                    kept.append(event)
            continue
        # a new ticket begins: it must begin with its creation
        if not isinstance(event, TicketCreated):
            raise ValidationError(
                "events",
                f"events must come grouped by ticket, oldest first: {event.ticket_id} "
                f"seq {event.seq} ({event.kind}) does not start its ticket's history",
            )
        if facts is not None:
            yield _finish(facts, kept, end, sla if keep else None, profiles)
        facts, kept, skipping = None, [], None
        if event.at >= end:
            skipping = event.ticket_id
            continue
        facts = _created(event)
        keep = sla is not None and (clocks_from is None or event.at >= clocks_from)
        if keep:
            kept.append(event)
    if facts is not None:
        yield _finish(facts, kept, end, sla if keep else None, profiles)


def _finish(
    facts: TicketFacts,
    kept: list[Event],
    end: datetime,
    sla: SlaConfig | None,
    profiles: ProfileLookup | None = None,
) -> TicketFacts:
    if facts.open_since is not None and not facts.resolved:
        facts.handling += end - facts.open_since
        facts.open_since = None
    if sla is not None:
        profile = _profile_of(sla, profiles, facts.requester)
        outcomes = evaluate(sla, kept, end, profile=profile)
        facts.clocks = tuple(ClockOutcome.of(c) for c in outcomes)
    return facts


class EventSource(Protocol):
    """What :func:`stored_events` reads: a storage unit of work (:class:`~helpdesk_core.ports.
    UnitOfWork` has the method)."""

    def events_by_creation(
        self,
        where: Condition,
        *,
        created_before: datetime,
        created_from: datetime | None = None,
    ) -> Iterator[Event]: ...


def stored_events(
    uow: EventSource,
    where: Condition = TRUE,
    *,
    created_before: datetime,
    created_from: datetime | None = None,
    page: int = 500,
) -> Iterator[Event]:
    """The events of the stored tickets matching ``where`` (the actor's report scope) created
    in ``[created_from, created_before)``, grouped by ticket as the reports read them: the
    store's :meth:`~helpdesk_core.ports.UnitOfWork.events_by_creation`, one ordered read
    (tickets by creation, each history in order) whose memory is one batch of rows. Every
    report but :func:`backlog_by_age` needs only ``created_from=start``. ``page`` is checked
    and kept for callers of the earlier paged reader; the store now chooses its batch."""
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise ValidationError("page", f"must be a positive integer, got {page!r}")
    return uow.events_by_creation(
        where,
        created_before=to_utc(created_before),
        created_from=None if created_from is None else to_utc(created_from),
    )


# ---------------------------------------------------------------------- stored facts
FACTS_FORMAT: Final = 1
"""The layout of :func:`facts_document`'s list (its first item); another layout is ignored
(the ticket is folded from its events instead)."""


def sla_fingerprint(sla: SlaConfig | None) -> str:
    """A digest of the SLA configuration that stored report facts are computed under: facts
    kept under another configuration are not used for the reports that read SLA clocks. It
    covers everything that decides a clock: policies, conditions, targets, pause statuses,
    custom metrics, the zone and each calendar's definition (zone, week, holidays, extra
    workdays). ``""`` without SLA."""
    if sla is None:
        return ""
    text = json.dumps(_canonical(sla), sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _canonical(value: Any) -> Any:
    """``value`` as plain, ORDERED data (sets sorted, mappings by key) for a stable digest."""
    if attrs.has(type(value)):
        return [
            type(value).__name__,
            *(
                [f.name, _canonical(getattr(value, f.name))]
                for f in attrs.fields(type(value))
                if f.init
            ),
        ]
    if isinstance(value, Mapping):
        return sorted([str(k), _canonical(v)] for k, v in value.items())
    if isinstance(value, set | frozenset):
        return sorted(json.dumps(_canonical(v), default=repr) for v in value)
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "__dict__") and not callable(value):
        # a plain object (a calendar): its public attributes define it, private ones are caches
        return [
            type(value).__name__,
            *sorted([k, _canonical(v)] for k, v in vars(value).items() if not k.startswith("_")),
        ]
    return repr(value)


def _iso(instant: datetime | None) -> str | None:
    return None if instant is None else instant.isoformat()


def _instant(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _profile_of(
    sla: SlaConfig, profiles: ProfileLookup | None, requester: str | None
) -> ProfileTimeline | None:
    """The requester's profile through time, when the SLA policies read ``customer.*``."""
    if profiles is None or requester is None or not sla.reads_customer:
        return None
    return profiles(requester)


def facts_document(
    events: Sequence[Event],
    sla: SlaConfig | None,
    fingerprint: str | None = None,
    profile: ProfileTimeline | None = None,
) -> list[Any]:
    """One ticket's report facts as of its LAST event, as a JSON-ready list for a store to keep
    beside the ticket (the port's ``save_report_facts``): the :class:`TicketFacts` fold of its
    whole history and, with ``sla``, each SLA clock cycle's policy, metric, state and due
    instant evaluated at that last event (business time on the calendars: the domain's work,
    done once at write time). :func:`from_store` turns it back into the facts as of any later
    ``end`` (the handling time still running and the clocks breached since are added then).
    ``fingerprint`` is :func:`sla_fingerprint` of ``sla`` (computed when not given)."""
    if not events or not isinstance(events[0], TicketCreated):
        raise ValidationError("events", "a ticket's history must begin with its creation")
    facts = _created(events[0])
    last = events[0].at
    for event in events[1:]:
        if event.ticket_id != facts.id:
            raise ValidationError(
                "events", f"one ticket's history, got {event.ticket_id} after {facts.id}"
            )
        _fold(facts, event)
        if event.at > last:
            last = event.at
    clocks = [] if sla is None else evaluate(sla, events, last, profile=profile)
    return [
        FACTS_FORMAT,
        sla_fingerprint(sla) if fingerprint is None else fingerprint,
        last.isoformat(),
        facts.created_at.isoformat(),
        facts.type,
        facts.channel,
        facts.priority,
        facts.team,
        facts.department,
        facts.assignee,
        facts.category,
        _iso(facts.expected_resolution_at),
        facts.requester,
        _iso(facts.first_pickup_at),
        _iso(facts.first_reply_at),
        facts.first_replier,
        facts.public_replies,
        facts.replies_at_resolution,
        _iso(facts.resolved_at),
        facts.resolved_by,
        facts.ever_resolved,
        facts.reopens,
        facts.handling // timedelta(microseconds=1),
        _iso(facts.open_since),
        list(facts.ratings),
        [[c.policy, c.metric, c.state, _iso(c.due_at)] for c in clocks],
    ]


_MICRO: Final = timedelta(microseconds=1)


def _from_document(
    ticket_id: str, doc: Sequence[Any], end: datetime, clocks: bool
) -> TicketFacts | None:
    """The facts of :func:`facts_document` as of ``end`` (after the ticket's last event), or
    None when the document cannot give them (another layout, or not as of ``end``)."""
    if len(doc) != 26 or doc[0] != FACTS_FORMAT:
        return None
    (
        _,
        _,
        last,
        created,
        type_,
        channel,
        priority,
        team,
        department,
        assignee,
        category,
        expected,
        requester,
        pickup,
        reply,
        replier,
        replies,
        at_resolution,
        resolved_at,
        resolved_by,
        ever_resolved,
        reopens,
        handling,
        open_since,
        ratings,
        cycles,
    ) = doc
    if not datetime.fromisoformat(last) < end:
        return None
    facts = TicketFacts(
        ticket_id,
        datetime.fromisoformat(created),
        type_,
        channel,
        priority,
        team,
        department,
        assignee,
        category,
        _instant(expected),
        requester,
        _instant(pickup),
        _instant(reply),
        replier,
        replies,
        at_resolution,
        _instant(resolved_at),
        resolved_by,
        ever_resolved,
        reopens,
        handling * _MICRO,
        _instant(open_since),
        (),
        ratings,
    )
    if facts.open_since is not None and category not in DONE_CATEGORIES:
        facts.handling += end - facts.open_since
        facts.open_since = None
    if clocks and cycles:
        facts.clocks = tuple(
            ClockOutcome(policy, metric, state, _instant(due)).at(end)
            for policy, metric, state, due in cycles
        )
    return facts


class FactsSource(EventSource, Protocol):
    """What :func:`from_store` reads: a storage unit of work (:class:`~helpdesk_core.ports.
    UnitOfWork` has the methods): the report facts, and the events of the tickets whose
    facts cannot answer."""

    def report_facts(
        self,
        where: Condition,
        *,
        created_before: datetime,
        created_from: datetime | None = None,
    ) -> Iterator[StoredFacts]: ...


_REFOLD_BATCH: Final = 500
"""Tickets whose events :func:`from_store` reads in one query when their facts cannot
answer."""


def from_store(
    names: Iterable[str],
    uow: FactsSource,
    where: Condition = TRUE,
    *,
    start: date | datetime,
    end: date | datetime,
    tz: str | tzinfo,
    group_by: Sequence[str] | str = (),
    sla: SlaConfig | None = None,
    tiers: TierLookup | None = None,
    profiles: ProfileLookup | None = None,
) -> dict[str, Report]:
    """Several reports over the stored tickets matching ``where`` (the reader's scope), with
    the same figures as :func:`many` over their events, read from the store's per-ticket
    report facts (:func:`facts_document`, kept in step by every command): one row per ticket
    instead of its whole history, and no SLA walk. A ticket whose facts cannot give its
    figures as of ``end`` is folded from its events instead, so the result never depends on
    the facts being there: no facts yet (a store from before them, until ``helpdesk db
    reindex``), facts older than the ticket (written around the command path), an event at
    or after ``end`` (a past period), or, for the reports that read SLA clocks, facts kept
    under another SLA configuration than ``sla`` (:func:`sla_fingerprint`). Those tickets are
    folded after the stream from their events, read 500 tickets at a time through
    ``uow.events_by_creation``; the figures do not depend on the order tickets come in."""
    run = _Run.of(names, start, end, tz, group_by, sla, tiers)
    lo, hi = run.ctx.start, run.ctx.end
    clocks = run.clocks
    fingerprint = sla_fingerprint(clocks)
    backlog = any(name == "backlog_by_age" for name in run.consumers)
    later: list[str] = []

    def stream() -> Iterator[TicketFacts]:
        for row in uow.report_facts(where, created_before=hi, created_from=None if backlog else lo):
            doc = row.doc
            facts = None
            if doc is not None and (clocks is None or (len(doc) > 1 and doc[1] == fingerprint)):
                facts = _from_document(row.ticket_id, doc, hi, clocks is not None)
            if facts is None:
                later.append(row.ticket_id)
            else:
                yield facts

    run.feed(stream())
    for k in range(0, len(later), _REFOLD_BATCH):
        chosen = field_is("id", "in", later[k : k + _REFOLD_BATCH])
        events = uow.events_by_creation(chosen, created_before=hi)
        run.feed(ticket_facts(events, end=hi, sla=clocks, clocks_from=lo, profiles=profiles))
    return run.reports()


class CustomerSource(Protocol):
    """What :func:`requester_tiers` reads: a storage unit of work."""

    def query_customers(self, query: CustomerQuery) -> list[Customer]: ...
    def customer_events(self, customer_id: str, after_seq: int = 0) -> list[CustomerEvent]: ...


_CUSTOMER_PAGE: Final = 1000


def requester_tiers(uow: CustomerSource, *, end: datetime) -> TierLookup:
    """The ``tier`` dimension's lookup through the customers port: a requester's tier as of
    ``end`` (rule 2), None for a requester without a profile then. On first use it reads every
    profile once, in pages of 1,000 (merged-away ones included), and keeps only id -> tier: a
    profile unchanged since before ``end`` gives its tier as it is, one created at or after
    ``end`` none, and one changed since has its events before ``end`` folded. One pass over
    the customers instead of a query per requester (a round trip each on PostgreSQL)."""
    bound = to_utc(end)
    known: dict[str, str | None] = {}
    loaded = False

    def at_end(customer: Customer) -> str | None:
        if customer.created_at >= bound:
            return None
        if customer.updated_at < bound:
            return customer.tier
        history = [e for e in uow.customer_events(customer.id) if e.at < bound]
        return Customer.from_events(history).tier if history else None

    def load() -> None:
        names: dict[str, str] = {}  # one string object per tier name
        after: str | None = None
        while True:
            page = uow.query_customers(
                CustomerQuery(include_merged=True, after=after, limit=_CUSTOMER_PAGE)
            )
            for customer in page:
                tier = at_end(customer)
                known[customer.id] = None if tier is None else names.setdefault(tier, tier)
            if len(page) < _CUSTOMER_PAGE:
                return
            after = page[-1].id

    def tier(customer_id: str) -> str | None:
        nonlocal loaded
        if not loaded:
            load()
            loaded = True
        return known.get(customer_id)

    return tier


# ---------------------------------------------------------------------- periods and groups
def _zone(tz: str | tzinfo) -> tzinfo:
    if isinstance(tz, tzinfo):
        return tz
    if not isinstance(tz, str) or not tz:
        raise ValidationError("tz", f"must be a time zone name or tzinfo, got {tz!r}")
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError("tz", f"unknown time zone {tz!r}") from exc


def _local_midnight(day: date, zone: tzinfo) -> datetime:
    # a midnight skipped by a DST change maps to the transition instant (fold=0 rule)
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def period_bounds(
    start: date | datetime, end: date | datetime, tz: str | tzinfo
) -> tuple[datetime, datetime]:
    """The half-open UTC interval ``[start, end)`` of rule 1."""
    zone = _zone(tz)
    bounds: list[datetime] = []
    for name, value, shift in (("start", start, 0), ("end", end, 1)):
        if isinstance(value, datetime):
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValidationError(name, f"naive datetime {value.isoformat()}: give a zone")
            bounds.append(value.astimezone(UTC))
        elif isinstance(value, date):
            bounds.append(_local_midnight(value + timedelta(days=shift), zone))
        else:
            raise ValidationError(name, f"must be a date or an aware datetime, got {value!r}")
    if bounds[1] <= bounds[0]:
        raise ValidationError("end", f"must be after start ({start} .. {end})")
    return bounds[0], bounds[1]


def period_key(instant: datetime, dimension: str, zone: tzinfo) -> str:
    """The local period label of an instant: ``2026-11-02T09+08:00`` (hour, with the offset so
    the repeated hour of a DST fall-back stays two buckets), ``2026-11-02`` (day),
    ``2026-W45`` (ISO week), ``2026-11`` (month)."""
    local = instant.astimezone(zone)
    if dimension == "day":
        return local.date().isoformat()
    if dimension == "month":
        return f"{local.year:04d}-{local.month:02d}"
    if dimension == "week":
        year, week, _ = local.isocalendar()
        return f"{year:04d}-W{week:02d}"
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%dT%H}{offset[:3]}:{offset[3:]}"


def _dimensions(group_by: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(group_by, str):
        group_by = (group_by,)
    dims = tuple(group_by)
    for dim in dims:
        if dim not in DIMENSIONS:
            raise ValidationError("group_by", f"unknown dimension {dim!r}; known: {DIMENSIONS}")
    if len(set(dims)) != len(dims):
        raise ValidationError("group_by", f"names a dimension twice: {list(dims)}")
    return dims


def _key(
    facts: TicketFacts, dims: tuple[str, ...], zone: tzinfo, tiers: TierLookup | None = None
) -> tuple[str | None, ...]:
    values: list[str | None] = []
    for dim in dims:
        if dim in PERIOD_DIMENSIONS:
            values.append(period_key(facts.created_at, dim, zone))
        elif dim == "agent":
            values.append(facts.assignee)
        elif dim == "tier":
            requester = facts.requester
            values.append(None if requester is None or tiers is None else tiers(requester))
        else:
            values.append(getattr(facts, dim))
    return tuple(values)


def _sort_key(key: tuple[Any, ...]) -> tuple[tuple[int, str], ...]:
    return tuple((0, "") if v is None else (1, str(v)) for v in key)


# ---------------------------------------------------------------------- statistics
def quantile(sorted_values: Sequence[float], share: float) -> float | None:
    """Nearest-rank quantile of ascending values: the smallest value with at least ``share`` of
    the values at or below it; None for no values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(share * len(sorted_values) - 1e-9))
    return sorted_values[rank - 1]


def _durations(kept: Sequence[float], prefix: str = "") -> dict[str, float | int | None]:
    values = sorted(kept)
    n = len(values)
    return {
        f"{prefix}count": n,
        f"{prefix}mean_seconds": round(sum(values) / n, 3) if n else None,
        f"{prefix}median_seconds": quantile(values, 0.5),
        f"{prefix}p90_seconds": quantile(values, 0.9),
    }


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


@attrs.frozen
class _Context:
    """What every KPI consumer knows: the period, the zone, the grouping, the SLA config."""

    start: datetime
    end: datetime
    zone: tzinfo
    dims: tuple[str, ...]
    sla: SlaConfig | None
    tiers: TierLookup | None = None

    def key(self, facts: TicketFacts) -> tuple[str | None, ...]:
        return _key(facts, self.dims, self.zone, self.tiers)


class _Consumer(Protocol):
    """One report being computed: it takes each ticket's facts (with the ticket's group key
    under the report's dimensions and whether it is in the period's cohort, both worked out
    once per ticket for every report), then builds the report."""

    def add(self, facts: TicketFacts, key: tuple[str | None, ...], cohort: bool) -> None: ...
    def report(self) -> Report: ...


_Finish = Callable[[dict[str, Any]], dict[str, Any]]


@attrs.frozen
class _Spec:
    """A report whose rows are groups of cohort tickets, each folded into one accumulator."""

    name: str
    metrics: tuple[str, ...]
    measure: Callable[[TicketFacts, dict[str, Any]], None]
    finish: _Finish
    start: Callable[[], dict[str, Any]]


class _Grouped:
    def __init__(self, spec: _Spec, ctx: _Context) -> None:
        self.spec, self.ctx = spec, ctx
        self.groups: dict[tuple[str | None, ...], dict[str, Any]] = {}
        self.measure, self.start = spec.measure, spec.start  # the hot path: one lookup each

    def add(self, facts: TicketFacts, key: tuple[str | None, ...], cohort: bool) -> None:
        if cohort:
            acc = self.groups.get(key)
            if acc is None:
                acc = self.groups[key] = self.start()
            self.measure(facts, acc)

    def report(self) -> Report:
        spec, ctx, groups = self.spec, self.ctx, self.groups
        if not groups and not ctx.dims:
            groups[()] = spec.start()
        rows: list[Mapping[str, Any]] = []
        for key in sorted(groups, key=_sort_key):
            row: dict[str, Any] = dict(zip(ctx.dims, key, strict=True))
            row.update(spec.finish(groups[key]))
            rows.append(row)
        return Report(spec.name, (*ctx.dims, *spec.metrics), rows, ctx.start, ctx.end)


def _seconds(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds()


def _duration_spec(
    name: str, label: str, value: Callable[[TicketFacts], float | None], base: str
) -> _Spec:
    def measure(facts: TicketFacts, acc: dict[str, Any]) -> None:
        acc["base"] += 1
        seconds = value(facts)
        if seconds is not None:
            acc["values"].append(seconds)

    def finish(acc: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {base: acc["base"]}
        out.update(_durations(acc["values"], f"{label}_"))
        return out

    metrics = (
        base,
        f"{label}_count",
        f"{label}_mean_seconds",
        f"{label}_median_seconds",
        f"{label}_p90_seconds",
    )
    return _Spec(name, metrics, measure, finish, lambda: {"base": 0, "values": array("d")})


def _rate_spec(
    name: str, whole: str, part: str, test: Callable[[TicketFacts], tuple[bool, bool]]
) -> _Spec:
    def measure(facts: TicketFacts, acc: dict[str, Any]) -> None:
        counted, hit = test(facts)
        if counted:
            acc[whole] += 1
            acc[part] += hit

    def finish(acc: dict[str, Any]) -> dict[str, Any]:
        return {whole: acc[whole], part: acc[part], "rate": _rate(acc[part], acc[whole])}

    return _Spec(name, (whole, part, "rate"), measure, finish, lambda: {whole: 0, part: 0})


# ---------------------------------------------------------------------- the consumers
def _volumes(ctx: _Context) -> _Consumer:
    def measure(facts: TicketFacts, acc: dict[str, Any]) -> None:
        acc["tickets"] += 1
        acc["resolved"] += facts.resolved

    return _Grouped(
        _Spec(
            "volumes",
            ("tickets", "resolved"),
            measure,
            dict,
            lambda: {"tickets": 0, "resolved": 0},
        ),
        ctx,
    )


def _first_response(f: TicketFacts) -> float | None:
    return None if f.first_reply_at is None else _seconds(f.created_at, f.first_reply_at)


def _resolution(f: TicketFacts) -> float | None:
    if not f.resolved or f.resolved_at is None:
        return None
    return _seconds(f.created_at, f.resolved_at)


def _handling(f: TicketFacts) -> float | None:
    return f.handling.total_seconds() if f.resolved else None


def _wait(f: TicketFacts) -> float | None:
    return None if f.first_pickup_at is None else _seconds(f.created_at, f.first_pickup_at)


def _first_response_time(ctx: _Context) -> _Consumer:
    return _Grouped(
        _duration_spec("first_response_time", "responded", _first_response, "tickets"), ctx
    )


def _resolution_time(ctx: _Context) -> _Consumer:
    return _Grouped(_duration_spec("resolution_time", "resolved", _resolution, "tickets"), ctx)


def _handling_time(ctx: _Context) -> _Consumer:
    return _Grouped(_duration_spec("handling_time", "resolved", _handling, "tickets"), ctx)


def _average_wait(ctx: _Context) -> _Consumer:
    spec = _duration_spec("average_wait", "picked_up", _wait, "tickets")
    inner = spec.finish

    def finish(acc: dict[str, Any]) -> dict[str, Any]:
        out = inner(acc)
        out["waiting"] = out["tickets"] - out["picked_up_count"]
        return out

    return _Grouped(attrs.evolve(spec, metrics=(*spec.metrics, "waiting"), finish=finish), ctx)


def _first_contact_resolution(ctx: _Context) -> _Consumer:
    def test(f: TicketFacts) -> tuple[bool, bool]:
        return f.resolved, f.replies_at_resolution <= 1 and f.reopens == 0

    return _Grouped(_rate_spec("first_contact_resolution", "resolved", "first_contact", test), ctx)


def _reopen_rate(ctx: _Context) -> _Consumer:
    def test(f: TicketFacts) -> tuple[bool, bool]:
        return f.ever_resolved, f.reopens > 0

    return _Grouped(_rate_spec("reopen_rate", "resolved_once", "reopened", test), ctx)


def _csat(ctx: _Context) -> _Consumer:
    distribution = tuple(f"stars_{n}" for n in range(1, 6))

    def measure(facts: TicketFacts, acc: dict[str, Any]) -> None:
        acc["tickets"] += 1
        for stars in facts.ratings:
            acc["ratings"] += 1
            acc["stars_sum"] += stars
            acc["satisfied"] += stars >= SATISFIED_STARS
            acc[distribution[stars - 1]] += 1

    def finish(acc: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in acc.items() if k != "stars_sum"}
        ratings = acc["ratings"]
        out["mean_stars"] = round(acc["stars_sum"] / ratings, 6) if ratings else None
        out["rate"] = _rate(acc["satisfied"], ratings)
        return out

    counts = ("tickets", "ratings", "satisfied", *distribution)
    spec = _Spec(
        "csat",
        (*counts, "mean_stars", "rate"),
        measure,
        finish,
        lambda: dict.fromkeys((*counts, "stars_sum"), 0),
    )
    return _Grouped(spec, ctx)


def _need_sla(sla: SlaConfig | None) -> SlaConfig:
    if not isinstance(sla, SlaConfig):
        raise ValidationError("sla", "this report needs the desk's SlaConfig (sla=...)")
    return sla


def _decided(clock: ClockOutcome) -> bool | None:
    """True met on time, False breached, None undecided (running, paused or warning)."""
    if clock.state == "met":
        return True
    if clock.state == "breached":
        return False
    return None


class _SlaCompliance:
    def __init__(self, ctx: _Context) -> None:
        _need_sla(ctx.sla)
        self.ctx = ctx
        self.groups: dict[tuple[str | None, ...], list[int]] = {}

    def add(self, facts: TicketFacts, key: tuple[str | None, ...], cohort: bool) -> None:
        if not cohort:
            return
        for clock in facts.clocks:
            tally = self.groups.setdefault((*key, clock.policy, clock.metric), [0, 0, 0])
            outcome = _decided(clock)
            tally[0 if outcome else 1 if outcome is False else 2] += 1

    def report(self) -> Report:
        dims = self.ctx.dims
        rows: list[Mapping[str, Any]] = []
        for key in sorted(self.groups, key=_sort_key):
            met, breached, undecided = self.groups[key]
            row: dict[str, Any] = dict(zip((*dims, "policy", "metric"), key, strict=True))
            row.update(
                met=met, breached=breached, open=undecided, compliance=_rate(met, met + breached)
            )
            rows.append(row)
        columns = (*dims, "policy", "metric", "met", "breached", "open", "compliance")
        return Report("sla_compliance", columns, rows, self.ctx.start, self.ctx.end)


def _on_time(ctx: _Context) -> _Consumer:
    def measure(facts: TicketFacts, acc: dict[str, Any]) -> None:
        if not facts.resolved or facts.resolved_at is None:
            return
        acc["resolved"] += 1
        promise = facts.expected_resolution_at
        if promise is None:
            cycles = [c for c in facts.clocks if c.metric == "resolution"]
            if cycles:
                promise = cycles[-1].due_at
        if promise is None:
            return
        acc["promised"] += 1
        acc["on_time"] += facts.resolved_at <= promise

    def finish(acc: dict[str, Any]) -> dict[str, Any]:
        return {**acc, "rate": _rate(acc["on_time"], acc["promised"])}

    spec = _Spec(
        "on_time",
        ("resolved", "promised", "on_time", "rate"),
        measure,
        finish,
        lambda: {"resolved": 0, "promised": 0, "on_time": 0},
    )
    return _Grouped(spec, ctx)


class _AgentPerformance:
    def __init__(self, ctx: _Context) -> None:
        self.ctx = attrs.evolve(ctx, dims=tuple(d for d in ctx.dims if d != "agent"))
        self.own_key = self.ctx.dims != ctx.dims  # the shared key has an agent to drop
        self.groups: dict[tuple[str | None, ...], dict[str, Any]] = {}

    def acc_for(self, agent: str, base: tuple[str | None, ...]) -> dict[str, Any]:
        key = (agent, *base)
        acc = self.groups.get(key)
        if acc is None:
            acc = self.groups[key] = {"handled": 0, "frt": array("d"), "met": 0, "breached": 0}
        return acc

    def add(self, facts: TicketFacts, key: tuple[str | None, ...], cohort: bool) -> None:
        if not cohort:
            return
        base = self.ctx.key(facts) if self.own_key else key
        if facts.first_replier is not None and facts.first_reply_at is not None:
            self.acc_for(facts.first_replier, base)["frt"].append(
                _seconds(facts.created_at, facts.first_reply_at)
            )
        if facts.resolved and facts.resolved_by is not None:
            acc = self.acc_for(facts.resolved_by, base)
            acc["handled"] += 1
            for clock in facts.clocks:
                outcome = _decided(clock)
                if outcome is not None:
                    acc["met" if outcome else "breached"] += 1

    def report(self) -> Report:
        dims, with_sla = self.ctx.dims, self.ctx.sla is not None
        rows: list[Mapping[str, Any]] = []
        for key in sorted(self.groups, key=_sort_key):
            acc = self.groups[key]
            frt = _durations(acc["frt"], "frt_")
            row: dict[str, Any] = dict(zip(("agent", *dims), key, strict=True))
            row.update(
                handled=acc["handled"],
                first_responses=frt["frt_count"],
                frt_median_seconds=frt["frt_median_seconds"],
                frt_p90_seconds=frt["frt_p90_seconds"],
                sla_met=acc["met"] if with_sla else None,
                sla_breached=acc["breached"] if with_sla else None,
                sla_met_rate=_rate(acc["met"], acc["met"] + acc["breached"]),
            )
            rows.append(row)
        columns = (
            "agent",
            *dims,
            "handled",
            "first_responses",
            "frt_median_seconds",
            "frt_p90_seconds",
            "sla_met",
            "sla_breached",
            "sla_met_rate",
        )
        return Report("agent_performance", columns, rows, self.ctx.start, self.ctx.end)


class _BacklogByAge:
    def __init__(self, ctx: _Context) -> None:
        self.ctx = ctx
        self.groups: dict[tuple[str | None, ...], int] = {}

    def add(self, facts: TicketFacts, key: tuple[str | None, ...], cohort: bool) -> None:
        if facts.resolved:
            return
        age = self.ctx.end - facts.created_at
        bucket = next(name for name, upper in BACKLOG_BUCKETS if upper is None or age < upper)
        full = (*key, bucket)
        self.groups[full] = self.groups.get(full, 0) + 1

    def report(self) -> Report:
        dims = self.ctx.dims
        order = {name: i for i, (name, _) in enumerate(BACKLOG_BUCKETS)}
        rows: list[Mapping[str, Any]] = []
        for key in sorted(self.groups, key=lambda k: (_sort_key(k[:-1]), order[str(k[-1])])):
            row: dict[str, Any] = dict(zip((*dims, "age"), key, strict=True))
            row["tickets"] = self.groups[key]
            rows.append(row)
        return Report(
            "backlog_by_age", (*dims, "age", "tickets"), rows, self.ctx.start, self.ctx.end
        )


_CONSUMERS: Final[Mapping[str, Callable[[_Context], _Consumer]]] = MappingProxyType(
    {
        "volumes": _volumes,
        "first_response_time": _first_response_time,
        "resolution_time": _resolution_time,
        "handling_time": _handling_time,
        "average_wait": _average_wait,
        "first_contact_resolution": _first_contact_resolution,
        "reopen_rate": _reopen_rate,
        "csat": _csat,
        "sla_compliance": _SlaCompliance,
        "on_time": _on_time,
        "agent_performance": _AgentPerformance,
        "backlog_by_age": _BacklogByAge,
    }
)


_CLOCK_READERS: Final = frozenset({"sla_compliance", "on_time", "agent_performance"})
"""The reports that read the tickets' SLA clocks."""


def many(
    names: Iterable[str],
    events: Iterable[Event],
    *,
    start: date | datetime,
    end: date | datetime,
    tz: str | tzinfo,
    group_by: Sequence[str] | str = (),
    sla: SlaConfig | None = None,
    tiers: TierLookup | None = None,
    profiles: ProfileLookup | None = None,
) -> dict[str, Report]:
    """Several reports from ONE pass over the event stream (the events are read and folded
    once, each ticket's facts fed to every report). :func:`from_store` gives the same figures
    from a store's per-ticket report facts, the way to a full report at scale."""
    run = _Run.of(names, start, end, tz, group_by, sla, tiers)
    run.feed(
        ticket_facts(
            events, end=run.ctx.end, sla=run.clocks, clocks_from=run.ctx.start, profiles=profiles
        )
    )
    return run.reports()


class _Run:
    """Several reports being computed over one stream of ticket facts."""

    def __init__(self, ctx: _Context, consumers: dict[str, _Consumer]) -> None:
        self.ctx, self.consumers = ctx, consumers
        # SLA clocks are the dearest part of a ticket's facts: evaluated once per ticket, for
        # every report that reads them, and not at all when none does
        self.clocks = ctx.sla if any(name in _CLOCK_READERS for name in consumers) else None

    @classmethod
    def of(
        cls,
        names: Iterable[str],
        start: date | datetime,
        end: date | datetime,
        tz: str | tzinfo,
        group_by: Sequence[str] | str,
        sla: SlaConfig | None,
        tiers: TierLookup | None,
    ) -> _Run:
        zone = _zone(tz)
        lo, hi = period_bounds(start, end, zone)
        dims = _dimensions(group_by)
        if "tier" in dims and tiers is None:
            raise ValidationError(
                "tiers", "grouping by tier needs the requesters' tiers (tiers=...)"
            )
        ctx = _Context(lo, hi, zone, dims, sla, tiers)
        wanted = [names] if isinstance(names, str) else list(names)
        consumers: dict[str, _Consumer] = {}
        for name in wanted:
            make = _CONSUMERS.get(name) if isinstance(name, str) else None
            if make is None:
                raise ValidationError(
                    "name", f"unknown report {name!r}; known: {sorted(_CONSUMERS)}"
                )
            consumers[name] = make(ctx)
        return cls(ctx, consumers)

    def feed(self, stream: Iterable[TicketFacts]) -> None:
        adds = [c.add for c in self.consumers.values()]
        ctx = self.ctx
        lo, hi, dims, zone, tiers = ctx.start, ctx.end, ctx.dims, ctx.zone, ctx.tiers
        for facts in stream:
            key = _key(facts, dims, zone, tiers) if dims else ()
            cohort = lo <= facts.created_at < hi
            for add in adds:
                add(facts, key, cohort)

    def reports(self) -> dict[str, Report]:
        return {name: consumer.report() for name, consumer in self.consumers.items()}


def _one(
    name: str,
    events: Iterable[Event],
    start: date | datetime,
    end: date | datetime,
    tz: str | tzinfo,
    group_by: Sequence[str] | str,
    sla: SlaConfig | None,
    tiers: TierLookup | None,
    profiles: ProfileLookup | None = None,
) -> Report:
    return many(
        [name], events, start=start, end=end, tz=tz, group_by=group_by, sla=sla, tiers=tiers,
        profiles=profiles,
    )[name]  # fmt: skip


# ---------------------------------------------------------------------- the KPIs
def volumes(
    events: Iterable[Event],
    *,
    start: date | datetime,
    end: date | datetime,
    tz: str | tzinfo,
    group_by: Sequence[str] | str = (),
    sla: SlaConfig | None = None,
    tiers: TierLookup | None = None,
    profiles: ProfileLookup | None = None,
) -> Report:
    """Tickets created in the period (``tickets``), with how many of them are resolved at
    ``end`` (``resolved``). Group by type, channel, priority, team, department, agent and the
    local hour/day/week/month of creation: each ticket counts once, in its creation bucket."""
    return _one("volumes", events, start, end, tz, group_by, sla, tiers, profiles)


def first_response_time(
    events: Iterable[Event],
    *,
    start: date | datetime,
    end: date | datetime,
    tz: str | tzinfo,
    group_by: Sequence[str] | str = (),
    sla: SlaConfig | None = None,
    tiers: TierLookup | None = None,
    profiles: ProfileLookup | None = None,
) -> Report:
    """First response time: from creation to the first agent PUBLIC reply (an internal note is
    never a response), calendar time; pauses do not stop it and a reopen does not restart it.
    ``tickets`` counts the cohort, ``responded_count`` those answered before ``end``; mean,
    median and p90 are over the answered ones."""
    return _one("first_response_time", events, start, end, tz, group_by, sla, tiers, profiles)


def resolution_time(
    events: Iterable[Event],
    *,
    start: date | datetime,
    end: date | datetime,
    tz: str | tzinfo,
    group_by: Sequence[str] | str = (),
    sla: SlaConfig | None = None,
    tiers: TierLookup | None = None,
    profiles: ProfileLookup | None = None,
) -> Report:
    """Resolution time: from creation to the final resolution (rule 6), calendar time, pauses
    included (the SLA resolution clock, which stops in pause statuses, is
    :func:`sla_compliance`'s business). Over tickets resolved at ``end``."""
    return _one("resolution_time", events, start, end, tz, group_by, sla, tiers, profiles)


def handling_time(
    events: Iterable[Event],
    *,
    start: date | datetime,
    end: date | datetime,
    tz: str | tzinfo,
    group_by: Sequence[str] | str = (),
    sla: SlaConfig | None = None,
    tiers: TierLookup | None = None,
    profiles: ProfileLookup | None = None,
) -> Report:
    """Handling time: the time a resolved ticket spent in ``open``-category statuses (assigned,
    in progress: in the desk's hands), summed over every stretch including those after a
    reopen. Time waiting in ``new``, in pause (``pending``) statuses and after resolution is not
    handling. Over tickets resolved at ``end``."""
    return _one("handling_time", events, start, end, tz, group_by, sla, tiers, profiles)


def average_wait(
    events: Iterable[Event],
    *,
    start: date | datetime,
    end: date | datetime,
    tz: str | tzinfo,
    group_by: Sequence[str] | str = (),
    sla: SlaConfig | None = None,
    tiers: TierLookup | None = None,
    profiles: ProfileLookup | None = None,
) -> Report:
    """Average wait: from creation until an agent picked the ticket up (the first assignment to
    an agent or the first agent public reply, whichever came first). ``picked_up_*`` figures are
    over tickets picked up before ``end``; ``waiting`` counts those still waiting at ``end``."""
    return _one("average_wait", events, start, end, tz, group_by, sla, tiers, profiles)


def first_contact_resolution(
    events: Iterable[Event],
    *,
    start: date | datetime,
    end: date | datetime,
    tz: str | tzinfo,
    group_by: Sequence[str] | str = (),
    sla: SlaConfig | None = None,
    tiers: TierLookup | None = None,
    profiles: ProfileLookup | None = None,
) -> Report:
    """First-contact resolution rate: of the tickets resolved at ``end``, the share resolved
    with at most one agent public reply and never reopened."""
    return _one("first_contact_resolution", events, start, end, tz, group_by, sla, tiers, profiles)


def reopen_rate(
    events: Iterable[Event],
    *,
    start: date | datetime,
    end: date | datetime,
    tz: str | tzinfo,
    group_by: Sequence[str] | str = (),
    sla: SlaConfig | None = None,
    tiers: TierLookup | None = None,
    profiles: ProfileLookup | None = None,
) -> Report:
    """Reopen rate: of the tickets resolved at least once before ``end``, the share reopened at
    least once (left a solved/closed status for a working one, or took a ``reopen``
    transition), whether or not resolved again since."""
    return _one("reopen_rate", events, start, end, tz, group_by, sla, tiers, profiles)


def csat(
    events: Iterable[Event],
    *,
    start: date | datetime,
    end: date | datetime,
    tz: str | tzinfo,
    group_by: Sequence[str] | str = (),
    sla: SlaConfig | None = None,
    tiers: TierLookup | None = None,
    profiles: ProfileLookup | None = None,
) -> Report:
    """Customer satisfaction (R-CSAT-1, R-RPT-1): over the cohort's tickets (``tickets``),
    every survey answer given before ``end`` (an event of kind ``survey_answered`` with
    ``stars`` 1..5; a ticket rated after each of two resolutions counts twice; other star
    values are ignored).
    ``ratings`` answers, their distribution ``stars_1`` .. ``stars_5``, ``mean_stars`` (the
    arithmetic mean) and ``rate`` = ``satisfied`` / ``ratings``, where satisfied means 4 or 5
    stars. Grouped by ticket dimensions as of ``end`` (an agent's CSAT: ``group_by="agent"``)."""
    return _one("csat", events, start, end, tz, group_by, sla, tiers, profiles)


def sla_compliance(
    events: Iterable[Event],
    *,
    start: date | datetime,
    end: date | datetime,
    tz: str | tzinfo,
    group_by: Sequence[str] | str = (),
    sla: SlaConfig | None = None,
    tiers: TierLookup | None = None,
    profiles: ProfileLookup | None = None,
) -> Report:
    """SLA compliance per policy and metric: every clock cycle of the cohort's tickets, as
    :func:`helpdesk_core.sla.evaluate` gives it at ``end`` under ``sla`` (business time,
    pauses and reopens by the SLA rules: a reopen is a new resolution cycle). ``met`` cycles
    were met by their due instant, ``breached`` ones were not (also still running past due);
    ``open`` ones are undecided and left out of ``compliance = met / (met + breached)``."""
    return _one("sla_compliance", events, start, end, tz, group_by, sla, tiers, profiles)


def on_time(
    events: Iterable[Event],
    *,
    start: date | datetime,
    end: date | datetime,
    tz: str | tzinfo,
    group_by: Sequence[str] | str = (),
    sla: SlaConfig | None = None,
    tiers: TierLookup | None = None,
    profiles: ProfileLookup | None = None,
) -> Report:
    """On-time rate: of the tickets resolved at ``end`` that had a promised instant, the share
    resolved at or before it. The promise is the ticket's ``expected_resolution_at`` when set,
    else (with ``sla``) the due instant of its last resolution clock cycle; tickets with
    neither are counted in ``resolved`` only."""
    return _one("on_time", events, start, end, tz, group_by, sla, tiers, profiles)


def agent_performance(
    events: Iterable[Event],
    *,
    start: date | datetime,
    end: date | datetime,
    tz: str | tzinfo,
    group_by: Sequence[str] | str = (),
    sla: SlaConfig | None = None,
    tiers: TierLookup | None = None,
    profiles: ProfileLookup | None = None,
) -> Report:
    """Per agent: ``handled`` tickets (resolved at ``end`` while assigned to them, or by them
    when unassigned), ``first_responses`` (tickets whose first agent public reply was theirs)
    with the median and p90 of those first response times, and (with ``sla``) the SLA clock
    cycles of their handled tickets that were ``sla_met`` / ``sla_breached``. Other
    ``group_by`` dimensions split each agent's row further."""
    return _one("agent_performance", events, start, end, tz, group_by, sla, tiers, profiles)


def backlog_by_age(
    events: Iterable[Event],
    *,
    start: date | datetime,
    end: date | datetime,
    tz: str | tzinfo,
    group_by: Sequence[str] | str = (),
    sla: SlaConfig | None = None,
    tiers: TierLookup | None = None,
    profiles: ProfileLookup | None = None,
) -> Report:
    """The backlog at ``end``: every ticket created before ``end`` (whenever: ``start`` does
    not limit it) and not resolved at ``end``, by age at ``end`` in :data:`BACKLOG_BUCKETS`
    (``[lower, upper)``). Period dimensions group by the local creation period."""
    return _one("backlog_by_age", events, start, end, tz, group_by, sla, tiers, profiles)


class ReportFunction(Protocol):
    def __call__(
        self,
        events: Iterable[Event],
        *,
        start: date | datetime,
        end: date | datetime,
        tz: str | tzinfo,
        group_by: Sequence[str] | str = (),
        sla: SlaConfig | None = None,
        tiers: TierLookup | None = None,
        profiles: ProfileLookup | None = None,
    ) -> Report: ...


REPORTS: Final[Mapping[str, ReportFunction]] = MappingProxyType(
    {
        "volumes": volumes,
        "first_response_time": first_response_time,
        "resolution_time": resolution_time,
        "handling_time": handling_time,
        "average_wait": average_wait,
        "first_contact_resolution": first_contact_resolution,
        "reopen_rate": reopen_rate,
        "csat": csat,
        "sla_compliance": sla_compliance,
        "on_time": on_time,
        "agent_performance": agent_performance,
        "backlog_by_age": backlog_by_age,
    }
)
"""Every report over the ticket event stream by name (read-only). :func:`kb_usage` reads the
knowledge base's article uses instead of ticket events (name :data:`KB_USAGE`)."""


def report(
    name: str,
    events: Iterable[Event],
    *,
    start: date | datetime,
    end: date | datetime,
    tz: str | tzinfo,
    group_by: Sequence[str] | str = (),
    sla: SlaConfig | None = None,
    tiers: TierLookup | None = None,
    profiles: ProfileLookup | None = None,
) -> Report:
    """The report ``name`` of :data:`REPORTS` (what ``desk.report`` calls)."""
    function = REPORTS.get(name) if isinstance(name, str) else None
    if function is None:
        raise ValidationError("name", f"unknown report {name!r}; known: {sorted(REPORTS)}")
    return function(
        events, start=start, end=end, tz=tz, group_by=group_by, sla=sla, tiers=tiers,
        profiles=profiles,
    )  # fmt: skip


KB_USAGE: Final = "kb_usage"
"""The name of :func:`kb_usage` for ``desk.report``."""

KB_DIMENSIONS: Final = ("article", *PERIOD_DIMENSIONS)
"""What :func:`kb_usage` may be grouped by."""


def kb_usage(
    uses: Iterable[ArticleUse],
    *,
    start: date | datetime,
    end: date | datetime,
    tz: str | tzinfo,
    group_by: Sequence[str] | str = ("article",),
) -> Report:
    """Knowledge-base usage from the article uses (``uow.article_uses()``: views and links
    from tickets) recorded in the period ``[start, end)``, by ``article`` and/or the local
    ``hour``/``day``/``week``/``month`` of the use. ``views`` counts every view; ``linked``
    the distinct tickets linked to the article; ``solved`` those of them whose link said "this
    solved it" (a ticket linked twice counts once, solved if any of its links says so, as
    :func:`helpdesk_core.model.knowledge.usage_of` counts); ``solve_rate`` = solved / linked."""
    zone = _zone(tz)
    lo, hi = period_bounds(start, end, zone)
    dims = (group_by,) if isinstance(group_by, str) else tuple(group_by)
    for dim in dims:
        if dim not in KB_DIMENSIONS:
            raise ValidationError("group_by", f"unknown dimension {dim!r}; known: {KB_DIMENSIONS}")
    if len(set(dims)) != len(dims):
        raise ValidationError("group_by", f"names a dimension twice: {list(dims)}")
    groups: dict[tuple[str | None, ...], list[Any]] = {}
    for use in uses:
        if not lo <= use.at < hi:
            continue
        key: tuple[str | None, ...] = tuple(
            use.article_id if dim == "article" else period_key(use.at, dim, zone) for dim in dims
        )
        acc = groups.setdefault(key, [0, {}])
        if use.kind == "view":
            acc[0] += 1
        elif use.ticket_id is not None:
            acc[1][use.ticket_id] = acc[1].get(use.ticket_id, False) or use.solved
    if not groups and not dims:
        groups[()] = [0, {}]
    rows: list[Mapping[str, Any]] = []
    for group in sorted(groups, key=_sort_key):
        views, linked = groups[group]
        solved = sum(linked.values())
        row: dict[str, Any] = dict(zip(dims, group, strict=True))
        row.update(
            views=views, linked=len(linked), solved=solved, solve_rate=_rate(solved, len(linked))
        )
        rows.append(row)
    return Report(KB_USAGE, (*dims, "views", "linked", "solved", "solve_rate"), rows, lo, hi)
