"""What-if replay at scale (issue 24): a month of tickets compared under two SLA configurations,
in one process and in N worker processes over ticket shards, the event stream read once.

    python benchmarks/bench_whatif.py [--tickets 1000000] [--workers 2]

The stream is generated once in the parent (a realistic month: a new ticket every few seconds,
assigned, answered after a skewed delay, some paused for the customer, most resolved) and dealt
out in chunks of whole histories to the workers, which replay their shard under both configs;
the parent combines the shard reports (``WhatIfReport.combine``). The peer figure is the
single-process replay of the same stream in the same run, and the script checks the combined
figures equal the single-process ones.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import random
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

from helpdesk_core import load_config
from helpdesk_core.model.events import Assigned, Event, Replied, StatusChanged, TicketCreated
from helpdesk_core.whatif import WhatIfReport, whatif

ZONE = timezone(timedelta(hours=8))
START = date(2026, 11, 1)
END = date(2026, 11, 30)
TYPES = ("complaint", "consultation", "after_sales")
PRIORITIES = ("low", "normal", "normal", "normal", "high", "urgent")


def config(first_response_complaint: str) -> dict[str, Any]:
    return {
        "desk": {"timezone": "Asia/Shanghai"},
        "calendars": {"service": {"tz": "Asia/Shanghai", "week": {"mon-fri": ["09:00-18:00"]}}},
        "sla": {
            "policies": [
                {
                    "name": "complaints",
                    "when": {"type": "complaint"},
                    "targets": {
                        "*": {"first_response": first_response_complaint, "resolution": "1d"}
                    },
                },
                {
                    "name": "standard",
                    "calendar": "service",
                    "targets": {"*": {"first_response": "2h", "resolution": "3d"}},
                },
            ]
        },
    }


def histories(count: int, seed: int = 7) -> Iterator[list[Event]]:
    """``count`` ticket histories spread over the month, oldest first."""
    rng = random.Random(seed)
    begin = datetime(2026, 11, 1, tzinfo=ZONE)
    span = (datetime(2026, 12, 1, tzinfo=ZONE) - begin).total_seconds()
    step = span / count
    for n in range(count):
        ticket_id = f"t{n}"
        at = begin + timedelta(seconds=n * step + rng.random() * step)
        events: list[Event] = [
            TicketCreated(
                ticket_id=ticket_id, seq=1, at=at, actor=f"C{n % 5000}", number=f"T{n:09d}",
                subject="Parcel", type=rng.choice(TYPES), priority=rng.choice(PRIORITIES),
                channel="email", status="new", status_category="new", requester=f"C{n % 5000}",
                team="after-sales",
            )
        ]  # fmt: skip
        seq = 1
        agent = f"a-{rng.randrange(40)}"
        at += timedelta(minutes=rng.expovariate(1 / 4))
        seq += 1
        events.append(
            Assigned(ticket_id=ticket_id, seq=seq, at=at, actor="system", assignee=agent,
                     team="after-sales")
        )  # fmt: skip
        at += timedelta(minutes=rng.lognormvariate(2.0, 1.0))
        seq += 1
        events.append(
            Replied(ticket_id=ticket_id, seq=seq, at=at, actor=agent, message_id=f"m{n}",
                    body="On it.", channel="email")
        )  # fmt: skip
        status = "new"
        if rng.random() < 0.3:
            seq += 1
            events.append(
                StatusChanged(ticket_id=ticket_id, seq=seq, at=at, actor=agent,
                              from_status=status, to_status="pending_customer",
                              to_category="pending")
            )  # fmt: skip
            status = "pending_customer"
            at += timedelta(hours=rng.expovariate(1 / 6))
        if rng.random() < 0.9:
            at += timedelta(hours=rng.expovariate(1 / 10))
            seq += 1
            events.append(
                StatusChanged(ticket_id=ticket_id, seq=seq, at=at, actor=agent,
                              from_status=status, to_status="resolved", to_category="solved")
            )  # fmt: skip
        yield events


_BEFORE: Any = None
_AFTER: Any = None


def _init() -> None:
    global _BEFORE, _AFTER
    _BEFORE, _AFTER = load_config(config("5m")), load_config(config("10m"))


def _replay(chunk: list[list[Event]]) -> WhatIfReport:
    events = itertools.chain.from_iterable(chunk)
    return whatif(events, _BEFORE, _AFTER, start=START, end=END)


def chunks(count: int, size: int) -> Iterator[list[list[Event]]]:
    stream = histories(count)
    while True:
        chunk = list(itertools.islice(stream, size))
        if not chunk:
            return
        yield chunk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=2_000, help="histories per message")
    args = parser.parse_args()
    _init()

    began = time.perf_counter()
    single = whatif(
        itertools.chain.from_iterable(histories(args.tickets)), _BEFORE, _AFTER,
        start=START, end=END,
    )  # fmt: skip
    one = time.perf_counter() - began

    began = time.perf_counter()
    combined: WhatIfReport | None = None
    with multiprocessing.get_context("fork").Pool(args.workers, initializer=_init) as pool:
        for part in pool.imap_unordered(_replay, chunks(args.tickets, args.chunk)):
            combined = part if combined is None else combined.combine(part)
    many = time.perf_counter() - began
    assert combined is not None
    assert combined.tickets == single.tickets == args.tickets
    assert combined.breaches == single.breaches, "sharded figures differ from the single run"
    assert combined.workload == single.workload

    before, after = single.breached()
    print(
        f"what-if over {args.tickets:,} tickets (a month): complaints' first response 5 -> 10 min"
    )
    print(f"  breached cycles: before {before:,}, after {after:,} ({after - before:+,})")
    print(f"  1 process (peer, same run): {one:8.1f} s  ({args.tickets / one:,.0f} tickets/s)")
    print(
        f"  {args.workers} processes:                {many:8.1f} s  "
        f"({args.tickets / many:,.0f} tickets/s)  speed-up {one / many:.2f}x"
    )


if __name__ == "__main__":
    main()
