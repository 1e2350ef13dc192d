"""Reports at scale from the real stores: a month's full report over N tickets on SQLite and
PostgreSQL, with peak memory and a hand-written SQL aggregate from the same run as the peer.

1. Data: one festival day is simulated through the real desk (``helpdesk_core.simulate``, memory
   store) as a template of at most ``--day-tickets`` tickets. Copies of it (fresh ticket ids and
   numbers, shifted by whole days over November 2026) are bulk-written straight into the SQL
   store's tables (``hd_tickets``, ``hd_ticket_tags``, ``hd_events`` and ``hd_report_facts``),
   encoded with the store's own functions (``SqlStorage.seal`` of ``ticket_to_dict`` /
   ``event_to_dict``, microsecond instants; the report facts rows are those the desk's commands
   kept in the memory store, ids and instants shifted like the events'): executemany on SQLite,
   COPY on PostgreSQL. Each requester gets a customer profile with a tier through the store's
   ``save_customer``. The facade is not used (no search index, no audit), so writing is fast.
2. The month's full report, in a fresh process whose peak RSS is printed: every report of
   ``reports.REPORTS`` (SLA compliance included) by ``reports.from_store``: one row of report
   facts per ticket (one ordered query; a server-side cursor on PostgreSQL). The facts stream
   alone (read and decode) is timed in the same process, and the volumes by customer tier.
   With ``--events-too`` the full report is also computed the way it was before the facts
   (``reports.many`` over every event) and the two are compared figure by figure.
3. Peer: a hand-written SQL aggregate over the same tables in the same run: tickets, answered
   tickets and mean first response by type; the figures must agree with the reports'.

Targets (issue 24): 1,000,000 tickets (~7 M events) in < 60 s on SQLite, < 30 s on PostgreSQL,
peak memory < 500 MB.

    python benchmarks/bench_reports_scale.py [--tickets 100000] [--store sqlite|postgresql|both]
        [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--db PATH] [--events-too]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench_reports import MONTH, TZ, desk, sla_config

from helpdesk_core import reports
from helpdesk_core.conditions import TRUE
from helpdesk_core.model.customers import Customer, CustomerCreated
from helpdesk_core.model.events import event_to_dict
from helpdesk_core.model.tickets import ticket_to_dict
from helpdesk_core.simulate import ARRIVAL_CURVE, DayProfile, simulate
from helpdesk_plugins.storage_sql import open_storage
from helpdesk_plugins.storage_sql import schema as s
from helpdesk_plugins.storage_sql.store import SqlStorage

TIERS = ("normal", "normal", "normal", "silver", "gold", "vip")
TOKENS = re.compile(r'("\d{9}"|"\d{4}-\d{2}-\d{2}T|"number":"[^"]*")')
"""What a copy changes in a stored document: ids, dates (instants), ticket numbers."""
DAY_MICROS = 86_400 * 1_000_000


class Template:
    """The simulated day, encoded once: per ticket its row, tags and event rows as text."""

    def __init__(self, store: SqlStorage, day_tickets: int) -> None:
        peak = max(1, math.ceil(day_tickets / (sum(ARRIVAL_CURVE) / max(ARRIVAL_CURVE))))
        started = time.perf_counter()
        source = desk()
        result = simulate(source, seed=2026, day=MONTH[0], profile=DayProfile(peak_per_hour=peak))
        memory: Any = source.storage
        self.tickets: list[tuple[dict[str, Any], list[str], list[tuple[Any, ...]]]] = []
        """Per ticket: its row (``doc`` split at :data:`TOKENS`), tags, event rows (``data``
        split the same way)."""
        self.facts: list[tuple[int, list[str]]] = []
        """Per ticket: the report facts row the desk's commands kept (version, document split
        at :data:`TOKENS`)."""
        self.requesters: set[str] = set()
        for ticket_id in result.ticket_ids:
            ticket = memory.tickets[ticket_id]
            row: dict[str, Any] = {name: getattr(ticket, name) for name in s.PLAIN_COLUMNS}
            for name in s.TIME_COLUMNS:
                row[name] = s.to_micros(getattr(ticket, name))
            row["doc"] = TOKENS.split(store.seal(ticket_to_dict(ticket)))
            events = [
                (
                    e.seq,
                    e.kind,
                    s.to_micros(e.at),
                    e.actor,
                    TOKENS.split(store.seal(event_to_dict(e))),
                )
                for e in memory.events[ticket_id]
            ]
            self.tickets.append((row, sorted(ticket.tags), events))
            version, doc = memory.fact_rows[ticket_id]
            assert version == ticket.version
            self.facts.append((version, TOKENS.split(doc)))
            if ticket.requester is not None:
                self.requesters.add(ticket.requester)
        self.events = sum(len(e) for _, _, e in self.tickets)
        print(
            f"simulated {MONTH[0]}: {len(self.tickets):,} tickets, {self.events:,} events, "
            f"{result.commands:,} desk commands in {time.perf_counter() - started:.1f} s"
        )

    def copy(
        self, n: int, days: int
    ) -> Iterator[tuple[dict[str, Any], list[str], list[Any], tuple[str, int, str]]]:
        """Copy ``n``: every id and number gets the suffix ``-n``, every instant moves ``days``
        days (the documents were split at those tokens once; a copy re-joins them)."""
        suffix = f"-{n:04d}"
        shift = days * DAY_MICROS
        swap = Swap(suffix, days)

        def text(parts: list[str]) -> str:
            return "".join([swap[p] if i % 2 else p for i, p in enumerate(parts)])

        for (row, tags, events), (version, facts) in zip(self.tickets, self.facts, strict=True):
            new = dict(row)
            new["id"] = row["id"] + suffix
            new["number"] = row["number"] + suffix
            for name in s.TIME_COLUMNS:
                if new[name] is not None:
                    new[name] += shift
            new["doc"] = text(row["doc"])
            rows = [
                (new["id"], seq, kind, at + shift, actor, text(data))
                for seq, kind, at, actor, data in events
            ]
            yield new, tags, rows, (new["id"], version, text(facts))


class Swap(dict[str, str]):
    """A copy's replacement of each token: ``"123456789"`` ids and ``"number":"..."`` get the
    suffix, ``"2026-11-01T`` dates move by whole days; each token is worked out once."""

    def __init__(self, suffix: str, days: int) -> None:
        super().__init__()
        self.suffix, self.days = suffix, days

    def __missing__(self, token: str) -> str:
        if token.startswith('"number":'):
            value = f'{token[:-1]}{self.suffix}"'
        elif token.endswith("T"):
            moved = date.fromisoformat(token[1:11]) + timedelta(days=self.days)
            value = f'"{moved.isoformat()}T'
        else:
            value = f'{token[:-1]}{self.suffix}"'
        self[token] = value
        return value


