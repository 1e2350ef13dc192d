"""Holidays from elsewhere (issue "Business calendars and SLA clocks", R-CAL-1): the ``holidays``
package by country and subdivision with its make-up working days, iCalendar text, and China's
official 2026 schedule as a preset. Expected figures are counted by hand from the published
schedules, not from the code under test."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from helpdesk_core.calendars import BusinessCalendar, CalendarError
from helpdesk_core.config import load_config
from helpdesk_core.errors import ConfigError
from helpdesk_core.holiday_sources import country_days, ical_days, preset_days

SH = ZoneInfo("Asia/Shanghai")
LA = ZoneInfo("America/Los_Angeles")
H = timedelta(hours=1)
NINE_TO_SIX = {"mon-fri": ["09:00-18:00"]}


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)  # type: ignore[misc]


def year_2026(cal: BusinessCalendar) -> timedelta:
    return cal.between(sh(2026, 1, 1), sh(2027, 1, 1))


# ---------------------------------------------------------------------- CN-2026 preset
def cn_2026() -> BusinessCalendar:
    days, workdays = preset_days("CN-2026")
    return BusinessCalendar(
        tz="Asia/Shanghai", week=NINE_TO_SIX, holidays=days, extra_workdays=workdays
    )


def test_cn_2026_preset_follows_the_state_council_notice() -> None:
    cal = cn_2026()
    # every day off of the notice is closed, every make-up day open
    for first, last in [
        ((1, 1), (1, 3)),  # New Year
        ((2, 15), (2, 23)),  # Spring Festival, nine days
        ((4, 4), (4, 6)),  # Qingming
        ((5, 1), (5, 5)),  # Labour Day
        ((6, 19), (6, 21)),  # Dragon Boat
        ((9, 25), (9, 27)),  # Mid-Autumn
        ((10, 1), (10, 7)),  # National Day
    ]:
        day = date(2026, *first)
        while day <= date(2026, *last):
            assert not cal.is_open(sh(day.year, day.month, day.day, 10)), day
            day += timedelta(days=1)
    for worked in [(1, 4), (2, 14), (2, 28), (5, 9), (9, 20), (10, 10)]:
        assert date(2026, *worked).weekday() >= 5  # all are weekend days
        assert cal.is_open(sh(2026, *worked, 10)), worked
    # February: 20 weekdays, 6 of them off (16-20, 23), 2 Saturdays worked (14, 28)
    assert cal.between(sh(2026, 2, 1), sh(2026, 3, 1)) == 16 * 9 * H
    # the year: 261 weekdays, 19 weekday days off, 6 weekend days worked
    assert year_2026(cal) == 248 * 9 * H


def test_cn_2026_make_up_day_works_the_shifts_of_the_day_it_pays_for() -> None:
    days, workdays = preset_days("CN-2026")
    cal = BusinessCalendar(
        tz="Asia/Shanghai",
        week={"mon-thu": ["09:00-18:00"], "fri": ["09:00-15:00"]},
        holidays=days,
        extra_workdays=workdays,
    )
    # Sunday 4 January pays for Friday 2 January: Friday's short day
    assert cal.between(sh(2026, 1, 4), sh(2026, 1, 5)) == 6 * H
    # Saturday 28 February pays for Monday 23 February: a full day
    assert cal.between(sh(2026, 2, 28), sh(2026, 3, 1)) == 9 * H


def test_unknown_preset_names_the_known_ones() -> None:
    with pytest.raises(CalendarError, match=r"unknown holiday preset 'CN-2027'.*CN-2026"):
        preset_days("CN-2027")


# ---------------------------------------------------------------------- holidays package
def test_for_country_cn_takes_the_packages_days_off_and_make_up_days() -> None:
    cal = BusinessCalendar.for_country("CN", years=[2026], week=NINE_TO_SIX, tz="Asia/Shanghai")
    assert not cal.is_open(sh(2026, 10, 5, 10))
    assert not cal.is_open(sh(2026, 2, 18, 10))
    assert cal.is_open(sh(2026, 10, 10, 10))  # Saturday worked
    assert cal.is_open(sh(2026, 2, 14, 10))  # Saturday worked
    # the package and the official notice agree on the year
    assert year_2026(cal) == year_2026(cn_2026()) == 248 * 9 * H


def test_for_country_with_subdivision_and_own_additions() -> None:
    def la(*args: int) -> datetime:
        return datetime(*args, tzinfo=LA)  # type: ignore[misc]

    week = {"mon-fri": ["09:00-17:00"]}
    us = BusinessCalendar.for_country("US", years=[2026], week=week, tz="America/Los_Angeles")
    ca = BusinessCalendar.for_country(
        "US",
        "CA",
        years=[2026],
        week=week,
        tz="America/Los_Angeles",
        holidays=[{"date": "2026-12-24", "closed": ["12:00-24:00"]}],
    )
    assert not us.is_open(la(2026, 11, 26, 10))  # Thanksgiving
    assert not us.is_open(la(2026, 7, 3, 10))  # Independence Day observed (4 July is a Saturday)
    assert us.is_open(la(2026, 3, 31, 10)) and not ca.is_open(la(2026, 3, 31, 10))  # Chavez Day
    assert ca.between(la(2026, 12, 24), la(2026, 12, 25)) == 3 * H


@pytest.mark.parametrize(
    ("country", "subdiv", "years", "needle"),
    [
        ("XX", None, [2026], "country: the holidays package does not know 'XX'"),
        ("US", "ZZ", [2026], "subdiv: US has no subdivision 'ZZ'"),
        ("CN", None, [], "years: give at least one year"),
    ],
)
def test_country_errors_name_the_key(
    country: str, subdiv: str | None, years: list[int], needle: str
) -> None:
    with pytest.raises(CalendarError) as caught:
        country_days(country, subdiv, years=years)
    assert needle in str(caught.value)


def test_country_in_config_and_its_errors_with_key_paths() -> None:
    def load(spec: dict[str, object]) -> BusinessCalendar:
        config = load_config({"calendars": {"cn": {"tz": "Asia/Shanghai", **spec}}})
        calendars = config.sections["calendars"]
        assert isinstance(calendars, dict)
        cal = calendars["cn"]
        assert isinstance(cal, BusinessCalendar)
        return cal

    cal = load({"week": NINE_TO_SIX, "country": "CN", "years": [2026]})
    assert year_2026(cal) == 248 * 9 * H
    with pytest.raises(ConfigError) as caught:
        load({"week": NINE_TO_SIX, "country": "CN"})
    assert caught.value.path == "calendars.cn.years"
    with pytest.raises(ConfigError) as caught:
        load({"week": NINE_TO_SIX, "country": "US", "subdiv": "ZZ", "years": [2026]})
    assert caught.value.path == "calendars.cn.subdiv"
    with pytest.raises(ConfigError) as caught:
        load({"week": NINE_TO_SIX, "preset": "CN-1999"})
    assert caught.value.path == "calendars.cn.preset"


# ---------------------------------------------------------------------- iCalendar
ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//helpdesk tests//EN
BEGIN:VEVENT
UID:company-days
SUMMARY:Company days
DTSTART;VALUE=DATE:20261224
DTEND;VALUE=DATE:20261226
END:VEVENT
BEGIN:VEVENT
UID:training
SUMMARY:Training afternoon
DTSTART;TZID=Asia/Shanghai:20261105T140000
DTEND;TZID=Asia/Shanghai:20261105T170000
END:VEVENT
BEGIN:VEVENT
UID:migration
SUMMARY:Overnight migration
DTSTART:20261106T080000Z
DTEND:20261109T020000Z
END:VEVENT
BEGIN:VEVENT
UID:founders
SUMMARY:Founders' day
DTSTART;VALUE=DATE:20200302
RRULE:FREQ=YEARLY
END:VEVENT
END:VCALENDAR
"""


