"""The SQL condition translator selects exactly what ``Condition.matches`` selects.

A hypothesis property over random conditions (every operator, mixed value types, NULLs,
negation, nesting, custom fields) against one population of tickets, on SQLite and PostgreSQL:
the store's query and count equal filtering in Python (the memory store's semantics).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk_core.conditions import Condition, compile_condition
from helpdesk_core.config import default_registry
from helpdesk_core.model.events import Event
from helpdesk_core.model.tickets import Ticket, ticket_subject
from helpdesk_core.ports import TicketQuery
from helpdesk_core.testing.storage_contract import T0, new_ticket
from helpdesk_plugins.storage_sql import open_storage
from helpdesk_plugins.storage_sql.store import SqlStorage
from helpdesk_plugins.storage_sql.translate import Dialect, translate

CONDITIONS_REGISTRY = default_registry().conditions
"""The built-in plugins' condition registry: ``matches`` compiles with RE2 (extra ``re2``)."""


def compiled(data: Any) -> Condition:
    return compile_condition(data, registry=CONDITIONS_REGISTRY)


TEXT = ["high", "low", "tech", "after-sales", "", "Ticket 1", "T00000003", "C1", "é", "ü-x"]
FIELDS = [
    "priority",
    "team",
    "assignee",
    "requester",
    "subject",
    "number",
    "status",
    "urgency",
    "tier",
    "version",
    "created_at",
    "tags",
    "custom.order",
    "custom.amount",
    "custom.labels",
    "custom.flag",
    "complexity",
    "customer.tier",
]
VALUES = st.one_of(
    st.sampled_from(TEXT),
    st.none(),
    st.booleans(),
    st.integers(-1, 4),
    st.sampled_from([1.0, 2.5]),
    st.sampled_from(
        [
            T0,
            T0 + timedelta(minutes=3),
            datetime(2026, 11, 2, 9, 3),  # naive: never comparable
            "2026-11-02T09:00:00+00:00",
        ]
    ),
)
PATTERNS = st.sampled_from(["^Ticket 1", "[0-9]$", "tech|high", "^$", "é"])


def leaf() -> st.SearchStrategy[dict[str, Any]]:
    def build(field: str, op: str, value: Any, values: list[Any], pattern: str) -> dict[str, Any]:
        if op in ("in", "not_in"):
            return {field: {op: values}}
        if op == "matches":
            return {field: {op: pattern}}
        if op == "exists":
            return {field: {op: bool(value)}}
        return {field: {op: value}}

    return st.builds(
        build,
        st.sampled_from(FIELDS),
        st.sampled_from(
            ["eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "contains", "matches", "exists"]
        ),
        VALUES,
        st.lists(VALUES, max_size=3),
        PATTERNS,
    )


CONDITIONS = st.recursive(
    leaf(),
    lambda inner: st.one_of(
        st.builds(lambda xs: {"all": xs}, st.lists(inner, max_size=3)),
        st.builds(lambda xs: {"any": xs}, st.lists(inner, max_size=3)),
        st.builds(lambda x: {"not": x}, inner),
    ),
    max_leaves=6,
)


def _population() -> list[tuple[Ticket, list[Event]]]:
    return [
        new_ticket(
            f"t{i:03d}",
            i,
            at=T0 + timedelta(minutes=i % 5),
            priority=("urgent", "high", "normal", "low")[i % 4],
            team=("after-sales", "tech", None, "")[i % 4],
            assignee=(None, "a1", "é")[i % 3],
            urgency=(None, "high", "")[i % 3],
            subject=("Ticket 1", "Ticket 12", "tech issue", "ü-x")[i % 4],
            tags=frozenset([frozenset(), {"vip"}, {"vip", "tech"}][i % 3]),
            custom=[
                {},
                {"order": "A1", "amount": 3, "labels": ["vip", "tech"], "flag": True},
                {"order": None, "amount": 2.5, "labels": [], "flag": False},
                {"order": "", "amount": 1, "labels": ["high"], "complexity": 4},
                {"order": "Ticket 12", "amount": 0, "flag": None, "complexity": 0},
            ][i % 5],
        )
        for i in range(36)
    ]


POPULATION = _population()
TICKETS = [ticket for ticket, _ in POPULATION]


def _store(url: str) -> SqlStorage:
    store = open_storage(url)
    with store.transaction() as uow:
        for ticket, events in POPULATION:
            uow.save_ticket(ticket, events)
    return store


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlStorage]:
    store = _store(f"sqlite:///{tmp_path_factory.mktemp('tr') / 'desk.db'}")
    yield store
    store.close()