def write(url: str, tickets: int, day_tickets: int) -> tuple[int, int]:
    """Bulk-write about ``tickets`` tickets into the store at ``url``; (tickets, events)."""
    store = open_storage(url)
    assert isinstance(store, SqlStorage)
    template = Template(store, min(day_tickets, max(1, tickets // 30)))
    copies = max(1, round(tickets / len(template.tickets)))
    started = time.perf_counter()
    columns = [c.name for c in s.tickets.c]
    written = events = 0
    with store.engine.begin() as conn:
        raw: Any = conn.connection.dbapi_connection
        cursor = raw.cursor()
        if store.dialect == "sqlite":
            cursor.execute("BEGIN")  # the store's SQLite connections autocommit otherwise
        for n in range(copies):
            batch = list(template.copy(n, n % 30))
            ticket_rows = [tuple(row[c] for c in columns) for row, _, _, _ in batch]
            tag_rows = [(row["id"], tag) for row, tags, _, _ in batch for tag in tags]
            event_rows = [e for _, _, rows, _ in batch for e in rows]
            fact_rows = [facts for _, _, _, facts in batch]
            if store.dialect == "sqlite":
                marks = ", ".join("?" * len(columns))
                cursor.executemany(f"INSERT INTO hd_tickets VALUES ({marks})", ticket_rows)
                cursor.executemany("INSERT INTO hd_ticket_tags VALUES (?, ?)", tag_rows)
                cursor.executemany("INSERT INTO hd_events VALUES (?, ?, ?, ?, ?, ?)", event_rows)
                cursor.executemany("INSERT INTO hd_report_facts VALUES (?, ?, ?)", fact_rows)
            else:
                for table, names, rows in (
                    ("hd_tickets", columns, ticket_rows),
                    ("hd_ticket_tags", ["ticket_id", "tag"], tag_rows),
                    ("hd_events", ["ticket_id", "seq", "kind", "at", "actor", "data"], event_rows),
                    ("hd_report_facts", ["ticket_id", "version", "doc"], fact_rows),
                ):
                    with cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
            written += len(batch)
            events += len(event_rows)
        if store.dialect == "sqlite":
            cursor.execute("COMMIT")
    with store.transaction() as uow:
        for i, requester in enumerate(sorted(template.requesters)):
            at = datetime.fromisoformat("2026-01-01T00:00:00+00:00")
            created = CustomerCreated(
                customer_id=requester,
                seq=1,
                at=at,
                actor="bench",
                kind_of="individual",
                name=requester,
                tier=TIERS[i % len(TIERS)],
            )
            uow.save_customer(Customer.created(created), [created])
    if store.dialect != "sqlite":
        with store.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    store.close()
    seconds = time.perf_counter() - started
    print(
        f"wrote {written:,} tickets, {events:,} events, {len(template.requesters):,} customers "
        f"in {seconds:.1f} s ({events / seconds:,.0f} events/s)"
    )
    return written, events


def run_report(url: str, events_too: bool) -> None:
    """In a fresh process: the facts stream alone, the full report from the facts, the two
    KPIs the peer computes, volumes by tier; with ``events_too`` the full report from the
    events as well (the path before report facts) and whether every figure agrees. JSON out."""
    store = open_storage(url)
    sla = sla_config()
    start, end = MONTH
    _, high = reports.period_bounds(start, end, TZ)
    figures: dict[str, Any] = {}
    with store.transaction() as uow:
        t0, c0 = time.perf_counter(), time.process_time()
        figures["stream_rows"] = sum(1 for _ in uow.report_facts(TRUE, created_before=high))
        figures["stream_seconds"] = time.perf_counter() - t0
        figures["stream_cpu"] = time.process_time() - c0
    with store.transaction() as uow:
        t0, c0 = time.perf_counter(), time.process_time()
        full = reports.from_store(reports.REPORTS, uow, start=start, end=end, tz=TZ, sla=sla)
        figures["full_seconds"] = time.perf_counter() - t0
        figures["full_cpu"] = time.process_time() - c0
    figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures["volumes"] = dict(full["volumes"].rows[0])
    figures["sla"] = [dict(r) for r in full["sla_compliance"].rows]
    if events_too:
        with store.transaction() as uow:
            t0, c0 = time.perf_counter(), time.process_time()
            stream = reports.stored_events(uow, created_before=high)
            old = reports.many(reports.REPORTS, stream, start=start, end=end, tz=TZ, sla=sla)
            figures["events_seconds"] = time.perf_counter() - t0
            figures["events_cpu"] = time.process_time() - c0
        figures["events_agree"] = all(old[n].rows == full[n].rows for n in reports.REPORTS)
    with store.transaction() as uow:
        t0, c0 = time.perf_counter(), time.process_time()
        by_type = reports.from_store(
            ["volumes", "first_response_time"],
            uow,
            start=start,
            end=end,
            tz=TZ,
            group_by=["type"],
        )
        figures["two_seconds"] = time.perf_counter() - t0
        figures["two_cpu"] = time.process_time() - c0
    figures["by_type"] = {
        r["type"]: [r["tickets"], r["responded_count"], r["responded_mean_seconds"]]
        for r in by_type["first_response_time"].rows
    }
    with store.transaction() as uow:
        t0 = time.perf_counter()
        tiers = reports.requester_tiers(uow, end=high)
        by_tier = reports.from_store(
            ["volumes"], uow, start=start, end=end, tz=TZ, group_by=["tier"], tiers=tiers
        )["volumes"]
        figures["tier_seconds"] = time.perf_counter() - t0
    figures["by_tier"] = {str(r["tier"]): r["tickets"] for r in by_tier.rows}
    store.close()
    print(json.dumps(figures))


PEER_SQL = """
SELECT t.type, COUNT(*), COUNT(f.at), AVG((f.at - t.created_at) / 1e6)
FROM hd_tickets t LEFT JOIN (
    SELECT ticket_id, MIN(at) AS at FROM hd_events
    WHERE kind = 'replied' AND at < :hi GROUP BY ticket_id
) f ON f.ticket_id = t.id
WHERE t.created_at >= :lo AND t.created_at < :hi
GROUP BY t.type ORDER BY t.type
"""


def peer(url: str) -> tuple[float, dict[str, list[Any]]]:
    """The hand-written aggregate: tickets, answered, mean first response by type."""
    import sqlalchemy as sa

    lo, hi = reports.period_bounds(*MONTH, TZ)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        t0 = time.perf_counter()
        rows = conn.execute(
            sa.text(PEER_SQL), {"lo": s.to_micros(lo), "hi": s.to_micros(hi)}
        ).fetchall()
        seconds = time.perf_counter() - t0
    engine.dispose()
    return seconds, {t: [n, answered, float(mean)] for t, n, answered, mean in rows}


@contextmanager
def target(kind: str, args: argparse.Namespace, folder: str) -> Iterator[str]:
    if kind == "sqlite":
        path = args.db or Path(folder) / "reports.db"
        yield f"sqlite:///{path}"
        return
    from helpdesk_plugins.storage_sql.scratch import scratch_schema

    with scratch_schema(args.pg_url, "bench_reports") as url:
        yield url


def bench(kind: str, args: argparse.Namespace, folder: str) -> bool:
    with target(kind, args, folder) as url:
        exists = kind == "sqlite" and args.db is not None and args.db.exists()
        if not exists:
            write(url, args.tickets, args.day_tickets)
        child = subprocess.run(
            [sys.executable, __file__, "--report-only", url]
            + (["--events-too"] if args.events_too else []),
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ},
        )
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        peer_seconds, peer_rows = peer(url)
    ours = figures["by_type"]
    agree = set(peer_rows) == set(ours) and all(
        peer_rows[t][0] == ours[t][0]
        and peer_rows[t][1] == ours[t][1]
        and abs(peer_rows[t][2] - ours[t][2]) < 0.01
        for t in peer_rows
    )
    total = figures["volumes"]["tickets"]
    print(f"[{kind}] month {MONTH[0]}..{MONTH[1]} ({TZ}): {total:,} tickets in the report")
    print(
        f"[{kind}] facts stream alone (read + decode {figures['stream_rows']:,} rows): "
        f"{figures['stream_seconds']:.1f} s (CPU {figures['stream_cpu']:.1f} s)"
    )
    if "events_seconds" in figures:
        print(
            f"[{kind}] full report from the EVENTS (before): {figures['events_seconds']:.1f} s "
            f"(CPU {figures['events_cpu']:.1f} s); same figures as from the facts: "
            f"{figures['events_agree']}"
        )
        agree = agree and figures["events_agree"]
    print(
        f"[{kind}] full report from the report facts (all {len(reports.REPORTS)} KPIs): "
        f"{figures['full_seconds']:.1f} s (CPU {figures['full_cpu']:.1f} s), "
        f"{total / figures['full_seconds']:,.0f} tickets/s; "
        f"peak RSS of the report process {figures['peak_mb']:.0f} MB"
    )
    print(
        f"[{kind}] volumes + FRT by type: {figures['two_seconds']:.1f} s "
        f"(CPU {figures['two_cpu']:.1f} s); hand-written SQL "
        f"aggregate (peer, same run): {peer_seconds:.2f} s; ratio "
        f"{figures['two_seconds'] / peer_seconds:.1f}x; figures agree: {agree}"
    )
    print(f"[{kind}] volumes by tier: {figures['tier_seconds']:.1f} s {figures['by_tier']}")
    return agree


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--day-tickets", type=int, default=3_400, help="template day size")
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "HELPDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--db", type=Path, help="SQLite file (kept; reused when it exists)")
    parser.add_argument(
        "--events-too",
        action="store_true",
        help="also the full report from the events (the path before report facts), compared",
    )
    parser.add_argument("--report-only", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.report_only:
        run_report(args.report_only, args.events_too)
        return
    kinds = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    with tempfile.TemporaryDirectory(prefix="bench-reports-scale-") as folder:
        results = [bench(kind, args, folder) for kind in kinds]
    if not all(results):
        raise SystemExit("the peer's figures differ from the reports'")


if __name__ == "__main__":
    main()