def test_ical_days_all_day_and_timed_events() -> None:
    days = ical_days(ICS, tz=SH, years=[2026])
    assert "2026-12-24" in days and "2026-12-25" in days and "2026-12-26" not in days
    assert {"date": "2026-11-05", "closed": ["14:00-17:00"]} in days
    # 08:00Z Friday to 02:00Z Monday is 16:00 Friday to 10:00 Monday in Shanghai, split per day
    assert {"date": "2026-11-06", "closed": ["16:00-24:00"]} in days
    assert {"date": "2026-11-07", "closed": ["00:00-24:00"]} in days
    assert {"date": "2026-11-09", "closed": ["00:00-10:00"]} in days
    assert "2026-03-02" in days and "2020-03-02" not in days  # yearly rule, over years
    cal = BusinessCalendar(tz="Asia/Shanghai", week=NINE_TO_SIX, holidays=days)
    assert cal.between(sh(2026, 11, 5), sh(2026, 11, 6)) == 6 * H
    assert cal.between(sh(2026, 11, 6), sh(2026, 11, 7)) == 7 * H
    assert cal.between(sh(2026, 11, 9), sh(2026, 11, 10)) == 8 * H
    assert not cal.is_open(sh(2026, 12, 24, 10)) and not cal.is_open(sh(2026, 3, 2, 10))
    assert cal.is_open(sh(2027, 3, 2, 10))  # 2027 was not asked for


def test_ical_days_without_years_keeps_the_events_own_dates() -> None:
    days = ical_days(ICS, tz=SH)
    assert "2020-03-02" in days and "2026-03-02" not in days


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("not a calendar", "ical: not a valid iCalendar text"),
        (
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nSUMMARY:no start\nEND:VEVENT\nEND:VCALENDAR\n",
            "ical VEVENT[0].DTSTART: missing",
        ),
        (
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nDTSTART;VALUE=DATE:20260101\n"
            "RRULE:FREQ=MONTHLY\nEND:VEVENT\nEND:VCALENDAR\n",
            "ical VEVENT[0].RRULE: only FREQ=YEARLY is supported, got MONTHLY",
        ),
        (
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nDTSTART:20260101T100000\n"
            "DTEND:20260101T120000\nEND:VEVENT\nEND:VCALENDAR\n",
            "ical VEVENT[0].DTSTART: a floating time needs tz=",
        ),
        (
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nDTSTART:20260101T100000Z\n"
            "DTEND:20260101T090000Z\nEND:VEVENT\nEND:VCALENDAR\n",
            "ical VEVENT[0].DTEND: ends before it starts",
        ),
    ],
)
def test_ical_errors_name_the_event_and_property(text: str, needle: str) -> None:
    with pytest.raises(CalendarError) as caught:
        ical_days(text, tz=None, years=[2026])
    assert needle in str(caught.value)
