"""SQL storage: open_ticket end to end, and an agent's scoped ticket list among many tickets.

1. ``open_ticket`` through the desk (permission check, numbering, SLA clocks and the escalation
   check they schedule, events, outbox, commit) on a SQLite file and on one PostgreSQL
   connection. Goals (issue "SQL storage plugin"): >= 1,000/s on SQLite, >= 500/s per PostgreSQL
   connection. Peer: the same rows (ticket, event, outbox) written with bare driver INSERTs in
   one transaction per ticket, which shows what the domain and SQLAlchemy add.
2. ``desk.tickets(agent)`` (the agent's permission scope pushed into SQL, first page of 50 and
   keyset pages after it, plus an "open tickets of my team" filter) among ``--tickets`` tickets
   (default 1,000,000) bulk-loaded with COPY into PostgreSQL. Goal: p95 < 20 ms. Peer: the
   same query as hand-written SQL through the driver.

    python benchmarks/bench_storage.py [--open 3000] [--tickets 1000000] [--pg URL]

PostgreSQL parts run when ``--pg`` or ``HELPDESK_TEST_POSTGRES_URL`` gives a server; they use a
scratch schema that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from helpdesk_core import Actor, Helpdesk
from helpdesk_core.model.events import TicketCreated
from helpdesk_core.model.tickets import Ticket, ticket_to_dict
from helpdesk_core.testing import FixedClock
from helpdesk_plugins.storage_sql.schema import TICKET_COLUMNS, to_micros
from helpdesk_plugins.storage_sql.scratch import scratch_schema

CONFIG: dict[str, Any] = {
    "desk": {"default_team": "after-sales", "timezone": "Asia/Shanghai"},
    "sla": {
        "policies": [
            {"name": "std", "targets": {"*": {"first_response": "1h", "resolution": "8h"}}}
        ]
    },
    "escalation": {"preset": "guides"},
}
CUSTOMER = Actor(id="C20261102001", roles={"customer"})
TEAMS = [f"team-{i:02d}" for i in range(20)]


def open_tickets(url: str, n: int) -> float:
    clock = FixedClock("2026-11-02T09:00:00+08:00")
    with Helpdesk(config=CONFIG, storage_url=url, clock=clock, load_entrypoints=False) as d:
        d.open_ticket(CUSTOMER, subject="warm-up", channel="email")
        start = time.perf_counter()
        for i in range(n):
            d.open_ticket(CUSTOMER, subject=f"Parcel {i} arrived broken", channel="email")
            clock.advance(seconds=1)
        return n / (time.perf_counter() - start)


def bare_sqlite(n: int) -> float:
    """Peer: the same three rows per ticket with sqlite3, one transaction each."""
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "bare.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, number TEXT UNIQUE, doc TEXT)")
        conn.execute("CREATE TABLE e (tid TEXT, seq INT, data TEXT, PRIMARY KEY (tid, seq))")
        conn.execute("CREATE TABLE o (pos INTEGER PRIMARY KEY, k TEXT UNIQUE, payload TEXT)")
        doc = json.dumps({"subject": "x" * 200})
        start = time.perf_counter()
        for i in range(n):
            tid = uuid.uuid4().hex
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t VALUES (?, ?, ?)", (tid, f"T{i:012d}", doc))
            conn.execute("INSERT INTO e VALUES (?, 1, ?)", (tid, doc))
            conn.execute("INSERT INTO o (k, payload) VALUES (?, ?)", (f"event:{tid}:1", doc))
            conn.execute("COMMIT")
        rate = n / (time.perf_counter() - start)
        conn.close()
        return rate


def bare_postgres(url: str, n: int) -> float:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cur = raw.cursor()
        cur.execute("CREATE TEMP TABLE t (id text PRIMARY KEY, number text UNIQUE, doc text)")
        cur.execute("CREATE TEMP TABLE e (tid text, seq int, data text, PRIMARY KEY (tid, seq))")
        cur.execute("CREATE TEMP TABLE o (pos bigserial PRIMARY KEY, k text UNIQUE, p text)")
        raw.commit()
        doc = json.dumps({"subject": "x" * 200})
        start = time.perf_counter()
        for i in range(n):
            tid = uuid.uuid4().hex
            cur.execute("INSERT INTO t VALUES (%s, %s, %s)", (tid, f"T{i:012d}", doc))
            cur.execute("INSERT INTO e VALUES (%s, 1, %s)", (tid, doc))
            cur.execute("INSERT INTO o (k, p) VALUES (%s, %s)", (f"event:{tid}:1", doc))
            raw.commit()
        rate = n / (time.perf_counter() - start)
    engine.dispose()
    return rate


# -- scoped lists among many tickets ------------------------------------------------------------
COPY_COLUMNS = [*TICKET_COLUMNS, "tier", "version", "created_at", "updated_at", "doc"]


def _synthetic(i: int, rng: random.Random, start: datetime) -> Ticket:
    team = rng.choice(TEAMS) if rng.random() > 0.03 else None
    assignee = (
        f"{team}-a{rng.randrange(20):02d}" if team is not None and rng.random() > 0.1 else None
    )
    status, category = rng.choices(
        [("closed", "closed"), ("resolved", "solved"), ("in_progress", "open"), ("new", "new")],
        weights=[70, 15, 10, 5],
    )[0]
    at = start + timedelta(seconds=i * 60 + rng.randrange(60))
    created = TicketCreated(
        ticket_id=f"{i:08d}-{uuid.UUID(int=rng.getrandbits(128)).hex[:12]}",
        seq=1,
        at=at,
        actor=f"C{rng.randrange(200_000):06d}",
        number=f"T{i:012d}",
        subject=f"Synthetic ticket {i}",
        type="complaint",
        priority=rng.choice(["urgent", "high", "normal", "low"]),
        channel=rng.choice(["email", "phone", "web_form"]),
        status=status,
        status_category=category,
        requester=f"C{rng.randrange(200_000):06d}",
        assignee=assignee,
        team=team,
        department="service",
    )
    return Ticket.created(created)


def load_many(url: str, n: int) -> None:
    rng = random.Random(2026)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cur = raw.cursor()
        with cur.copy(f"COPY hd_tickets ({', '.join(COPY_COLUMNS)}) FROM STDIN") as copy:
            for i in range(n):
                t = _synthetic(i, rng, start)
                copy.write_row(
                    [getattr(t, c) for c in TICKET_COLUMNS]
                    + [
                        t.tier,
                        t.version,
                        to_micros(t.created_at),
                        to_micros(t.updated_at),
                        json.dumps(ticket_to_dict(t), separators=(",", ":")),
                    ]
                )
        raw.commit()
        cur.execute("ANALYZE hd_tickets")
        raw.commit()
    engine.dispose()


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] * 1000


def scoped_lists(url: str, rounds: int) -> dict[str, float]:
    rng = random.Random(7)
    figures: dict[str, list[float]] = {"first page": [], "next pages": [], "open, my team": []}
    with Helpdesk(config={"desk": {}}, storage_url=url, load_entrypoints=False) as desk:
        for _ in range(rounds):
            team = rng.choice(TEAMS)
            agent = Actor(
                id=f"{team}-a{rng.randrange(20):02d}",
                roles={"agent"},
                team=team,
                department="service",
            )
            t0 = time.perf_counter()
            page = desk.tickets(agent, limit=50, descending=True)
            figures["first page"].append(time.perf_counter() - t0)
            last = page[-1]
            t0 = time.perf_counter()
            desk.tickets(agent, limit=50, descending=True, after=(last.created_at, last.id))
            figures["next pages"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            desk.tickets(agent, team=team, status_category=["new", "open"], limit=50)
            figures["open, my team"].append(time.perf_counter() - t0)
    return {name: p95(samples) for name, samples in figures.items()}


def bare_scoped(url: str, rounds: int) -> float:
    rng = random.Random(7)
    engine = sa.create_engine(url)
    samples = []
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cur = raw.cursor()
        for _ in range(rounds):
            team = rng.choice(TEAMS)
            me = f"{team}-a{rng.randrange(20):02d}"
            t0 = time.perf_counter()
            cur.execute(
                "SELECT doc FROM hd_tickets WHERE team = %s OR assignee = %s OR created_by = %s "
                "OR team IS NULL OR team = '' ORDER BY created_at DESC, id DESC LIMIT 50",
                (team, me, me),
            )
            [json.loads(r[0]) for r in cur.fetchall()]
            samples.append(time.perf_counter() - t0)
        raw.commit()
    engine.dispose()
    return p95(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--open", type=int, default=3000, help="tickets opened per backend")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--pg", default=os.environ.get("HELPDESK_TEST_POSTGRES_URL"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        rate = open_tickets(f"sqlite:///{Path(tmp) / 'bench.db'}", args.open)
    peer = bare_sqlite(args.open)
    print(f"open_ticket, SQLite file: {rate:,.0f}/s (goal >= 1,000/s)")
    print(f"  peer: bare sqlite3 inserts {peer:,.0f}/s; ratio {rate / peer:.2f}x")
    if not args.pg:
        print("PostgreSQL: skipped (give --pg or HELPDESK_TEST_POSTGRES_URL)")
        return
    with scratch_schema(args.pg, "hd_bench") as url:
        rate = open_tickets(url, args.open)
        peer = bare_postgres(url, args.open)
        print(f"open_ticket, PostgreSQL, one connection: {rate:,.0f}/s (goal >= 500/s)")
        print(f"  peer: bare psycopg inserts {peer:,.0f}/s; ratio {rate / peer:.2f}x")
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql("TRUNCATE hd_tickets CASCADE")
        engine.dispose()
        t0 = time.perf_counter()
        load_many(url, args.tickets)
        print(f"loaded {args.tickets:,} tickets in {time.perf_counter() - t0:.0f} s")
        figures = scoped_lists(url, args.rounds)
        peer_p95 = bare_scoped(url, args.rounds)
        for name, value in figures.items():
            print(f"scoped list p95, {name}: {value:.1f} ms (goal < 20 ms)")
        first = figures["first page"]
        print(f"  peer: hand-written SQL p95 {peer_p95:.1f} ms; ratio {first / peer_p95:.2f}x")


if __name__ == "__main__":
    main()
