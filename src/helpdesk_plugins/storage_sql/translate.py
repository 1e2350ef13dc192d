"""Conditions -> SQL WHERE clauses with exactly the memory store's semantics.

:func:`translate` returns ``(clause, exact)``. ``clause`` is a superset filter (``None``: no
filter); when ``exact`` is true it selects exactly the tickets whose
:func:`~helpdesk_core.model.tickets.ticket_subject` the condition matches, otherwise the store
filters the candidates in Python with ``Condition.matches``. So a condition SQL cannot express
exactly (a plugin operator, a regular expression on PostgreSQL, an encrypted custom field) is
still answered correctly, only with more rows read.

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
- A field the ticket subject never has (``actor.*``...) is None: the leaf is a constant,
  computed by the condition itself.
- ``custom.*`` fields (and ``complexity``) are read from the ticket document with the
  database's JSON functions (SQLite ``json_type``/``json_extract``/``json_each``, PostgreSQL
  ``jsonb_typeof``/``->``/``->>``/``@>``), guarded by the JSON type so that a value of another
  type never matches, as in Python. Text comparisons are exact on both; numbers and booleans
  are exact on SQLite and a superset on PostgreSQL (checked again in Python). A sensitive
  field is encrypted in the document and always checked in Python.
- ``matches`` runs in SQL only on SQLite, through the ``hd_regexp`` function, and only when the
  pattern was compiled by the same engine the store's function uses (RE2 with the ``re2``
  extra). PostgreSQL's own regular expressions have another syntax and, by PostgreSQL's own
  documentation, can take arbitrary time on contrived patterns: there the other parts of the
  condition filter in SQL and the pattern is matched in Python by the condition's engine.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Final

import attrs
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from helpdesk_core.conditions import All, AnyOf, Compare, Condition, Const, Not
from helpdesk_core.model.customers import CUSTOMER_FIELDS
from helpdesk_core.model.fields import FIELD_SPEC
from helpdesk_plugins.storage_sql.schema import (
    customer_tags,
    customers,
    ticket_tags,
    tickets,
    to_micros,
)

Clause = ColumnElement[bool]

NULLABLE_TEXT: Final = frozenset(f.name for f in FIELD_SPEC.values() if f.column and f.nullable)
INT_COLUMNS: Final = frozenset(f.name for f in FIELD_SPEC.values() if f.column and f.kind == "int")
TIME_COLUMNS: Final = frozenset(
    f.name for f in FIELD_SPEC.values() if f.column and f.kind == "time"
)
DOC_FIELDS: Final = frozenset(f.name for f in FIELD_SPEC.values() if f.kind == "custom")
"""Subject fields read from ``ticket.custom`` under their own name (``complexity``)."""
SUBJECT_FIELDS: Final = frozenset(f.name for f in FIELD_SPEC.values() if f.condition)
_SAFE_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@attrs.frozen
class Dialect:
    """What a translation needs to know about the store."""

    name: str
    """``sqlite`` or ``postgresql``."""
    sealed: frozenset[str] = frozenset()
    """Custom fields encrypted in the document (never compared in SQL)."""
    regex_engine: str | None = None
    """The engine of the store's ``hd_regexp`` (SQLite); ``matches`` compiled by another engine
    is checked in Python."""


def _true() -> Clause:
    return sa.true()


def _false() -> Clause:
    return sa.false()


def _const(value: bool) -> Clause:
    return _true() if value else _false()


def translate(condition: Condition, dialect: str | Dialect) -> tuple[Clause | None, bool]:
    """``(superset clause or None, exact)`` for ``condition`` on ``dialect``."""
    target = dialect if isinstance(dialect, Dialect) else Dialect(dialect)
    return _translate(condition, target)


def _translate(condition: Condition, dialect: Dialect) -> tuple[Clause | None, bool]:
    if isinstance(condition, Const):
        return _const(condition.value), True
    if isinstance(condition, All):
        parts = [_translate(item, dialect) for item in condition.items]
        clauses = [c for c, _ in parts if c is not None]
        exact = all(e for _, e in parts)
        return (sa.and_(*clauses) if clauses else None), exact
    if isinstance(condition, AnyOf):
        parts = [_translate(item, dialect) for item in condition.items]
        if any(c is None for c, _ in parts):
            return None, False
        return sa.or_(*(c for c, _ in parts if c is not None)), all(e for _, e in parts)
    if isinstance(condition, Not):
        inner, exact = _translate(condition.item, dialect)
        if inner is None or not exact:
            return None, False
        return sa.not_(inner), True
    if isinstance(condition, Compare):
        return _leaf(condition, dialect)
    return None, False


def _customer_leaf(leaf: Compare, dialect: Dialect) -> Clause | None:
    """A ``customer.*`` leaf over the ticket requester's profile row."""
    name = leaf.field.removeprefix("customer.")
    if name == "tags":
        return _tags_leaf(
            leaf.op, leaf.value, customer_tags.c.customer_id, customer_tags.c.tag, "requester"
        )
    column = (
        sa.select(customers.c[name]).where(customers.c.id == tickets.c.requester).scalar_subquery()
    )
    return _scalar_leaf(column, "text", True, leaf.op, leaf.value, leaf, dialect)


