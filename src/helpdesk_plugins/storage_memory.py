"""The in-memory Storage: the reference implementation of the storage port (``memory://``).

Thread-safe. A unit of work stages its writes and applies them at commit under one lock after
re-checking every ticket's version, so a transaction is all-or-nothing and a lost race raises
:class:`~helpdesk_core.errors.ConcurrencyConflict`. Like database sequences, ``next_number`` is not
rolled back (gaps are possible, duplicates never). Outbox claims take effect at once, as a
``SELECT ... FOR UPDATE SKIP LOCKED`` with a lease would; their lease makes them safe to lose.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Final

import attrs

from helpdesk_core.conditions import Condition
from helpdesk_core.config import HelpdeskConfig
from helpdesk_core.errors import ConcurrencyConflict, StorageError, ValidationError
from helpdesk_core.hookspecs import hookimpl
from helpdesk_core.model.customers import (
    Customer,
    CustomerEvent,
    contact_keys,
    customer_base_version,
    customer_subject,
)
from helpdesk_core.model.events import Event
from helpdesk_core.model.grants import Grant
from helpdesk_core.model.intake import Attachment, IntakeRecord
from helpdesk_core.model.knowledge import Article, ArticleUse, KbGap
from helpdesk_core.model.people import Agent
from helpdesk_core.model.records import AuditRecord, Firing, OutboxMessage, delivery_state
from helpdesk_core.model.reviews import Review
from helpdesk_core.model.surveys import Survey
from helpdesk_core.model.tickets import Ticket, base_version, ticket_subject
from helpdesk_core.ports import CustomerQuery, StoredFacts, TextQuery, TicketQuery, facts_text
from helpdesk_core.search.index import Match, SearchIndex
from helpdesk_core.search.tickets import ticket_fields, ticket_index

UNSOLVED: Final = frozenset({"new", "open", "pending"})


def sort_value(ticket: Ticket, key: str) -> Any:
    return getattr(ticket, key)


def subject_with_customer(ticket: Ticket, customers: Mapping[str, Customer]) -> dict[str, Any]:
    """The ticket's condition subject with its requester's ``customer.*`` fields (none when the
    requester has no record)."""
    customer = customers.get(ticket.requester) if ticket.requester is not None else None
    return ticket_subject(ticket, customer_subject(customer))


def matching_page(
    tickets: Sequence[Ticket], query: TicketQuery, customers: Mapping[str, Customer] | None = None
) -> list[Ticket]:
    """Filter, order and page tickets in memory exactly as the port specifies."""
    key = query.order_by
    known = customers or {}
    rows = [t for t in tickets if query.where.matches(subject_with_customer(t, known))]
    rows.sort(key=lambda t: (sort_value(t, key), t.id), reverse=query.descending)
    if query.after is not None:
        cursor = (query.after[0], query.after[1])
        if query.descending:
            rows = [t for t in rows if (sort_value(t, key), t.id) < cursor]
        else:
            rows = [t for t in rows if (sort_value(t, key), t.id) > cursor]
    return rows if query.limit is None else rows[: query.limit]


class MemoryStorage:
    """All data in process memory; lost when the process ends."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.RLock()
        self._closed = False
        self.tickets: dict[str, Ticket] = {}
        self.numbers: dict[str, str] = {}
        self.events: dict[str, list[Event]] = {}
        self.sequences: dict[str, int] = {}
        self.outbox_rows: dict[str, OutboxMessage] = {}
        self.outbox_keys: set[str] = set()
        self.audit_rows: list[AuditRecord] = []
        self.grant_rows: dict[str, Grant] = {}
        self.agent_rows: dict[str, Agent] = {}
        self.state_rows: dict[str, dict[str, Any]] = {}
        self.schedule_rows: dict[str, list[Any]] = {}
        """ticket id -> [next_check_at, lease_owner, lease_until]"""
        self.firing_rows: dict[str, Firing] = {}
        self.fact_rows: dict[str, tuple[int, str]] = {}
        """ticket id -> (version, report facts document as JSON text)"""
        self.tickets_loaded = 0
        """Tickets handed out by ``get_ticket`` and ``query_tickets`` (the storage port's
        counter for tests; this store keeps objects, so nothing else is ever loaded)."""
        self.customers: dict[str, Customer] = {}
        self.customer_event_rows: dict[str, list[CustomerEvent]] = {}
        self.article_rows: dict[str, list[Article]] = {}
        self.gap_rows: dict[str, KbGap] = {}
        self.use_rows: list[ArticleUse] = []
        self.survey_rows: dict[str, Survey] = {}
        self.review_rows: dict[str, Review] = {}
        self.ticket_search: SearchIndex = ticket_index()
        self.intake_rows: dict[str, IntakeRecord] = {}
        """Intake records by id, in the order they were recorded."""
        self.intake_keys: dict[str, str] = {}
        """dedupe key -> record id"""
        self.message_index: dict[str, str] = {}
        """received Message-ID -> ticket id"""
        self.attachment_rows: dict[str, Attachment] = {}
        self.ack_rows: list[tuple[str, datetime]] = []
        """The pure-Python full-text index of committed tickets, updated at commit."""

    @contextmanager
    def transaction(self) -> Iterator[MemoryUnitOfWork]:
        if self._closed:
            raise StorageError(f"storage {self.url} is closed")
        uow = MemoryUnitOfWork(self)
        yield uow
        uow.commit()

    def close(self) -> None:
        self._closed = True

    def _next(self, sequence: str) -> int:
        with self._lock:
            value = self.sequences.get(sequence, 0) + 1
            self.sequences[sequence] = value
            return value


