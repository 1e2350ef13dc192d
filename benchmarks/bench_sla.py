"""SLA evaluation of many synthetic ticket histories on one core.

Histories are realistic: 3-12 events (replies, notes, customer messages, pauses, resumes,
resolutions, reopens, a priority change now and then), opened at random instants over a year,
evaluated on the guide's business calendar (Mon-Fri 09:00-12:00, 13:00-18:00, Asia/Shanghai)
with four metrics and warnings. Goal (issue "Business calendars and SLA clocks"): 1,000,000
histories in < 60 s. The peer figure is the same histories with calendar-time targets, which
shows what the business calendar costs.

A third mix (issue 19, "SLA as the guides write it") gives each target its own basis: first and
next response in business time on the support calendar, resolution in elapsed time, periodic
updates on a second calendar (an evening desk). Goal: 1,000,000 histories in < 60 s.

Wall-clock and CPU seconds are both printed: on a shared machine the CPU time is the steadier
figure. To compare with another checkout's engine in the same session, run this script with
that checkout's ``src`` on PYTHONPATH and ``--mixes business,peer`` (the per-target mix needs
this engine) right before or after the run with this ``src``.

    python benchmarks/bench_sla.py [--n 1000000] [--mixes business,peer,per-target]
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from helpdesk_core.config import load_config
from helpdesk_core.model.events import (
    CustomerMessaged,
    Event,
    NoteAdded,
    PriorityChanged,
    Replied,
    StatusChanged,
    TicketCreated,
)
from helpdesk_core.sla import SlaConfig, evaluate

SH = ZoneInfo("Asia/Shanghai")
CATEGORY = {"in_progress": "open", "pending_customer": "pending", "resolved": "solved"}


CALENDARS = {
    "support": {"tz": "Asia/Shanghai", "week": {"mon-fri": ["09:00-12:00", "13:00-18:00"]}},
    "evening-desk": {"tz": "Asia/Shanghai", "week": {"mon-sun": ["08:00-22:00"]}},
}


def per_target_config() -> SlaConfig:
    """The guides' mixed row: business-time responses, an elapsed-time resolution."""
    elapsed = {"time": "calendar"}
    policy = {
        "name": "mixed",
        "calendar": "support",
        "targets": {
            "*": {"first_response": "1h", "next_response": "2h",
                  "resolution": {"within": "16h", **elapsed},
                  "periodic_update": {"within": "8h", "calendar": "evening-desk"}},
            "urgent": {"first_response": "15m", "resolution": {"within": "4h", **elapsed}},
        },
        "warnings": {"fractions": [0.75], "before_due": ["15m"]},
    }  # fmt: skip
    section = load_config(
        {
            "desk": {"timezone": "Asia/Shanghai"},
            "calendars": CALENDARS,
            "sla": {"policies": [policy]},
        }
    ).sections["sla"]
    assert isinstance(section, SlaConfig)
    return section


def config(calendar: bool) -> SlaConfig:
    policy = {
        "name": "std",
        "targets": {
            "*": {"first_response": "1h", "next_response": "2h", "resolution": "16h",
                  "periodic_update": "8h"},
            "urgent": {"first_response": "15m", "resolution": "4h"},
        },
        "warnings": {"fractions": [0.75], "before_due": ["15m"]},
    }  # fmt: skip
    if calendar:
        policy["calendar"] = "support"
    section = load_config(
        {
            "calendars": {
                "support": {
                    "tz": "Asia/Shanghai",
                    "week": {"mon-fri": ["09:00-12:00", "13:00-18:00"]},
                }
            },
            "sla": {"policies": [policy]},
        }
    ).sections["sla"]
    assert isinstance(section, SlaConfig)
    return section


