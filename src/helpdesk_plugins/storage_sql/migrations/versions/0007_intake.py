"""Email and web intake: intake records (with raw bytes), the received Message-ID index,
attachments and the acknowledgement log.

Revision ID: 0007_intake
Revises: 0006_reviews
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_intake"
down_revision = "0006_reviews"
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
        "hd_intake",
        pos(),
        col("id", key()),
        col("dedupe_key", key()),
        col("at", sa.BigInteger()),
        col("outcome", key()),
        col("promoted_to", key(), True),
        col("doc", sa.Text()),
        col("raw", sa.LargeBinary(), True),
        sa.PrimaryKeyConstraint("pos"),
        sa.UniqueConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    op.create_index("ix_hd_intake_outcome", "hd_intake", ["outcome", "at", "pos"])
    op.create_index("ix_hd_intake_at", "hd_intake", ["at", "pos"])
    op.create_table(
        "hd_message_index",
        col("message_id", key()),
        col("ticket_id", key()),
        sa.PrimaryKeyConstraint("message_id"),
    )
    op.create_table(
        "hd_attachments",
        pos(),
        col("id", key()),
        col("ticket_id", key()),
        col("message_id", key(), True),
        col("filename", sa.Text()),
        col("content_type", key()),
        col("at", sa.BigInteger()),
        col("content", sa.LargeBinary()),
        sa.PrimaryKeyConstraint("pos"),
        sa.UniqueConstraint("id"),
    )
    op.create_index("ix_hd_attachments_ticket", "hd_attachments", ["ticket_id", "pos"])
    op.create_table(
        "hd_acknowledgements",
        pos(),
        col("address", key()),
        col("at", sa.BigInteger()),
        sa.PrimaryKeyConstraint("pos"),
    )
    op.create_index("ix_hd_acknowledgements_address", "hd_acknowledgements", ["address", "at"])


def downgrade() -> None:
    for table in ("hd_acknowledgements", "hd_attachments", "hd_message_index", "hd_intake"):
        op.drop_table(table)
