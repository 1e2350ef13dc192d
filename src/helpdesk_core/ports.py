"""The ports plugins implement: Storage (with its unit of work), Notifier and Channel.

These are ``typing.Protocol`` classes: a plugin needs no base class, only the methods. The
contract tests in :mod:`helpdesk_core.testing` say what each method must do; a storage that passes
them can back a :class:`~helpdesk_core.desk.Helpdesk`.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import attrs

from helpdesk_core.conditions import TRUE, Condition
from helpdesk_core.model.customers import Customer, CustomerEvent
from helpdesk_core.model.events import Event
from helpdesk_core.model.knowledge import Article, ArticleUse, KbGap
from helpdesk_core.model.people import Agent
from helpdesk_core.model.records import AuditRecord, Firing, OutboxMessage
from helpdesk_core.model.reviews import Review
from helpdesk_core.model.tickets import Ticket
from helpdesk_core.search.index import Match

if TYPE_CHECKING:
    from helpdesk_core.model.grants import Grant

SortKey = Literal["created_at", "updated_at", "number"]


@attrs.frozen
class TicketQuery:
    """A storage-neutral ticket query.

    ``where`` is a condition (the caller's filters AND the actor's permission scope) over the
    fields of :func:`~helpdesk_core.model.tickets.ticket_subject`. Results are ordered by
    ``(order_by, id)``, ascending unless ``descending``; ``after`` is the keyset cursor: the
    ``(order value, id)`` of the last row of the previous page.
    """

    where: Condition = TRUE
    order_by: SortKey = "created_at"
    descending: bool = False
    after: tuple[Any, str] | None = None
    limit: int | None = 100


@attrs.frozen
class CustomerQuery:
    """A storage-neutral customer list query: every given filter holds, ordered by id.

    ``requester_of`` is the actor's scope: only customers who are the requester of some ticket
    matching this ticket condition (None: no such restriction). ``after`` is the keyset cursor
    (the id of the last row of the previous page). Merged-away customers are left out unless
    ``include_merged``.
    """

    tier: str | None = None
    tag: str | None = None
    organisation: str | None = None
    requester_of: Condition | None = None
    include_merged: bool = False
    after: str | None = None
    limit: int | None = 100

    def matches(self, customer: Customer) -> bool:
        """The filters other than ``requester_of``, ``after`` and ``limit``."""
        return (
            (self.tier is None or customer.tier == self.tier)
            and (self.tag is None or self.tag in customer.tags)
            and (self.organisation is None or customer.organisation == self.organisation)
            and (self.include_merged or customer.merged_into is None)
        )


@attrs.frozen
class TextQuery:
    """A storage-neutral full-text ticket query (issue 21).

    ``terms`` are the query's terms as :func:`helpdesk_core.search.query_terms` gives them;
    ``fields`` the ticket search fields to match (:data:`helpdesk_core.search.tickets.
    TICKET_FIELDS`; leave ``notes`` out for readers without ``ticket.view_notes``); ``where``
    the actor's scope AND any filters. Results follow the ranking rules of
    :mod:`helpdesk_core.search.index`, best first.
    """

    terms: tuple[str, ...]
    fields: tuple[str, ...]
    where: Condition = TRUE
    limit: int = 20


class UnitOfWork(Protocol):
    """One storage transaction. Everything written through it commits together or not at all.

    Reads see committed data plus this unit's own writes.
    """

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        """The ticket's current state, or None."""

    def get_ticket_by_number(self, number: str) -> Ticket | None:
        """The ticket with this human-facing number, or None."""

    def ticket_events(self, ticket_id: str, after_seq: int = 0) -> list[Event]:
        """The ticket's events with ``seq > after_seq``, oldest first."""

    def save_ticket(self, ticket: Ticket, new_events: Sequence[Event]) -> None:
        """Append ``new_events`` (consecutive seqs) and store ``ticket`` (their fold).

        The stored version must equal ``new_events[0].seq - 1`` (0 for a new ticket), checked at
        write time and again at commit; otherwise raise
        :class:`~helpdesk_core.errors.ConcurrencyConflict` with the stored version.
        """

    def query_tickets(self, query: TicketQuery) -> list[Ticket]:
        """Tickets matching ``query.where``, ordered and paged as the query says."""

    def requester_tickets(self, requester: str, since: datetime, limit: int) -> list[Ticket]:
        """The requester's unsolved tickets (categories new, open and pending) created at or
        after ``since``, newest first (ties by id, descending), at most ``limit``: what
        duplicate detection compares a new ticket with, read on every ``open_ticket``."""

    def count_tickets(self, where: Condition) -> int:
        """How many tickets match ``where``."""

    def get_customer(self, customer_id: str) -> Customer | None:
        """The customer's current profile, or None."""

    def customer_events(self, customer_id: str, after_seq: int = 0) -> list[CustomerEvent]:
        """The customer's profile events with ``seq > after_seq``, oldest first."""

    def save_customer(self, customer: Customer, new_events: Sequence[CustomerEvent]) -> None:
        """Append ``new_events`` and store ``customer`` (their fold), with the same optimistic
        version rule as :meth:`save_ticket` (ConcurrencyConflict on a stale or taken id). The
        customer is indexed under :func:`~helpdesk_core.model.customers.contact_keys`."""

    def find_customers(self, contact_key: str) -> list[Customer]:
        """Customers indexed under ``contact_key`` (``email:<email_key>`` or
        ``phone:<phone_key>``), merged-away ones included, ordered by id."""

    def query_customers(self, query: CustomerQuery) -> list[Customer]:
        """Customers matching ``query``, ordered by id and paged as it says."""

    def next_number(self, sequence: str) -> int:
        """The next value (1, 2, ...) of a named counter; unique even under concurrency."""

    def add_outbox(self, message: OutboxMessage) -> None:
        """Queue a message for delivery after commit; a duplicate ``key`` is ignored."""

    def claim_outbox(
        self, now: datetime, limit: int, worker: str, lease: timedelta
    ) -> list[OutboxMessage]:
        """Lease up to ``limit`` pending messages available at ``now`` whose lease is free or
        expired, oldest first, to ``worker`` until ``now + lease``."""

    def finish_outbox(
        self,
        message_id: str,
        *,
        delivered: bool,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        """Record a delivery attempt: delivered, retried at ``retry_at``, or dead (no retry)."""

    def outbox(self, state: str | None = None) -> list[OutboxMessage]:
        """Outbox messages, optionally in one state, oldest first."""

    def save_grant(self, grant: Grant) -> None:
        """Insert or replace a permission grant (its ``history`` records every change)."""

    def get_grant(self, grant_id: str) -> Grant | None:
        """The grant, or None."""

    def grants(self, state: str | None = None) -> list[Grant]:
        """All grants, optionally in one state, in insertion order."""

    def save_agent(self, agent: Agent) -> None:
        """Insert or replace an agent's profile (skills, tier, capacity, shift, presence)."""

    def agents(self) -> list[Agent]:
        """Every agent profile, ordered by id."""

    def load_state(self, key: str) -> dict[str, Any] | None:
        """A small JSON-ready state document (a round-robin cursor, say), or None."""

    def save_state(self, key: str, value: dict[str, Any]) -> None:
        """Insert or replace a state document; commits with the transaction."""

    def schedule_check(self, ticket_id: str, at: datetime | None) -> None:
        """Set (or clear with None) when the ticket's escalations must next be checked; keeps
        any lease. Commits with the transaction."""

    def claim_due(
        self, now: datetime, limit: int, worker: str, lease: timedelta
    ) -> list[tuple[str, datetime]]:
        """Lease up to ``limit`` tickets whose check is due (``next_check_at <= now``) and whose
        lease is free or expired, oldest check first, to ``worker`` until ``now + lease``;
        returns ``(ticket_id, next_check_at)``. Takes effect at once (PostgreSQL: ``FOR
        UPDATE SKIP LOCKED``), so concurrent workers never claim the same ticket."""

    def release_check(self, ticket_id: str, worker: str, next_check_at: datetime | None) -> bool:
        """If ``worker`` still holds the ticket's lease: clear it and set the next check (at
        commit); True. Otherwise change nothing and return False."""

    def add_firing(self, firing: Firing) -> bool:
        """Record a firing unless its key exists (then False). A concurrent transaction that
        recorded the same key first makes this one fail at commit with
        :class:`~helpdesk_core.errors.ConcurrencyConflict`."""

    def firings(self, ticket_id: str | None = None) -> list[Firing]:
        """Recorded firings, oldest first, optionally of one ticket."""

    def add_audit(self, record: AuditRecord) -> None:
        """Append to the audit log."""

    def audit_log(
        self, *, actor: str | None = None, target: str | None = None, limit: int = 1000
    ) -> list[AuditRecord]:
        """Audit records, oldest first, optionally for one actor or target."""

    # -- full-text search (issue 21) -----------------------------------------------------------
    def search_tickets(self, query: TextQuery) -> list[tuple[Ticket, Match]]:
        """Committed tickets matching ``query.terms`` inside ``query.where``, best first, each
        with its :class:`~helpdesk_core.search.index.Match` (score, matched terms)."""

    # -- knowledge base (R-KB-1..4) ---------------------------------------------------------
    def save_article(self, article: Article) -> None:
        """Append a version: ``article.version`` must be the stored latest version + 1 (1 for a
        new article), checked at write time and at commit; otherwise raise
        :class:`~helpdesk_core.errors.ConcurrencyConflict`. Every version is kept."""

    def get_article(self, article_id: str, version: int | None = None) -> Article | None:
        """The article's latest version (or the given one), or None."""

    def article_versions(self, article_id: str) -> list[Article]:
        """Every version of the article, oldest first (empty if unknown)."""

    def articles(self, state: str | None = None) -> list[Article]:
        """The latest version of every article, optionally only those in ``state``, by id."""

    def save_gap(self, gap: KbGap) -> None:
        """Insert or replace a knowledge-base gap."""

    def get_gap(self, gap_id: str) -> KbGap | None:
        """The gap, or None."""

    def gaps(self, state: str | None = None) -> list[KbGap]:
        """Gaps, optionally in one state, in the order they were first saved."""

    def add_article_use(self, use: ArticleUse) -> None:
        """Record a view of an article or a link to it from a ticket."""

    def article_uses(self, article_id: str | None = None) -> list[ArticleUse]:
        """Recorded uses, oldest first, optionally of one article."""

    # -- post-incident reviews (R-REV-1..3) -------------------------------------------------
    def save_review(self, review: Review) -> None:
        """Insert (``version`` 1) or replace a review. ``review.version`` must be the stored
        version + 1 (1 for a new review), checked at write time and at commit; a ticket has at
        most one live review (``review.live``): a second live one for the same ticket, or a
        stale version, raises :class:`~helpdesk_core.errors.ConcurrencyConflict`."""

    def get_review(self, review_id: str) -> Review | None:
        """The review, or None."""

    def reviews(self, *, state: str | None = None, ticket_id: str | None = None) -> list[Review]:
        """Reviews, optionally in one state and/or of one ticket, ordered by
        ``(opened_at, id)``."""


class Storage(Protocol):
    """A store for tickets, events, outbox and audit records."""

    url: str
    tickets_loaded: int
    """How many ticket documents the store has read so far (for tests: a scoped query must
    load the tickets it returns, not every ticket; see the storage contract)."""

    def transaction(self) -> AbstractContextManager[UnitOfWork]:
        """A unit of work that commits when the block exits normally and rolls back on error."""

    def close(self) -> None:
        """Release connections; the storage is unusable afterwards."""


@attrs.frozen
class Notification:
    """What a notifier delivers: rendered for a recipient, with an idempotency key."""

    key: str
    recipient: str
    subject: str
    body: str
    event_kind: str
    ticket_id: str | None = None
    data: dict[str, Any] = attrs.field(factory=dict)


@runtime_checkable
class Notifier(Protocol):
    """Delivers notifications (email, SMS, webhook...). Must tolerate redelivery of a ``key``."""

    name: str

    def send(self, notification: Notification) -> None:
        """Deliver or raise; raising makes the outbox retry later."""


@attrs.frozen
class InboundMessage:
    """A message a channel received, normalised for the desk."""

    channel: str
    sender: str
    subject: str
    body: str
    received_at: datetime
    thread_key: str | None = None
    headers: dict[str, str] = attrs.field(factory=dict)


@runtime_checkable
class Channel(Protocol):
    """An intake/outbound channel (email, web form, SMS...)."""

    name: str

    def parse(self, raw: bytes, now: datetime) -> InboundMessage | None:
        """Turn raw input into a message, or None when it must be ignored (loops, bounces)."""
