"""Calendar arithmetic: helpdesk_core vs pandas CustomBusinessHour vs timegrid, same run.

The guide's calendar: Mon-Fri 09:00-12:00 and 13:00-18:00 with 15 holidays, in Asia/Shanghai
and America/New_York. 100,000 ``add`` and 100,000 ``between`` calls on the same random pairs
through each library. pandas' CustomBusinessHour adds only whole hours and has one opening per
day (no lunch break), so its pairs use whole hours and it is timed on 09:00-18:00; timegrid is
naive (no zones), so it gets the local wall times. Goals (issue "Business calendars and SLA
clocks"): add >= 50x pandas and >= 400,000/s; between >= 350,000/s and faster than timegrid.

    python benchmarks/bench_calendars.py [--n 100000]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from helpdesk_core.calendars import BusinessCalendar

HOLIDAYS_2026 = [
    "2026-01-01", "2026-01-02", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19",
    "2026-02-20", "2026-04-06", "2026-05-01", "2026-05-04", "2026-05-05", "2026-06-19",
    "2026-09-25", "2026-10-01", "2026-10-02",
]  # fmt: skip
WEEK = {"mon-fri": ["09:00-12:00", "13:00-18:00"]}


def rate(label: str, n: int, fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    per_s = n / elapsed
    print(f"  {label:<44} {per_s:>12,.0f} calls/s  ({elapsed:.2f} s)")
    return per_s


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    n = parser.parse_args().n
    rng = random.Random(2026)
    ok = True
    for tz in ("Asia/Shanghai", "America/New_York"):
        zone = ZoneInfo(tz)
        cal = BusinessCalendar(tz=tz, week=WEEK, holidays=HOLIDAYS_2026)
        base = datetime(2026, 1, 1, tzinfo=zone)
        starts = [base + timedelta(minutes=rng.randrange(0, 360 * 24 * 60)) for _ in range(n)]
        starts = [s.astimezone(zone) for s in starts]
        deltas = [timedelta(minutes=rng.randrange(1, 5 * 8 * 60)) for _ in range(n)]
        hours = [timedelta(hours=rng.randrange(1, 40)) for _ in range(n)]
        ends = [s + timedelta(minutes=rng.randrange(0, 20 * 24 * 60)) for s in starts]
        cal.between(base, base + timedelta(days=366))  # compile the year outside the timing
        print(f"\n{tz}: {n:,} calls each")

        def ours_add() -> None:
            add = cal.add
            for s, d in zip(starts, deltas, strict=True):
                add(s, d)

        def ours_between() -> None:
            between = cal.between
            for a, b in zip(starts, ends, strict=True):
                between(a, b)

        add_rate = rate("helpdesk_core add", n, ours_add)
        between_rate = rate("helpdesk_core between", n, ours_between)

        pandas_add = None
        try:
            import pandas as pd

            cbh = pd.offsets.CustomBusinessHour(
                start="09:00", end="18:00", holidays=HOLIDAYS_2026, weekmask="Mon Tue Wed Thu Fri"
            )
            stamps = [pd.Timestamp(s) for s in starts]
            whole = [int(h.total_seconds() // 3600) for h in hours]
            m = max(1, n // 20)  # pandas is slow: time a slice and scale

            def pandas_run() -> None:
                for s, h in zip(stamps[:m], whole[:m], strict=True):
                    s + h * cbh

            pandas_add = rate(f"pandas CustomBusinessHour add ({m:,})", m, pandas_run)
        except ImportError:
            print("  pandas not installed: peer skipped")

        tg_between = None
        try:
            from datetime import time as dtime

            import timegrid

            tg_cal = timegrid.TimeGridCalendar.weekdays(dtime(9), dtime(18)).break_weekdays(
                dtime(12), dtime(13)
            )
            for h in HOLIDAYS_2026:
                tg_cal = tg_cal.close(date.fromisoformat(h))
            timeline = tg_cal.compile(datetime(2026, 1, 1), datetime(2027, 3, 1))
            naive_starts = [s.replace(tzinfo=None) for s in starts]
            naive_ends = [e.astimezone(zone).replace(tzinfo=None) for e in ends]

            def tg_run() -> None:
                get = timeline.get_working_duration
                for a, b in zip(naive_starts, naive_ends, strict=True):
                    get(a, b)

            tg_between = rate("timegrid compiled get_working_duration", n, tg_run)
        except ImportError:
            print("  timegrid not installed: peer skipped")

        print("  ratios:")
        if pandas_add:
            ratio = add_rate / pandas_add
            print(f"    add vs pandas CustomBusinessHour: {ratio:,.1f}x (goal >= 50x)")
            ok &= ratio >= 50
        if tg_between:
            ratio = between_rate / tg_between
            print(f"    between vs timegrid: {ratio:,.2f}x (goal > 1x)")
            ok &= ratio > 1
        print(f"    add {add_rate:,.0f}/s (goal >= 400,000)")
        print(f"    between {between_rate:,.0f}/s (goal >= 350,000)")
        ok &= add_rate >= 400_000 and between_rate >= 350_000
    print(f"\ngoals met: {ok}")


if __name__ == "__main__":
    main()
