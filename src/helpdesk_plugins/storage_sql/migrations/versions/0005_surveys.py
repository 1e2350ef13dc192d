"""Satisfaction surveys (R-CSAT-1): one row per survey, its token kept only as a SHA-256 hash.

Revision ID: 0005_surveys
Revises: 0004_fts
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_surveys"
down_revision = "0004_fts"
branch_labels = None
depends_on = None


def key() -> sa.types.TypeEngine[str]:
    """Text ordered byte-wise: "C" collation on PostgreSQL (frozen copy of schema.Key)."""
    return sa.String().with_variant(sa.String(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "hd_surveys",
        sa.Column("id", key(), nullable=False),
        sa.Column("ticket_id", key(), nullable=False),
        sa.Column("token_hash", key(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("answered_at", sa.BigInteger(), nullable=True),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_hd_surveys_ticket", "hd_surveys", ["ticket_id", "created_at"])
    op.create_index("ix_hd_surveys_created", "hd_surveys", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_hd_surveys_created", table_name="hd_surveys")
    op.drop_index("ix_hd_surveys_ticket", table_name="hd_surveys")
    op.drop_table("hd_surveys")
