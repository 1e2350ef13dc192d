"""Reports at scale: a month's full report streamed from SQLite, with a hand-written SQL peer.

1. Data: one festival day is simulated through the real desk (``helpdesk_core.simulate``, memory
   store), sized so that 30 copies of it make ``--tickets`` tickets; the copies are shifted day
   by day over November 2026 (fresh ticket ids) and bulk-written to a SQLite file as one row per
   event (ticket_id, seq, kind, at in microseconds, actor, the event's JSON): the shape of the
   SQL store's event table with a plain JSON document.
2. The month's full report: every report of ``reports.REPORTS`` (SLA compliance included) over
   the stream ``SELECT data FROM events ORDER BY ticket_id, seq``, decoded event by event and
   folded in ONE pass (``reports.many``), in a fresh process whose peak RSS is printed (the
   goal: < 60 s for 1,000,000 tickets on SQLite, < 500 MB).
3. Peer: a hand-written SQL aggregate (SQLite, same file, same run) of the two KPIs SQL states
   easily, volumes and mean first response time by type, timed beside the same two KPIs
   computed by ``reports.many`` from the stream; the figures must agree.

    python benchmarks/bench_reports.py [--tickets 100000] [--db PATH] [--keep]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from helpdesk_core import Helpdesk, reports
from helpdesk_core.model.events import Event, event_from_dict, event_to_dict
from helpdesk_core.simulate import ARRIVAL_CURVE, DayProfile, day_events, simulate
from helpdesk_core.sla import SlaConfig
from helpdesk_core.testing import FixedClock

TZ = "Asia/Shanghai"
MONTH = (date(2026, 11, 1), date(2026, 11, 30))
CONFIG: dict[str, Any] = {
    "desk": {"timezone": TZ},
    "sla": {
        "policies": [
            {
                "name": "complaint",
                "when": {"type": "complaint"},
                "targets": {"*": {"first_response": "5m", "resolution": "2h"}},
            },
            {
                "name": "consultation",
                "when": {"type": "consultation"},
                "targets": {"*": {"first_response": "10m"}},
            },
            {"name": "default", "targets": {"*": {"first_response": "30m", "resolution": "4h"}}},
        ],
    },
}


def desk() -> Helpdesk:
    ids = itertools.count()
    return Helpdesk(
        CONFIG,
        "memory://",
        clock=FixedClock("2026-11-01T00:00:00+08:00"),
        load_entrypoints=False,
        id_factory=lambda: f"{next(ids):09d}",
    )


def micros(at: datetime) -> int:
    return int((at - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))


def generate(path: Path, tickets: int) -> tuple[int, int, float]:
    """Simulate a day, write 30 shifted copies; (tickets, events, seconds)."""
    started = time.perf_counter()
    per_day = tickets / 30
    peak = max(1, math.ceil(per_day / (sum(ARRIVAL_CURVE) / max(ARRIVAL_CURVE))))
    source = desk()
    result = simulate(source, seed=2026, day=MONTH[0], profile=DayProfile(peak_per_hour=peak))
    day = [event_to_dict(e) for e in day_events(source, result.ticket_ids)]
    sim_seconds = time.perf_counter() - started
    print(
        f"simulated {MONTH[0]}: {len(result.ticket_ids):,} tickets, {len(day):,} events, "
        f"{result.commands:,} desk commands in {sim_seconds:.1f} s "
        f"({result.commands / sim_seconds:,.0f} commands/s, peak {peak}/h)"
    )
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE events (ticket_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,"
        " at INTEGER NOT NULL, actor TEXT NOT NULL, data TEXT NOT NULL,"
        " PRIMARY KEY (ticket_id, seq)) WITHOUT ROWID"
    )
    count = 0
    for copy in range(30):
        shift = timedelta(days=copy)
        rows = []
        for data in day:
            at = datetime.fromisoformat(data["at"]) + shift
            shifted = {**data, "ticket_id": f"{data['ticket_id']}-{copy:02d}", "at": at.isoformat()}
            if data["kind"] == "ticket_created":
                shifted["number"] = f"{data['number']}-{copy:02d}"
            rows.append(
                (
                    shifted["ticket_id"],
                    data["seq"],
                    data["kind"],
                    micros(at),
                    data["actor"],
                    json.dumps(shifted, separators=(",", ":")),
                )
            )
        db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", rows)
        count += len(rows)
    db.execute("CREATE INDEX events_kind_at ON events (kind, at)")
    db.commit()
    db.close()
    return len(result.ticket_ids) * 30, count, time.perf_counter() - started


def stream(path: Path) -> Iterator[Event]:
    db = sqlite3.connect(path)
    try:
        cursor = db.execute("SELECT data FROM events ORDER BY ticket_id, seq")
        for (data,) in cursor:
            yield event_from_dict(json.loads(data))
    finally:
        db.close()


def sla_config() -> SlaConfig:
    section = desk().sla
    assert section is not None
    return section


def run_report(path: Path) -> None:
    """In a fresh process: the month's full report, then the two KPIs the peer computes."""
    sla = sla_config()
    start, end = MONTH
    t0 = time.perf_counter()
    full = reports.many(reports.REPORTS, stream(path), start=start, end=end, tz=TZ, sla=sla)
    full_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    two = reports.many(
        ["volumes", "first_response_time"],
        stream(path),
        start=start,
        end=end,
        tz=TZ,
        group_by=["type"],
    )
    two_seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "full_seconds": full_seconds,
                "two_seconds": two_seconds,
                "peak_mb": peak,
                "volumes": full["volumes"].rows[0],
                "sla": [dict(r) for r in full["sla_compliance"].rows],
                "frt": [dict(r) for r in full["first_response_time"].rows],
                "by_type": {r["type"]: [r["tickets"]] for r in two["volumes"].rows},
                "frt_by_type": {
                    r["type"]: [r["responded_count"], r["responded_mean_seconds"]]
                    for r in two["first_response_time"].rows
                },
            }
        )
    )


