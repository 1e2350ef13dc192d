"""R-OPS-1: a festival day with a peak of 1,000+ tickets an hour, through the real desk.

``helpdesk_core.simulate`` plays the day (arrival curve, type/channel mix, replies, pauses,
reopens, Erlang C staffing per hour) on a SQLite file (or ``--url``), every step a desk command.
Printed: the desk's command rate over the whole day, the busiest hour's commands, and their
ratio: how many times faster than the festival's busiest hour needs the desk got through it
(the peer figure is the load itself: the commands of the busiest simulated hour, which must
fit into one real hour). Then the SLA outcome and the Erlang C estimate per busy hour.

    python benchmarks/bench_simulate.py [--peak 1000] [--url sqlite:///PATH] [--seed 2026]
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from datetime import date
from pathlib import Path

from helpdesk_core import Helpdesk
from helpdesk_core.simulate import DayProfile, simulate
from helpdesk_core.testing import FixedClock

CONFIG = {
    "desk": {"timezone": "Asia/Shanghai"},
    "sla": {
        "policies": [
            {
                "name": "complaint",
                "when": {"type": "complaint"},
                "targets": {"*": {"first_response": "5m", "resolution": "2h"}},
            },
            {"name": "default", "targets": {"*": {"first_response": "10m", "resolution": "4h"}}},
        ]
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--peak", type=int, default=1000)
    parser.add_argument("--url")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-sim-')) / 'day.db'}"
    ids = itertools.count()
    desk = Helpdesk(
        CONFIG,
        url,
        clock=FixedClock("2026-11-11T00:00:00+08:00"),
        load_entrypoints=False,
        id_factory=lambda: f"{next(ids):09d}",
    )
    started = time.perf_counter()
    result = simulate(
        desk, seed=args.seed, day=date(2026, 11, 11), profile=DayProfile(peak_per_hour=args.peak)
    )
    seconds = time.perf_counter() - started
    desk.close()
    busiest = max(result.hours, key=lambda h: h.arrivals)
    per_ticket = result.commands / len(result.ticket_ids)
    peak_commands = busiest.arrivals * per_ticket
    rate = result.commands / seconds
    print(f"{url.split('://')[0]}: {len(result.ticket_ids):,} tickets, {result.commands:,} desk "
          f"commands in {seconds:.1f} s ({rate:,.0f} commands/s, SLA report included)")  # fmt: skip
    print(
        f"busiest hour {busiest.hour}: {busiest.arrivals:,} tickets, ~{peak_commands:,.0f} "
        f"commands; the desk did them {rate * 3600 / peak_commands:,.0f}x faster than needed"
    )
    print("hour   arrivals  on shift  Erlang C  picked up  mean wait  within 60 s")
    for h in result.hours:
        if h.arrivals >= busiest.arrivals * 0.8:
            wait = "-" if h.mean_wait_seconds is None else f"{h.mean_wait_seconds:.0f} s"
            share = "-" if h.within_target is None else f"{h.within_target:.0%}"
            print(f"{h.hour}  {h.arrivals:>8}  {h.agents_on_shift:>8}  {h.erlang_c_agents:>8}  "
                  f"{h.picked_up:>9}  {wait:>9}  {share:>11}")  # fmt: skip
    if result.sla is not None:
        for row in result.sla.rows:
            print(
                f"SLA {row['policy']}/{row['metric']}: met {row['met']:,}, breached "
                f"{row['breached']:,}, compliance {row['compliance']}"
            )


if __name__ == "__main__":
    main()