class MemoryUnitOfWork:
    def __init__(self, store: MemoryStorage) -> None:
        self._store = store
        self._tickets: dict[str, Ticket] = {}
        self._base_versions: dict[str, int] = {}
        self._events: dict[str, list[Event]] = {}
        self._outbox: dict[str, OutboxMessage] = {}
        self._outbox_done: dict[str, OutboxMessage] = {}
        self._audit: list[AuditRecord] = []
        self._grants: dict[str, Grant] = {}
        self._agents: dict[str, Agent] = {}
        self._state: dict[str, dict[str, Any]] = {}
        self._schedule: dict[str, datetime | None] = {}
        self._releases: dict[str, tuple[str, datetime | None]] = {}
        self._firings: dict[str, Firing] = {}
        self._facts: dict[str, tuple[int, str]] = {}
        self._customers: dict[str, Customer] = {}
        self._customer_bases: dict[str, int] = {}
        self._customer_events: dict[str, list[CustomerEvent]] = {}
        self._articles: dict[str, list[Article]] = {}
        self._gaps: dict[str, KbGap] = {}
        self._uses: list[ArticleUse] = []
        self._surveys: dict[str, Survey] = {}
        self._answered: set[str] = set()
        """Surveys this unit answered: still unanswered in the store at commit, or conflict."""
        self._intake: dict[str, IntakeRecord] = {}
        self._promotions: dict[str, str] = {}
        self._message_index: dict[str, str] = {}
        self._attachments: dict[str, Attachment] = {}
        self._acks: list[tuple[str, datetime]] = []
        self._reviews: dict[str, Review] = {}
        self._review_bases: dict[str, int] = {}
        self._done = False

    # -- tickets --------------------------------------------------------------------------
    def get_ticket(self, ticket_id: str) -> Ticket | None:
        if ticket_id in self._tickets:
            return self._tickets[ticket_id]
        with self._store._lock:
            ticket = self._store.tickets.get(ticket_id)
            self._store.tickets_loaded += ticket is not None
            return ticket

    def get_ticket_by_number(self, number: str) -> Ticket | None:
        for ticket in self._tickets.values():
            if ticket.number == number:
                return ticket
        with self._store._lock:
            ticket_id = self._store.numbers.get(number)
            return None if ticket_id is None else self._store.tickets.get(ticket_id)

    def ticket_events(self, ticket_id: str, after_seq: int = 0) -> list[Event]:
        with self._store._lock:
            committed = list(self._store.events.get(ticket_id, ()))
        events = committed + self._events.get(ticket_id, [])
        return [e for e in events if e.seq > after_seq]

    def save_ticket(self, ticket: Ticket, new_events: Sequence[Event]) -> None:
        expected = base_version(ticket, new_events)
        current = self._current_version(ticket.id)
        if current != expected:
            raise ConcurrencyConflict(ticket.id, expected, current)
        if expected == 0:
            other = self.get_ticket_by_number(ticket.number)
            if other is not None and other.id != ticket.id:
                raise ValidationError("number", f"ticket number {ticket.number} is taken")
        self._base_versions.setdefault(ticket.id, expected)
        self._tickets[ticket.id] = ticket
        self._events.setdefault(ticket.id, []).extend(new_events)

    def _current_version(self, ticket_id: str) -> int:
        ticket = self.get_ticket(ticket_id)
        return 0 if ticket is None else ticket.version

    def _all_tickets(self) -> list[Ticket]:
        with self._store._lock:
            merged = dict(self._store.tickets)
        merged.update(self._tickets)
        return list(merged.values())

    def query_tickets(self, query: TicketQuery) -> list[Ticket]:
        found = matching_page(self._all_tickets(), query, self._all_customers())
        with self._store._lock:
            self._store.tickets_loaded += len(found)
        return found

    def requester_tickets(self, requester: str, since: datetime, limit: int) -> list[Ticket]:
        found = sorted(
            (
                t
                for t in self._all_tickets()
                if t.requester == requester
                and t.status_category in UNSOLVED
                and t.created_at >= since
            ),
            key=lambda t: (t.created_at, t.id),
            reverse=True,
        )[:limit]
        with self._store._lock:
            self._store.tickets_loaded += len(found)
        return found

    def count_tickets(self, where: Condition) -> int:
        customers = self._all_customers()
        return sum(
            1 for t in self._all_tickets() if where.matches(subject_with_customer(t, customers))
        )

    def _by_creation(
        self, where: Condition, created_before: datetime, created_from: datetime | None
    ) -> list[Ticket]:
        """The tickets matching ``where`` created in ``[created_from, created_before)``, in
        creation order (the order of the event and report-facts streams)."""
        customers = self._all_customers()
        return sorted(
            (
                t
                for t in self._all_tickets()
                if t.created_at < created_before
                and (created_from is None or t.created_at >= created_from)
                and where.matches(subject_with_customer(t, customers))
            ),
            key=lambda t: (t.created_at, t.id),
        )

    def events_by_creation(
        self,
        where: Condition,
        *,
        created_before: datetime,
        created_from: datetime | None = None,
    ) -> Iterator[Event]:
        chosen = self._by_creation(where, created_before, created_from)
        for ticket in chosen:
            yield from self.ticket_events(ticket.id)

    def save_report_facts(self, ticket_id: str, version: int, doc: Sequence[Any]) -> None:
        # kept as JSON text, as the SQL store keeps it: what comes back is a fresh copy
        self._facts[ticket_id] = (version, facts_text(doc))

    def report_facts(
        self,
        where: Condition,
        *,
        created_before: datetime,
        created_from: datetime | None = None,
    ) -> Iterator[StoredFacts]:
        chosen = self._by_creation(where, created_before, created_from)
        for ticket in chosen:
            kept = self._facts.get(ticket.id)
            if kept is None:
                with self._store._lock:
                    kept = self._store.fact_rows.get(ticket.id)
            current = kept is not None and kept[0] == ticket.version
            yield StoredFacts(ticket.id, json.loads(kept[1]) if current and kept else None)

    # -- customers ------------------------------------------------------------------------
    def _all_customers(self) -> dict[str, Customer]:
        with self._store._lock:
            merged = dict(self._store.customers)
        merged.update(self._customers)
        return merged

    def get_customer(self, customer_id: str) -> Customer | None:
        if customer_id in self._customers:
            return self._customers[customer_id]
        with self._store._lock:
            return self._store.customers.get(customer_id)

    def customer_events(self, customer_id: str, after_seq: int = 0) -> list[CustomerEvent]:
        with self._store._lock:
            committed = list(self._store.customer_event_rows.get(customer_id, ()))
        events = committed + self._customer_events.get(customer_id, [])
        return [e for e in events if e.seq > after_seq]

    def save_customer(self, customer: Customer, new_events: Sequence[CustomerEvent]) -> None:
        expected = customer_base_version(customer, new_events)
        stored = self.get_customer(customer.id)
        current = 0 if stored is None else stored.version
        if current != expected:
            raise ConcurrencyConflict(customer.id, expected, current)
        self._customer_bases.setdefault(customer.id, expected)
        self._customers[customer.id] = customer
        self._customer_events.setdefault(customer.id, []).extend(new_events)

    def find_customers(self, contact_key: str) -> list[Customer]:
        found = [c for c in self._all_customers().values() if contact_key in contact_keys(c)]
        return sorted(found, key=lambda c: c.id)

    def query_customers(self, query: CustomerQuery) -> list[Customer]:
        customers = self._all_customers()
        rows = [c for c in customers.values() if query.matches(c)]
        if query.requester_of is not None:
            where = query.requester_of
            requesters = {
                t.requester
                for t in self._all_tickets()
                if t.requester is not None and where.matches(subject_with_customer(t, customers))
            }
            rows = [c for c in rows if c.id in requesters]
        if query.after is not None:
            rows = [c for c in rows if c.id > query.after]
        rows.sort(key=lambda c: c.id)
        return rows if query.limit is None else rows[: query.limit]

    def next_number(self, sequence: str) -> int:
        return self._store._next(sequence)

    # -- outbox ---------------------------------------------------------------------------
    def add_outbox(self, message: OutboxMessage) -> None:
        with self._store._lock:
            if message.key in self._store.outbox_keys:
                return
        if any(m.key == message.key for m in self._outbox.values()):
            return
        self._outbox[message.id] = message

    def claim_outbox(
        self, now: datetime, limit: int, worker: str, lease: timedelta
    ) -> list[OutboxMessage]:
        claimed: list[OutboxMessage] = []
        with self._store._lock:
            for message in self._store.outbox_rows.values():
                if len(claimed) >= limit:
                    break
                if message.state != "pending" or message.available_at > now:
                    continue
                if message.lease_until is not None and message.lease_until > now:
                    continue
                taken = attrs.evolve(message, claimed_by=worker, lease_until=now + lease)
                self._store.outbox_rows[message.id] = taken
                claimed.append(taken)
        return claimed

    def finish_outbox(
        self,
        message_id: str,
        *,
        delivered: bool,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        current = self._outbox_done.get(message_id) or self._outbox.get(message_id)
        if current is None:
            with self._store._lock:
                current = self._store.outbox_rows.get(message_id)
        if current is None:
            raise ValidationError("message_id", f"no outbox message {message_id!r}")
        available = retry_at if not delivered and retry_at is not None else current.available_at
        self._outbox_done[message_id] = attrs.evolve(
            current,
            state=delivery_state(delivered, retry_at),
            attempts=current.attempts + 1,
            last_error=error,
            available_at=available,
            claimed_by=None,
            lease_until=None,
        )

    def outbox(self, state: str | None = None) -> list[OutboxMessage]:
        with self._store._lock:
            rows = dict(self._store.outbox_rows)
        rows.update(self._outbox)
        rows.update(self._outbox_done)
        return [m for m in rows.values() if state is None or m.state == state]

    def revive_outbox(self, message_id: str, *, available_at: datetime) -> OutboxMessage | None:
        current = self._outbox_done.get(message_id) or self._outbox.get(message_id)
        if current is None:
            with self._store._lock:
                current = self._store.outbox_rows.get(message_id)
        if current is None or current.state != "dead":
            return None
        revived = attrs.evolve(
            current,
            state="pending",
            attempts=0,
            available_at=available_at,
            claimed_by=None,
            lease_until=None,
        )
        self._outbox_done[message_id] = revived
        return revived

    # -- grants ---------------------------------------------------------------------------
    def save_grant(self, grant: Grant) -> None:
        self._grants[grant.id] = grant

    def get_grant(self, grant_id: str) -> Grant | None:
        if grant_id in self._grants:
            return self._grants[grant_id]
        with self._store._lock:
            return self._store.grant_rows.get(grant_id)

    def grants(self, state: str | None = None) -> list[Grant]:
        with self._store._lock:
            rows = dict(self._store.grant_rows)
        rows.update(self._grants)
        return [g for g in rows.values() if state is None or g.state == state]

    # -- agents and state -------------------------------------------------------------------
    def save_agent(self, agent: Agent) -> None:
        self._agents[agent.id] = agent

    def agents(self) -> list[Agent]:
        with self._store._lock:
            rows = dict(self._store.agent_rows)
        rows.update(self._agents)
        return [rows[k] for k in sorted(rows)]

    def load_state(self, key: str) -> dict[str, Any] | None:
        if key in self._state:
            return copy.deepcopy(self._state[key])
        with self._store._lock:
            value = self._store.state_rows.get(key)
        return None if value is None else copy.deepcopy(value)

    def save_state(self, key: str, value: dict[str, Any]) -> None:
        self._state[key] = copy.deepcopy(value)

    # -- escalation schedule and firings ---------------------------------------------------
    def schedule_check(self, ticket_id: str, at: datetime | None) -> None:
        self._schedule[ticket_id] = at

    def claim_due(
        self, now: datetime, limit: int, worker: str, lease: timedelta
    ) -> list[tuple[str, datetime]]:
        with self._store._lock:
            due = sorted(
                (row[0], ticket_id)
                for ticket_id, row in self._store.schedule_rows.items()
                if row[0] is not None and row[0] <= now and (row[2] is None or row[2] <= now)
            )[:limit]
            for _, ticket_id in due:
                row = self._store.schedule_rows[ticket_id]
                row[1], row[2] = worker, now + lease
        return [(ticket_id, at) for at, ticket_id in due]

    def release_check(self, ticket_id: str, worker: str, next_check_at: datetime | None) -> bool:
        with self._store._lock:
            row = self._store.schedule_rows.get(ticket_id)
            if row is None or row[1] != worker:
                return False
        self._releases[ticket_id] = (worker, next_check_at)
        return True

    def add_firing(self, firing: Firing) -> bool:
        if firing.key in self._firings:
            return False
        with self._store._lock:
            if firing.key in self._store.firing_rows:
                return False
        self._firings[firing.key] = firing
        return True

    def firings(self, ticket_id: str | None = None) -> list[Firing]:
        with self._store._lock:
            rows = [*self._store.firing_rows.values(), *self._firings.values()]
        return [f for f in rows if ticket_id is None or f.ticket_id == ticket_id]

    # -- audit ----------------------------------------------------------------------------
    def add_audit(self, record: AuditRecord) -> None:
        self._audit.append(record)

    def audit_log(
        self, *, actor: str | None = None, target: str | None = None, limit: int = 1000
    ) -> list[AuditRecord]:
        with self._store._lock:
            rows = [*self._store.audit_rows, *self._audit]
        rows = [
            r
            for r in rows
            if (actor is None or r.actor == actor) and (target is None or r.target == target)
        ]
        return rows[:limit]

    # -- full-text search -----------------------------------------------------------------
    def search_tickets(self, query: TextQuery) -> list[tuple[Ticket, Match]]:
        with self._store._lock:
            tickets = self._store.tickets

            def keep(ticket_id: str) -> bool:
                return query.where.matches(ticket_subject(tickets[ticket_id]))

            matches = self._store.ticket_search.rank(
                query.terms, query.fields, query.limit, keep=keep
            )
            return [(tickets[m.doc_id], m) for m in matches]

    # -- knowledge base ---------------------------------------------------------------------
    def article_versions(self, article_id: str) -> list[Article]:
        with self._store._lock:
            committed = list(self._store.article_rows.get(article_id, ()))
        return committed + self._articles.get(article_id, [])

    def save_article(self, article: Article) -> None:
        versions = self.article_versions(article.id)
        current = versions[-1].version if versions else 0
        if article.version != current + 1:
            raise ConcurrencyConflict(f"article {article.id}", article.version - 1, current)
        self._articles.setdefault(article.id, []).append(article)

    def get_article(self, article_id: str, version: int | None = None) -> Article | None:
        versions = self.article_versions(article_id)
        if version is None:
            return versions[-1] if versions else None
        return next((a for a in versions if a.version == version), None)

    def articles(self, state: str | None = None) -> list[Article]:
        with self._store._lock:
            ids = set(self._store.article_rows)
        ids.update(self._articles)
        latest = [self.article_versions(i)[-1] for i in sorted(ids)]
        return [a for a in latest if state is None or a.state == state]

    def save_gap(self, gap: KbGap) -> None:
        self._gaps[gap.id] = gap

    def get_gap(self, gap_id: str) -> KbGap | None:
        if gap_id in self._gaps:
            return self._gaps[gap_id]
        with self._store._lock:
            return self._store.gap_rows.get(gap_id)

    def gaps(self, state: str | None = None) -> list[KbGap]:
        with self._store._lock:
            rows = dict(self._store.gap_rows)
        rows.update(self._gaps)
        return [g for g in rows.values() if state is None or g.state == state]

    def add_article_use(self, use: ArticleUse) -> None:
        self._uses.append(use)

    def article_uses(self, article_id: str | None = None) -> list[ArticleUse]:
        with self._store._lock:
            rows = [*self._store.use_rows, *self._uses]
        return [u for u in rows if article_id is None or u.article_id == article_id]

    # -- satisfaction surveys ---------------------------------------------------------------
    def _all_surveys(self) -> dict[str, Survey]:
        with self._store._lock:
            rows = dict(self._store.survey_rows)
        rows.update(self._surveys)
        return rows

    def save_survey(self, survey: Survey) -> None:
        self._surveys[survey.id] = survey

    def get_survey(self, survey_id: str) -> Survey | None:
        if survey_id in self._surveys:
            return self._surveys[survey_id]
        with self._store._lock:
            return self._store.survey_rows.get(survey_id)

    def get_survey_by_token_hash(self, token_hash: str) -> Survey | None:
        return next((s for s in self._all_surveys().values() if s.token_hash == token_hash), None)

    def answer_survey(
        self, survey_id: str, *, stars: int, comment: str | None, answered_at: datetime
    ) -> Survey | None:
        survey = self.get_survey(survey_id)
        if survey is None or survey.answered_at is not None:
            return None
        answered = attrs.evolve(survey, stars=stars, comment=comment, answered_at=answered_at)
        self._surveys[survey_id] = answered
        self._answered.add(survey_id)
        return answered

    def surveys(self, ticket_id: str | None = None) -> list[Survey]:
        rows = [
            s for s in self._all_surveys().values() if ticket_id is None or s.ticket_id == ticket_id
        ]
        return sorted(rows, key=lambda s: (s.created_at, s.id))

    # -- intake ---------------------------------------------------------------------------
    def add_intake(self, record: IntakeRecord) -> bool:
        if self.intake_by_key(record.dedupe_key) is not None:
            return False
        self._intake[record.id] = record
        return True

    def intake_by_key(self, dedupe_key: str) -> IntakeRecord | None:
        for record in self._intake.values():
            if record.dedupe_key == dedupe_key:
                return record
        with self._store._lock:
            record_id = self._store.intake_keys.get(dedupe_key)
        return None if record_id is None else self.get_intake(record_id)

    def get_intake(self, record_id: str) -> IntakeRecord | None:
        record = self._intake.get(record_id)
        if record is None:
            with self._store._lock:
                record = self._store.intake_rows.get(record_id)
        if record is not None and record_id in self._promotions:
            record = attrs.evolve(record, promoted_to=self._promotions[record_id])
        return record

    def intake_records(
        self, outcomes: Sequence[str] | None = None, limit: int = 100
    ) -> list[IntakeRecord]:
        with self._store._lock:
            ids = list(self._store.intake_rows)
        ids.extend(self._intake)
        found: list[IntakeRecord] = []
        for record_id in reversed(ids):
            record = self.get_intake(record_id)
            if record is not None and (outcomes is None or record.outcome in outcomes):
                found.append(record)
        found.sort(key=lambda r: r.at, reverse=True)  # stable: later recorded first on ties
        return found[:limit]

    def promote_intake(self, record_id: str, ticket_id: str) -> bool:
        record = self.get_intake(record_id)
        if record is None or record.promoted_to is not None:
            return False
        self._promotions[record_id] = ticket_id
        return True

    def index_message_id(self, message_id: str, ticket_id: str) -> None:
        if self.ticket_of_message_id(message_id) is None:
            self._message_index[message_id] = ticket_id

    def ticket_of_message_id(self, message_id: str) -> str | None:
        if message_id in self._message_index:
            return self._message_index[message_id]
        with self._store._lock:
            return self._store.message_index.get(message_id)

    def tickets_of_message_ids(self, message_ids: Sequence[str]) -> dict[str, str]:
        found = {}
        for message_id in message_ids:
            ticket_id = self.ticket_of_message_id(message_id)
            if ticket_id is not None:
                found[message_id] = ticket_id
        return found

    def add_attachment(self, attachment: Attachment) -> None:
        self._attachments[attachment.id] = attachment

    def get_attachment(self, ticket_id: str, attachment_id: str) -> Attachment | None:
        found = self._attachments.get(attachment_id)
        if found is None:
            with self._store._lock:
                found = self._store.attachment_rows.get(attachment_id)
        return found if found is not None and found.ticket_id == ticket_id else None

    def attachments(self, ticket_id: str) -> list[Attachment]:
        with self._store._lock:
            rows = dict(self._store.attachment_rows)
        rows.update(self._attachments)
        return [a for a in rows.values() if a.ticket_id == ticket_id]

    def add_acknowledgement(self, address: str, at: datetime) -> None:
        self._acks.append((address, at))

    def acknowledgements_since(self, address: str, since: datetime) -> int:
        with self._store._lock:
            rows = [*self._store.ack_rows, *self._acks]
        return sum(1 for who, at in rows if who == address and at > since)

    # -- post-incident reviews --------------------------------------------------------------
    def _all_reviews(self) -> dict[str, Review]:
        with self._store._lock:
            rows = dict(self._store.review_rows)
        rows.update(self._reviews)
        return rows

    def save_review(self, review: Review) -> None:
        stored = self.get_review(review.id)
        current = 0 if stored is None else stored.version
        if review.version != current + 1:
            raise ConcurrencyConflict(f"review {review.id}", review.version - 1, current)
        if review.live and _live_clash(self._all_reviews().values(), review):
            raise ConcurrencyConflict(f"live review of {review.ticket_id}", 0, 1)
        self._review_bases.setdefault(review.id, current)
        self._reviews[review.id] = review

    def get_review(self, review_id: str) -> Review | None:
        if review_id in self._reviews:
            return self._reviews[review_id]
        with self._store._lock:
            return self._store.review_rows.get(review_id)

    def reviews(self, *, state: str | None = None, ticket_id: str | None = None) -> list[Review]:
        rows = [
            r
            for r in self._all_reviews().values()
            if (state is None or r.state == state)
            and (ticket_id is None or r.ticket_id == ticket_id)
        ]
        return sorted(rows, key=lambda r: (r.opened_at, r.id))

    # -- commit ---------------------------------------------------------------------------
    def host_transaction(self) -> None:
        """Never: a memory unit always commits itself."""
        return None

    def commit(self) -> None:
        if self._done:
            return
        self._done = True
        store = self._store
        with store._lock:
            for ticket_id, base in self._base_versions.items():
                stored = store.tickets.get(ticket_id)
                current = 0 if stored is None else stored.version
                if current != base:
                    raise ConcurrencyConflict(ticket_id, base, current)
            for customer_id, base in self._customer_bases.items():
                stored_customer = store.customers.get(customer_id)
                current = 0 if stored_customer is None else stored_customer.version
                if current != base:
                    raise ConcurrencyConflict(customer_id, base, current)
            clash = next((k for k in self._firings if k in store.firing_rows), None)
            if clash is not None:
                raise ConcurrencyConflict(clash, 0, 1)
            taken = next(
                (r for r in self._intake.values() if r.dedupe_key in store.intake_keys), None
            )
            if taken is not None:
                raise ConcurrencyConflict(f"intake {taken.dedupe_key}", 0, 1)
            for record_id in self._promotions:
                stored_record = store.intake_rows.get(record_id)
                if stored_record is not None and stored_record.promoted_to is not None:
                    raise ConcurrencyConflict(f"intake {record_id}", 0, 1)
            for article_id, staged in self._articles.items():
                kept = len(store.article_rows.get(article_id, ()))
                if staged[0].version != kept + 1:
                    raise ConcurrencyConflict(f"article {article_id}", staged[0].version - 1, kept)
            for survey_id in self._answered:
                stored_survey = store.survey_rows.get(survey_id)
                if stored_survey is not None and stored_survey.answered_at is not None:
                    raise ConcurrencyConflict(f"survey {survey_id}", 0, 1)
            for review_id, base in self._review_bases.items():
                stored_review = store.review_rows.get(review_id)
                current = 0 if stored_review is None else stored_review.version
                if current != base:
                    raise ConcurrencyConflict(f"review {review_id}", base, current)
                staged_review = self._reviews[review_id]
                if staged_review.live and _live_clash(store.review_rows.values(), staged_review):
                    raise ConcurrencyConflict(f"live review of {staged_review.ticket_id}", 0, 1)
            for ticket_id, (worker, _) in self._releases.items():
                row = store.schedule_rows.get(ticket_id)
                if row is None or row[1] != worker:
                    raise ConcurrencyConflict(f"lease:{ticket_id}", 0, 1)
            store.fact_rows.update(self._facts)
            for ticket_id, ticket in self._tickets.items():
                store.tickets[ticket_id] = ticket
                store.numbers[ticket.number] = ticket_id
                store.events.setdefault(ticket_id, []).extend(self._events[ticket_id])
                store.ticket_search.add(ticket_id, ticket_fields(ticket))
            for customer_id, customer in self._customers.items():
                store.customers[customer_id] = customer
                store.customer_event_rows.setdefault(customer_id, []).extend(
                    self._customer_events[customer_id]
                )
            for article_id, staged in self._articles.items():
                store.article_rows.setdefault(article_id, []).extend(staged)
            store.gap_rows.update(self._gaps)
            store.review_rows.update(self._reviews)
            store.use_rows.extend(self._uses)
            store.survey_rows.update(self._surveys)
            for message in self._outbox.values():
                if message.key not in store.outbox_keys:
                    store.outbox_keys.add(message.key)
                    store.outbox_rows[message.id] = message
            store.outbox_rows.update(self._outbox_done)
            store.audit_rows.extend(self._audit)
            store.grant_rows.update(self._grants)
            store.agent_rows.update(self._agents)
            store.state_rows.update(self._state)
            store.firing_rows.update(self._firings)
            for record in self._intake.values():
                store.intake_rows[record.id] = record
                store.intake_keys[record.dedupe_key] = record.id
            for record_id, ticket_id in self._promotions.items():
                record = store.intake_rows[record_id]
                store.intake_rows[record_id] = attrs.evolve(record, promoted_to=ticket_id)
            for message_id, ticket_id in self._message_index.items():
                store.message_index.setdefault(message_id, ticket_id)
            store.attachment_rows.update(self._attachments)
            store.ack_rows.extend(self._acks)
            for ticket_id, at in self._schedule.items():
                row = store.schedule_rows.setdefault(ticket_id, [None, None, None])
                row[0] = at
            for ticket_id, (_, at) in self._releases.items():
                store.schedule_rows[ticket_id] = [at, None, None]


def _live_clash(reviews: Iterable[Review], review: Review) -> bool:
    """Another live review of the same ticket (a ticket has at most one)."""
    return any(r.live and r.ticket_id == review.ticket_id and r.id != review.id for r in reviews)


@hookimpl(trylast=True)
def helpdesk_storage_open(url: object, config: HelpdeskConfig) -> MemoryStorage | None:
    if isinstance(url, str) and url.startswith("memory://"):
        return MemoryStorage(url)
    return None
