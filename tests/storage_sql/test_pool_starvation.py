"""A server's threads can hold every pooled connection at once (issue 25's scale-out load did):
the connections that hand out ticket numbers and claims at once must still be reachable, and a
unit of work that waits out the pool's timeout gets a StorageError, not a driver error."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from helpdesk_core import Actor, Helpdesk
from helpdesk_core.config import load_config
from helpdesk_core.errors import StorageError
from helpdesk_plugins.storage_sql.store import SqlStorage

MAX_OVERFLOW = 20  # make_engine's


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest) -> Iterator[str]:
    yield request.getfixturevalue(f"{'pg' if request.param == 'postgres' else 'sqlite'}_url")


def test_a_ticket_number_never_waits_for_the_pool_the_units_hold(url: str) -> None:
    config = load_config({"storage": {"pool_size": 1, "encryption": "off"}})
    with SqlStorage(url, config) as store:
        # every pooled connection but one is held elsewhere, the last one by this unit
        held = [store.engine.connect() for _ in range(MAX_OVERFLOW)]
        try:
            numbers: list[int] = []

            def number() -> None:
                with store.transaction() as uow:
                    numbers.append(uow.next_number("ticket:20261102"))
                    with store.autocommit() as conn:  # a claim's connection, too
                        conn.exec_driver_sql("SELECT 1")

            worker = threading.Thread(target=number)
            worker.start()
            worker.join(timeout=20)  # the pool's timeout is 30 s: a wait on it fails this
            assert not worker.is_alive(), "a ticket number waited for a pooled connection"
            assert numbers == [1]
        finally:
            for conn in held:
                conn.close()


def test_a_unit_that_waits_out_the_pool_timeout_is_a_storage_error(url: str) -> None:
    engine = sa.create_engine(url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    try:
        with (
            Helpdesk(storage_url=engine, load_entrypoints=False) as desk,
            engine.connect(),  # the pool's only connection
            pytest.raises(StorageError, match=r"pooled connection .* pool_size"),
        ):
            desk.open_ticket(Actor(id="C1", roles={"customer"}), subject="Hi", channel="web_form")
    finally:
        engine.dispose()
