"""Instant conversion inside calendars (R-CAL-1, issue "Business calendars and SLA clocks",
rule 3 and rule 6 "Inputs are instants: any zone or fixed offset, fold=1 honoured").

Calendars turn each input into an offset from the Unix epoch through a cached table of wall
ranges per zone; these properties hold it to Python's own exact arithmetic, DST gaps and
overlaps (both folds) included, over 1900-2200.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_core.calendars import BusinessCalendar, CalendarError, utc_offset

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ZONES = [
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Shanghai",
    "UTC",
    "Europe/Moscow",
]
WEEK = {"mon-sun": ["00:00-24:00"]}


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(ZONES),
    st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2199, 12, 30)),
    st.integers(0, 1),
)
def test_own_zone_inputs_convert_exactly(name: str, wall: datetime, fold: int) -> None:
    zone = ZoneInfo(name)
    cal = BusinessCalendar(tz=zone, week=WEEK)
    t = wall.replace(tzinfo=zone, fold=fold)
    expected = t - EPOCH  # Python's exact aware arithmetic, honouring fold
    assert cal.utc(t) == expected
    assert cal.utc(t) == expected  # again: now through the cached range
    # == between zones is always False for times in a fold (PEP 495): compare offsets
    back = cal.local(expected)
    reference = (EPOCH + expected).astimezone(zone)
    assert back - EPOCH == expected
    assert (back.replace(tzinfo=None), back.fold) == (
        reference.replace(tzinfo=None),
        reference.fold,
    )


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(ZONES),
    st.integers(-2_208_988_800, 7_258_118_400).map(lambda s: timedelta(seconds=s)),
)
def test_local_is_the_zone_view_of_the_instant(name: str, u: timedelta) -> None:
    zone = ZoneInfo(name)
    cal = BusinessCalendar(tz=zone, week=WEEK)
    t = cal.local(u)
    reference = (EPOCH + u).astimezone(zone)
    assert t - EPOCH == u
    assert t.replace(tzinfo=None) == reference.replace(tzinfo=None)
    assert t.fold == reference.fold
    assert cal.utc(t) == u


def test_every_hour_around_transitions_round_trips() -> None:
    """Walk every 15 minutes of 2026 and of 1918 (wartime rules) in each zone."""
    for name in ZONES:
        zone = ZoneInfo(name)
        cal = BusinessCalendar(tz=zone, week=WEEK)
        for start in (datetime(2026, 1, 1, tzinfo=UTC), datetime(1918, 1, 1, tzinfo=UTC)):
            for k in range(0, 366 * 96):
                instant = start + timedelta(minutes=15 * k)
                local = instant.astimezone(zone)
                assert cal.utc(local) == instant - EPOCH, (name, local)
                back = cal.local(instant - EPOCH)
                assert (back.replace(tzinfo=None), back.fold) == (
                    local.replace(tzinfo=None),
                    local.fold,
                )


def test_other_zones_fixed_offsets_and_pendulum_are_exact() -> None:
    cal = BusinessCalendar(tz="Asia/Shanghai", week=WEEK)
    instants = [
        datetime(2026, 11, 1, 1, 30, tzinfo=ZoneInfo("America/New_York"), fold=1),
        datetime(2026, 3, 8, 2, 30, tzinfo=ZoneInfo("America/New_York")),
        datetime(2026, 5, 1, 12, tzinfo=timezone(timedelta(hours=-3, minutes=-30))),
        pendulum.datetime(2026, 10, 25, 1, 30, tz="Europe/London"),
    ]
    for t in instants:
        assert cal.utc(t) == utc_offset(t) == t - EPOCH


@pytest.mark.parametrize("bad", [datetime(2026, 1, 1), "2026-01-01T00:00:00", 5])
def test_non_instants_are_refused(bad: object) -> None:
    cal = BusinessCalendar(tz="UTC", week=WEEK)
    with pytest.raises(CalendarError, match=r"naive (ISO instant|datetime)|expected an aware"):
        cal.between(bad, datetime(2026, 1, 2, tzinfo=UTC))  # type: ignore[arg-type]
    with pytest.raises(CalendarError):
        cal.add(bad, timedelta(0))  # type: ignore[arg-type]


def test_threads_building_the_shared_zone_table_see_exact_offsets() -> None:
    """Desks run in several threads; calendars of one zone share its wall table, which threads
    build year by year while others read it."""
    from concurrent.futures import ThreadPoolExecutor

    zone = ZoneInfo("Europe/London")
    cal = BusinessCalendar(tz=zone, week=WEEK)
    instants = [
        datetime(1960 + k % 80, 1 + k % 12, 1 + k % 28, k % 24, tzinfo=UTC) for k in range(4000)
    ]

    def check(chunk: list[datetime]) -> bool:
        return all(cal.utc(t.astimezone(zone)) == t - EPOCH for t in chunk)

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(check, [instants[i::8] for i in range(8)]))