PEER_SQL = """
WITH created AS (
    SELECT ticket_id, at, json_extract(data, '$.type') AS type
    FROM events WHERE kind = 'ticket_created' AND at >= :lo AND at < :hi
), first_reply AS (
    SELECT ticket_id, MIN(at) AS at FROM events
    WHERE kind = 'replied' AND at < :hi GROUP BY ticket_id
)
SELECT c.type, COUNT(*), COUNT(f.at), AVG((f.at - c.at) / 1e6)
FROM created c LEFT JOIN first_reply f USING (ticket_id)
GROUP BY c.type ORDER BY c.type
"""


def peer(path: Path) -> tuple[float, dict[str, list[Any]]]:
    lo, hi = reports.period_bounds(*MONTH, TZ)
    db = sqlite3.connect(path)
    t0 = time.perf_counter()
    rows = db.execute(PEER_SQL, {"lo": micros(lo), "hi": micros(hi)}).fetchall()
    seconds = time.perf_counter() - t0
    db.close()
    return seconds, {t: [n, answered, mean] for t, n, answered, mean in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file")
    parser.add_argument("--report-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.report_only:
        run_report(args.report_only)
        return
    folder = tempfile.mkdtemp(prefix="bench-reports-")
    path = args.db or Path(folder) / "events.db"
    if not path.exists():
        tickets, events, seconds = generate(path, args.tickets)
        print(f"wrote {tickets:,} tickets, {events:,} events to {path} in {seconds:.1f} s")
    child = subprocess.run(
        [sys.executable, __file__, "--report-only", str(path)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ},
    )
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    peer_seconds, peer_rows = peer(path)
    ours = figures["frt_by_type"]
    agree = all(
        peer_rows[t][0] == figures["by_type"][t][0]
        and peer_rows[t][1] == ours[t][0]
        and abs(peer_rows[t][2] - ours[t][1]) < 0.01
        for t in peer_rows
    ) and set(peer_rows) == set(ours)
    total = figures["volumes"]["tickets"]
    print(f"month {MONTH[0]}..{MONTH[1]} ({TZ}): {total:,} tickets in the report")
    print(
        f"full report (all {len(reports.REPORTS)} KPIs incl. SLA compliance, one streamed pass): "
        f"{figures['full_seconds']:.1f} s, {total / figures['full_seconds']:,.0f} tickets/s; "
        f"peak RSS of the report process {figures['peak_mb']:.0f} MB"
    )
    print(
        f"volumes + FRT by type from the stream: {figures['two_seconds']:.2f} s; hand-written "
        f"SQL aggregate (SQLite): {peer_seconds:.2f} s; ratio ours/peer "
        f"{figures['two_seconds'] / peer_seconds:.1f}x; figures agree: {agree}"
    )
    for row in figures["sla"]:
        print(f"  SLA {row['policy']}/{row['metric']}: compliance {row['compliance']}")
    if not args.keep and args.db is None:
        path.unlink()
    if not agree:
        raise SystemExit(f"the figures differ: peer {peer_rows} vs reports {ours}")


if __name__ == "__main__":
    main()
