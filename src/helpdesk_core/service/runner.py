"""THE command path: every command and query of the desk runs through :meth:`Runner.run`.

One call, in order (DESIGN "data flow of one command"):

1. the door: the actor must be an :class:`Actor` and ``now`` an aware instant (or the desk's
   clock is read);
2. a storage transaction opens and the actor's view is built once: their active grants, the
   policy's field rules (which fields they may not read in clear);
3. the service's body authorises (:meth:`Call.authorise`) and loads only what is visible
   (:meth:`Call.load_visible`: a ticket the actor may not view is ``NotFound``, exactly as a
   missing one), lets the domain decide, and records the changed tickets (:meth:`Call.track`);
4. the desk's reactions run over the decided events (a resolution owes a survey), then the
   runner saves state, events, outbox rows and the next escalation check in the same
   transaction and commits; a lost optimistic race is retried from step 2;
5. after the commit, observers hear of every event (``helpdesk_event_committed``).

Inside a host application's transaction (the unit's :meth:`~helpdesk_core.ports.UnitOfWork.
host_transaction`, e.g. ``helpdesk_plugins.storage_sql.joined``) step 4 neither commits nor
retries (a lost race raises :class:`ConcurrencyConflict`) and step 5 waits for the host's commit.

A refusal unwinds the transaction, is written to the audit log in a transaction of its own, and
reaches the caller as :class:`PermissionDenied` (or :class:`NotFound` for a hidden object).
Nothing else in the library asks the access policy anything: services go through the
:class:`Call` they are given.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, TypeVar, overload
from zoneinfo import ZoneInfo

import attrs

from helpdesk_core.access import AccessPolicy, Decision
from helpdesk_core.clock import Clock
from helpdesk_core.conditions import Condition
from helpdesk_core.config import HelpdeskConfig
from helpdesk_core.duplicates import FeatureMemo
from helpdesk_core.errors import (
    ConcurrencyConflict,
    HelpdeskError,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from helpdesk_core.model.customers import customer_subject
from helpdesk_core.model.events import Event, event_to_dict, to_utc
from helpdesk_core.model.grants import Grant
from helpdesk_core.model.people import Actor
from helpdesk_core.model.records import AuditRecord, OutboxMessage
from helpdesk_core.model.tickets import Ticket
from helpdesk_core.ports import HostTransaction, Storage, UnitOfWork
from helpdesk_core.search.articles import ArticleSearchCache

log = logging.getLogger("helpdesk")

T = TypeVar("T")

MAX_RETRIES: Final = 3
"""How often a command that lost an optimistic race is re-run before the conflict is raised."""

Schedule = Callable[[UnitOfWork, Ticket, datetime, Sequence[Event]], None]
"""Keeps a changed ticket's next escalation check current, in the command's transaction."""

KeepFacts = Callable[[UnitOfWork, Ticket, Sequence[Event]], None]
"""Keeps a changed ticket's report facts in step, in the command's transaction (issue 24)."""

Observe = Callable[[Event, Ticket], None]
"""Told of every committed event (the ``helpdesk_event_committed`` hook)."""

React = Callable[["Call"], None]
"""Runs after a command's body, in its transaction, over the events it decided: records that
follow from events whatever command made them (a resolution owes a survey). A reaction writes
records and outbox rows, never ticket events (the body already returned the ticket)."""


@attrs.define
class Change:
    """The events one command decided for one ticket, folded into it as they are added."""

    ticket: Ticket
    events: list[Event] = attrs.field(factory=list)

    def add(self, make: Callable[[int], Event]) -> Event:
        """Add the event ``make(seq)`` builds for the next sequence number."""
        event = make(self.ticket.version + 1)
        self.ticket = self.ticket.apply(event)
        self.events.append(event)
        return event


class Refused(HelpdeskError):
    """Internal: a policy refusal unwinding the transaction. The runner audits it and raises
    :class:`PermissionDenied`, or :class:`NotFound` (``hidden = (kind, name)``) when the actor
    may not even know the object exists."""

    def __init__(
        self,
        action: str,
        target: str | None,
        decision: Decision,
        hidden: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(decision.reason)
        self.action = action
        self.target = target
        self.decision = decision
        self.hidden = hidden


class LazyGrants(Sequence[Grant]):
    """The approved grants that apply to an actor at an instant, read from the store the first
    time a decision needs them: most decisions are made by the rules alone (the system actor's,
    an administrator's, an agent's on its team's tickets), and then no grant is read at all.
    Valid while the unit of work that reads them is open (one call)."""

    def __init__(self, uow: UnitOfWork, actor: Actor, at: datetime) -> None:
        self._uow, self._actor, self._at = uow, actor, at
        self._grants: tuple[Grant, ...] | None = None

    def _loaded(self) -> tuple[Grant, ...]:
        if self._grants is None:
            self._grants = tuple(
                g
                for g in self._uow.grants("approved")
                if g.applies_to(self._actor) and g.active(self._at)
            )
        return self._grants

    @overload
    def __getitem__(self, index: int) -> Grant: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Grant]: ...
    def __getitem__(self, index: int | slice) -> Grant | Sequence[Grant]:
        return self._loaded()[index]

    def __len__(self) -> int:
        return len(self._loaded())

    def __iter__(self) -> Iterator[Grant]:
        return iter(self._loaded())


@attrs.define
class ActorView:
    """What one actor may do and see, built once per call: the policy's rules for their roles,
    their active grants and the fields they may not read in clear."""

    actor: Actor
    policy: AccessPolicy
    grants: Sequence[Grant]
    """The actor's active grants (the runner's are :class:`LazyGrants`: read when needed)."""
    profile: Callable[[str], Mapping[str, Any]] | None = None
    """The ``customer.*`` fields of a requester, when the policy's rules read them."""
    _unreadable: frozenset[str] | None = None

    @property
    def unreadable(self) -> frozenset[str]:
        """Fields (``assignee``, ``custom.phone``...) the actor sees hidden or masked: they may
        not filter, sort, count or write on them either (that would reveal the value). Asked of
        the policy once per call, and only by the calls that filter or write."""
        if self._unreadable is None:
            self._unreadable = self.policy.unreadable(self.actor, self.grants)
        return self._unreadable

    def check(self, action: str, ticket: Ticket | None = None) -> Decision:
        customer = None
        if self.profile is not None and ticket is not None and ticket.requester is not None:
            customer = self.profile(ticket.requester)
        return self.policy.check(self.actor, action, ticket, self.grants, customer=customer)

    def may(self, action: str, ticket: Ticket | None = None) -> bool:
        return self.check(action, ticket).allowed

    def scope(self, action: str) -> Condition:
        return self.policy.scope(self.actor, action, self.grants)

    def present(self, ticket: Ticket) -> Ticket:
        return self.policy.present(self.actor, ticket, self.grants)

    def present_history(self, ticket: Ticket, events: Sequence[Event]) -> list[Event]:
        return self.policy.present_history(self.actor, ticket, events, self.grants)

    def unreadable_on(self, ticket: Ticket) -> frozenset[str]:
        """The fields the actor sees hidden or masked on this very ticket."""
        return self.policy.unreadable(self.actor, self.grants, ticket)

    def explain(
        self, action: str, ticket: Ticket | None, hidden: Collection[str] = ()
    ) -> list[str]:
        return self.policy.explain(self.actor, action, ticket, self.grants, hidden=hidden)


