"""Where holidays come from: the ``holidays`` package, iCalendar text and built-in presets.

Each source returns ``(holidays, extra_workdays)`` in the shapes
:class:`~helpdesk_core.calendars.BusinessCalendar` takes: holidays as ``"YYYY-MM-DD"`` strings
(whole days) or ``{"date": ..., "closed": ["HH:MM-HH:MM"]}`` tables (partial days), extra
working days as ``{"YYYY-MM-DD": weekday}``: the make-up day (调休) works the shifts of the
weekday it stands in for.

Nothing here reads files or the network: iCalendar sources are passed in as text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Final

from helpdesk_core.errors import CalendarError

DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# China's official 2026 schedule (State Council General Office notice on the 2026 public
# holidays): days off, and the weekend days worked in exchange, each with the weekday whose
# shifts it works (the weekday of the day off it pays for).
CN_2026_DAYS_OFF: Final = (
    # New Year's Day: 1-3 January
    "2026-01-01", "2026-01-02", "2026-01-03",
    # Spring Festival: 15-23 February
    "2026-02-15", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19",
    "2026-02-20", "2026-02-21", "2026-02-22", "2026-02-23",
    # Qingming: 4-6 April
    "2026-04-04", "2026-04-05", "2026-04-06",
    # Labour Day: 1-5 May
    "2026-05-01", "2026-05-02", "2026-05-03", "2026-05-04", "2026-05-05",
    # Dragon Boat Festival: 19-21 June
    "2026-06-19", "2026-06-20", "2026-06-21",
    # Mid-Autumn Festival: 25-27 September
    "2026-09-25", "2026-09-26", "2026-09-27",
    # National Day: 1-7 October
    "2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05",
    "2026-10-06", "2026-10-07",
)  # fmt: skip
CN_2026_WORKDAYS: Final = {
    "2026-01-04": "fri",  # Sunday worked for Friday 2 January
    "2026-02-14": "fri",  # Saturday worked for Friday 20 February
    "2026-02-28": "mon",  # Saturday worked for Monday 23 February
    "2026-05-09": "tue",  # Saturday worked for Tuesday 5 May
    "2026-09-20": "tue",  # Sunday worked for Tuesday 6 October
    "2026-10-10": "wed",  # Saturday worked for Wednesday 7 October
}

PRESETS: Final[dict[str, tuple[tuple[str, ...], dict[str, str]]]] = {
    "CN-2026": (CN_2026_DAYS_OFF, CN_2026_WORKDAYS),
}


def preset_days(name: str) -> tuple[list[str], dict[str, str]]:
    """A built-in schedule by name (``"CN-2026"``)."""
    if name not in PRESETS:
        raise CalendarError(f"preset: unknown holiday preset {name!r}; known: {sorted(PRESETS)}")
    days, extra = PRESETS[name]
    return list(days), dict(extra)


_SUBSTITUTED: Final = re.compile(r"substituted from (\d{2})/(\d{2})/(\d{4})")


def country_days(
    country: str, subdiv: str | None = None, *, years: Iterable[int]
) -> tuple[list[str], dict[str, str]]:
    """Public holidays of ``country`` (ISO 3166 code) and ``subdiv`` for ``years`` from the
    ``holidays`` package, with the weekend working days it knows (China's 调休). A make-up
    day works the shifts of the weekday whose day off it pays for when the package says which
    ("Day off (substituted from MM/DD/YYYY)"), else Monday's."""
    try:
        import holidays as holidays_package
    except ImportError as exc:  # pragma: no cover - the 'calendars' extra is missing
        raise CalendarError(
            "country: the 'holidays' package is needed (pip install 'helpdesk-core[calendars]')"
        ) from exc
    year_list = sorted(set(years))
    if not year_list:
        raise CalendarError("years: give at least one year")
    supported = holidays_package.list_supported_countries()
    if country not in supported:
        raise CalendarError(f"country: the holidays package does not know {country!r}")
    if subdiv is not None and subdiv not in supported[country]:
        raise CalendarError(
            f"subdiv: {country} has no subdivision {subdiv!r} in the holidays package; "
            f"known: {', '.join(supported[country])}"
        )
    try:
        found = holidays_package.country_holidays(country, subdiv=subdiv, years=year_list)
    except Exception as exc:  # pragma: no cover - checked above; the package's own words
        raise CalendarError(f"country: {exc}") from exc
    days = sorted(d.isoformat() for d in found)
    extra: dict[str, str] = {}
    pays_for: dict[date, date] = {}
    for day, label in found.items():
        for match in _SUBSTITUTED.finditer(str(label)):
            month, dom, year = (int(g) for g in match.groups())
            pays_for[date(year, month, dom)] = day
    for worked in sorted(getattr(found, "weekend_workdays", ()) or ()):
        if worked.year not in year_list:
            continue
        off = pays_for.get(worked)
        extra[worked.isoformat()] = DAYS[off.weekday()] if off is not None else "mon"
    return days, extra


def ical_days(
    text: str | bytes, *, tz: tzinfo | None = None, years: Iterable[int] | None = None
) -> list[str | dict[str, Any]]:
    """Holidays from iCalendar text: all-day events are whole-day holidays (DTEND exclusive),
    timed events partial holidays in wall time of ``tz`` (the event's own zone when None),
    split at midnight. Yearly RRULEs are expanded over ``years`` when given."""
    try:
        import icalendar
    except ImportError as exc:  # pragma: no cover
        raise CalendarError(
            "ical: the 'icalendar' package is needed (pip install 'helpdesk-core[calendars]')"
        ) from exc
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except Exception as exc:
        raise CalendarError(f"ical: not a valid iCalendar text ({exc})") from exc
    out: list[str | dict[str, Any]] = []
    year_set = set(years) if years is not None else None
    for n, event in enumerate(calendar.walk("VEVENT")):
        where = f"ical VEVENT[{n}]"
        start_prop = event.get("DTSTART")
        if start_prop is None:
            raise CalendarError(f"{where}.DTSTART: missing")
        start = start_prop.dt
        end_prop = event.get("DTEND")
        if end_prop is not None:
            end = end_prop.dt
        elif event.get("DURATION") is not None:
            end = start + event.get("DURATION").dt
        else:
            end = start + timedelta(days=1) if not isinstance(start, datetime) else start
        starts = [start]
        rule = event.get("RRULE")
        if rule is not None and year_set:
            freq = rule.get("FREQ", [""])[0]
            if freq != "YEARLY":
                raise CalendarError(f"{where}.RRULE: only FREQ=YEARLY is supported, got {freq}")
            starts = [start.replace(year=y) for y in sorted(year_set) if y >= start.year]
        for first in starts:
            length = end - start
            if not isinstance(first, datetime):
                day = first
                while day < first + length:
                    if year_set is None or day.year in year_set:
                        out.append(day.isoformat())
                    day += timedelta(days=1)
                continue
            out.extend(_timed(first, first + length, tz, where, year_set))
    return out


def _timed(
    start: datetime, end: datetime, tz: tzinfo | None, where: str, years: set[int] | None
) -> list[str | dict[str, Any]]:
    if start.tzinfo is None:
        if tz is None:
            raise CalendarError(f"{where}.DTSTART: a floating time needs tz=")
        start, end = start.replace(tzinfo=tz), end.replace(tzinfo=tz)
    if tz is not None:
        start, end = start.astimezone(tz), end.astimezone(tz)
    if end <= start:
        raise CalendarError(f"{where}.DTEND: ends before it starts")
    out: list[str | dict[str, Any]] = []
    day = start.date()
    while True:
        day_start = max(start, datetime.combine(day, start.timetz().replace(hour=0, minute=0)))
        next_day = datetime.combine(
            day + timedelta(days=1), day_start.timetz().replace(hour=0, minute=0)
        )
        piece_end = min(end, next_day)
        if piece_end <= day_start:
            break
        close = "24:00" if piece_end >= next_day else piece_end.strftime("%H:%M")
        if years is None or day.year in years:
            out.append(
                {"date": day.isoformat(), "closed": [f"{day_start.strftime('%H:%M')}-{close}"]}
            )
        if piece_end >= end:
            break
        day += timedelta(days=1)
    return out


def describe(days: Iterable[str | Mapping[str, Any]]) -> str:
    """A one-line summary for logs: how many whole and partial days."""
    whole = partial = 0
    for item in days:
        if isinstance(item, str):
            whole += 1
        else:
            partial += 1
    return f"{whole} whole-day and {partial} partial holidays"
