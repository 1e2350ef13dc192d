"""Report facts: one row per ticket with what the reports read of it (issue 24).

The table starts empty: until a ticket's next command writes its facts, or ``helpdesk db
reindex --config ...`` computes them for every stored ticket, reports fold that ticket's
events instead (same figures, slower). The facts need the desk's SLA configuration, which a
migration does not have.

Revision ID: 0009_report_facts
Revises: 0007_intake
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_report_facts"
down_revision = "0008_search_topk"
branch_labels = None
depends_on = None


def key() -> sa.types.TypeEngine[str]:
    """Text ordered byte-wise: "C" collation on PostgreSQL (frozen copy of schema.Key)."""
    return sa.String().with_variant(sa.String(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "hd_report_facts",
        sa.Column("ticket_id", key(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["hd_tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ticket_id"),
    )


def downgrade() -> None:
    op.drop_table("hd_report_facts")
