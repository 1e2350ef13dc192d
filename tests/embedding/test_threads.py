"""One ``Helpdesk`` shared by the threads of a threaded server (issue 25, "Embedding": thread
safety stated in docs/embedding.md and tested here; R-DATA: nothing lost, numbers unique)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from embedding_hosts import CONFIG, Observer

from helpdesk_core import Actor, Helpdesk
from helpdesk_core.model.tickets import Ticket

sa = pytest.importorskip("sqlalchemy")

THREADS = 8
TICKETS_PER_THREAD = 4


def run_threads(desk: Helpdesk, agent: Actor) -> tuple[list[Ticket], list[BaseException]]:
    """Each thread opens tickets and replies to each, as a request handler would; they start
    together (a barrier) so their commands interleave. Every ticket has a customer of its own,
    so duplicate detection adds no events of its own."""
    start = threading.Barrier(THREADS)
    opened: list[Ticket] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def handler(n: int) -> None:
        try:
            start.wait()
            for i in range(TICKETS_PER_THREAD):
                ticket = desk.open_ticket(
                    agent, subject=f"order {n}-{i}", channel="email", customer_id=f"C{n}x{i}"
                )
                desk.reply(agent, ticket.id, f"answer {n}.{i}")
                with lock:
                    opened.append(ticket)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=handler, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return opened, errors


@pytest.mark.parametrize("reach", ["url", "engine"])
def test_one_desk_shared_by_eight_threads(
    reach: str, engine: Any, observer: Observer, agent: Actor
) -> None:
    """8 threads x 4 tickets, each opened and answered on one shared desk (by URL and on the
    host's engine): no errors, every command's events stored and heard once, ticket numbers
    unique."""
    storage: object = engine if reach == "engine" else engine.url.render_as_string(False)
    with Helpdesk(
        config=CONFIG, storage_url=storage, plugins=[observer], load_entrypoints=False
    ) as desk:
        opened, errors = run_threads(desk, agent)
        assert errors == []
        assert len(opened) == THREADS * TICKETS_PER_THREAD
        assert len({t.number for t in opened}) == len(opened)
        for ticket in opened:
            kinds = [e.kind for e in desk.history(agent, ticket.id)]
            assert kinds == ["ticket_created", "replied"]
        assert sorted(observer.heard) == sorted(
            (kind, t.id) for t in opened for kind in ("ticket_created", "replied")
        )
    with engine.connect() as conn:
        events = conn.exec_driver_sql("SELECT count(*) FROM hd_events").scalar_one()
    assert events == 2 * THREADS * TICKETS_PER_THREAD


def test_one_memory_desk_shared_by_eight_threads(agent: Actor) -> None:
    """The same on the in-memory store (tests and demos share desks between threads too)."""
    with Helpdesk(config=CONFIG, load_entrypoints=False) as desk:
        opened, errors = run_threads(desk, agent)
        assert errors == []
        assert len({t.number for t in opened}) == THREADS * TICKETS_PER_THREAD
        for ticket in opened:
            assert [e.kind for e in desk.history(agent, ticket.id)] == ["ticket_created", "replied"]
