"""BusinessCalendar against a brute-force oracle (R-CAL-1, R-CAL-2, issue "Business calendars
and SLA clocks", rules 1-6).

The oracle applies the written rules literally, minute by minute over a few days around DST
changes: it converts each shift and closed range of every local date to instants by itself
(rule 3 without zoneinfo's fold machinery: a wall time is the earliest instant showing it, and
a wall time in a gap uses the offset in force before the gap), then walks UTC minutes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from helpdesk_core.calendars import DAYS, BusinessCalendar

ZONES_AND_DAYS = [
    ("America/New_York", date(2026, 3, 8)),
    ("America/New_York", date(2026, 11, 1)),
    ("Europe/London", date(2026, 3, 29)),
    ("Europe/London", date(2026, 10, 25)),
    ("Australia/Lord_Howe", date(2026, 4, 5)),
    ("Australia/Lord_Howe", date(2026, 10, 4)),
    ("America/Santiago", date(2026, 4, 5)),
    ("America/Santiago", date(2026, 9, 6)),
    ("Asia/Shanghai", date(2026, 10, 1)),
    ("UTC", date(2026, 12, 31)),
]
MINUTE = timedelta(minutes=1)


def wall_to_instant(zone: ZoneInfo, wall: datetime) -> datetime:
    """Rule 3 by brute force over the offsets the zone uses around ``wall``."""
    offsets = {
        (wall + timedelta(hours=h)).replace(tzinfo=zone).utcoffset() for h in range(-30, 31, 3)
    }
    shows = sorted(
        (wall - off).replace(tzinfo=UTC)
        for off in offsets
        if off is not None
        and (wall - off).replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None) == wall
    )
    if shows:
        return shows[0]
    before = (wall - timedelta(hours=12)).replace(tzinfo=zone)
    # the offset in force just before the gap: walk forward in UTC to the transition
    probe = before.astimezone(UTC)
    off = probe.astimezone(zone).utcoffset()
    while True:
        nxt = probe + timedelta(minutes=15)
        if nxt.astimezone(zone).utcoffset() != off:
            break
        probe = nxt
    assert off is not None
    return (wall - off).replace(tzinfo=UTC)


def minutes(text: str) -> tuple[int, int]:
    a, b = text.split("-")
    return int(a[:2]) * 60 + int(a[3:]), int(b[:2]) * 60 + int(b[3:])


def oracle_open_set(
    zone: ZoneInfo,
    week: dict[str, list[str]],
    holidays: list[object],
    extra: dict[str, str],
    lo: datetime,
    hi: datetime,
) -> set[datetime]:
    whole = {h for h in holidays if isinstance(h, str)}
    partial: dict[str, list[str]] = {}
    for h in holidays:
        if isinstance(h, dict):
            partial.setdefault(h["date"], []).extend(h["closed"])

    def span(day: date, text: str) -> tuple[datetime, datetime]:
        s, e = minutes(text)
        if e <= s:
            e += 1440
        base = datetime.combine(day, datetime.min.time())
        return (
            wall_to_instant(zone, base + timedelta(minutes=s)),
            wall_to_instant(zone, base + timedelta(minutes=e)),
        )

    opened: list[tuple[datetime, datetime]] = []
    closed: list[tuple[datetime, datetime]] = []
    day = lo.astimezone(zone).date() - timedelta(days=3)
    while day <= hi.astimezone(zone).date() + timedelta(days=2):
        key = day.isoformat()
        weekday = DAYS[day.weekday()]
        if key in extra:
            shifts = week.get(extra[key], [])
        elif key in whole:
            shifts = []
        else:
            shifts = week.get(weekday, [])
        opened += [span(day, s) for s in shifts]
        closed += [span(day, c) for c in partial.get(key, [])]
        day += timedelta(days=1)
    found = set()
    t = lo
    while t < hi:
        if any(o <= t < c for o, c in opened) and not any(o <= t < c for o, c in closed):
            found.add(t)
        t += MINUTE
    return found


times = st.integers(0, 47).map(lambda h: f"{h // 2:02}:{(h % 2) * 30:02}")
ends = st.integers(0, 48).map(lambda h: f"{h // 2:02}:{(h % 2) * 30:02}")
shift = st.tuples(times, ends).map(lambda p: f"{p[0]}-{p[1]}")
weeks = st.dictionaries(st.sampled_from(DAYS), st.lists(shift, max_size=2), max_size=7)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[object, ...]:
    zone_name, anchor = draw(st.sampled_from(ZONES_AND_DAYS))
    week = draw(weeks)
    dates = [(anchor + timedelta(days=i)).isoformat() for i in range(-2, 3)]
    chosen = draw(st.lists(st.sampled_from(dates), unique=True, max_size=4))
    holidays: list[object] = []
    extra: dict[str, str] = {}
    for d in chosen:
        kind = draw(st.sampled_from(["whole", "partial", "extra"]))
        if kind == "whole":
            holidays.append(d)
        elif kind == "partial":
            holidays.append({"date": d, "closed": [draw(shift)]})
        else:
            extra[d] = draw(st.sampled_from(DAYS))
    zone = ZoneInfo(zone_name)
    lo = datetime.combine(anchor - timedelta(days=1), datetime.min.time(), zone).astimezone(UTC)
    lo = lo.replace(minute=0)
    hi = lo + timedelta(hours=60)
    return zone, week, holidays, extra, lo, hi


def _calendar(s: tuple[object, ...]) -> BusinessCalendar:
    zone, week, holidays, extra, _, _ = s
    return BusinessCalendar(tz=zone, week=week, holidays=holidays, extra_workdays=extra)  # type: ignore[arg-type]


@settings(max_examples=120, deadline=None)
@given(scenarios(), st.data())
def test_open_time_matches_the_oracle(s: tuple[object, ...], data: st.DataObject) -> None:
    zone, week, holidays, extra, lo, hi = s
    assert isinstance(lo, datetime) and isinstance(hi, datetime) and isinstance(zone, ZoneInfo)
    cal = _calendar(s)
    open_minutes = oracle_open_set(zone, week, holidays, extra, lo, hi)  # type: ignore[arg-type]
    # is_open everywhere, and intervals() describe exactly the oracle's set
    for k in range(0, 60 * 60, 7):
        t = lo + k * MINUTE
        assert cal.is_open(t) == (t in open_minutes), t
    covered = set()
    for o, c in cal.intervals(lo, hi):
        t = o.astimezone(UTC)
        while t < c:
            covered.add(t)
            t += MINUTE
    assert covered == open_minutes
    # between on random sub-ranges
    a = lo + data.draw(st.integers(0, 3600)) * MINUTE
    b = lo + data.draw(st.integers(0, 3600)) * MINUTE
    lo_, hi_ = min(a, b), max(a, b)
    expected = sum(1 for t in open_minutes if lo_ <= t < hi_) * MINUTE
    assert cal.between(lo_, hi_) == expected
    assert cal.between(hi_, lo_) == -expected


@settings(max_examples=120, deadline=None)
@given(scenarios(), st.data())
def test_add_and_between_are_inverse(s: tuple[object, ...], data: st.DataObject) -> None:
    _, _, _, _, lo, hi = s
    assert isinstance(lo, datetime) and isinstance(hi, datetime)
    cal = _calendar(s)
    start = lo + timedelta(seconds=data.draw(st.integers(0, 60 * 3600)))
    total = cal.between(start, hi)
    assume(total > timedelta(0))
    d = timedelta(seconds=data.draw(st.integers(1, int(total.total_seconds()))))
    end = cal.add(start, d).astimezone(UTC)  # arithmetic below must be on instants, not wall time
    assert cal.between(start, end) == d
    # earliest: a microsecond before is short of d; it is open there or lands on a close
    assert cal.between(start, end - timedelta(microseconds=1)) < d
    assert cal.is_open(end - timedelta(microseconds=1))
    # backwards
    back = cal.add(end, -d).astimezone(UTC)
    assert cal.between(back, end) == d
    assert back >= start
    # latest: a microsecond later has less than d before `end`
    assert cal.between(back + timedelta(microseconds=1), end) < d
    assert cal.add(start, timedelta(0)) == start


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.data())
def test_between_is_additive_over_a_split(s: tuple[object, ...], data: st.DataObject) -> None:
    _, _, _, _, lo, _ = s
    assert isinstance(lo, datetime)
    cal = _calendar(s)
    a, m, b = sorted(
        lo + timedelta(seconds=data.draw(st.integers(-86400, 4 * 86400))) for _ in range(3)
    )
    assert cal.between(a, b) == cal.between(a, m) + cal.between(m, b)
    assert cal.between(b, a) == -cal.between(a, b)


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.data())
def test_next_open_is_the_first_open_instant(s: tuple[object, ...], data: st.DataObject) -> None:
    _, _, _, _, lo, _ = s
    assert isinstance(lo, datetime)
    cal = _calendar(s)
    assume(cal.between(lo, lo + timedelta(days=60)) > timedelta(0))
    t = lo + timedelta(seconds=data.draw(st.integers(0, 3 * 86400)))
    n = cal.next_open(t)
    assert cal.is_open(n)
    assert n >= t
    assert cal.between(t, n) == timedelta(0)


def test_intervals_are_maximal_across_midnight() -> None:
    cal = BusinessCalendar(tz="UTC", week={"mon": ["18:00-24:00"], "tue": ["00:00-06:00"]})
    a = datetime(2026, 11, 2, tzinfo=UTC)
    assert cal.intervals(a, a + timedelta(days=2)) == [
        (datetime(2026, 11, 2, 18, tzinfo=UTC), datetime(2026, 11, 3, 6, tzinfo=UTC))
    ]
