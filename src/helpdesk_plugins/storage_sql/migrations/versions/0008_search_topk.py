"""Impact tiers in the PostgreSQL search tsvector, for top-k ticket search (issue 21).

Each lexeme of ``hd_search_docs.terms`` becomes ``term<US>NN``: the term and its impact tier
(see ``helpdesk_plugins/storage_sql/topk.py``). The tiers are computed here in SQL from the
row's own field texts and lengths, so existing tickets need no reindex. SQLite is unchanged.
Downgrade puts the plain terms back.

Revision ID: 0008_search_topk
Revises: 0007_intake
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0008_search_topk"
down_revision = "0007_intake"
branch_labels = None
depends_on = None

# frozen copies of topk.SEARCH_FIELDS weights, REFERENCE, BASE, OFFSET, TOP and schema B
FIELDS = ("number", "subject", "description", "messages", "notes")
WEIGHTS = {"number": 3.0, "subject": 2.0}
REFERENCE = {"number": 1.0, "subject": 6.0, "description": 40.0, "messages": 80.0, "notes": 30.0}
BASE, OFFSET, TOP, B = 1.25, 20, 59, 0.75


def tiered() -> str:
    """The tiered tsvector of a row (frozen copy of ``topk.tsvector_sql`` over the columns)."""
    parts = " UNION ALL ".join(
        f"SELECT unnest(string_to_array({name}, ' ')) k, {i} f, "
        f"CAST({WEIGHTS.get(name, 1.0)!r} AS float8) w, CAST(len_{name} AS float8) l, "
        f"CAST({REFERENCE[name]!r} AS float8) r"
        for i, name in enumerate(FIELDS)
    )
    return (
        "(SELECT coalesce(array_to_tsvector(array_agg("
        f"x.k || chr(31) || lpad(CAST(x.t AS text), 2, '0'))), CAST('' AS tsvector)) FROM ("
        f"SELECT y.k, least({TOP}, greatest(0, CAST(floor(ln(sum("
        f"y.w * y.tf / ({1.0 - B!r} + {B!r} * y.l / y.r))) / ln({BASE!r})) AS int) + {OFFSET})) t "
        "FROM (SELECT z.k, z.f, z.w, z.l, z.r, count(*) tf "
        f"FROM ({parts}) z WHERE z.k <> '' GROUP BY z.k, z.f, z.w, z.l, z.r) y "
        "GROUP BY y.k) x)"
    )


def plain() -> str:
    joined = " || ' ' || ".join(FIELDS)
    return (
        "(SELECT coalesce(array_to_tsvector(array_agg(DISTINCT k)), CAST('' AS tsvector)) "
        f"FROM unnest(string_to_array({joined}, ' ')) k WHERE k <> '')"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute(f"UPDATE hd_search_docs SET terms = {tiered()}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute(f"UPDATE hd_search_docs SET terms = {plain()}")