@attrs.define
class Call:
    """One run of a command body: its transaction, the actor's view, the instant, and the
    tickets it changed."""

    runner: Runner
    uow: UnitOfWork
    view: ActorView
    at: datetime
    changes: list[Change] = attrs.field(factory=list)

    @property
    def actor(self) -> Actor:
        return self.view.actor

    def authorise(
        self, action: str, ticket: Ticket | None = None, *, target: str | None = None
    ) -> Decision:
        """The allowing decision, or a refusal (audited, then PermissionDenied)."""
        decision = self.view.check(action, ticket)
        if not decision.allowed:
            raise Refused(action, ticket.id if ticket is not None else target, decision)
        return decision

    def refuse_hidden(self, kind: str, name: str, action: str, decision: Decision) -> None:
        """Refuse as if the ``kind`` object ``name`` did not exist (audited as ``action``)."""
        raise Refused(action, name, decision, hidden=(kind, name))

    def load_visible(self, ticket_id: str, action: str, *, named: str | None = None) -> Ticket:
        """The ticket if the actor may view it and take ``action`` on it. A ticket they may not
        view is NotFound naming ``named`` (default: the id), exactly like a missing one."""
        name = ticket_id if named is None else named
        ticket = self.uow.get_ticket(ticket_id)
        if ticket is None:
            raise NotFound("ticket", name)
        view = self.view.check("ticket.view", ticket)
        if not view.allowed:
            self.refuse_hidden("ticket", name, "ticket.view", view)
        if action != "ticket.view":
            self.authorise(action, ticket)
        return ticket

    def track(self, ticket: Ticket, events: Sequence[Event] = ()) -> Change:
        """Record that this command changes ``ticket`` (events added to the change are saved)."""
        change = Change(ticket, list(events))
        self.changes.append(change)
        return change

    def new_id(self) -> str:
        return self.runner.new_id()

    def new_token(self) -> str:
        """A secret for a customer to hold (a survey token): from the desk's token factory."""
        return self.runner.new_token()

    def audit(self, action: str, target: str | None, decision: Decision, detail: str) -> None:
        """Record an allowed operation that is not a ticket event (grant decisions...)."""
        record = self.runner.audit_record(self.actor, action, target, decision, self.at)
        self.uow.add_audit(attrs.evolve(record, detail=detail))


