"""Knowledge base (articles with every version, gaps, usage) and ticket full-text search.

Existing tickets are not indexed by this migration: run ``helpdesk db reindex --url ...``
afterwards (it rebuilds the search tables from the tickets).

Revision ID: 0003_knowledge_search
Revises: 0002_customers
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_knowledge_search"
down_revision = "0002_customers"
branch_labels = None
depends_on = None


def key() -> sa.types.TypeEngine[str]:
    """Text ordered byte-wise: "C" collation on PostgreSQL (frozen copy of schema.Key)."""
    return sa.String().with_variant(sa.String(collation="C"), "postgresql")


def serial() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def col(name: str, type_: sa.types.TypeEngine, null: bool = False, **kw: object) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, type_, nullable=null, **kw)  # type: ignore[arg-type]


def pos() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("pos", serial(), autoincrement=True, nullable=False)


def upgrade() -> None:
    op.create_table(
        "hd_articles",
        col("id", key()),
        col("version", sa.Integer(), autoincrement=False),
        col("state", key()),
        col("updated_at", sa.BigInteger()),
        col("doc", sa.Text()),
        sa.PrimaryKeyConstraint("id", "version"),
    )
    op.create_table(
        "hd_kb_gaps",
        pos(),
        col("id", key()),
        col("state", key()),
        col("doc", sa.Text()),
        sa.PrimaryKeyConstraint("pos"),
        sa.UniqueConstraint("id"),
    )
    op.create_index("ix_hd_kb_gaps_state", "hd_kb_gaps", ["state", "pos"])
    op.create_table(
        "hd_article_uses",
        pos(),
        col("article_id", key()),
        col("kind", key()),
        col("actor", key()),
        col("at", sa.BigInteger()),
        col("ticket_id", key(), True),
        col("solved", sa.Boolean()),
        sa.PrimaryKeyConstraint("pos"),
    )
    op.create_index("ix_hd_article_uses_article", "hd_article_uses", ["article_id", "pos"])
    op.create_table(
        "hd_search_postings",
        col("term", key()),
        col("field", key()),
        col("ticket_id", key()),
        col("tf", sa.Integer()),
        col("length", sa.Integer()),
        sa.ForeignKeyConstraint(["ticket_id"], ["hd_tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("term", "field", "ticket_id"),
    )
    op.create_index("ix_hd_search_postings_ticket", "hd_search_postings", ["ticket_id"])
    op.create_table(
        "hd_search_vectors",
        col("ticket_id", key()),
        col("shard", sa.Integer()),
        col("digest", key()),
        col("doc", sa.Text()),
        sa.ForeignKeyConstraint(["ticket_id"], ["hd_tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    op.create_table("hd_search_words", col("term", key()), sa.PrimaryKeyConstraint("term"))
    op.create_table(
        "hd_search_near",
        col("key", key()),
        col("term", key()),
        sa.PrimaryKeyConstraint("key", "term"),
    )
    op.create_table(
        "hd_search_stats",
        col("shard", sa.Integer(), autoincrement=False),
        col("field", key()),
        col("total", sa.BigInteger()),
        sa.PrimaryKeyConstraint("shard", "field"),
    )


def downgrade() -> None:
    for table in (
        "hd_search_stats",
        "hd_search_near",
        "hd_search_words",
        "hd_search_vectors",
        "hd_search_postings",
        "hd_article_uses",
        "hd_kb_gaps",
        "hd_articles",
    ):
        op.drop_table(table)
