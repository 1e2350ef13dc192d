"""PostgreSQL's top-k ticket search (issue 21): impact tiers bound every unread ticket's score,
so reading only the top tiers gives exactly the full ranking (the memory store's)."""

from __future__ import annotations

import importlib.util
import math
import random
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk_core.conditions import field_is
from helpdesk_core.ports import TextQuery
from helpdesk_core.search.index import B
from helpdesk_core.search.text import query_terms
from helpdesk_core.search.tickets import PUBLIC_FIELDS, TICKET_FIELDS, TICKET_WEIGHTS
from helpdesk_core.testing.postgres import POSTGRES_SKIP_REASON, postgres_url
from helpdesk_core.testing.storage_contract import new_ticket

sa = pytest.importorskip("sqlalchemy")

from helpdesk_plugins.storage_sql import open_storage, topk  # noqa: E402
from helpdesk_plugins.storage_sql.search import field_terms, joined, search_all  # noqa: E402
from helpdesk_plugins.storage_sql.store import SqlStorage  # noqa: E402


def _migration() -> ModuleType:
    path = Path(topk.__file__).parent / "migrations" / "versions" / "0008_search_topk.py"
    spec = importlib.util.spec_from_file_location("migration_0008", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


migration = _migration()
WORDS = [
    "refund",
    "order",
    "parcel",
    "late",
    "broken",
    "screen",
    "battery",
    "charger",
    "invoice",
    "address",
]


@given(
    counts=st.dictionaries(
        st.sampled_from(TICKET_FIELDS),
        st.tuples(st.integers(1, 50), st.integers(0, 5000)),
        min_size=1,
    ),
    averages=st.dictionaries(st.sampled_from(TICKET_FIELDS), st.floats(0.5, 5000.0)),
    fields=st.sets(st.sampled_from(TICKET_FIELDS), min_size=1),
)
def test_a_tier_bounds_the_pseudo_frequency_whatever_the_averages(
    counts: dict[str, tuple[int, int]], averages: dict[str, float], fields: set[str]
) -> None:
    """The bound the threshold stop relies on: p <= ceiling(tier(q)) * D for any corpus."""
    counts = {name: (tf, max(tf, length)) for name, (tf, length) in counts.items()}
    average = {name: averages.get(name, 1.0) for name in TICKET_FIELDS}
    p = sum(
        TICKET_WEIGHTS.get(name, 1.0) * tf / (1 - B + B * length / average[name])
        for name, (tf, length) in counts.items()
        if name in fields
    )
    d = max(1.0, *(average[f] / topk.REFERENCE[f] for f in fields))
    assert p <= topk.ceiling(topk.tier(topk.impact(counts))) * d


def test_the_migration_computes_the_tiers_as_the_code_does() -> None:
    columns = {name: (name, f"len_{name}") for name in TICKET_FIELDS}
    assert migration.tiered() == topk.tsvector_sql(columns)
    assert migration.REFERENCE == topk.REFERENCE
    assert (migration.BASE, migration.OFFSET, migration.TOP) == (topk.BASE, topk.OFFSET, topk.TOP)


@pytest.fixture
def pg() -> Iterator[SqlStorage]:
    base = postgres_url()
    if base is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    from helpdesk_plugins.storage_sql.scratch import scratch_schema

    with scratch_schema(base, "hd_topk") as url, open_storage(url) as opened:
        yield opened


def _corpus(rng: random.Random, n: int) -> list[tuple[str, str, str]]:
    def text(k: int) -> str:
        return " ".join(WORDS[min(int(rng.random() ** 2 * len(WORDS)), 9)] for _ in range(k))

    teams = ("after-sales", "vip")
    return [(text(rng.randint(1, 5)), text(rng.randint(0, 40)), teams[i % 2]) for i in range(n)]


@pytest.mark.postgres
@pytest.mark.parametrize("common", [topk.COMMON, 0])
def test_top_k_is_the_full_ranking(
    pg: SqlStorage, common: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small limits stop after a few tiers; the hits, order and scores are the full ranking's,
    inside a scope pushed into the statement, and with the partial path (typos, prefixes);
    ``common=0`` matches every term by its tier lexemes instead of a prefix match."""
    monkeypatch.setattr(topk, "COMMON", common)
    rng = random.Random(7)
    with pg.transaction() as uow:
        for n, (subject, description, team) in enumerate(_corpus(rng, 400), start=1):
            ticket, events = new_ticket(
                f"t{n:03d}", n, subject=subject, description=description, team=team
            )
            uow.save_ticket(ticket, events)
    scopes = [field_is("team", "eq", "vip"), field_is("subject", "contains", "e")]
    texts = ["refund", "refund order", "battery charger invoice", "refnd", "batt", "addres late"]
    for text in texts:
        for limit in (1, 3, 20):
            for where in (None, *scopes):
                query = TextQuery(tuple(query_terms(text)), PUBLIC_FIELDS, limit=limit)
                if where is not None:
                    query = TextQuery(query.terms, query.fields, where=where, limit=limit)
                with pg.transaction() as uow:
                    top = [(t.id, m.score, m.exact, m.terms) for t, m in uow.search_tickets(query)]
                    full = [
                        (t.id, m.score, m.exact, m.terms) for t, m in search_all(uow, pg, query)
                    ]
                assert top == full[:limit], (text, limit, where)
    with pg.transaction() as uow:
        holding = len(search_all(uow, pg, TextQuery(("order",), PUBLIC_FIELDS, limit=1000)))
    before = pg.search_rows_read
    with pg.transaction() as uow:
        assert len(uow.search_tickets(TextQuery(("order",), PUBLIC_FIELDS, limit=3))) == 3
    assert 3 <= pg.search_rows_read - before < holding / 2  # the top tiers only


@pytest.mark.postgres
def test_stored_lexemes_are_the_tiers(pg: SqlStorage) -> None:
    """What the write path stores is what migration 0008 computes from the row in SQL."""
    rng = random.Random(3)
    tickets = []
    with pg.transaction() as uow:
        for n, (subject, description, _) in enumerate(_corpus(rng, 30), start=1):
            ticket, events = new_ticket(f"m{n:02d}", n, subject=subject, description=description)
            uow.save_ticket(ticket, events)
            tickets.append(ticket)
    with pg.transaction() as uow:
        rows = uow.execute_read(
            sa.text(
                "SELECT ticket_id, tsvector_to_array(terms), "
                f"tsvector_to_array({migration.tiered()}) FROM hd_search_docs"
            )
        ).all()
    assert len(rows) == len(tickets)
    for ticket_id, stored, computed in rows:
        ticket = next(t for t in tickets if t.id == ticket_id)
        expected = topk.lexemes(field_terms(ticket))
        assert sorted(stored) == sorted(computed) == expected
        assert joined([]) == ""


def test_tiers_are_ordered_and_cover_every_impact() -> None:
    for q in (1e-6, 0.013, 0.5, 1.0, 1.25, 7.4, 100.0, 1e9):
        t = topk.tier(q)
        assert 0 <= t <= topk.TOP
        assert q <= topk.ceiling(t)
        assert t == 0 or q >= topk.ceiling(t - 1) / (1 + topk.MARGIN) - 1e-12
    assert math.isinf(topk.ceiling(topk.TOP))
