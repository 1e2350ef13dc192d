"""Conditions -> SQL WHERE clauses with exactly the memory store's semantics.

:func:`translate` returns ``(clause, exact)``. ``clause`` is a superset filter (``None``: no
filter); when ``exact`` is true it selects exactly the tickets whose
:func:`~helpdesk_core.model.tickets.ticket_subject` the condition matches, otherwise the store
filters the candidates in Python with ``Condition.matches``. So a condition SQL cannot express
exactly (``custom.*`` fields inside JSON, regular expressions on PostgreSQL, plugin operators)
is still answered correctly, only with more rows read.

Exactness rules that mirror :mod:`helpdesk_core.conditions`:

- Every translated leaf is two-valued (never SQL NULL), so ``not``/``any`` behave as in Python:
  a missing value (NULL) is ``eq`` only to None, never ``in`` a list, never ordered.
- A value of another type than the column (``priority == 3``) compares unequal and never
  orders, as Python's ``==``/``<`` do between ``str`` and ``int``.
- Text compares byte-wise ("C" collation on PostgreSQL), which is Python's code point order.
- ``customer.tier`` / ``organisation`` / ``industry`` / ``kind`` read the requester's row in
  ``hd_customers`` through a correlated scalar subquery (NULL, so None, when the requester has
  no record), and ``customer.tags`` an EXISTS on ``hd_customer_tags``: the ticket's subject
  carries its requester's current profile (:func:`~helpdesk_core.model.customers.customer_subject`).
- A field the ticket subject never has (``actor.*``...) is None: the leaf is a constant, computed
  by the condition itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from helpdesk_core.conditions import All, AnyOf, Compare, Condition, Const, Not
from helpdesk_core.model.customers import CUSTOMER_FIELDS
from helpdesk_plugins.storage_sql.schema import (
    TICKET_COLUMNS,
    customer_tags,
    customers,
    ticket_tags,
    tickets,
    to_micros,
)

Clause = ColumnElement[bool]

NULLABLE_TEXT: Final = frozenset(
    {"sub_category", "urgency", "requester", "organisation", "assignee", "team", "department"}
)
INT_COLUMNS: Final = frozenset({"tier", "version"})
TIME_COLUMNS: Final = frozenset({"created_at", "updated_at"})
PYTHON_ONLY_FIELDS: Final = frozenset({"complexity"})
"""Subject fields that live only in the JSON document (``custom.*`` too)."""
SUBJECT_FIELDS: Final = (
    frozenset(TICKET_COLUMNS) | INT_COLUMNS | TIME_COLUMNS | PYTHON_ONLY_FIELDS | {"tags"}
)


def _true() -> Clause:
    return sa.true()


def _false() -> Clause:
    return sa.false()


def _const(value: bool) -> Clause:
    return _true() if value else _false()


def translate(condition: Condition, dialect: str) -> tuple[Clause | None, bool]:
    """``(superset clause or None, exact)`` for ``condition`` on ``dialect``."""
    if isinstance(condition, Const):
        return _const(condition.value), True
    if isinstance(condition, All):
        parts = [translate(item, dialect) for item in condition.items]
        clauses = [c for c, _ in parts if c is not None]
        exact = all(e for _, e in parts)
        return (sa.and_(*clauses) if clauses else None), exact
    if isinstance(condition, AnyOf):
        parts = [translate(item, dialect) for item in condition.items]
        if any(c is None for c, _ in parts):
            return None, False
        return sa.or_(*(c for c, _ in parts if c is not None)), all(e for _, e in parts)
    if isinstance(condition, Not):
        inner, exact = translate(condition.item, dialect)
        if inner is None or not exact:
            return None, False
        return sa.not_(inner), True
    if isinstance(condition, Compare):
        clause = _leaf(condition, dialect)
        return (clause, True) if clause is not None else (None, False)
    return None, False


def _customer_leaf(field: str, op: str, value: Any, dialect: str) -> Clause | None:
    """A ``customer.*`` leaf over the ticket requester's profile row."""
    name = field.removeprefix("customer.")
    if name == "tags":
        return _tags_leaf(op, value, customer_tags.c.customer_id, customer_tags.c.tag, "requester")
    column = (
        sa.select(customers.c[name]).where(customers.c.id == tickets.c.requester).scalar_subquery()
    )
    return _scalar_leaf(column, "text", True, op, value, dialect)


