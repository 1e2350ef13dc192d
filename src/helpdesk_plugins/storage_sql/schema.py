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


tickets = sa.Table(
    "hd_tickets",
    metadata,
    sa.Column("id", Key(), primary_key=True),
    sa.Column("number", Key(), nullable=False, unique=True),
    sa.Column("subject", Key(), nullable=False),
    sa.Column("type", Key(), nullable=False),
    sa.Column("sub_category", Key()),
    sa.Column("priority", Key(), nullable=False),
    sa.Column("urgency", Key()),
    sa.Column("channel", Key(), nullable=False),
    sa.Column("status", Key(), nullable=False),
    sa.Column("status_category", Key(), nullable=False),
    sa.Column("requester", Key()),
    sa.Column("organisation", Key()),
    sa.Column("assignee", Key()),
    sa.Column("team", Key()),
    sa.Column("department", Key()),
    sa.Column("created_by", Key(), nullable=False),
    sa.Column("tier", sa.Integer(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("created_at", Instant(), nullable=False),
    sa.Column("updated_at", Instant(), nullable=False),
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

# -- ticket full-text search (issue 21) ---------------------------------------------------------
search_postings = sa.Table(
    "hd_search_postings",
    metadata,
    sa.Column("term", Key(), primary_key=True),
    sa.Column("field", Key(), primary_key=True),
    sa.Column(
        "ticket_id",
        Key(),
        sa.ForeignKey("hd_tickets.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("tf", sa.Integer(), nullable=False),
    sa.Column("length", sa.Integer(), nullable=False),
    sa.Index("ix_hd_search_postings_ticket", "ticket_id"),
)
"""One row per (term, field, ticket): the inverted index, term first for look-ups."""

search_vectors = sa.Table(
    "hd_search_vectors",
    metadata,
    sa.Column(
        "ticket_id", Key(), sa.ForeignKey("hd_tickets.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("shard", sa.Integer(), nullable=False),
    sa.Column("digest", Key(), nullable=False),
    sa.Column("doc", Doc(), nullable=False),
)
"""A ticket's indexed term counts per field (JSON), to undo them when it changes, and a digest
of its searchable text, so a change that leaves the text alone costs one look-up."""

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

TICKET_COLUMNS: Final = (
    "id",
    "number",
    "subject",
    "type",
    "sub_category",
    "priority",
    "urgency",
    "channel",
    "status",
    "status_category",
    "requester",
    "organisation",
    "assignee",
    "team",
    "department",
    "created_by",
)
"""Text columns of ``hd_tickets`` that mirror the ticket field of the same name."""
