"""Ticket search on the database's own full-text index: SQLite FTS5, PostgreSQL tsvector + GIN.

Replaces the home-made inverted index (``hd_search_postings`` and ``hd_search_vectors``, one
row per term and ticket) by ``hd_search_docs``: one row per ticket holding the core's normalised
terms per field, indexed by an FTS5 table (external content) with two fts5vocab tables on
SQLite, and by a ``terms`` tsvector column with a GIN index on PostgreSQL. The word tables
(prefix and fuzzy paths) and the statistics table stay.

The old index is dropped and the new one starts empty: run ``helpdesk db reindex --url ...``
after this migration to index the existing tickets.

Revision ID: 0004_fts
Revises: 0003_knowledge_search
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_fts"
down_revision = "0003_knowledge_search"
branch_labels = None
depends_on = None

FIELDS = ("number", "subject", "description", "messages", "notes")
FTS_TOKENIZE = "ascii tokenchars '!#$%&()*+,-./:;<=>?@[\\]^_`{|}~'"
"""Frozen copies of schema.SEARCH_FIELDS and schema.FTS_TOKENIZE."""


def key() -> sa.types.TypeEngine[str]:
    """Text ordered byte-wise: "C" collation on PostgreSQL (frozen copy of schema.Key)."""
    return sa.String().with_variant(sa.String(collation="C"), "postgresql")


def upgrade() -> None:
    op.drop_index("ix_hd_search_postings_ticket", "hd_search_postings")
    op.drop_table("hd_search_postings")
    op.drop_table("hd_search_vectors")
    op.execute(sa.text("DELETE FROM hd_search_stats"))  # the new index starts empty
    op.create_table(
        "hd_search_docs",
        sa.Column(
            "doc_no",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("ticket_id", key(), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("digest", key(), nullable=False),
        *(sa.Column(name, sa.Text(), nullable=False) for name in FIELDS),
        *(sa.Column(f"len_{name}", sa.Integer(), nullable=False) for name in FIELDS),
        sa.ForeignKeyConstraint(["ticket_id"], ["hd_tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("doc_no"),
        sa.UniqueConstraint("ticket_id", name="uq_hd_search_docs_ticket"),
    )
    if op.get_bind().dialect.name == "sqlite":
        columns = ", ".join(FIELDS)
        op.execute(
            f"CREATE VIRTUAL TABLE hd_search_fts USING fts5({columns}, "
            "content='hd_search_docs', content_rowid='doc_no', "
            f'tokenize="{FTS_TOKENIZE}", detail=full)'
        )
        op.execute("CREATE VIRTUAL TABLE hd_search_fts_rows USING fts5vocab(hd_search_fts, row)")
        op.execute(
            "CREATE VIRTUAL TABLE hd_search_fts_hits USING fts5vocab(hd_search_fts, instance)"
        )
    else:
        op.execute(
            "ALTER TABLE hd_search_docs ADD COLUMN terms tsvector NOT NULL DEFAULT ''::tsvector"
        )
        op.execute("CREATE INDEX ix_hd_search_docs_terms ON hd_search_docs USING gin (terms)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in ("hd_search_fts_hits", "hd_search_fts_rows", "hd_search_fts"):
            op.execute(f"DROP TABLE {table}")
    op.drop_table("hd_search_docs")
    op.execute(sa.text("DELETE FROM hd_search_stats"))
    op.create_table(
        "hd_search_postings",
        sa.Column("term", key(), nullable=False),
        sa.Column("field", key(), nullable=False),
        sa.Column("ticket_id", key(), nullable=False),
        sa.Column("tf", sa.Integer(), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["hd_tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("term", "field", "ticket_id"),
    )
    op.create_index("ix_hd_search_postings_ticket", "hd_search_postings", ["ticket_id"])
    op.create_table(
        "hd_search_vectors",
        sa.Column("ticket_id", key(), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("digest", key(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["hd_tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
