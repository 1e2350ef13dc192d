"""The SQL schema (SQLAlchemy Core): one table per aggregate or record the storage port keeps.

Conventions:

- Instants are ``BIGINT`` microseconds since the Unix epoch (UTC). They compare and sort
  exactly like the domain's aware datetimes on every backend, with no time zone conversion in
  the database.
- A ticket row carries the columns queries filter and sort on, plus ``doc``: the whole ticket
  state as JSON text (:func:`~helpdesk_core.model.tickets.ticket_to_dict`), the truth reads use.
  Its tags live in ``hd_ticket_tags`` so ``tags contains x`` is an indexed lookup.
- Identifiers and other compared text use the byte-order ("C") collation on PostgreSQL, so
  ordering and ``<``/``>`` agree with Python's string order whatever the database's locale.

The Alembic migrations in ``migrations/versions`` must produce exactly these tables; a test runs
autogenerate against a migrated database and requires an empty diff.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa

from helpdesk_core.model.fields import COLUMN_FIELDS, TicketField

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO: Final = timedelta(microseconds=1)


def to_micros(value: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch (exact)."""
    return (value - EPOCH) // _MICRO


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


def Key() -> sa.types.TypeEngine[str]:
    """Text compared and ordered byte-wise on every backend."""
    return sa.String().with_variant(sa.String(collation="C"), "postgresql")


Instant = sa.BigInteger
Doc = sa.Text
Serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
"""An auto-incrementing row position (insertion order); SQLite needs INTEGER for its rowid."""

metadata = sa.MetaData()


def _owned_by_ticket() -> sa.Column[Any]:
    """``ticket_id``, first part of the primary key of rows that die with their ticket."""
    return sa.Column(
        "ticket_id", Key(), sa.ForeignKey("hd_tickets.id", ondelete="CASCADE"), primary_key=True
    )


def _column_type(kind: str) -> sa.types.TypeEngine[Any]:
    if kind == "text":
        return Key()
    return sa.Integer() if kind == "int" else Instant()


def _ticket_column(field: TicketField) -> sa.Column[Any]:
    """The column of a ticket field (:data:`~helpdesk_core.model.fields.COLUMN_FIELDS`)."""
    kind = _column_type(field.kind)
    if field.name == "id":
        return sa.Column("id", kind, primary_key=True)
    return sa.Column(field.name, kind, nullable=field.nullable, unique=field.name == "number")


tickets = sa.Table(
    "hd_tickets",
    metadata,
    *(_ticket_column(field) for field in COLUMN_FIELDS),
    sa.Column("doc", Doc(), nullable=False),
    sa.Index("ix_hd_tickets_created", "created_at", "id"),
    sa.Index("ix_hd_tickets_updated", "updated_at", "id"),
    sa.Index("ix_hd_tickets_status", "status_category", "status"),
    sa.Index("ix_hd_tickets_assignee", "assignee", "created_at"),
    sa.Index("ix_hd_tickets_team", "team", "created_at"),
    sa.Index("ix_hd_tickets_department", "department", "created_at"),
    sa.Index("ix_hd_tickets_requester", "requester", "created_at"),
    sa.Index("ix_hd_tickets_organisation", "organisation", "created_at"),
)

ticket_tags = sa.Table(
    "hd_ticket_tags",
    metadata,
    _owned_by_ticket(),
    sa.Column("tag", Key(), primary_key=True),
    sa.Index("ix_hd_ticket_tags_tag", "tag", "ticket_id"),
)

events = sa.Table(
    "hd_events",
    metadata,
    _owned_by_ticket(),
    sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("kind", Key(), nullable=False),
    sa.Column("at", Instant(), nullable=False),
    sa.Column("actor", Key(), nullable=False),
    sa.Column("data", Doc(), nullable=False),
)

report_facts = sa.Table(
    "hd_report_facts",
    metadata,
    _owned_by_ticket(),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("doc", Doc(), nullable=False),
)
"""Per ticket its report facts (``helpdesk_core.reports.facts_document``) as of ``version``:
what a month's report reads instead of the ticket's events (issue 24)."""

counters = sa.Table(
    "hd_counters",
    metadata,
    sa.Column("name", Key(), primary_key=True),
    sa.Column("value", sa.BigInteger(), nullable=False),
)

