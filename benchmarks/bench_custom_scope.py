"""A scope on a ``custom.*`` field pushed into SQL (issue 17 defect 8).

``--tickets`` tickets (default 3,000) with a ``custom.order_id`` each; a query whose condition
selects one of them by that field, on a SQLite file and (with ``--pg`` or
``HELPDESK_TEST_POSTGRES_URL``) PostgreSQL. Printed: the median time of the query and the ticket
documents it read. Peer, from the same run: the same selection written with a plugin operator,
which the store cannot translate and finishes in Python, which is what every ``custom.*``
condition did before the JSON translation (it reads every document).

    python benchmarks/bench_custom_scope.py [--tickets 3000] [--rounds 30] [--pg URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from helpdesk_core.conditions import Condition, compile_condition
from helpdesk_core.config import default_registry
from helpdesk_core.ports import TicketQuery
from helpdesk_core.testing.storage_contract import new_ticket
from helpdesk_plugins.storage_sql import open_storage
from helpdesk_plugins.storage_sql.scratch import scratch_schema
from helpdesk_plugins.storage_sql.store import SqlStorage


def conditions(target: str) -> tuple[Condition, Condition]:
    registry = default_registry().conditions
    registry.add_operator("same", lambda value, wanted: value == wanted)
    pushed = compile_condition({"custom.order_id": target}, registry=registry)
    in_python = compile_condition({"custom.order_id": {"same": target}}, registry=registry)
    return pushed, in_python


def run(store: SqlStorage, n: int, rounds: int) -> dict[str, tuple[float, float]]:
    with store.transaction() as uow:
        for i in range(n):
            ticket, events = new_ticket(f"t{i:06d}", i, custom={"order_id": f"O{i:06d}"})
            uow.save_ticket(ticket, events)
    figures = {}
    for name, condition in zip(
        ("JSON push-down", "peer: Python filter"), conditions("O000042"), strict=True
    ):
        times = []
        before = store.tickets_loaded
        for _ in range(rounds):
            start = time.perf_counter()
            with store.transaction() as uow:
                found = uow.query_tickets(TicketQuery(where=condition, limit=50))
            times.append((time.perf_counter() - start) * 1000)
            assert [t.id for t in found] == ["t000042"]
        figures[name] = (statistics.median(times), (store.tickets_loaded - before) / rounds)
    return figures


def report(backend: str, figures: dict[str, tuple[float, float]]) -> None:
    for name, (ms, loaded) in figures.items():
        print(f"{backend}, {name}: median {ms:.2f} ms, {loaded:,.0f} documents read")
    ours, peer = figures["JSON push-down"][0], figures["peer: Python filter"][0]
    print(f"  ratio push-down / Python filter: {ours / peer:.3f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--pg", default=os.environ.get("HELPDESK_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_storage(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            report("SQLite", run(store, args.tickets, args.rounds))
        finally:
            store.close()
    if not args.pg:
        print("PostgreSQL: skipped (give --pg or HELPDESK_TEST_POSTGRES_URL)")
        return
    with scratch_schema(args.pg, "hd_bench_custom") as url:
        store = open_storage(url)
        try:
            report("PostgreSQL", run(store, args.tickets, args.rounds))
        finally:
            store.close()


if __name__ == "__main__":
    main()
