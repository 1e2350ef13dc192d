"""Customers: profiles, their tags, contact lookups and profile events (issue 20).

Revision ID: 0002_customers
Revises: 0001_initial
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_customers"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def key() -> sa.types.TypeEngine[str]:
    """Text ordered byte-wise: "C" collation on PostgreSQL (frozen copy of schema.Key)."""
    return sa.String().with_variant(sa.String(collation="C"), "postgresql")


def col(name: str, type_: sa.types.TypeEngine, null: bool = False, **kw: object) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, type_, nullable=null, **kw)  # type: ignore[arg-type]


def owner() -> list[sa.schema.SchemaItem]:
    return [
        col("customer_id", key()),
        sa.ForeignKeyConstraint(["customer_id"], ["hd_customers.id"], ondelete="CASCADE"),
    ]


def upgrade() -> None:
    op.create_table(
        "hd_customers",
        col("id", key()),
        col("kind", key()),
        col("name", sa.Text()),
        col("organisation", key(), True),
        col("industry", key(), True),
        col("tier", key()),
        col("merged_into", key(), True),
        col("version", sa.Integer()),
        col("created_at", sa.BigInteger()),
        col("updated_at", sa.BigInteger()),
        col("doc", sa.Text()),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_hd_customers_tier", "hd_customers", ["tier", "id"])
    op.create_index("ix_hd_customers_organisation", "hd_customers", ["organisation", "id"])
    op.create_table(
        "hd_customer_tags",
        *owner(),
        col("tag", key()),
        sa.PrimaryKeyConstraint("customer_id", "tag"),
    )
    op.create_index("ix_hd_customer_tags_tag", "hd_customer_tags", ["tag", "customer_id"])
    op.create_table(
        "hd_customer_contacts",
        *owner(),
        col("key", key()),
        sa.PrimaryKeyConstraint("customer_id", "key"),
    )
    op.create_index("ix_hd_customer_contacts_key", "hd_customer_contacts", ["key", "customer_id"])
    op.create_table(
        "hd_customer_events",
        *owner(),
        col("seq", sa.Integer(), autoincrement=False),
        col("kind", key()),
        col("at", sa.BigInteger()),
        col("actor", key()),
        col("data", sa.Text()),
        sa.PrimaryKeyConstraint("customer_id", "seq"),
    )


def downgrade() -> None:
    op.drop_table("hd_customer_events")
    op.drop_table("hd_customer_contacts")
    op.drop_table("hd_customer_tags")
    op.drop_table("hd_customers")