outbox = sa.Table(
    "hd_outbox",
    metadata,
    sa.Column("pos", Serial, primary_key=True, autoincrement=True),
    sa.Column("id", Key(), nullable=False, unique=True),
    sa.Column("key", Key(), nullable=False, unique=True),
    sa.Column("topic", Key(), nullable=False),
    sa.Column("payload", Doc(), nullable=False),
    sa.Column("created_at", Instant(), nullable=False),
    sa.Column("available_at", Instant(), nullable=False),
    sa.Column("state", Key(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("last_error", sa.Text()),
    sa.Column("claimed_by", Key()),
    sa.Column("lease_until", Instant()),
    sa.Index("ix_hd_outbox_pending", "state", "available_at", "pos"),
)

audit = sa.Table(
    "hd_audit",
    metadata,
    sa.Column("pos", Serial, primary_key=True, autoincrement=True),
    sa.Column("id", Key(), nullable=False, unique=True),
    sa.Column("at", Instant(), nullable=False),
    sa.Column("actor", Key(), nullable=False),
    sa.Column("action", Key(), nullable=False),
    sa.Column("target", Key()),
    sa.Column("allowed", sa.Boolean(), nullable=False),
    sa.Column("rule", sa.Text()),
    sa.Column("detail", sa.Text()),
    sa.Index("ix_hd_audit_actor", "actor", "pos"),
    sa.Index("ix_hd_audit_target", "target", "pos"),
)

grants = sa.Table(
    "hd_grants",
    metadata,
    sa.Column("pos", Serial, primary_key=True, autoincrement=True),
    sa.Column("id", Key(), nullable=False, unique=True),
    sa.Column("state", Key(), nullable=False),
    sa.Column("doc", Doc(), nullable=False),
    sa.Index("ix_hd_grants_state", "state", "pos"),
)

agents = sa.Table(
    "hd_agents",
    metadata,
    sa.Column("id", Key(), primary_key=True),
    sa.Column("doc", Doc(), nullable=False),
)

state_docs = sa.Table(
    "hd_state",
    metadata,
    sa.Column("key", Key(), primary_key=True),
    sa.Column("doc", Doc(), nullable=False),
)

schedule = sa.Table(
    "hd_schedule",
    metadata,
    sa.Column("ticket_id", Key(), primary_key=True),
    sa.Column("next_check_at", Instant()),
    sa.Column("lease_owner", Key()),
    sa.Column("lease_until", Instant()),
    sa.Index("ix_hd_schedule_due", "next_check_at"),
)

firings = sa.Table(
    "hd_firings",
    metadata,
    sa.Column("pos", Serial, primary_key=True, autoincrement=True),
    sa.Column("key", Key(), nullable=False, unique=True),
    sa.Column("ticket_id", Key(), nullable=False),
    sa.Column("policy", Key(), nullable=False),
    sa.Column("level", sa.Integer(), nullable=False),
    sa.Column("metric", Key(), nullable=False),
    sa.Column("cycle", sa.Integer(), nullable=False),
    sa.Column("at", Instant(), nullable=False),
    sa.Column("worker", Key(), nullable=False),
    sa.Index("ix_hd_firings_ticket", "ticket_id", "pos"),
)

TEXT_COLUMNS: Final = tuple(f.name for f in COLUMN_FIELDS if f.kind == "text")


customers = sa.Table(
    "hd_customers",
    metadata,
    sa.Column("id", Key(), primary_key=True),
    sa.Column("kind", Key(), nullable=False),
    sa.Column("name", sa.Text(), nullable=False),
    sa.Column("organisation", Key()),
    sa.Column("industry", Key()),
    sa.Column("tier", Key(), nullable=False),
    sa.Column("merged_into", Key()),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("created_at", Instant(), nullable=False),
    sa.Column("updated_at", Instant(), nullable=False),
    sa.Column("doc", Doc(), nullable=False),
    sa.Index("ix_hd_customers_tier", "tier", "id"),
    sa.Index("ix_hd_customers_organisation", "organisation", "id"),
)
"""Customer profiles (issue 20): filter columns plus ``doc``, the whole profile as JSON."""


def _owned_by_customer() -> sa.Column[Any]:
    return sa.Column(
        "customer_id",
        Key(),
        sa.ForeignKey("hd_customers.id", ondelete="CASCADE"),
        primary_key=True,
    )


customer_tags = sa.Table(
    "hd_customer_tags",
    metadata,
    _owned_by_customer(),
    sa.Column("tag", Key(), primary_key=True),
    sa.Index("ix_hd_customer_tags_tag", "tag", "customer_id"),
)

customer_contacts = sa.Table(
    "hd_customer_contacts",
    metadata,
    _owned_by_customer(),
    sa.Column("key", Key(), primary_key=True),
    sa.Index("ix_hd_customer_contacts_key", "key", "customer_id"),
)
"""``email:<key>`` / ``phone:<key>`` lookups (see ``model.customers.contact_keys``)."""

customer_events = sa.Table(
    "hd_customer_events",
    metadata,
    _owned_by_customer(),
    sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("kind", Key(), nullable=False),
    sa.Column("at", Instant(), nullable=False),
    sa.Column("actor", Key(), nullable=False),
    sa.Column("data", Doc(), nullable=False),
)

CUSTOMER_COLUMNS: Final = ("id", "kind", "name", "organisation", "industry", "tier", "merged_into")
"""Text columns of ``hd_customers`` that mirror the customer field of the same name."""
"""Text columns of ``hd_tickets`` that mirror the ticket field of the same name."""
# -- knowledge base (R-KB-1..4) ---------------------------------------------------------------
articles = sa.Table(
    "hd_articles",
    metadata,
    sa.Column("id", Key(), primary_key=True),
    sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("state", Key(), nullable=False),
    sa.Column("updated_at", Instant(), nullable=False),
    sa.Column("doc", Doc(), nullable=False),
)
"""Every version of every article; the latest is the highest ``version`` of an ``id``."""

kb_gaps = sa.Table(
    "hd_kb_gaps",
    metadata,
    sa.Column("pos", Serial, primary_key=True, autoincrement=True),
    sa.Column("id", Key(), nullable=False, unique=True),
    sa.Column("state", Key(), nullable=False),
    sa.Column("doc", Doc(), nullable=False),
    sa.Index("ix_hd_kb_gaps_state", "state", "pos"),
)

article_uses = sa.Table(
    "hd_article_uses",
    metadata,
    sa.Column("pos", Serial, primary_key=True, autoincrement=True),
    sa.Column("article_id", Key(), nullable=False),
    sa.Column("kind", Key(), nullable=False),
    sa.Column("actor", Key(), nullable=False),
    sa.Column("at", Instant(), nullable=False),
    sa.Column("ticket_id", Key()),
    sa.Column("solved", sa.Boolean(), nullable=False),
    sa.Index("ix_hd_article_uses_article", "article_id", "pos"),
)

# -- satisfaction surveys (R-CSAT-1) -------------------------------------------------------------
surveys = sa.Table(
    "hd_surveys",
    metadata,
    sa.Column("id", Key(), primary_key=True),
    sa.Column("ticket_id", Key(), nullable=False),
    sa.Column("token_hash", Key(), nullable=False, unique=True),
    sa.Column("created_at", Instant(), nullable=False),
    sa.Column("answered_at", Instant()),
    sa.Column("doc", Doc(), nullable=False),
    sa.Index("ix_hd_surveys_ticket", "ticket_id", "created_at"),
    sa.Index("ix_hd_surveys_created", "created_at", "id"),
)
"""One row per survey: ``doc`` is the whole survey as JSON; ``answered_at`` is the column the
one-answer conditional update tests (``WHERE answered_at IS NULL``)."""

# -- post-incident reviews (R-REV-1..3) --------------------------------------------------------
reviews = sa.Table(
    "hd_reviews",
    metadata,
    sa.Column("id", Key(), primary_key=True),
    sa.Column("ticket_id", Key(), nullable=False),
    sa.Column("state", Key(), nullable=False),
    sa.Column("live_ticket", Key(), unique=True),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("opened_at", Instant(), nullable=False),
    sa.Column("doc", Doc(), nullable=False),
    sa.Index("ix_hd_reviews_opened", "opened_at", "id"),
    sa.Index("ix_hd_reviews_ticket", "ticket_id", "opened_at"),
)
"""One row per review: ``doc`` is the whole review as JSON; ``live_ticket`` is the ticket id
while the review is live (NULL once closed), unique, so a ticket has at most one live review
even when two transactions open one at once."""

# -- ticket full-text search (issue 21) ---------------------------------------------------------
SEARCH_FIELDS: Final = ("number", "subject", "description", "messages", "notes")
"""The ticket search fields (frozen copy of helpdesk_core.search.tickets.TICKET_FIELDS, which a
test compares with it): one text column and one length column each in ``hd_search_docs``."""

search_docs = sa.Table(
    "hd_search_docs",
    metadata,
    sa.Column("doc_no", Serial, primary_key=True, autoincrement=True),
    sa.Column(
        "ticket_id", Key(), sa.ForeignKey("hd_tickets.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("shard", sa.Integer(), nullable=False),
    sa.Column("digest", Key(), nullable=False),
    *(sa.Column(name, sa.Text(), nullable=False) for name in SEARCH_FIELDS),
    *(sa.Column(f"len_{name}", sa.Integer(), nullable=False) for name in SEARCH_FIELDS),
    sa.UniqueConstraint("ticket_id", name="uq_hd_search_docs_ticket"),
)
"""One row per indexed ticket: each search field as the core's normalised terms joined by
spaces (what SQLite's FTS5 table indexes, as its external content), the fields' lengths in
terms, and a digest of the raw searchable text so a change that leaves it alone costs one
look-up. ``doc_no`` is the FTS5 rowid. On PostgreSQL the migration adds ``terms`` (a tsvector
of the ticket's distinct terms) and its GIN index; see :func:`is_declared_elsewhere`."""

SEARCH_FTS: Final = "hd_search_fts"
"""SQLite: the FTS5 table over ``hd_search_docs`` (external content, rowid ``doc_no``)."""
SEARCH_FTS_ROWS: Final = "hd_search_fts_rows"
"""SQLite: fts5vocab ``row`` table (term, documents containing it): document frequencies."""
SEARCH_FTS_HITS: Final = "hd_search_fts_hits"
"""SQLite: fts5vocab ``instance`` table (term, doc, col, offset): term frequencies."""
SEARCH_TERMS: Final = "terms"
"""PostgreSQL: ``hd_search_docs.terms``, the tsvector of a ticket's distinct terms (all
fields), GIN-indexed as :data:`SEARCH_TERMS_INDEX`. Migration 0004 makes these structures."""
SEARCH_TERMS_INDEX: Final = "ix_hd_search_docs_terms"


def is_declared_elsewhere(name: str | None, type_: str) -> bool:
    """Whether a reflected schema object is one of the dialect's own search structures, made
    by raw DDL outside this metadata (FTS5 virtual tables and their shadow tables on SQLite,
    the tsvector column and GIN index on PostgreSQL): schema comparisons leave them out."""
    if name is None:
        return False
    if type_ == "table":
        return name.startswith(SEARCH_FTS)
    return name in (SEARCH_TERMS, SEARCH_TERMS_INDEX)


search_words = sa.Table(
    "hd_search_words",
    metadata,
    sa.Column("term", Key(), primary_key=True),
)
"""Every word ever indexed (prefix look-ups); words no ticket has any more match nothing."""

search_near = sa.Table(
    "hd_search_near",
    metadata,
    sa.Column("key", Key(), primary_key=True),
    sa.Column("term", Key(), primary_key=True),
)
"""The fuzzy path's deletion neighbourhood: a word filed under itself and each deletion."""

search_stats = sa.Table(
    "hd_search_stats",
    metadata,
    sa.Column("shard", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("field", Key(), primary_key=True),
    sa.Column("total", sa.BigInteger(), nullable=False),
)
"""Indexed ticket count (field ``#docs``) and summed field lengths, split over shards so that
concurrent writers rarely wait on the same row."""


TICKET_COLUMNS: Final = TEXT_COLUMNS
PLAIN_COLUMNS: Final = tuple(f.name for f in COLUMN_FIELDS if f.kind in ("text", "int"))
"""Columns holding the ticket's value as it is (text and integers)."""
TIME_COLUMNS: Final = tuple(f.name for f in COLUMN_FIELDS if f.kind == "time")
"""Columns holding an instant as microseconds since the epoch."""

# -- intake (issue 23) --------------------------------------------------------------------------
intake = sa.Table(
    "hd_intake",
    metadata,
    sa.Column("pos", Serial, primary_key=True, autoincrement=True),
    sa.Column("id", Key(), nullable=False, unique=True),
    sa.Column("dedupe_key", Key(), nullable=False, unique=True),
    sa.Column("at", Instant(), nullable=False),
    sa.Column("outcome", Key(), nullable=False),
    sa.Column("promoted_to", Key()),
    sa.Column("doc", Doc(), nullable=False),
    sa.Column("raw", sa.LargeBinary()),
    sa.Index("ix_hd_intake_outcome", "outcome", "at", "pos"),
    sa.Index("ix_hd_intake_at", "at", "pos"),
)
"""One row per ingested message: ``dedupe_key`` (Message-ID | SHA-256) is unique, so a
redelivery finds the first delivery's row; ``raw`` keeps ignored and quarantined mail."""

message_index = sa.Table(
    "hd_message_index",
    metadata,
    sa.Column("message_id", Key(), primary_key=True),
    sa.Column("ticket_id", Key(), nullable=False),
)
"""Received Message-IDs -> the ticket they were filed on (threading of replies)."""

attachments = sa.Table(
    "hd_attachments",
    metadata,
    sa.Column("pos", Serial, primary_key=True, autoincrement=True),
    sa.Column("id", Key(), nullable=False, unique=True),
    sa.Column("ticket_id", Key(), nullable=False),
    sa.Column("message_id", Key()),
    sa.Column("filename", sa.Text(), nullable=False),
    sa.Column("content_type", Key(), nullable=False),
    sa.Column("at", Instant(), nullable=False),
    sa.Column("content", sa.LargeBinary(), nullable=False),
    sa.Index("ix_hd_attachments_ticket", "ticket_id", "pos"),
)

acknowledgements = sa.Table(
    "hd_acknowledgements",
    metadata,
    sa.Column("pos", Serial, primary_key=True, autoincrement=True),
    sa.Column("address", Key(), nullable=False),
    sa.Column("at", Instant(), nullable=False),
    sa.Index("ix_hd_acknowledgements_address", "address", "at"),
)
"""Acknowledgements sent, per address (``[email] ack_limit_per_hour``)."""
