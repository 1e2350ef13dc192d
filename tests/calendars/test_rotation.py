"""On-call rotations (R-CAL-1 off-hours duty, R-CAL-2 who is on duty at an instant)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_core.calendars import BusinessCalendar, CalendarError
from helpdesk_core.rotation import Override, Rotation

SH = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 2, 9, 0, tzinfo=SH)
WEEK = timedelta(days=7)


def test_weekly_rotation_hands_over_in_order() -> None:
    r = Rotation(["ann", "bo", "cy"], START, WEEK)
    assert r.on_duty(START) == "ann"
    assert r.on_duty(START + WEEK - timedelta(microseconds=1)) == "ann"
    assert r.on_duty(START + WEEK) == "bo"
    assert r.on_duty(START + 3 * WEEK) == "ann"
    with pytest.raises(CalendarError):
        r.on_duty(START - timedelta(seconds=1))
    with pytest.raises(CalendarError):
        r.on_duty(datetime(2026, 11, 3))


def test_sick_day_and_swap_overrides() -> None:
    r = Rotation(["ann", "bo"], START, WEEK).sick(
        START + timedelta(days=1), START + timedelta(days=2), "bo"
    )
    assert r.on_duty(START + timedelta(days=1, hours=3)) == "bo"
    assert r.on_duty(START + timedelta(days=2)) == "ann"
    swapped = Rotation(["ann", "bo"], START, WEEK).swap(0, 1)
    assert swapped.on_duty(START) == "bo" and swapped.on_duty(START + WEEK) == "ann"
    later = r.with_override(Override(START, START + timedelta(days=3), "cy", "peak"))
    assert later.on_duty(START + timedelta(days=1, hours=3)) == "cy"  # later override wins


def test_off_hours_rotation_covers_only_its_calendar() -> None:
    business = BusinessCalendar(tz="Asia/Shanghai", week={"mon-fri": ["09:00-18:00"]})
    always = BusinessCalendar(tz="Asia/Shanghai", week={"mon-sun": ["00:00-24:00"]})
    r = Rotation(["ann", "bo"], START, WEEK, calendar=always - business)
    assert r.on_duty(START + timedelta(hours=3)) is None  # Monday noon: business hours
    assert r.on_duty(START + timedelta(hours=12)) == "ann"  # Monday 21:00


def test_seven_day_preview_merges_and_clips() -> None:
    r = Rotation(["ann", "bo"], START, timedelta(days=2)).sick(
        START + timedelta(days=3), START + timedelta(days=3, hours=6), "cy"
    )
    slots = r.preview(START + timedelta(hours=1))
    assert slots[0].start == START + timedelta(hours=1)
    assert slots[-1].end == START + timedelta(days=7, hours=1)
    assert [(s.person, s.source) for s in slots] == [
        ("ann", "rotation"), ("bo", "rotation"), ("cy", "sick"), ("bo", "rotation"),
        ("ann", "rotation"), ("bo", "rotation"),
    ]  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=4),
    st.integers(1, 72),
    st.lists(
        st.tuples(st.integers(0, 160), st.integers(1, 48), st.sampled_from("xyz")), max_size=3
    ),
    st.integers(0, 160),
)
def test_preview_agrees_with_on_duty_and_has_no_gaps(
    members: list[str], hours: int, overrides: list[tuple[int, int, str]], probe: int
) -> None:
    r = Rotation(members, START, timedelta(hours=hours))
    for offset, length, who in overrides:
        begin = START + timedelta(hours=offset)
        r = r.with_override(Override(begin, begin + timedelta(hours=length), who, "sick"))
    slots = r.preview(START)
    assert slots[0].start == START.astimezone(UTC)
    for left, right in pairwise(slots):
        assert left.end == right.start
        assert (left.person, left.source) != (right.person, right.source)
    t = START + timedelta(hours=probe, minutes=17)
    if t < START + timedelta(days=7):
        slot = next(s for s in slots if s.start <= t < s.end)
        assert slot.person == r.on_duty(t)
