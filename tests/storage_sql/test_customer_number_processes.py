"""Customer numbers stay unique when many processes create customers at once on PostgreSQL
(and SQLite): issue 20, R-CUS-1."""

from __future__ import annotations

import multiprocessing as mp
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from helpdesk_core.customer_commands import create_customer_in
from helpdesk_core.customers import CustomersConfig
from helpdesk_plugins.storage_sql import open_storage

FORK = mp.get_context("fork")
NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


def _creator(url: str, count: int) -> None:
    store = open_storage(url)
    try:
        for _ in range(count):
            with store.transaction() as uow:
                create_customer_in(
                    uow,
                    actor="intake",
                    now=NOW,
                    settings=CustomersConfig(),
                    timezone="Asia/Shanghai",
                    name="walk-in",
                )
    finally:
        store.close()


def _run(url: str, processes: int, each: int) -> None:
    open_storage(url).close()  # migrate once before the race
    workers = [FORK.Process(target=_creator, args=(url, each)) for _ in range(processes)]
    for proc in workers:
        proc.start()
    for proc in workers:
        proc.join(timeout=600)
        assert proc.exitcode == 0
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        ids = [row[0] for row in conn.execute(sa.text("SELECT id FROM hd_customers"))]
    engine.dispose()
    assert len(ids) == processes * each
    assert len(set(ids)) == len(ids)
    assert sorted(ids)[0] == "C20261122001"
    assert all(i.startswith("C20261122") and len(i) in (12, 13) for i in ids)


@pytest.mark.postgres
def test_postgres_many_processes_allocate_distinct_numbers(pg_url: str) -> None:
    _run(pg_url, 12, 15)


def test_sqlite_many_processes_allocate_distinct_numbers(sqlite_url: str) -> None:
    _run(sqlite_url, 4, 10)
