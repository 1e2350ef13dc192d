"""Business calendars: when a team works, as exact instants (R-CAL-1, R-CAL-2).

A :class:`BusinessCalendar` is a time zone, a week of shifts, holidays (whole or partial) and
extra working days (调休). It answers :meth:`~CalendarBase.add`, :meth:`~CalendarBase.between`,
:meth:`~CalendarBase.is_open`, :meth:`~CalendarBase.next_open` and
:meth:`~CalendarBase.intervals` for aware datetimes in any zone.

Semantics (the docs state them word for word; tests hold them):

1. A shift "HH:MM-HH:MM" is local wall time on a date; "24:00" may end a shift; an end at or
   before the start means the shift crosses midnight and belongs to the day it starts. Open
   time is the union of all shifts (overlapping or touching shifts join).
2. A whole-day holiday removes every shift that opens on that date (an overnight shift that
   opened the evening before still runs into it). A partial holiday subtracts its local wall
   intervals on that date. An extra workday (调休) gets the shifts of the named weekday instead
   of its own.
3. Wall time to instant: a time that does not exist (spring-forward gap) moves forward by the
   gap; an ambiguous time (fall-back) is its first occurrence (fold=0). Business time is real
   elapsed time inside open intervals.
4. Intervals are half-open [open, close). ``between(a, b)`` is the open time in [a, b).
   ``add(start, d)`` for d > 0 is the earliest t with between(start, t) == d (it lands ON a
   closing instant); add(start, 0) is start; for d < 0 the latest t <= start with
   between(t, start) == -d. Microsecond precision.
5. No open time in the searched range raises :class:`CalendarError`, never loops.

Implementation: open time is compiled lazily, per UTC year, into sorted tables of disjoint
``[open, close)`` intervals in integer microseconds since the epoch, with prefix sums of open
time; every query is a binary search (``bisect``) plus arithmetic. No minute or day walking.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from helpdesk_core.config import ConfigContext, config_keys, table
from helpdesk_core.durations import parse_duration
from helpdesk_core.errors import CalendarError, ConfigError, HelpdeskError

__all__ = [
    "BusinessCalendar",
    "CalendarBase",
    "CalendarError",
    "duration",
    "instant",
    "parse_calendars",
    "utc_offset",
]

DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SHIFT: Final = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_US: Final = 1_000_000
_MIN_YEAR: Final = 1
_MAX_YEAR: Final = 9998
_ZERO: Final = timedelta(0)
_EMPTY_YEARS: Final = 8
"""Searching this many consecutive closed years ends in CalendarError (rule 5)."""

Interval = tuple[timedelta, timedelta]
"""``[open, close)`` as offsets from the Unix epoch (UTC)."""


def _naive(t: Any) -> CalendarError:
    if not isinstance(t, datetime):
        return CalendarError(f"expected an aware datetime, got {type(t).__name__} {t!r}")
    return CalendarError(f"naive datetime {t.isoformat()}: give a time zone")


def instant(t: datetime | str) -> datetime:
    """An instant given at the API's edge: an aware datetime (stdlib or pendulum) as is, or an
    ISO 8601 string with an offset (``"2026-03-09T10:00:00+08:00"``, ``"...Z"``) parsed.
    Anything else, a naive datetime or a string without an offset raises CalendarError."""
    if isinstance(t, str):
        try:
            parsed = datetime.fromisoformat(t.strip())
        except ValueError:
            raise CalendarError(
                f"not an ISO 8601 instant: {t!r} (expected e.g. '2026-03-09T10:00:00+08:00')"
            ) from None
        if parsed.utcoffset() is None:
            raise CalendarError(f"naive ISO instant {t!r} (no offset): give a time zone")
        return parsed
    if not isinstance(t, datetime) or t.utcoffset() is None:
        raise _naive(t)
    return t


def duration(d: timedelta | str) -> timedelta:
    """A duration given at the API's edge: a timedelta, a pendulum ``Duration`` or a string
    (``"2h30m"``, ``"90m"``, ISO 8601 ``"PT2H30M"``, ``"P1D"``) as a plain timedelta."""
    if type(d) is timedelta:
        return d
    if not isinstance(d, timedelta | str):
        raise CalendarError(
            "expected a duration (timedelta, pendulum Duration, or a string such as '2h30m' "
            f"or 'P1D'), got {type(d).__name__} {d!r}"
        )
    try:
        return parse_duration(d, "duration")
    except HelpdeskError as exc:
        raise CalendarError(str(exc)) from None


def utc_offset(t: datetime | str) -> timedelta:
    """An aware datetime (or ISO string, see :func:`instant`) as its exact offset from the
    Unix epoch (honours ``fold``).

    Instants are ``timedelta`` offsets inside the calendars: comparing and adding them is a
    few tens of nanoseconds in C, and the results of ``between`` need no conversion.
    """
    if type(t) is datetime:
        try:
            return t - _EPOCH
        except TypeError:
            raise _naive(t) from None
    t = instant(t)
    if type(t) is datetime:
        return t - _EPOCH
    # subclasses (pendulum.DateTime) may return their own types from arithmetic
    plain = datetime(
        t.year, t.month, t.day, t.hour, t.minute, t.second, t.microsecond, t.tzinfo, fold=t.fold
    )
    return plain - _EPOCH


def _year_start(year: int) -> timedelta:
    return timedelta(days=date(year, 1, 1).toordinal() - date(1970, 1, 1).toordinal())


_YEAR_STARTS: Final = [_year_start(y) for y in range(_MIN_YEAR, _MAX_YEAR + 2)]


def _year_of(u: timedelta) -> int:
    i = bisect_right(_YEAR_STARTS, u) - 1
    if i < 0 or i > _MAX_YEAR - _MIN_YEAR:
        raise CalendarError("instant outside the supported years 1..9998")
    return i + _MIN_YEAR


_HOUR: Final = timedelta(hours=1)
_SECOND: Final = timedelta(seconds=1)


class _WallMap:
    """Local wall time -> epoch offset for one zone without asking the zone each time.

    Wall time is ``t - datetime(1970, 1, 1, tzinfo=zone)`` (Python subtracts same-zone
    datetimes naively). The map holds ranges of wall time in which the zone's UTC offset is one
    value whatever ``fold`` says (gaps and overlaps are left out and go to ``utcoffset()``),
    built per UTC year on first use by sampling the zone hourly and bisecting each change to
    the second (tzdb transitions are whole seconds, and none reverts within an hour).
    """

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self.wall_epoch = datetime(1970, 1, 1, tzinfo=zone)
        self.years: set[int] = set()
        self.table: tuple[list[timedelta], list[tuple[timedelta, timedelta, timedelta]]] = ([], [])
        """Range starts and ranges, replaced as one tuple so concurrent readers (desks are used
        from several threads) always see a matching pair; builds hold ``_lock``."""
        self._lock = threading.Lock()
        self.hit = (_ZERO, _ZERO, _ZERO)
        """The last range used: callers test it inline before calling :meth:`to_utc`."""

    def _offset(self, u: timedelta) -> timedelta:
        offset = self.zone.fromutc(self.wall_epoch + u).utcoffset()
        assert offset is not None
        return offset

    def _build(self, year: int) -> None:
        with self._lock:
            if year not in self.years:
                self._build_locked(year)
                self.years.add(year)

    def _build_locked(self, year: int) -> None:
        lo, hi = _YEAR_STARTS[year - _MIN_YEAR], _YEAR_STARTS[year - _MIN_YEAR + 1]
        try:
            cuts = [lo]
            offsets = [self._offset(lo)]
            before = self._offset(lo - _SECOND)
            at = lo
            while at < hi:
                nxt = min(at + _HOUR, hi)
                off = self._offset(nxt) if nxt < hi else self._offset(hi - _SECOND)
                if off != offsets[-1]:
                    a, b = at, nxt  # offsets[-1] at a, another offset at b: find the change
                    while b - a > _SECOND:
                        mid = a + (b - a) // 2 // _SECOND * _SECOND
                        mid = mid if mid > a else a + _SECOND
                        if self._offset(mid) == offsets[-1]:
                            a = mid
                        else:
                            b = mid
                    cuts.append(b)
                    offsets.append(self._offset(b))
                at = nxt
            after = self._offset(hi)
        except (OverflowError, ValueError):
            return  # the first and last representable years stay on the exact slow path
        cuts.append(hi)
        ranges = list(self.table[1])
        for k, off in enumerate(offsets):
            prev = offsets[k - 1] if k else before
            nxt_off = offsets[k + 1] if k + 1 < len(offsets) else after
            start, end = cuts[k] + max(prev, off), cuts[k + 1] + min(off, nxt_off)
            if start < end:
                ranges.append((start, end, off))
        merged: list[tuple[timedelta, timedelta, timedelta]] = []
        for start, end, off in sorted(ranges):
            if merged and merged[-1][1] == start and merged[-1][2] == off:
                merged[-1] = (merged[-1][0], end, off)
            else:
                merged.append((start, end, off))
        self.table = ([r[0] for r in merged], merged)

    def to_utc(self, t: datetime, wall: timedelta) -> timedelta:
        """``t`` (in this zone, ``wall`` its wall time) as an epoch offset; exact."""
        los, ranges = self.table
        i = bisect_right(los, wall) - 1
        if i >= 0:
            found = ranges[i]
            if wall < found[1]:
                self.hit = found
                return wall - found[2]
        u = wall - t.utcoffset()  # type: ignore[operator]
        try:
            year = _year_of(u)
        except CalendarError:
            return u
        if year not in self.years:
            self._build(year)
        return u


_WALL_MAPS: dict[ZoneInfo, _WallMap] = {}


def _wall_map(zone: ZoneInfo) -> _WallMap:
    found = _WALL_MAPS.get(zone)
    if found is None or found.zone is not zone:
        found = _WALL_MAPS[zone] = _WallMap(zone)
    return found


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint, non-touching union of intervals (empty ones dropped)."""
    out: list[Interval] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def _subtract(base: Sequence[Interval], cut: Sequence[Interval]) -> list[Interval]:
    """``base`` minus ``cut``; both sorted and disjoint."""
    out: list[Interval] = []
    j = 0
    for start, end in base:
        while j < len(cut) and cut[j][1] <= start:
            j += 1
        k = j
        cur = start
        while k < len(cut) and cut[k][0] < end:
            if cut[k][0] > cur:
                out.append((cur, cut[k][0]))
            cur = max(cur, cut[k][1])
            k += 1
        if cur < end:
            out.append((cur, end))
    return out


