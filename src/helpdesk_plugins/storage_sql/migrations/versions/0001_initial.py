"""Initial schema: tickets, tags, events, counters, outbox, audit, grants, agents, state,
escalation schedule and firings.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
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
        "hd_tickets",
        col("id", key()),
        col("number", key()),
        col("subject", key()),
        col("type", key()),
        col("sub_category", key(), True),
        col("priority", key()),
        col("urgency", key(), True),
        col("channel", key()),
        col("status", key()),
        col("status_category", key()),
        col("requester", key(), True),
        col("organisation", key(), True),
        col("assignee", key(), True),
        col("team", key(), True),
        col("department", key(), True),
        col("created_by", key()),
        col("tier", sa.Integer()),
        col("version", sa.Integer()),
        col("created_at", sa.BigInteger()),
        col("updated_at", sa.BigInteger()),
        col("doc", sa.Text()),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    for name, columns in (
        ("assignee", ["assignee", "created_at"]),
        ("created", ["created_at", "id"]),
        ("department", ["department", "created_at"]),
        ("organisation", ["organisation", "created_at"]),
        ("requester", ["requester", "created_at"]),
        ("status", ["status_category", "status"]),
        ("team", ["team", "created_at"]),
        ("updated", ["updated_at", "id"]),
    ):
        op.create_index(f"ix_hd_tickets_{name}", "hd_tickets", columns)
    op.create_table(
        "hd_ticket_tags",
        col("ticket_id", key()),
        col("tag", key()),
        sa.ForeignKeyConstraint(["ticket_id"], ["hd_tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ticket_id", "tag"),
    )
    op.create_index("ix_hd_ticket_tags_tag", "hd_ticket_tags", ["tag", "ticket_id"])
    op.create_table(
        "hd_events",
        col("ticket_id", key()),
        col("seq", sa.Integer(), autoincrement=False),
        col("kind", key()),
        col("at", sa.BigInteger()),
        col("actor", key()),
        col("data", sa.Text()),
        sa.ForeignKeyConstraint(["ticket_id"], ["hd_tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ticket_id", "seq"),
    )
    op.create_table(
        "hd_counters",
        col("name", key()),
        col("value", sa.BigInteger()),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "hd_outbox",
        pos(),
        col("id", key()),
        col("key", key()),
        col("topic", key()),
        col("payload", sa.Text()),
        col("created_at", sa.BigInteger()),
        col("available_at", sa.BigInteger()),
        col("state", key()),
        col("attempts", sa.Integer()),
        col("last_error", sa.Text(), True),
        col("claimed_by", key(), True),
        col("lease_until", sa.BigInteger(), True),
        sa.PrimaryKeyConstraint("pos"),
        sa.UniqueConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_hd_outbox_pending", "hd_outbox", ["state", "available_at", "pos"])
    op.create_table(
        "hd_audit",
        pos(),
        col("id", key()),
        col("at", sa.BigInteger()),
        col("actor", key()),
        col("action", key()),
        col("target", key(), True),
        col("allowed", sa.Boolean()),
        col("rule", sa.Text(), True),
        col("detail", sa.Text(), True),
        sa.PrimaryKeyConstraint("pos"),
        sa.UniqueConstraint("id"),
    )
    op.create_index("ix_hd_audit_actor", "hd_audit", ["actor", "pos"])
    op.create_index("ix_hd_audit_target", "hd_audit", ["target", "pos"])
    op.create_table(
        "hd_grants",
        pos(),
        col("id", key()),
        col("state", key()),
        col("doc", sa.Text()),
        sa.PrimaryKeyConstraint("pos"),
        sa.UniqueConstraint("id"),
    )
    op.create_index("ix_hd_grants_state", "hd_grants", ["state", "pos"])
    op.create_table(
        "hd_agents", col("id", key()), col("doc", sa.Text()), sa.PrimaryKeyConstraint("id")
    )
    op.create_table(
        "hd_state", col("key", key()), col("doc", sa.Text()), sa.PrimaryKeyConstraint("key")
    )
    op.create_table(
        "hd_schedule",
        col("ticket_id", key()),
        col("next_check_at", sa.BigInteger(), True),
        col("lease_owner", key(), True),
        col("lease_until", sa.BigInteger(), True),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    op.create_index("ix_hd_schedule_due", "hd_schedule", ["next_check_at"])
    op.create_table(
        "hd_firings",
        pos(),
        col("key", key()),
        col("ticket_id", key()),
        col("policy", key()),
        col("level", sa.Integer()),
        col("metric", key()),
        col("cycle", sa.Integer()),
        col("at", sa.BigInteger()),
        col("worker", key()),
        sa.PrimaryKeyConstraint("pos"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_hd_firings_ticket", "hd_firings", ["ticket_id", "pos"])


def downgrade() -> None:
    for table in (
        "hd_firings",
        "hd_schedule",
        "hd_state",
        "hd_agents",
        "hd_grants",
        "hd_audit",
        "hd_outbox",
        "hd_counters",
        "hd_events",
        "hd_ticket_tags",
        "hd_tickets",
    ):
        op.drop_table(table)
