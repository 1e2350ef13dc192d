"""`helpdesk db reindex` rebuilds the SQL search tables; every store ranks the labelled set
alike (issue 21: "the same results on the labelled set")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpdesk_core.ports import Storage, TextQuery
from helpdesk_core.search.text import query_terms
from helpdesk_core.search.tickets import PUBLIC_FIELDS
from helpdesk_core.testing.postgres import POSTGRES_SKIP_REASON, postgres_url
from helpdesk_core.testing.storage_contract import new_ticket
from helpdesk_plugins.cli import main
from helpdesk_plugins.storage_memory import MemoryStorage

sa = pytest.importorskip("sqlalchemy")

from helpdesk_plugins.storage_sql import open_storage  # noqa: E402

LABELLED = Path(__file__).parents[2] / "benchmarks" / "search_data" / "labelled_set.json"


def load_labelled(store: Storage) -> dict[str, object]:
    data: dict[str, object] = json.loads(LABELLED.read_text(encoding="utf-8"))
    with store.transaction() as uow:
        for n, t in enumerate(data["tickets"], start=1):  # type: ignore[arg-type]
            ticket, events = new_ticket(
                t["id"], n, number=t["number"], subject=t["subject"], description=t["description"]
            )
            uow.save_ticket(ticket, events)
    return data


def ranking(store: Storage, queries: list[dict[str, str]]) -> list[list[tuple[str, float]]]:
    found = []
    with store.transaction() as uow:
        for q in queries:
            query = TextQuery(tuple(query_terms(q["query"])), PUBLIC_FIELDS, limit=10)
            found.append([(t.id, round(m.score, 9)) for t, m in uow.search_tickets(query)])
    return found


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'search.db'}"
        return
    from helpdesk_plugins.storage_sql.scratch import scratch_schema

    base = postgres_url()
    if base is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    with scratch_schema(base, "hd_search") as url:
        yield url


def test_memory_and_sql_rank_the_labelled_set_alike_and_reindex_keeps_it(sql_url: str) -> None:
    memory = MemoryStorage()
    data = load_labelled(memory)
    queries: list[dict[str, str]] = data["queries"]  # type: ignore[assignment]
    expected = ranking(memory, queries)
    assert sum(len(r) for r in expected) > 300
    with open_storage(sql_url) as store:
        load_labelled(store)
        assert ranking(store, queries) == expected
        with store.transaction() as uow:
            if uow.dialect == "sqlite":
                uow.execute_write(
                    sa.text("INSERT INTO hd_search_fts(hd_search_fts) VALUES ('delete-all')")
                )
            for table in ("hd_search_docs", "hd_search_stats"):
                uow.execute_write(sa.text(f"DELETE FROM {table}"))
        assert ranking(store, queries[:3]) == [[], [], []]
    assert main(["db", "reindex", "--url", sql_url]) == 0
    with open_storage(sql_url) as store:
        assert ranking(store, queries) == expected
