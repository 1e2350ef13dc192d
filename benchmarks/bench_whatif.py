"""What-if replay at scale (issue 24): a month of tickets compared under two SLA configurations,
in one process and in N worker processes over ticket shards, the event stream read once.

    python benchmarks/bench_whatif.py [--tickets 1000000] [--workers 2] [--stream FILE]
                                      [--escalation]

A realistic month (a new ticket every few seconds, assigned, answered after a skewed delay,
some paused for the customer, most resolved) is generated first and kept as the stored stream:
pickled chunks of whole histories, as a store or an export file would hold them. Generating it
is not timed. Timed, for each run, from the first chunk read to the report in hand:

- 1 process (the peer, same run): read every chunk, decode it, replay it under both configs;
- N processes: the parent reads every chunk once and deals the raw chunks out to the workers
  (forked before the timing starts), which decode and replay their shard under both configs;
  the parent combines the shard reports in order (``WhatIfReport.combine``).

The script checks that the combined report equals the single-process one, and prints the
decode alone (the part of both figures that is reading, not replaying).
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import pickle
import random
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
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


ESCALATION = {
    "policies": [
        {
            "name": "late",
            "levels": [
                {"trigger": {"sla": "first_response", "breached": True}, "notify": ["supervisor"]},
                {"trigger": {"sla": "resolution", "breached": True}, "notify": ["supervisor"]},
            ],
        }
    ]
}
"""With ``--escalation``, the same ``[escalation]`` section on both sides."""


def _init(escalation: bool = False) -> None:
    global _BEFORE, _AFTER
    extra = {"escalation": ESCALATION} if escalation else {}
    _BEFORE = load_config({**config("5m"), **extra})
    _AFTER = load_config({**config("10m"), **extra})


def _ready(_: int) -> None:
    assert _BEFORE is not None


def _replay(chunk: bytes) -> tuple[WhatIfReport, float, int]:
    """One shard: decode the chunk, replay it; the report, the CPU seconds it took and the
    worker's process id."""
    began = time.process_time()
    histories: list[list[Event]] = pickle.loads(chunk)
    report = whatif(itertools.chain.from_iterable(histories), _BEFORE, _AFTER, start=START, end=END)
    return report, time.process_time() - began, os.getpid()


def stored_stream(count: int, size: int) -> list[bytes]:
    """The month as stored: pickled chunks of ``size`` whole histories, oldest first."""
    stream = histories(count)
    chunks = []
    while chunk := list(itertools.islice(stream, size)):
        chunks.append(pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL))
    return chunks


def decoded(chunks: list[bytes]) -> Iterator[Event]:
    for chunk in chunks:
        for history in pickle.loads(chunk):
            yield from history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=2_000, help="histories per chunk")
    parser.add_argument(
        "--stream", type=Path, help="keep the generated stream in this file and reuse it"
    )
    parser.add_argument(
        "--escalation", action="store_true", help="the same escalation policy on both sides"
    )
    args = parser.parse_args()
    _init(args.escalation)

    began = time.perf_counter()
    if args.stream is not None and args.stream.exists():
        chunks = pickle.loads(args.stream.read_bytes())
    else:
        chunks = stored_stream(args.tickets, args.chunk)
        if args.stream is not None:
            args.stream.write_bytes(pickle.dumps(chunks, protocol=pickle.HIGHEST_PROTOCOL))
    size = sum(len(c) for c in chunks)
    print(
        f"stream: {args.tickets:,} tickets in {len(chunks)} chunks, {size / 1e6:,.0f} MB pickled "
        f"(generated or loaded in {time.perf_counter() - began:.0f} s, not timed); "
        f"load average {os.getloadavg()[0]:.1f}"
    )

    began, cpu = time.perf_counter(), time.process_time()
    events = sum(1 for _ in decoded(chunks))
    decode, decode_cpu = time.perf_counter() - began, time.process_time() - cpu

    began, cpu = time.perf_counter(), time.process_time()
    single = whatif(decoded(chunks), _BEFORE, _AFTER, start=START, end=END)
    one, one_cpu = time.perf_counter() - began, time.process_time() - cpu
    assert single.tickets == args.tickets
    before, after = single.breached()
    print(
        f"what-if over {args.tickets:,} tickets ({events:,} events, a month): complaints' first "
        f"response 5 -> 10 min"
    )
    print(f"  breached cycles: before {before:,}, after {after:,} ({after - before:+,})")
    for row in single.escalations:
        print(
            f"  escalation {row.policy} level {row.level} fired: "
            f"before {row.before:,}, after {row.after:,}"
        )
    print(f"  decode alone (part of both): {decode:8.1f} s wall {decode_cpu:8.1f} s CPU")
    print(
        f"  1 process (peer, same run):  {one:8.1f} s wall {one_cpu:8.1f} s CPU  "
        f"({args.tickets / one:,.0f} tickets/s)",
        flush=True,
    )

    with multiprocessing.get_context("fork").Pool(
        args.workers, initializer=_init, initargs=(args.escalation,)
    ) as pool:
        pool.map(_ready, range(args.workers * 4))  # the workers are up before the timing
        began, cpu = time.perf_counter(), time.process_time()
        combined: WhatIfReport | None = None
        by_worker: dict[int, float] = {}
        for part, part_cpu, pid in pool.imap(_replay, chunks):  # in order: ties as in one run
            combined = part if combined is None else combined.combine(part)
            by_worker[pid] = by_worker.get(pid, 0.0) + part_cpu
        many, parent_cpu = time.perf_counter() - began, time.process_time() - cpu
    many_cpu = parent_cpu + sum(by_worker.values())
    assert combined == single, "sharded figures differ from the single run"
    print(
        f"  {args.workers} processes:                 {many:8.1f} s wall {many_cpu:8.1f} s CPU  "
        f"({args.tickets / many:,.0f} tickets/s)  speed-up {one / many:.2f}x; "
        f"the same figures"
    )
    print(
        f"  {args.workers} processes' CPU: parent {parent_cpu:.1f} s, workers "
        + ", ".join(f"{c:.1f} s" for c in sorted(by_worker.values(), reverse=True))
        + " (on two free cores the wall time would be about the busiest worker's)"
    )
    print(f"  load average after: {os.getloadavg()[0]:.1f} (2 cores shared)")


if __name__ == "__main__":
    main()