def _check(store: SqlStorage, condition: Condition) -> None:
    expected = sorted((t.created_at, t.id) for t in TICKETS if condition.matches(ticket_subject(t)))
    with store.transaction() as uow:
        got = uow.query_tickets(TicketQuery(where=condition, limit=None))
        assert [(t.created_at, t.id) for t in got] == expected, condition.to_data()
        assert uow.count_tickets(condition) == len(expected)
        page = uow.query_tickets(TicketQuery(where=condition, limit=5))
        assert [(t.created_at, t.id) for t in page] == expected[:5]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CONDITIONS)
def test_sqlite_translation_equals_python(sqlite_store: SqlStorage, data: Any) -> None:
    _check(sqlite_store, compiled(data))


@pytest.mark.postgres
def test_postgres_translation_equals_python(pg_url: str) -> None:
    store = _store(pg_url)
    try:

        @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(CONDITIONS)
        def run(data: Any) -> None:
            _check(store, compiled(data))

        run()
    finally:
        store.close()


@pytest.mark.parametrize(
    ("condition", "exact_sqlite", "exact_pg"),
    [
        ({"team": "tech", "priority": {"in": ["high"]}}, True, True),
        ({"tags": {"contains": "vip"}}, True, True),
        ({"subject": {"matches": "^T"}}, True, False),
        ({"custom.order": "A1"}, True, True),
        ({"any": [{"team": "tech"}, {"custom.order": {"in": ["A1", "B2"]}}]}, True, True),
        ({"not": {"custom.labels": {"contains": "vip"}}}, True, True),
        ({"custom.amount": {"gte": 2}}, True, False),
        ({"custom.secret": "x"}, False, False),
        ({"customer.tier": "vip"}, True, True),
        ({"customer.tags": {"contains": "frequent buyer"}, "customer.kind": "company"}, True, True),
        ({"not": {"customer.organisation": {"in": ["acme"]}}}, True, True),
    ],
)
def test_what_runs_in_sql(condition: dict[str, Any], exact_sqlite: bool, exact_pg: bool) -> None:
    """Scope and list filters run entirely in SQL, custom fields through the JSON functions
    (issue 17 defect 8); numbers on PostgreSQL, regular expressions on PostgreSQL and encrypted
    fields are a superset checked again in Python."""
    condition_ = compiled(condition)
    sealed = frozenset({"secret"})
    assert translate(condition_, Dialect("sqlite", sealed, "re2"))[1] is exact_sqlite
    assert translate(condition_, Dialect("postgresql", sealed, "re2"))[1] is exact_pg


def test_a_pattern_of_another_engine_is_matched_in_python() -> None:
    python_re = compile_condition({"subject": {"matches": "^T"}})  # no registry: Python's re
    assert translate(python_re, Dialect("sqlite", regex_engine="re2")) == (None, False)


def test_a_partial_translation_still_pages_correctly(sqlite_store: SqlStorage) -> None:
    registry = CONDITIONS_REGISTRY.with_prefixes()
    registry.add_operator("odd", lambda value, _: isinstance(value, int) and value % 2 == 1)
    condition = compile_condition(
        {"all": [{"team": {"ne": "tech"}}, {"custom.amount": {"odd": True}}]}, registry=registry
    )
    assert translate(condition, "sqlite")[1] is False  # the plugin operator runs in Python
    expected = sorted(
        ((t.created_at, t.id) for t in TICKETS if condition.matches(ticket_subject(t))),
        reverse=True,
    )
    seen: list[tuple[datetime, str]] = []
    after = None
    with sqlite_store.transaction() as uow:
        while True:
            page = uow.query_tickets(
                TicketQuery(where=condition, descending=True, after=after, limit=2)
            )
            if not page:
                break
            seen.extend((t.created_at, t.id) for t in page)
            after = (page[-1].created_at, page[-1].id)
    assert seen == expected and len(seen) > 2
    assert all(at.tzinfo is UTC for at, _ in seen)
