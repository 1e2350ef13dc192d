"""The ports plugins implement: Storage (with its unit of work), Notifier and Channel.

These are ``typing.Protocol`` classes: a plugin needs no base class, only the methods. The
contract tests in :mod:`helpdesk_core.testing` say what each method must do; a storage that passes
them can back a :class:`~helpdesk_core.desk.Helpdesk`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import attrs

from helpdesk_core.conditions import TRUE, Condition
from helpdesk_core.errors import ValidationError
from helpdesk_core.model.customers import Customer, CustomerEvent
from helpdesk_core.model.events import Event
from helpdesk_core.model.intake import Attachment, InboundMail, IntakeRecord
from helpdesk_core.model.knowledge import Article, ArticleUse, KbGap
from helpdesk_core.model.people import Agent
from helpdesk_core.model.records import AuditRecord, Firing, OutboxMessage
from helpdesk_core.model.reviews import Review
from helpdesk_core.model.surveys import Survey
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


@attrs.frozen
class StoredFacts:
    """One ticket's row of :meth:`UnitOfWork.report_facts`: its id and its report facts
    document (:func:`helpdesk_core.reports.facts_document`, as it was saved), or None when the
    store has none for the ticket's current version."""

    ticket_id: str
    doc: Sequence[Any] | None


def facts_text(doc: Sequence[Any]) -> str:
    """A report facts document as the stores keep it: compact JSON text of the list;
    :class:`~helpdesk_core.errors.ValidationError` for a document that is not JSON-ready."""
    if isinstance(doc, str | bytes) or not isinstance(doc, Sequence):
        raise ValidationError("doc", f"must be a list, got {type(doc).__name__}")
    try:
        return json.dumps(list(doc), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError("doc", f"must be JSON-ready: {exc}") from exc


class HostTransaction(Protocol):
    """A transaction the host application owns, that a unit of work runs inside (issue 25).

    The host commits or rolls it back, not the desk: a command's after-commit work waits for
    the host's commit and is dropped when the host rolls back.
    """

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once, after the host's transaction commits; never if it rolls back."""


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

    def events_by_creation(
        self,
        where: Condition,
        *,
        created_before: datetime,
        created_from: datetime | None = None,
    ) -> Iterator[Event]:
        """The events of every ticket matching ``where`` created in ``[created_from,
        created_before)`` (no lower bound when ``created_from`` is None), grouped by ticket:
        the tickets in ``(created_at, id)`` order, each one's history whole and in ``seq``
        order. What reports stream (issue 24): the store reads it in one ordered pass (a
        server-side cursor on PostgreSQL), so memory holds a batch, never the period. The
        iterator is valid while the unit of work is open."""

    def save_report_facts(self, ticket_id: str, version: int, doc: Sequence[Any]) -> None:
        """Keep ``doc`` (a JSON-ready list: :func:`helpdesk_core.reports.facts_document`) as
        the report facts of the ticket at ``version``, replacing what was kept before; written
        in this unit's transaction by the command that saved the ticket (issue 24)."""

    def report_facts(
        self,
        where: Condition,
        *,
        created_before: datetime,
        created_from: datetime | None = None,
    ) -> Iterator[StoredFacts]:
        """One :class:`StoredFacts` per ticket matching ``where`` created in ``[created_from,
        created_before)``, in ``(created_at, id)`` order: the facts document when the one kept
        was saved for the ticket's current version, else None (never kept, or the ticket
        changed since without them). What full reports read at scale: one row per ticket, in
        one ordered pass whose memory is a batch. Valid while the unit of work is open."""

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

    def revive_outbox(self, message_id: str, *, available_at: datetime) -> OutboxMessage | None:
        """Put a dead message back to pending (a dead letter retried by hand): available at
        ``available_at``, attempts back to 0, lease cleared, its last error kept until the next
        attempt. Returns the revived message, or None (nothing changed) when there is no dead
        message ``message_id``. Commits with the transaction."""

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

    # -- satisfaction surveys (R-CSAT-1) ----------------------------------------------------
    def save_survey(self, survey: Survey) -> None:
        """Insert or replace a survey (a new one, or its classification). Answers are written
        through :meth:`answer_survey` only."""

    def get_survey(self, survey_id: str) -> Survey | None:
        """The survey, or None."""

    def get_survey_by_token_hash(self, token_hash: str) -> Survey | None:
        """The survey whose token hashes to ``token_hash`` (hashes are unique), or None."""

    def answer_survey(
        self, survey_id: str, *, stars: int, comment: str | None, answered_at: datetime
    ) -> Survey | None:
        """Record the answer only if the survey is still unanswered (a conditional update):
        the answered survey, or None when it was answered already. Of concurrent transactions
        answering one survey exactly one commits its answer: the others get None, or fail with
        :class:`~helpdesk_core.errors.ConcurrencyConflict` at commit (then a retry sees the
        answer)."""

    def surveys(self, ticket_id: str | None = None) -> list[Survey]:
        """Surveys, optionally of one ticket, ordered by ``(created_at, id)``."""

    # -- intake (issue 23) -------------------------------------------------------------------
    def add_intake(self, record: IntakeRecord) -> bool:
        """Record what became of one inbound message unless a record with its ``dedupe_key``
        exists (then False, nothing written). A concurrent transaction that recorded the same
        key first makes this one fail at commit with
        :class:`~helpdesk_core.errors.ConcurrencyConflict`."""

    def intake_by_key(self, dedupe_key: str) -> IntakeRecord | None:
        """The record with this dedupe key, or None."""

    def get_intake(self, record_id: str) -> IntakeRecord | None:
        """The record (with its raw bytes), or None."""

    def intake_records(
        self, outcomes: Sequence[str] | None = None, limit: int = 100
    ) -> list[IntakeRecord]:
        """Records, newest first (ties: the later recorded first), optionally only those with
        one of ``outcomes``, at most ``limit``."""

    def promote_intake(self, record_id: str, ticket_id: str) -> bool:
        """Set the record's ``promoted_to`` if it is unset (True); otherwise change nothing
        and return False. Commits with the transaction."""

    def index_message_id(self, message_id: str, ticket_id: str) -> None:
        """Remember that a received Message-ID belongs to a ticket; the first ticket recorded
        for a Message-ID keeps it."""

    def ticket_of_message_id(self, message_id: str) -> str | None:
        """The ticket a received Message-ID was recorded for, or None."""

    def tickets_of_message_ids(self, message_ids: Sequence[str]) -> dict[str, str]:
        """:meth:`ticket_of_message_id` of several at once (a mail's In-Reply-To and
        References: one round trip, not one per id): the ids recorded, each to its ticket."""

    def add_attachment(self, attachment: Attachment) -> None:
        """Store an attachment's bytes and metadata (its id is new)."""

    def get_attachment(self, ticket_id: str, attachment_id: str) -> Attachment | None:
        """The ticket's attachment, or None (also when it belongs to another ticket)."""

    def attachments(self, ticket_id: str) -> list[Attachment]:
        """The ticket's attachments in the order they were stored."""

    def add_acknowledgement(self, address: str, at: datetime) -> None:
        """Note that an acknowledgement went to ``address`` (an email key) at ``at``."""

    def acknowledgements_since(self, address: str, since: datetime) -> int:
        """How many acknowledgements went to ``address`` after ``since``."""

    def host_transaction(self) -> HostTransaction | None:
        """The host's transaction this unit runs inside, or None when the unit commits itself.

        Inside a host's transaction the unit neither commits nor retries: the runner raises a
        lost race as :class:`~helpdesk_core.errors.ConcurrencyConflict` and hands its
        after-commit work (observers) to :meth:`HostTransaction.after_commit`. Stores that
        cannot join a host's transaction return None.
        """

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


@runtime_checkable
class MailChannel(Channel, Protocol):
    """A channel that reads mail in full for ``desk.ingest_email`` (the ``email`` channel).

    An addition to :class:`Channel`: the desk uses it when the channel registered as ``email``
    has these methods.
    """

    acknowledgements_per_hour: int
    """Acknowledgements of new tickets one address gets per hour at most."""

    def parse_mail(self, raw: bytes, now: datetime) -> InboundMail:
        """Read one raw message; never raises for bytes (unusable input comes back with
        ``reason="unparseable"``)."""