def _leaf(leaf: Compare, dialect: Dialect) -> tuple[Clause | None, bool]:
    field, op, value = leaf.field, leaf.op, leaf.value
    if field in CUSTOMER_FIELDS:
        clause = _customer_leaf(leaf, dialect)
        return (clause, True) if clause is not None else (None, False)
    if field.startswith("custom.") or field in DOC_FIELDS:
        name = field[len("custom.") :] if field.startswith("custom.") else field
        if name in dialect.sealed or not _SAFE_NAME.match(name):
            return None, False
        return _json_leaf(leaf, _JsonValue(name, dialect.name), dialect)
    if field not in SUBJECT_FIELDS:
        return _const(leaf.matches({})), True  # never in a ticket subject: the value is None
    if field == "tags":
        clause = _tags_leaf(op, value, ticket_tags.c.ticket_id, ticket_tags.c.tag, "id")
    else:
        spec = FIELD_SPEC[field]
        clause = _scalar_leaf(tickets.c[field], spec.kind, spec.nullable, op, value, leaf, dialect)
    return (clause, True) if clause is not None else (None, False)


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
    leaf: Compare,
    dialect: Dialect,
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
            if dialect.name == "postgresql"
            else sa.func.instr(column, value)
        )
        return _present(column, nullable, position > 0)
    if op == "matches":
        if kind != "text":
            return _false()
        if not _regexp_in_sql(leaf, dialect):
            return None
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


def _regexp_in_sql(leaf: Compare, dialect: Dialect) -> bool:
    return (
        dialect.name == "sqlite"
        and dialect.regex_engine is not None
        and leaf.engine == dialect.regex_engine
    )


_TYPES: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "sqlite": {
        "null": ("null",),
        "text": ("text",),
        "number": ("integer", "real"),
        "bool": ("true", "false"),
        "array": ("array",),
        "object": ("object",),
    },
    "postgresql": {
        "null": ("null",),
        "text": ("string",),
        "number": ("number",),
        "bool": ("boolean",),
        "array": ("array",),
        "object": ("object",),
    },
}