class Runner:
    """The one command path of one desk (see the module docstring)."""

    def __init__(
        self,
        *,
        storage: Storage,
        policy: AccessPolicy,
        config: HelpdeskConfig,
        clock: Clock,
        new_id: Callable[[], str],
        schedule: Schedule,
        observe: Observe,
        new_token: Callable[[], str] | None = None,
        react: React | None = None,
        keep_facts: KeepFacts | None = None,
    ) -> None:
        self.storage = storage
        self.policy = policy
        self.config = config
        self.clock = clock
        self.new_id = new_id
        self.schedule = schedule
        self.observe = observe
        self.new_token: Callable[[], str] = new_token or new_id
        self.react = react
        self.keep_facts = keep_facts
        self.tz = ZoneInfo(config.desk.timezone)
        self.text_features = FeatureMemo()
        """Duplicate detection's features of the texts seen last (R-TKT-5; issue 23)."""
        self.kb_search = ArticleSearchCache()
        """The knowledge base's search index, kept between ``search_kb`` calls (issue 21)."""

    # -- the door ---------------------------------------------------------------------------
    def now(self, now: datetime | None) -> datetime:
        """``now`` (an aware instant) as UTC, or the desk clock's instant."""
        if now is None:
            return to_utc(self.clock.now())
        if not isinstance(now, datetime):
            raise ValidationError("now", f"must be an aware datetime, got {type(now).__name__}")
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValidationError("now", f"naive datetime {now.isoformat()}: give a time zone")
        return to_utc(now)

    @staticmethod
    def check_actor(actor: object, name: str = "actor") -> Actor:
        if not isinstance(actor, Actor):
            raise ValidationError(name, f"must be an Actor, got {type(actor).__name__}")
        return actor

    # -- the path ---------------------------------------------------------------------------
    def view(self, uow: UnitOfWork, actor: Actor, at: datetime) -> ActorView:
        """The actor's view as of ``at``; grants are read on every call that needs them (a
        decision the rules do not make alone), so an approval or a revocation applies to the
        very next one."""
        grants = LazyGrants(uow, actor, at)
        profile = None
        if self.policy.reads_customer():  # rules on customer.tier...: checks read the profile
            seen: dict[str, Mapping[str, Any]] = {}

            def profile(requester: str) -> Mapping[str, Any]:
                # one read per requester and call: a command checks the same ticket often
                if requester not in seen:
                    seen[requester] = customer_subject(uow.get_customer(requester))
                return seen[requester]

        return ActorView(actor, self.policy, grants, profile)

    def run(
        self,
        actor: Actor,
        action: str,
        target: str | None,
        now: datetime | None,
        body: Callable[[Call], T],
    ) -> T:
        """Run ``body`` as ``actor`` in one transaction (retrying lost optimistic races), save
        what it changed, commit, then tell observers. ``action`` and ``target`` name the
        operation in the audit record of a refusal the body does not name itself."""
        self.check_actor(actor)
        at = self.now(now)
        for attempt in range(MAX_RETRIES + 1):
            host: HostTransaction | None = None
            try:
                with self.storage.transaction() as uow:
                    host = uow.host_transaction()
                    call = Call(self, uow, self.view(uow, actor, at), at)
                    value = body(call)
                    if self.react is not None:
                        self.react(call)
                    self.save(uow, call.changes, at)
                break
            except Refused as refused:
                self.deny(actor, refused.action, refused.target, refused.decision, at)
                if refused.hidden is not None:
                    raise NotFound(*refused.hidden) from None
                raise PermissionDenied(
                    actor.id, refused.action, refused.decision.rule, refused.decision.reason
                ) from None
            except ConcurrencyConflict:
                # inside a host's transaction a re-run could not see past the host's own reads
                if host is not None or attempt == MAX_RETRIES:
                    raise
        if host is None:
            self.committed(call.changes)
        else:
            changes = call.changes
            host.after_commit(lambda: self.committed(changes))
        return value

    def save(self, uow: UnitOfWork, changes: Sequence[Change], at: datetime) -> None:
        """State, events, outbox rows and the next escalation check of every changed ticket."""
        for change in changes:
            if change.events:
                self.record(uow, change, at)
                self.schedule(uow, change.ticket, at, change.events)

    def record(self, uow: UnitOfWork, change: Change, at: datetime) -> None:
        """The ticket's new state and events, and an outbox row per event."""
        uow.save_ticket(change.ticket, change.events)
        if self.keep_facts is not None:
            self.keep_facts(uow, change.ticket, change.events)
        for event in change.events:
            uow.add_outbox(
                OutboxMessage(
                    id=self.new_id(),
                    topic="event",
                    key=f"event:{event.ticket_id}:{event.seq}",
                    payload=event_to_dict(event),
                    created_at=at,
                    available_at=at,
                )
            )

    def committed(self, changes: Sequence[Change]) -> None:
        """After the commit: observers hear of every event; one that fails is logged and never
        undoes or fails the committed command."""
        for change in changes:
            for event in change.events:
                try:
                    self.observe(event, change.ticket)
                except Exception:
                    log.exception("helpdesk_event_committed observer failed for %s", event.kind)

    # -- the audit log ----------------------------------------------------------------------
    def audit_record(
        self, actor: Actor, action: str, target: str | None, decision: Decision, at: datetime
    ) -> AuditRecord:
        return AuditRecord(
            id=self.new_id(),
            at=at,
            actor=actor.id,
            action=action,
            target=target,
            allowed=decision.allowed,
            rule=decision.rule,
            detail=decision.reason,
        )

    def deny(
        self, actor: Actor, action: str, target: str | None, decision: Decision, at: datetime
    ) -> None:
        """Record a refused attempt in its own transaction (the command itself wrote nothing)."""
        with self.storage.transaction() as uow:
            uow.add_audit(self.audit_record(actor, action, target, decision, at))

    # -- numbering --------------------------------------------------------------------------
    def ticket_number(self, uow: UnitOfWork, at: datetime) -> str:
        """Prefix + local date + a 6-digit daily serial the store allocates."""
        day = at.astimezone(self.tz).strftime("%Y%m%d")
        serial = uow.next_number(f"ticket:{day}")
        return f"{self.config.desk.ticket_prefix}{day}{serial:06d}"