def _leaf(leaf: Compare, dialect: str) -> Clause | None:
    field, op, value = leaf.field, leaf.op, leaf.value
    if field in CUSTOMER_FIELDS:
        return _customer_leaf(field, op, value, dialect)
    if field not in SUBJECT_FIELDS:
        if field.startswith("custom."):
            return None
        return _const(leaf.matches({}))  # never in a ticket subject: the value is None
    if field in PYTHON_ONLY_FIELDS:
        return None
    if field == "tags":
        return _tags_leaf(op, value, ticket_tags.c.ticket_id, ticket_tags.c.tag, "id")
    if field in INT_COLUMNS:
        kind = "int"
    elif field in TIME_COLUMNS:
        kind = "time"
    else:
        kind = "text"
    column = tickets.c[field]
    nullable = field in NULLABLE_TEXT
    return _scalar_leaf(column, kind, nullable, op, value, dialect)


def _convert(kind: str, value: Any) -> tuple[bool, Any]:
    """Whether ``value`` can equal/order against a column of ``kind``, and its SQL form."""
    if kind == "text":
        return isinstance(value, str), value
    if kind == "int":
        if isinstance(value, bool):
            return True, int(value)
        return isinstance(value, int | float), value
    if isinstance(value, datetime) and value.tzinfo is not None and value.utcoffset() is not None:
        return True, to_micros(value)
    return False, None


def _present(column: sa.ColumnElement[Any], nullable: bool, clause: Clause) -> Clause:
    return sa.and_(column.is_not(None), clause) if nullable else clause


def _scalar_leaf(
    column: sa.ColumnElement[Any],
    kind: str,
    nullable: bool,
    op: str,
    value: Any,
    dialect: str,
) -> Clause | None:
    # kind "time" and "int" columns are NOT NULL; only some text columns are nullable.
    if op in ("eq", "ne"):
        if value is None:
            clause = column.is_(None) if nullable else _false()
        else:
            ok, sql_value = _convert(kind, value)
            clause = _present(column, nullable, column == sql_value) if ok else _false()
        return clause if op == "eq" else sa.not_(clause)
    if op in ("in", "not_in"):
        values = []
        for item in value:
            ok, sql_value = _convert(kind, item)
            if ok and item is not None:
                values.append(sql_value)
        clause = _present(column, nullable, column.in_(values)) if values else _false()
        return clause if op == "in" else sa.not_(clause)
    if op in ("gt", "gte", "lt", "lte"):
        ok, sql_value = _convert(kind, value)
        if not ok:
            return _false()
        compare = {
            "gt": column > sql_value,
            "gte": column >= sql_value,
            "lt": column < sql_value,
            "lte": column <= sql_value,
        }[op]
        return _present(column, nullable, compare)
    if op == "contains":
        if kind != "text" or not isinstance(value, str):
            return _false()
        position = (
            sa.func.strpos(column, value)
            if dialect == "postgresql"
            else sa.func.instr(column, value)
        )
        return _present(column, nullable, position > 0)
    if op == "matches":
        if kind != "text":
            return _false()
        if dialect != "sqlite":
            return None  # PostgreSQL's POSIX regex is not Python's `re`: filter in Python
        return _present(column, nullable, sa.func.hd_regexp(sa.literal(value), column) == 1)
    if op == "exists":
        if kind == "text":
            present: Clause = sa.and_(column.is_not(None), column != "")
        else:
            present = _true()
        return present if value else sa.not_(present)
    return None  # a plugin's operator: evaluated in Python


def _tags_leaf(
    op: str, value: Any, owner: sa.Column[Any], tag: sa.Column[Any], ticket_column: str
) -> Clause | None:
    """A set of tags (``tags``, ``customer.tags``) in a tag table whose ``owner`` column holds
    the ticket's ``ticket_column``: only ``contains``, ``exists`` and their negations can hold."""
    if op == "contains":
        if not isinstance(value, str):
            return _false()
        return sa.exists().where(owner == tickets.c[ticket_column], tag == value)
    if op == "exists":
        any_tag = sa.exists().where(owner == tickets.c[ticket_column])
        return any_tag if value else sa.not_(any_tag)
    if op in ("ne", "not_in"):
        return _true()  # a set never equals a scalar nor is a member of a list of scalars
    if op in ("eq", "in", "gt", "gte", "lt", "lte", "matches"):
        return _false()
    return None