def _intersect(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start = max(a[i][0], b[j][0])
        end = min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _clip(intervals: Iterable[Interval], lo: timedelta, hi: timedelta) -> list[Interval]:
    return [(max(s, lo), min(e, hi)) for s, e in intervals if e > lo and s < hi]


class _Block:
    """One UTC year of open time: interval starts, ends and the open time before each."""

    __slots__ = ("cum", "cum_end", "ends", "starts", "total")

    def __init__(self, intervals: Sequence[Interval]) -> None:
        self.starts = [s for s, _ in intervals]
        self.ends = [e for _, e in intervals]
        cum = []
        total = _ZERO
        for s, e in intervals:
            cum.append(total)
            total += e - s
        self.cum = cum
        self.cum_end = [c + e - s for c, (s, e) in zip(cum, intervals, strict=True)]
        self.total = total

    def before(self, t: timedelta) -> timedelta:
        """Open time in [block start, t)."""
        i = bisect_right(self.starts, t) - 1
        if i < 0:
            return _ZERO
        end = self.ends[i]
        return self.cum[i] + (t if t < end else end) - self.starts[i]


class CalendarBase:
    """The query API every calendar (and every calendar algebra result) has.

    Besides the public methods, :meth:`span` and :meth:`advance` answer the same questions on
    epoch offsets (:func:`utc_offset`) for callers that convert each instant once (the SLA
    engine).
    """

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._map = _wall_map(zone)
        self._wall_epoch = self._map.wall_epoch
        self._fromutc = zone.fromutc
        self._blocks: dict[int, _Block] = {}
        empty = _Block([])
        self._last: tuple[timedelta, timedelta, int, _Block] = (_ZERO, _ZERO, 0, empty)

    # -- subclasses provide the open intervals of one UTC year, clipped to it
    def _compile(self, year: int) -> list[Interval]:
        raise NotImplementedError

    def _has_shifts(self) -> bool:
        return True

    def _block(self, year: int) -> _Block:
        block = self._blocks.get(year)
        if block is None:
            lo, hi = _YEAR_STARTS[year - _MIN_YEAR], _YEAR_STARTS[year - _MIN_YEAR + 1]
            block = _Block(_clip(self._compile(year), lo, hi))
            self._blocks[year] = block
        return block

    def utc(self, t: datetime | str) -> timedelta:
        """``t`` as an epoch offset; the calendar's own zone takes the cheap path (wall
        difference minus the zone's offset at ``t``)."""
        if type(t) is datetime and t.tzinfo is self.zone:
            wall = t - self._wall_epoch
            lo, hi, off = self._map.hit
            return wall - off if lo <= wall < hi else self._map.to_utc(t, wall)
        return utc_offset(t)

    def local(self, u: timedelta) -> datetime:
        """The epoch offset ``u`` as an aware datetime in this calendar's zone."""
        try:
            return self._fromutc(self._wall_epoch + u)
        except OverflowError:
            return (_EPOCH + u).astimezone(self.zone)

    def _locate(self, u: timedelta) -> tuple[int, _Block]:
        """The year and block holding ``u`` (the last one used is cached)."""
        lo, hi, year, block = self._last
        if lo <= u < hi:
            return year, block
        year = _year_of(u)
        block = self._block(year)
        self._last = (
            _YEAR_STARTS[year - _MIN_YEAR],
            _YEAR_STARTS[year - _MIN_YEAR + 1],
            year,
            block,
        )
        return year, block

    def _step(self, year: int, step: int, empty: int, what: str) -> tuple[int, _Block, int]:
        """The next year's block in a search; rule 5: a run of closed years raises."""
        year += step
        if not _MIN_YEAR <= year <= _MAX_YEAR:
            raise CalendarError(f"{what}: no open time before the end of the supported years")
        block = self._block(year)
        empty = empty + 1 if block.total == _ZERO else 0
        if empty >= _EMPTY_YEARS:
            raise CalendarError(
                f"{what}: the calendar has no open time in {_EMPTY_YEARS} consecutive years "
                f"(up to {year})"
            )
        return year, block, empty

    # -- queries
    def is_open(self, t: datetime | str) -> bool:
        """Whether ``t`` lies inside an open interval (intervals are half-open)."""
        u = self.utc(t)
        block = self._block(_year_of(u))
        i = bisect_right(block.starts, u) - 1
        return i >= 0 and u < block.ends[i]

    def next_open(self, t: datetime | str) -> datetime:
        """``t`` when open, else the next opening instant."""
        u = self.utc(t)
        if not self._has_shifts():
            raise CalendarError("next_open: the calendar has no shifts at all")
        year = _year_of(u)
        block = self._block(year)
        i = bisect_right(block.starts, u) - 1
        if i >= 0 and u < block.ends[i]:
            return t if isinstance(t, datetime) else self.local(u)
        i += 1
        empty = 0
        while i >= len(block.starts):
            year, block, empty = self._step(year, 1, empty, "next_open")
            i = 0
        return self.local(block.starts[i])

    def between(self, a: datetime | str, b: datetime | str) -> timedelta:
        """Open time in [a, b); negative when b < a. Never raises for aware inputs."""
        zone = self.zone
        # the calendar's own zone: wall difference minus the zone offset (inlined utc())
        if type(a) is datetime and a.tzinfo is zone:
            wall = a - self._wall_epoch
            lo, hi, off = self._map.hit
            ua = wall - off if lo <= wall < hi else self._map.to_utc(a, wall)
        else:
            ua = utc_offset(a)
        if type(b) is datetime and b.tzinfo is zone:
            wall = b - self._wall_epoch
            lo, hi, off = self._map.hit
            ub = wall - off if lo <= wall < hi else self._map.to_utc(b, wall)
        else:
            ub = utc_offset(b)
        return -self.span(ub, ua) if ub < ua else self.span(ua, ub)

    def span(self, ua: timedelta, ub: timedelta) -> timedelta:
        """Open time in [ua, ub) for epoch offsets with ``ua <= ub``."""
        lo, hi, ya, block = self._last
        if not lo <= ua < hi:
            ya, block = self._locate(ua)
            hi = self._last[1]
        if ub < hi:  # same year: the common case, inlined
            starts = block.starts
            i = bisect_right(starts, ub) - 1
            if i < 0:
                return _ZERO
            end = block.ends[i]
            after = block.cum[i] + (ub if ub < end else end) - starts[i]
            i = bisect_right(starts, ua) - 1
            if i >= 0:
                end = block.ends[i]
                after -= block.cum[i] + (ua if ua < end else end) - starts[i]
            return after
        yb = _year_of(ub)
        total = block.total - block.before(ua)
        for year in range(ya + 1, yb):
            total += self._block(year).total
        return total + self._block(yb).before(ub)

    def add(self, start: datetime | str, delta: timedelta | str) -> datetime:
        """Move ``delta`` of open time from ``start`` (rule 4); aware result in this zone.
        ``delta`` may be a timedelta, a pendulum ``Duration`` or a string ("2h30m", "P1D");
        ``start`` an aware datetime or an ISO 8601 string with an offset."""
        u = self.utc(start)
        if type(delta) is not timedelta:
            delta = duration(delta)
        if not delta:
            return start if isinstance(start, datetime) else self.local(u)
        return self.local(self.advance(u, delta))

    def advance(self, u: timedelta, delta: timedelta) -> timedelta:
        """:meth:`add` on epoch offsets: ``u`` itself when ``delta`` is zero."""
        if not delta:
            return u
        lo, hi, year, block = self._last
        if not lo <= u < hi:
            year, block = self._locate(u)
        starts = block.starts
        i = bisect_right(starts, u) - 1
        if i < 0:
            target = delta
        else:
            end = block.ends[i]
            target = block.cum[i] + (u if u < end else end) - starts[i] + delta
        if delta > _ZERO and target <= block.total:  # lands in the same year: the common case
            i = bisect_left(block.cum_end, target)
            return starts[i] + target - block.cum[i]
        if not self._has_shifts():
            raise CalendarError("add: the calendar has no shifts at all")
        empty = 0
        if delta > _ZERO:
            while target > block.total:
                target -= block.total
                year, block, empty = self._step(year, 1, empty, "add")
            i = bisect_left(block.cum_end, target)
            return block.starts[i] + target - block.cum[i]
        while target < _ZERO:
            year, block, empty = self._step(year, -1, empty, "add")
            target += block.total
        i = bisect_right(block.cum, target) - 1
        return block.starts[i] + target - block.cum[i]

    def intervals(self, a: datetime | str, b: datetime | str) -> list[tuple[datetime, datetime]]:
        """Maximal open intervals clipped to [a, b), as aware datetimes in this zone."""
        ua, ub = self.utc(a), self.utc(b)
        if ub <= ua:
            return []
        found: list[Interval] = []
        for year in range(_year_of(ua), _year_of(ub) + 1):
            block = self._block(year)
            lo = bisect_right(block.ends, ua)
            hi = bisect_left(block.starts, ub)
            found.extend(zip(block.starts[lo:hi], block.ends[lo:hi], strict=True))
        return [(self.local(s), self.local(e)) for s, e in _merge(_clip(found, ua, ub))]

    # -- algebra
    def __and__(self, other: CalendarBase) -> CalendarBase:
        return _Combined(self, other, "&")

    def __or__(self, other: CalendarBase) -> CalendarBase:
        return _Combined(self, other, "|")

    def __sub__(self, other: CalendarBase) -> CalendarBase:
        return _Combined(self, other, "-")


class _Combined(CalendarBase):
    """``a & b`` (open when both are), ``a | b``, ``a - b``; in the left operand's zone."""

    def __init__(self, left: CalendarBase, right: CalendarBase, op: str) -> None:
        if not isinstance(right, CalendarBase):
            raise CalendarError(f"cannot combine a calendar with {type(right).__name__}")
        super().__init__(left.zone)
        self.left, self.right, self.op = left, right, op

    def _has_shifts(self) -> bool:
        if self.op == "|":
            return self.left._has_shifts() or self.right._has_shifts()
        if self.op == "&":
            return self.left._has_shifts() and self.right._has_shifts()
        return self.left._has_shifts()

    def _compile(self, year: int) -> list[Interval]:
        a = list(zip(self.left._block(year).starts, self.left._block(year).ends, strict=True))
        b = list(zip(self.right._block(year).starts, self.right._block(year).ends, strict=True))
        if self.op == "&":
            return _intersect(a, b)
        if self.op == "|":
            return _merge(a + b)
        return _subtract(a, b)

    def __repr__(self) -> str:
        return f"({self.left!r} {self.op} {self.right!r})"


# ---------------------------------------------------------------------- parsing
def _zone(tz: Any) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    if not isinstance(tz, str) or not tz:
        raise CalendarError(f"tz: must be an IANA zone name such as 'Asia/Shanghai', got {tz!r}")
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CalendarError(f"tz: unknown time zone {tz!r}") from exc


def _shift(text: Any, where: str) -> tuple[int, int]:
    """'HH:MM-HH:MM' -> (start minute, end minute); end 1440 means 24:00."""
    match = _SHIFT.match(text) if isinstance(text, str) else None
    if match is None:
        raise CalendarError(f"{where}: shift must look like '09:00-18:00', got {text!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise CalendarError(f"{where}: {text!r} is not a valid time range (00:00..24:00)")
    return h1 * 60 + m1, h2 * 60 + m2


def _shifts(value: Any, where: str) -> list[tuple[int, int]]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise CalendarError(f"{where}: must be a list of 'HH:MM-HH:MM' shifts, got {value!r}")
    return [_shift(v, f"{where}[{i}]") for i, v in enumerate(value)]


def _week(week: Any) -> tuple[list[tuple[int, int]], ...]:
    if not isinstance(week, Mapping):
        raise CalendarError(f"week: must be a table of day -> shifts, got {week!r}")
    days: list[list[tuple[int, int]]] = [[] for _ in DAYS]
    for key, value in week.items():
        key_text = str(key).strip().lower()
        parts = key_text.split("-")
        if len(parts) == 1 and parts[0] in DAYS:
            indexes = [DAYS.index(parts[0])]
        elif len(parts) == 2 and parts[0] in DAYS and parts[1] in DAYS:
            first, last = DAYS.index(parts[0]), DAYS.index(parts[1])
            if last < first:
                raise CalendarError(
                    f"week.{key}: a day range must not wrap past sunday; write it as two keys"
                )
            indexes = list(range(first, last + 1))
        else:
            raise CalendarError(f"week.{key}: unknown day; use mon..sun or a range like mon-fri")
        shifts = _shifts(value, f"week.{key}")
        for index in indexes:
            days[index].extend(shifts)
    return tuple(days)


def _date(value: Any, where: str) -> date:
    if isinstance(value, datetime):
        raise CalendarError(f"{where}: give a date, not a date-time: {value!r}")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise CalendarError(f"{where}: must be a date 'YYYY-MM-DD', got {value!r}")


def _holidays(
    holidays: Any,
) -> tuple[set[date], dict[date, list[tuple[int, int]]]]:
    whole: set[date] = set()
    partial: dict[date, list[tuple[int, int]]] = {}
    if holidays is None:
        return whole, partial
    if isinstance(holidays, str | Mapping) or not isinstance(holidays, Iterable):
        raise CalendarError(
            f"holidays: must be a list of dates or {{date, closed}} tables, got {holidays!r}"
        )
    for i, item in enumerate(holidays):
        where = f"holidays[{i}]"
        if isinstance(item, Mapping):
            extra = set(item) - _HOLIDAY_KEYS
            if extra or "date" not in item:
                raise CalendarError(f"{where}: a table needs 'date' and optionally 'closed'")
            day = _date(item["date"], f"{where}.date")
            if "closed" in item:
                partial.setdefault(day, []).extend(_shifts(item["closed"], f"{where}.closed"))
            else:
                whole.add(day)
        else:
            whole.add(_date(item, where))
    return whole, partial


def _extra(extra: Any) -> dict[date, int]:
    if extra is None:
        return {}
    if isinstance(extra, Mapping):
        out = {}
        for key, day in extra.items():
            name = str(day).strip().lower()
            if name not in DAYS:
                raise CalendarError(
                    f"extra_workdays.{key}: must name a weekday mon..sun, got {day!r}"
                )
            out[_date(key, f"extra_workdays.{key}")] = DAYS.index(name)
        return out
    if isinstance(extra, str) or not isinstance(extra, Iterable):
        raise CalendarError(
            f"extra_workdays: must be a table date -> weekday or a list of dates, got {extra!r}"
        )
    return {_date(v, f"extra_workdays[{i}]"): 0 for i, v in enumerate(extra)}


class BusinessCalendar(CalendarBase):
    """A zone, a week of shifts, holidays and extra working days; see the module docs."""

    def __init__(
        self,
        tz: str | ZoneInfo = "UTC",
        week: Mapping[str, Sequence[str]] | None = None,
        holidays: Iterable[str | date | Mapping[str, Any]] | None = None,
        extra_workdays: Mapping[str | date, str] | Iterable[str | date] | None = None,
        *,
        name: str | None = None,
    ) -> None:
        super().__init__(_zone(tz))
        self.name = name
        self.week = _week(week if week is not None else {})
        self.holidays, self.partial = _holidays(holidays)
        self.extra_workdays = _extra(extra_workdays)
        both = sorted(self.holidays & set(self.extra_workdays))
        if both:
            raise CalendarError(
                f"{both[0].isoformat()} is both a holiday and an extra workday; pick one"
            )
        partial_extra = sorted(set(self.partial) & set(self.extra_workdays))
        if partial_extra:
            raise CalendarError(
                f"{partial_extra[0].isoformat()} is a partial holiday on an extra workday; "
                "give the extra workday's real hours instead"
            )
        self._any_shift = any(self.week) or any(
            self.week[day] for day in self.extra_workdays.values()
        )

    def __repr__(self) -> str:
        return f"BusinessCalendar(tz={self.zone.key!r}, name={self.name!r})"

    def _has_shifts(self) -> bool:
        return self._any_shift

    @classmethod
    def for_country(
        cls,
        country: str,
        subdiv: str | None = None,
        *,
        years: Iterable[int],
        week: Mapping[str, Sequence[str]],
        tz: str | ZoneInfo,
        holidays: Iterable[str | date | Mapping[str, Any]] = (),
        extra_workdays: Mapping[str | date, str] | None = None,
        name: str | None = None,
    ) -> BusinessCalendar:
        """A calendar with the public holidays of ``country`` (and ``subdiv``) for ``years``
        from the ``holidays`` package, including the substitute working days it knows (CN's
        调休), plus any ``holidays`` / ``extra_workdays`` given here."""
        from helpdesk_core.holiday_sources import country_days

        days, extra = country_days(country, subdiv, years=years)
        merged: dict[str | date, str] = {k: v for k, v in extra.items()}
        merged.update(extra_workdays or {})
        return cls(
            tz=tz,
            week=week,
            holidays=[*days, *holidays],
            extra_workdays=merged,
            name=name,
        )

    # -- compilation
    def _wall(self, day: date, minute: int) -> timedelta:
        """Local wall time ``minute`` minutes after midnight of ``day`` as an instant (rule 3:
        fold=0 maps a gap time forward by the gap and an ambiguous time to its first
        occurrence)."""
        wall = datetime.combine(day, time(), tzinfo=self.zone) + timedelta(minutes=minute)
        return self.utc(wall)

    def _span(self, day: date, start: int, end: int) -> Interval:
        """A shift or closed range of ``day`` as instants (rules 1, 3, 6)."""
        if end <= start:  # crosses midnight; "X-X" is 24 hours
            end += 1440
        opens = self._wall(day, start)
        if end >= 1440:
            closes = self._wall(day + timedelta(days=end // 1440), end % 1440)
        else:
            closes = self._wall(day, end)
        return opens, closes

    def _day_shifts(self, day: date) -> list[tuple[int, int]]:
        weekday = self.extra_workdays.get(day)
        if weekday is not None:
            return self.week[weekday]
        if day in self.holidays:
            return []
        return self.week[day.weekday()]

    def _compile(self, year: int) -> list[Interval]:
        lo, hi = _YEAR_STARTS[year - _MIN_YEAR], _YEAR_STARTS[year - _MIN_YEAR + 1]
        # every local date whose shifts (up to 2 days long) or closures could touch the year
        first = date(year, 1, 1) - timedelta(days=3)
        last = date(year, 12, 31) + timedelta(days=2)
        opened: list[Interval] = []
        closed: list[Interval] = []
        day = first
        while day <= last:
            for start, end in self._day_shifts(day):
                opened.append(self._span(day, start, end))
            for start, end in self.partial.get(day, ()):
                closed.append(self._span(day, start, end))
            day += timedelta(days=1)
        result = _merge(opened)
        if closed:
            result = _subtract(result, _merge(closed))
        return _clip(result, lo, hi)


# ---------------------------------------------------------------------- config
_CALENDAR_KEYS: Final = {
    "tz", "week", "holidays", "extra_workdays", "country", "subdiv", "years", "preset",
}  # fmt: skip
_HOLIDAY_KEYS: Final = frozenset({"date", "closed", "name"})


@config_keys({"calendars.<name>": _CALENDAR_KEYS, "calendars.<name>.holidays[]": _HOLIDAY_KEYS})
def parse_calendars(value: Any, path: str, context: ConfigContext) -> dict[str, BusinessCalendar]:
    """``[calendars.<name>]`` tables: ``tz``, ``week``, ``holidays``, ``extra_workdays``, and
    optionally ``country``/``subdiv``/``years`` (public holidays from the ``holidays``
    package) or ``preset`` (e.g. ``"CN-2026"``, China's official schedule)."""
    if not isinstance(value, Mapping):
        raise ConfigError(path, "must be a table of named calendars", value)
    calendars: dict[str, BusinessCalendar] = {}
    for name, spec in value.items():
        where = f"{path}.{name}"
        spec = table(spec, where, _CALENDAR_KEYS, "must be a table with tz and week")
        holidays: list[Any] = list(spec.get("holidays", []) or [])
        extra_raw = spec.get("extra_workdays", {})
        extra: dict[Any, str] = (
            dict(extra_raw)
            if isinstance(extra_raw, Mapping)
            else {d: "mon" for d in extra_raw}
            if isinstance(extra_raw, list)
            else extra_raw
        )
        try:
            if "preset" in spec:
                from helpdesk_core.holiday_sources import preset_days

                days, preset_extra = preset_days(spec["preset"])
                holidays = [*days, *holidays]
                extra = {**preset_extra, **extra}
            if "country" in spec:
                from helpdesk_core.holiday_sources import country_days

                years = spec.get("years")
                if not isinstance(years, list) or not all(isinstance(y, int) for y in years):
                    raise ConfigError(
                        f"{where}.years", "must be a list of years with country", years
                    )
                days, country_extra = country_days(spec["country"], spec.get("subdiv"), years=years)
                holidays = [*days, *holidays]
                extra = {**country_extra, **extra}
            calendars[str(name)] = BusinessCalendar(
                tz=spec.get("tz", "UTC"),
                week=spec.get("week", {}),
                holidays=holidays,
                extra_workdays=extra,
                name=str(name),
            )
        except ConfigError:
            raise
        except HelpdeskError as exc:
            key, message = _split_key(str(exc))
            raise ConfigError(f"{where}.{key}" if key else where, message, spec) from exc
    return calendars


_KEYED: Final = re.compile(r"^([A-Za-z_][\w\-]*(?:[.\[][\w\-\]:]*)*): (.*)$", re.DOTALL)


def _split_key(message: str) -> tuple[str, str]:
    """CalendarError texts start with the offending key ('week.mon-fri[1]: ...')."""
    match = _KEYED.match(message)
    return (match.group(1), match.group(2)) if match else ("", message)


def zone_of(calendar: CalendarBase) -> tzinfo:
    return calendar.zone
