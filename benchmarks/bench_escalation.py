"""Escalation ticks on PostgreSQL among many open tickets (issue "Routing, transfer, escalation").

Loads ``--tickets`` (default 1,000,000) open tickets with their creation events and scheduled
escalation checks (COPY), then measures:

1. one worker tick (``desk.run_escalations``) when nothing is due: goal < 20 ms. Peer: what a
   scheduler without the due-time index does, reading every open ticket's schedule and
   filtering in Python.
2. one tick of one worker (limit 1,000) when 1,000 tickets are due: goal < 2 s; and the same
   1,000 worked off by 8 worker processes.
3. firings per second with 8 worker processes over ``--due`` due tickets.

    python benchmarks/bench_escalation.py [--tickets 1000000] [--due 20000] [--pg URL]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from helpdesk_core import Helpdesk
from helpdesk_core.model.events import TicketCreated, event_to_dict
from helpdesk_core.model.tickets import Ticket, ticket_to_dict
from helpdesk_plugins.storage_sql import open_storage
from helpdesk_plugins.storage_sql.schema import TICKET_COLUMNS, to_micros
from helpdesk_plugins.storage_sql.scratch import scratch_schema

CONFIG: dict[str, Any] = {
    "sla": {"policies": [{"name": "std", "targets": {"*": {"first_response": "1h"}}}]},
    "escalation": {
        "policies": [
            {
                "name": "breach",
                "levels": [
                    {
                        "trigger": {"sla": "first_response", "breached": True},
                        "notify": ["agent:duty"],
                    }
                ],
            }
        ]
    },
}
LEASE = timedelta(minutes=5)


def load(url: str, n: int, now: datetime) -> None:
    """n open tickets opened 2 hours ago, their checks due in 1 to 30 days (none due now)."""
    engine = sa.create_engine(url)
    opened = now - timedelta(hours=2)
    with engine.connect() as conn:
        raw: Any = conn.connection.dbapi_connection
        cur = raw.cursor()
        with (
            cur.copy(
                f"COPY hd_tickets ({', '.join(TICKET_COLUMNS)}, tier, version, created_at, "
                "updated_at, doc) FROM STDIN"
            ) as tickets_copy,
        ):
            for i in range(n):
                created = _created(i, opened)
                ticket = Ticket.created(created)
                tickets_copy.write_row(
                    [getattr(ticket, c) for c in TICKET_COLUMNS]
                    + [1, 1, to_micros(opened), to_micros(opened)]
                    + [json.dumps(ticket_to_dict(ticket), separators=(",", ":"))]
                )
        with cur.copy("COPY hd_events (ticket_id, seq, kind, at, actor, data) FROM STDIN") as ev:
            for i in range(n):
                created = _created(i, opened)
                data = json.dumps(event_to_dict(created), separators=(",", ":"))
                ev.write_row(
                    [created.ticket_id, 1, created.kind, to_micros(opened), created.actor, data]
                )
        with cur.copy("COPY hd_schedule (ticket_id, next_check_at) FROM STDIN") as sched:
            for i in range(n):
                later = now + timedelta(days=1 + i % 30, seconds=i % 86_400)
                sched.write_row([_created(i, opened).ticket_id, to_micros(later)])
        raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
    engine.dispose()


def _created(i: int, at: datetime) -> TicketCreated:
    return TicketCreated(
        ticket_id=f"e{i:08d}",
        seq=1,
        at=at,
        actor="C1",
        number=f"T{i:012d}",
        subject=f"Open ticket {i}",
        type="complaint",
        priority=("urgent", "high", "normal", "low")[i % 4],
        channel="email",
        status="new",
        status_category="new",
        requester=f"C{i % 50_000}",
        team=f"team-{i % 20:02d}",
    )


def make_due(url: str, count: int, now: datetime) -> None:
    """Make ``count`` not yet due tickets due a minute ago."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE hd_schedule SET next_check_at = :at, lease_owner = NULL, "
                "lease_until = NULL WHERE ticket_id IN (SELECT ticket_id FROM hd_schedule "
                "WHERE next_check_at > :now ORDER BY ticket_id LIMIT :n)"
            ),
            {"at": to_micros(now - timedelta(minutes=1)), "now": to_micros(now), "n": count},
        )  # fmt: skip
    engine.dispose()


def idle_ticks(desk: Helpdesk, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        run = desk.run_escalations(worker="bench", limit=1000, lease=LEASE)
        samples.append(time.perf_counter() - t0)
        assert run.claimed == 0
    return statistics.quantiles(samples, n=20)[-1] * 1000


def naive_idle(url: str, now: datetime) -> float:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        t0 = time.perf_counter()
        rows = conn.execute(sa.text("SELECT ticket_id, next_check_at FROM hd_schedule")).all()
        due = [r for r in rows if r[1] is not None and r[1] <= to_micros(now)]
        elapsed = time.perf_counter() - t0
    engine.dispose()
    assert due == []
    return elapsed * 1000


def _work(url: str, name: str, results: Any) -> None:
    fired = 0
    with Helpdesk(config=CONFIG, storage_url=url, load_entrypoints=False) as desk:
        while True:
            run = desk.run_escalations(worker=name, limit=50, lease=LEASE)
            fired += run.fired
            if run.claimed == 0:
                break
    results.put(fired)


def parallel(url: str, workers: int) -> tuple[int, float]:
    ctx = mp.get_context("fork")
    results = ctx.Queue()
    procs = [ctx.Process(target=_work, args=(url, f"w{i}", results)) for i in range(workers)]
    t0 = time.perf_counter()
    for proc in procs:
        proc.start()
    fired = sum(results.get(timeout=3600) for _ in procs)
    elapsed = time.perf_counter() - t0
    for proc in procs:
        proc.join()
    return fired, elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=20_000)
    parser.add_argument("--pg", default=os.environ.get("HELPDESK_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    if not args.pg:
        print("bench_escalation: needs PostgreSQL (--pg or HELPDESK_TEST_POSTGRES_URL)")
        return
    with scratch_schema(args.pg, "hd_bench") as url:
        open_storage(url).close()  # migrate
        now = datetime.now(UTC)
        t0 = time.perf_counter()
        load(url, args.tickets, now)
        print(f"loaded {args.tickets:,} open tickets in {time.perf_counter() - t0:.0f} s")
        with Helpdesk(config=CONFIG, storage_url=url, load_entrypoints=False) as desk:
            idle = idle_ticks(desk, 50)
            peer = naive_idle(url, now)
            print(f"tick with 0 due: p95 {idle:.1f} ms (goal < 20 ms)")
            print(f"  peer: scanning every schedule row {peer:.0f} ms; ratio {peer / idle:.0f}x")
            make_due(url, 1000, now)
            t0 = time.perf_counter()
            run = desk.run_escalations(worker="bench", limit=1000, lease=LEASE)
            one = time.perf_counter() - t0
            print(f"tick with 1,000 due, one worker: {one:.2f} s, fired {run.fired} (goal < 2 s)")
        make_due(url, 1000, now)
        fired, elapsed = parallel(url, 8)
        print(f"1,000 due with 8 workers: {elapsed:.2f} s, fired {fired}")
        make_due(url, args.due, now)
        fired, elapsed = parallel(url, 8)
        print(f"firings with 8 workers: {fired / elapsed:,.0f}/s ({fired:,} in {elapsed:.1f} s)")


if __name__ == "__main__":
    main()