def history(rng: random.Random, i: int) -> tuple[list[Event], datetime]:
    tid = f"t{i}"
    t = datetime(2026, 1, 1, tzinfo=SH) + timedelta(minutes=rng.randrange(0, 360 * 24 * 60))
    events: list[Event] = [
        TicketCreated(
            ticket_id=tid, seq=1, at=t, actor="c", number=str(i), subject="s",
            type="consultation", priority=rng.choice(["normal", "normal", "high", "urgent"]),
            channel="email", status="new", status_category="new",
        )
    ]  # fmt: skip
    status = "new"
    for _ in range(rng.randrange(2, 12)):
        t += timedelta(minutes=rng.randrange(5, 600))
        seq = len(events) + 1
        roll = rng.random()
        if roll < 0.3:
            events.append(
                Replied(
                    ticket_id=tid,
                    seq=seq,
                    at=t,
                    actor="a",
                    message_id=f"m{seq}",
                    body="b",
                    channel="email",
                )
            )
        elif roll < 0.45:
            events.append(
                CustomerMessaged(
                    ticket_id=tid,
                    seq=seq,
                    at=t,
                    actor="c",
                    message_id=f"m{seq}",
                    body="b",
                    channel="email",
                )
            )
        elif roll < 0.5:
            events.append(
                NoteAdded(
                    ticket_id=tid,
                    seq=seq,
                    at=t,
                    actor="a",
                    message_id=f"m{seq}",
                    body="b",
                    channel="api",
                )
            )
        elif roll < 0.55:
            events.append(
                PriorityChanged(
                    ticket_id=tid,
                    seq=seq,
                    at=t,
                    actor="a",
                    from_priority="normal",
                    to_priority="high",
                )
            )
        else:
            if status == "resolved":
                to, reopen = "in_progress", True
            elif status == "pending_customer":
                to, reopen = "in_progress", False
            else:
                to, reopen = rng.choice(["pending_customer", "resolved", "in_progress"]), False
            if to == status:
                continue
            events.append(
                StatusChanged(
                    ticket_id=tid,
                    seq=seq,
                    at=t,
                    actor="a",
                    from_status=status,
                    to_status=to,
                    to_category=CATEGORY[to],
                    reopen=reopen,
                )
            )
            status = to
    return events, t + timedelta(hours=rng.randrange(0, 72))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--mixes", default="business,peer,per-target")
    args = parser.parse_args()
    n, mixes = args.n, set(args.mixes.split(","))
    rng = random.Random(7)
    print(f"building {n:,} histories...")
    histories = [history(rng, i) for i in range(n)]
    events = sum(len(h) for h, _ in histories)
    print(f"{events:,} events, {events / n:.1f} per history")
    figures: dict[str, float] = {}
    cpus: dict[str, float] = {}
    for key, label, make in (
        ("business", "business calendar", lambda: config(True)),
        ("peer", "calendar time (peer)", lambda: config(False)),
        ("per-target", "per-target bases", per_target_config),
    ):
        if key not in mixes:
            continue
        cfg = make()
        start, cpu = time.perf_counter(), time.process_time()
        clocks = 0
        for evs, now in histories:
            clocks += len(evaluate(cfg, evs, now))
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        figures[label], cpus[label] = elapsed, cpu
        print(
            f"  {label:<22} {elapsed:8.1f} s ({cpu:.1f} s CPU)  {n / elapsed:>10,.0f} histories/s"
            f"  {clocks:,} clocks"
        )
    if {"business calendar", "calendar time (peer)"} <= set(figures):
        ratio = figures["business calendar"] / figures["calendar time (peer)"]
        print(f"  business / calendar-time cost ratio: {ratio:.2f}x")
    for label in ("business calendar", "per-target bases"):
        if label in figures:
            scaled, cpu = figures[label] * 1_000_000 / n, cpus[label] * 1_000_000 / n
            print(
                f"  1,000,000 histories, {label}: {scaled:.1f} s ({cpu:.1f} s CPU; goal < 60 s):"
                f" {'met' if scaled < 60 else 'NOT met'}"
            )


if __name__ == "__main__":
    main()