class _JsonValue:
    """One custom value inside the ticket document: its JSON type (``null`` when absent) and
    its SQL forms, on SQLite or PostgreSQL."""

    def __init__(self, name: str, dialect: str) -> None:
        self.dialect = dialect
        self.types = _TYPES[dialect]
        if dialect == "postgresql":
            node = sa.cast(tickets.c.doc, JSONB)["custom"][name]
            self.node: Any = node
            self.type: Any = sa.func.coalesce(sa.func.jsonb_typeof(node), "null")
            self.text: Any = sa.cast(tickets.c.doc, JSONB)["custom"][name].astext.collate("C")
        else:
            self.path = f"$.custom.{name}"
            self.type = sa.func.coalesce(sa.func.json_type(tickets.c.doc, self.path), "null")
            self.text = sa.func.json_extract(tickets.c.doc, self.path)
            self.node = self.text

    def of(self, *kinds: str) -> Clause:
        """The value's JSON type is one of ``kinds`` (two-valued)."""
        names = [t for kind in kinds for t in self.types[kind]]
        return self.type.in_(names)  # type: ignore[no-any-return]

    def number_is(self, op: str, number: float) -> tuple[Clause, bool]:
        """Numbers and booleans compared as Python compares them (``True == 1``)."""
        if self.dialect == "sqlite":  # json_extract gives 1/0 for true/false: Python's order
            compare = _ORDER[op](self.text, number)
            return sa.and_(self.of("number", "bool"), compare), True
        numeric = sa.case(
            (self.type == "number", _ORDER[op](sa.cast(self.text, sa.Numeric), number)),
            else_=False,
        )
        return sa.or_(numeric, self.of("bool")), False  # booleans: checked in Python

    def member(self, value: str) -> Clause:
        """An array holding the string ``value``."""
        if self.dialect == "postgresql":
            return sa.and_(
                self.of("array"),
                self.node.op("@>")(sa.func.jsonb_build_array(sa.cast(value, sa.Text))),
            )
        each = sa.func.json_each(tickets.c.doc, self.path).table_valued("type", "value")
        found = sa.exists().where(each.c.type == "text", each.c.value == value)
        return sa.and_(self.of("array"), found)


_ORDER: Final[dict[str, Any]] = {
    "eq": lambda a, b: a == b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float)


def _json_eq(json: _JsonValue, value: Any) -> tuple[Clause | None, bool]:
    """``json == value`` as Python decides it."""
    if value is None:
        return json.of("null"), True
    if isinstance(value, str):
        return sa.and_(json.of("text"), json.text == value), True
    if _is_number(value):
        return json.number_is("eq", float(value) if isinstance(value, float) else int(value))
    if isinstance(value, datetime):
        return _false(), True  # a JSON value is never a datetime
    return None, False


def _json_leaf(leaf: Compare, json: _JsonValue, dialect: Dialect) -> tuple[Clause | None, bool]:
    op, value = leaf.op, leaf.value
    if op in ("eq", "ne"):
        clause, exact = _json_eq(json, value)
        if op == "eq" or clause is None:
            return clause, exact
        return (sa.not_(clause), True) if exact else (None, False)
    if op in ("in", "not_in"):
        parts = [_json_eq(json, item) for item in value if item is not None]
        if any(c is None for c, _ in parts):
            return None, False
        exact = all(e for _, e in parts)
        clause = sa.or_(*(c for c, _ in parts if c is not None)) if parts else _false()
        if op == "in":
            return clause, exact
        return (sa.not_(clause), True) if exact else (None, False)
    if op in ("gt", "gte", "lt", "lte"):
        if isinstance(value, str):
            return sa.and_(json.of("text"), _ORDER[op](json.text, value)), True
        if _is_number(value):
            return json.number_is(op, float(value) if isinstance(value, float) else int(value))
        if value is None or isinstance(value, datetime):
            return _false(), True  # None and datetimes never order against JSON values
        return None, False
    if op == "contains":
        if isinstance(value, str):
            position = (
                sa.func.strpos(json.text, value)
                if json.dialect == "postgresql"
                else sa.func.instr(json.text, value)
            )
            substring = sa.and_(json.of("text"), position > 0)
            return sa.or_(substring, json.member(value)), True
        return json.of("array"), False  # a list holding a number, a boolean or None
    if op == "matches":
        if _regexp_in_sql(leaf, dialect):
            found = sa.func.hd_regexp(sa.literal(value), json.text) == 1
            return sa.and_(json.of("text"), found), True
        return json.of("text"), False
    if op == "exists":
        empty = sa.or_(
            sa.and_(json.of("text"), json.text == ""),
            sa.and_(json.of("array", "object"), json.text.in_(["[]", "{}"])),
        )
        present = sa.and_(sa.not_(json.of("null")), sa.not_(empty))
        return (present if value else sa.not_(present)), True
    return None, False  # a plugin's operator: evaluated in Python
