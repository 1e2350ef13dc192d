"""Post-incident reviews (R-REV-1..3).

Revision ID: 0006_reviews
Revises: 0005_surveys
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_reviews"
down_revision = "0005_surveys"
branch_labels = None
depends_on = None


def key() -> sa.types.TypeEngine[str]:
    """Text ordered byte-wise: "C" collation on PostgreSQL (frozen copy of schema.Key)."""
    return sa.String().with_variant(sa.String(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "hd_reviews",
        sa.Column("id", key(), nullable=False),
        sa.Column("ticket_id", key(), nullable=False),
        sa.Column("state", key(), nullable=False),
        sa.Column("live_ticket", key(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.BigInteger(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("live_ticket"),
    )
    op.create_index("ix_hd_reviews_opened", "hd_reviews", ["opened_at", "id"])
    op.create_index("ix_hd_reviews_ticket", "hd_reviews", ["ticket_id", "opened_at"])


def downgrade() -> None:
    op.drop_table("hd_reviews")
