"""The calendar rules 1-6 with concrete dates, the regression cases other helpdesks got wrong,
and the errors (R-CAL-1, R-CAL-2)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pendulum
import pytest

from helpdesk_core.calendars import BusinessCalendar, CalendarError
from helpdesk_core.config import load_config
from helpdesk_core.errors import ConfigError, HelpdeskError

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
H = timedelta(hours=1)
M = timedelta(minutes=1)
GUIDE_WEEK = {"mon-fri": ["09:00-12:00", "13:00-18:00"]}


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)  # type: ignore[misc]


def ny(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=NY, fold=fold)  # type: ignore[misc]


def test_issue_example_calendar() -> None:
    cal = BusinessCalendar(
        tz="Asia/Shanghai",
        week={"mon-fri": ["09:00-12:00", "13:00-18:00"], "sat": ["22:00-06:00"]},
        holidays=["2026-10-01", {"date": "2026-12-24", "closed": ["12:00-24:00"]}],
        extra_workdays={"2026-10-11": "mon"},
    )
    assert cal.add(sh(2026, 11, 2, 11, 0), timedelta(minutes=90)) == sh(2026, 11, 2, 13, 30)
    assert cal.add(sh(2026, 11, 2, 11, 0), timedelta(minutes=90)).tzinfo == SH
    assert cal.is_open(sh(2026, 10, 11, 10, 0))  # a Sunday worked as a Monday
    assert not cal.is_open(sh(2026, 10, 1, 10, 0))  # holiday
    assert cal.is_open(sh(2026, 12, 24, 11, 0)) and not cal.is_open(sh(2026, 12, 24, 14, 0))
    assert cal.between(sh(2026, 11, 7, 0), sh(2026, 11, 8, 12)) == 8 * H  # sat 22:00-sun 06:00
    assert cal.next_open(sh(2026, 11, 2, 12, 30)) == sh(2026, 11, 2, 13, 0)
    assert cal.next_open(sh(2026, 11, 2, 10, 0)) == sh(2026, 11, 2, 10, 0)


# ------------------------------------------------------------------ rule 1
def test_rule1_overnight_shift_belongs_to_its_start_day_and_shifts_join() -> None:
    cal = BusinessCalendar(
        tz="UTC", week={"fri": ["22:00-06:00", "20:00-23:00"], "sat": ["06:00-07:00"]}
    )
    a = datetime(2026, 11, 6, tzinfo=UTC)  # Friday
    assert cal.intervals(a, a + timedelta(days=3)) == [
        (datetime(2026, 11, 6, 20, tzinfo=UTC), datetime(2026, 11, 7, 7, tzinfo=UTC))
    ]


# ------------------------------------------------------------------ rule 2
def test_rule2_whole_holiday_keeps_the_previous_evenings_overnight_tail() -> None:
    cal = BusinessCalendar(tz="UTC", week={"mon-sun": ["22:00-06:00"]}, holidays=["2026-11-03"])
    assert cal.is_open(datetime(2026, 11, 3, 5, tzinfo=UTC))  # Monday's shift runs into it
    assert not cal.is_open(datetime(2026, 11, 3, 23, tzinfo=UTC))  # its own shift is gone


def test_rule2_partial_holiday_subtracts_wall_intervals() -> None:
    cal = BusinessCalendar(
        tz="Asia/Shanghai",
        week=GUIDE_WEEK,
        holidays=[{"date": "2026-12-24", "closed": ["12:00-24:00"]}],
    )
    assert cal.between(sh(2026, 12, 24), sh(2026, 12, 25)) == 3 * H


def test_rule2_extra_workday_takes_the_named_weekdays_shifts() -> None:
    cal = BusinessCalendar(
        tz="UTC",
        week={"mon": ["09:00-10:00"], "fri": ["14:00-18:00"]},
        extra_workdays={"2026-11-08": "fri"},  # a Sunday
    )
    day = datetime(2026, 11, 8, tzinfo=UTC)
    assert cal.intervals(day, day + timedelta(days=1)) == [(day + 14 * H, day + 18 * H)]
    listed = BusinessCalendar(
        tz="UTC", week={"mon": ["09:00-10:00"]}, extra_workdays=["2026-11-08"]
    )
    assert listed.between(day, day + timedelta(days=1)) == H  # a list of dates means "mon"


# ------------------------------------------------------------------ rule 3
def test_rule3_gap_time_moves_forward_by_the_gap() -> None:
    """02:30 on 2026-03-08 in New York is 03:30 EDT."""
    cal = BusinessCalendar(tz="America/New_York", week={"sun": ["02:30-05:00"]})
    got = cal.intervals(ny(2026, 3, 8), ny(2026, 3, 9))
    assert got == [(ny(2026, 3, 8, 3, 30), ny(2026, 3, 8, 5, 0))]
    assert got[0][0].utcoffset() == timedelta(hours=-4)


def test_rule3_ambiguous_time_is_its_first_occurrence() -> None:
    cal = BusinessCalendar(tz="America/New_York", week={"sun": ["01:30-03:00"]})
    ((open_, close),) = cal.intervals(ny(2026, 11, 1), ny(2026, 11, 2))
    assert open_.astimezone(UTC) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    assert close.astimezone(UTC) == datetime(2026, 11, 1, 8, 0, tzinfo=UTC)  # 03:00 EST
    assert cal.between(open_, close) == timedelta(hours=2, minutes=30)


def test_rule3_business_time_is_real_elapsed_time_across_dst() -> None:
    cal = BusinessCalendar(tz="America/New_York", week={"sat-sun": ["00:00-24:00"]})
    assert cal.between(ny(2026, 3, 8), ny(2026, 3, 9)) == 23 * H
    assert cal.between(ny(2026, 11, 1), ny(2026, 11, 2)) == 25 * H


# ------------------------------------------------------------------ rule 4
def test_rule4_add_lands_on_a_close_not_the_next_opening() -> None:
    cal = BusinessCalendar(tz="Asia/Shanghai", week=GUIDE_WEEK)
    assert cal.add(sh(2026, 11, 2, 9), 3 * H) == sh(2026, 11, 2, 12)
    assert cal.add(sh(2026, 11, 2, 9), 8 * H) == sh(2026, 11, 2, 18)


def test_rule4_negative_add_is_the_latest_instant() -> None:
    cal = BusinessCalendar(tz="Asia/Shanghai", week=GUIDE_WEEK)
    assert cal.add(sh(2026, 11, 3, 10), -H) == sh(2026, 11, 3, 9)
    assert cal.add(sh(2026, 11, 3, 10), -2 * H) == sh(2026, 11, 2, 17)
    # lands at the opening of the interval after a gap, not at the earlier close
    assert cal.add(sh(2026, 11, 2, 14), -H) == sh(2026, 11, 2, 13)


def test_rule4_zero_and_microseconds() -> None:
    cal = BusinessCalendar(tz="Asia/Shanghai", week=GUIDE_WEEK)
    t = sh(2026, 11, 2, 20, 0)
    assert cal.add(t, timedelta(0)) == t  # even when closed
    us = timedelta(microseconds=1)
    assert cal.add(sh(2026, 11, 2, 11, 59, 59), 2 * us) == sh(2026, 11, 2, 11, 59, 59) + 2 * us
    assert cal.between(sh(2026, 11, 2, 9), sh(2026, 11, 2, 9) + us) == us


def test_rule4_half_open_intervals() -> None:
    cal = BusinessCalendar(tz="Asia/Shanghai", week=GUIDE_WEEK)
    assert cal.is_open(sh(2026, 11, 2, 9)) and not cal.is_open(sh(2026, 11, 2, 12))


# ------------------------------------------------------------------ rule 5
def test_rule5_no_open_time_raises_instead_of_looping() -> None:
    empty = BusinessCalendar(tz="UTC", week={})
    t = datetime(2026, 1, 1, tzinfo=UTC)
    assert empty.between(t, t + timedelta(days=900)) == timedelta(0)
    with pytest.raises(CalendarError):
        empty.add(t, H)
    with pytest.raises(CalendarError):
        empty.next_open(t)
    closed_forever = BusinessCalendar(tz="UTC", week={"mon": ["09:00-10:00"]}) - BusinessCalendar(
        tz="UTC", week={"mon-sun": ["00:00-24:00"]}
    )
    with pytest.raises(CalendarError):
        closed_forever.add(t, H)


def test_rule5_dates_from_1900_to_2200() -> None:
    cal = BusinessCalendar(tz="Europe/London", week={"mon-fri": ["09:00-17:00"]})
    lon = ZoneInfo("Europe/London")
    for year in (1900, 1970, 2199):
        a = datetime(year, 6, 1, 8, tzinfo=lon)
        end = cal.add(a, 40 * H)
        assert cal.between(a, end) == 40 * H
    assert cal.add(datetime(2200, 12, 31, 12, tzinfo=lon), 8 * H).year == 2201


# ------------------------------------------------------------------ rule 6
def test_rule6_equal_start_and_end_is_24_hours() -> None:
    for text in ("09:00-09:00", "00:00-00:00"):
        cal = BusinessCalendar(tz="UTC", week={"mon": [text]})
        a = datetime(2026, 11, 2, tzinfo=UTC)
        assert cal.between(a - timedelta(days=1), a + timedelta(days=3)) == 24 * H


def test_rule6_24_00_is_midnight_of_the_next_day_with_rule3() -> None:
    # Santiago's clocks go from 24:00 to 01:00 on 2026-09-06: "20:00-24:00" on the 5th ends at
    # the instant of 00:00 the next day, which is in the gap and so moves forward to 01:00.
    sant = ZoneInfo("America/Santiago")
    cal = BusinessCalendar(tz="America/Santiago", week={"sat": ["20:00-24:00"]})
    ((o, c),) = cal.intervals(datetime(2026, 9, 5, tzinfo=sant), datetime(2026, 9, 7, tzinfo=sant))
    assert cal.between(o, c) == 4 * H


def test_rule6_shift_closing_before_it_opens_after_rule3_has_no_time() -> None:
    # 02:00-02:30 on the New York spring-forward day: both ends move to 03:00/03:30 EDT... the
    # end 02:30 -> 03:30 and the start 02:00 -> 03:00: 30 minutes. A shift 02:30-03:00 becomes
    # [03:30, 03:00): no open time.
    cal = BusinessCalendar(tz="America/New_York", week={"sun": ["02:30-03:00"]})
    assert cal.between(ny(2026, 3, 8), ny(2026, 3, 9)) == timedelta(0)


def test_rule6_partial_closed_all_day_differs_from_whole_holiday() -> None:
    week = {"mon-sun": ["22:00-06:00"]}
    partial = BusinessCalendar(
        tz="UTC", week=week, holidays=[{"date": "2026-11-03", "closed": ["00:00-24:00"]}]
    )
    whole = BusinessCalendar(tz="UTC", week=week, holidays=["2026-11-03"])
    t = datetime(2026, 11, 3, 3, tzinfo=UTC)
    assert not partial.is_open(t) and whole.is_open(t)
    assert partial.is_open(datetime(2026, 11, 3, 22, tzinfo=UTC)) is False
    assert partial.is_open(datetime(2026, 11, 4, 0, 30, tzinfo=UTC))  # after the closed day


def test_rule6_extra_workday_naming_a_closed_weekday_is_closed() -> None:
    cal = BusinessCalendar(
        tz="UTC", week={"mon": ["09:00-10:00"]}, extra_workdays={"2026-11-03": "sun"}
    )
    day = datetime(2026, 11, 3, tzinfo=UTC)
    assert cal.between(day, day + timedelta(days=1)) == timedelta(0)


def test_rule6_inputs_are_instants_in_any_zone_and_fold_is_honoured() -> None:
    cal = BusinessCalendar(tz="Asia/Shanghai", week=GUIDE_WEEK)
    utc = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
    fixed = datetime(2026, 11, 1, 20, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert cal.is_open(utc) and cal.is_open(fixed)
    assert cal.add(utc, H) == sh(2026, 11, 2, 10, 30)
    assert cal.add(pendulum.datetime(2026, 11, 2, 1, 30, tz="UTC"), H) == sh(2026, 11, 2, 10, 30)
    always = BusinessCalendar(tz="UTC", week={"mon-sun": ["00:00-24:00"]})
    first, second = ny(2026, 11, 1, 1, 30, fold=0), ny(2026, 11, 1, 1, 30, fold=1)
    assert always.between(first, second) == H


def test_rule6_naive_inputs_raise_even_for_zero() -> None:
    cal = BusinessCalendar(tz="UTC", week={"mon": ["09:00-10:00"]})
    naive = datetime(2026, 11, 2, 9)
    for call in (
        lambda: cal.add(naive, timedelta(0)),
        lambda: cal.between(naive, naive),
        lambda: cal.is_open(naive),
        lambda: cal.next_open(naive),
        lambda: cal.intervals(naive, naive),
    ):
        with pytest.raises(CalendarError, match="naive"):
            call()


def test_api_edges_accept_iso_instants_and_duration_strings() -> None:
    """pendulum is the vocabulary at the edges: ISO instants with an offset, durations as
    "2h30m", ISO 8601 "PT2H30M"/"P1D" or a pendulum Duration."""
    cal = BusinessCalendar(tz="Asia/Shanghai", week=GUIDE_WEEK)
    start = sh(2026, 11, 2, 11, 0)
    expected = sh(2026, 11, 3, 11, 0)
    assert cal.add(start, "2h30m") == sh(2026, 11, 2, 14, 30)
    assert cal.add(start, "PT2H30M") == sh(2026, 11, 2, 14, 30)
    assert cal.add(start, "-90m") == sh(2026, 11, 2, 9, 30)
    assert cal.add(start, "P1D") == cal.add(start, timedelta(days=1))
    assert cal.add(start, pendulum.duration(hours=8)) == expected
    assert cal.add("2026-11-02T11:00:00+08:00", timedelta(hours=8)) == expected
    assert cal.add("2026-11-02T03:00:00Z", "8h") == expected
    assert cal.add("2026-11-02T11:00:00+08:00", "0m") == start
    assert cal.between("2026-11-02T11:00:00+08:00", "2026-11-03T11:00:00+08:00") == 8 * H
    assert cal.is_open("2026-11-02T12:30:00+08:00") is False
    assert cal.next_open("2026-11-02T12:30:00+08:00") == sh(2026, 11, 2, 13, 0)
    assert cal.next_open("2026-11-02T04:30:00+00:00") == sh(2026, 11, 2, 12, 30) + 30 * M
    assert cal.next_open("2026-11-02T13:30:00+08:00") == sh(2026, 11, 2, 13, 30)
    assert cal.intervals("2026-11-02T11:00:00+08:00", "2026-11-02T14:00:00+08:00") == [
        (sh(2026, 11, 2, 11, 0), sh(2026, 11, 2, 12, 0)),
        (sh(2026, 11, 2, 13, 0), sh(2026, 11, 2, 14, 0)),
    ]


@pytest.mark.parametrize(
    ("call", "needle"),
    [
        (lambda cal: cal.add(sh(2026, 11, 2, 9), "two hours"), "'two hours'"),
        (lambda cal: cal.add(sh(2026, 11, 2, 9), 90), "got int 90"),
        (lambda cal: cal.add("2026-11-02T09:00:00", "1h"), "naive ISO instant"),
        (lambda cal: cal.between("2026-11-02 nine", sh(2026, 11, 2, 9)), "not an ISO 8601"),
        (lambda cal: cal.is_open("yesterday"), "not an ISO 8601 instant: 'yesterday'"),
    ],
)
def test_api_edges_refuse_bad_strings_naming_them(
    call: Callable[[BusinessCalendar], object], needle: str
) -> None:
    cal = BusinessCalendar(tz="Asia/Shanghai", week=GUIDE_WEEK)
    with pytest.raises(CalendarError) as caught:
        call(cal)
    assert needle in str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"tz": "Mars/Olympus"}, "unknown time zone"),
        ({"week": {"mon": ["9:00-10:00"]}}, "week.mon[0]"),
        ({"week": {"mon": ["09:00-25:00"]}}, "week.mon[0]"),
        ({"week": {"mon": ["09:60-10:00"]}}, "week.mon[0]"),
        ({"week": {"mon": ["24:00-10:00"]}}, "week.mon[0]"),
        ({"week": {"mon": "09:00-10:00"}}, "week.mon"),
        ({"week": {"fri-mon": ["09:00-10:00"]}}, "week.fri-mon"),
        ({"week": {"monday": ["09:00-10:00"]}}, "week.monday"),
        ({"holidays": ["2026-13-01"]}, "holidays[0]"),
        ({"holidays": [{"date": "2026-12-24", "closed": ["x"]}]}, "holidays[0].closed[0]"),
        ({"holidays": ["2026-10-11"], "extra_workdays": {"2026-10-11": "mon"}}, "both a holiday"),
        (
            {
                "holidays": [{"date": "2026-10-11", "closed": ["09:00-10:00"]}],
                "extra_workdays": {"2026-10-11": "mon"},
            },
            "partial holiday on an extra workday",
        ),
        ({"extra_workdays": {"2026-10-11": "someday"}}, "extra_workdays.2026-10-11"),
    ],
)
def test_bad_input_raises_calendar_error_naming_it(kwargs: dict[str, object], needle: str) -> None:
    kwargs = {"tz": "UTC", "week": {"mon": ["09:00-10:00"]}, **kwargs}
    with pytest.raises(CalendarError) as err:
        BusinessCalendar(**kwargs)  # type: ignore[arg-type]
    assert needle in str(err.value)
    assert isinstance(err.value, HelpdeskError)


def test_config_section_with_key_paths() -> None:
    config = load_config(
        {"calendars": {"support": {"tz": "Asia/Shanghai", "week": GUIDE_WEEK, "preset": "CN-2026"}}}
    )
    cal = config.sections["calendars"]["support"]
    assert not cal.is_open(sh(2026, 10, 5, 10))  # National Day
    assert cal.is_open(sh(2026, 10, 10, 10))  # Saturday worked (调休)
    with pytest.raises(ConfigError) as err:
        load_config({"calendars": {"support": {"tz": "UTC", "week": {"mon": ["09:00-1000"]}}}})
    assert err.value.path == "calendars.support.week.mon[0]"
    with pytest.raises(ConfigError) as err:
        load_config({"calendars": {"support": {"tz": "UTC", "colour": "red"}}})
    assert err.value.path == "calendars.support.colour"


# ------------------------------------------------------------------ algebra
def test_algebra_intersection_union_difference() -> None:
    team = BusinessCalendar(tz="Asia/Shanghai", week={"mon-fri": ["09:00-18:00"]})
    contract = BusinessCalendar(tz="UTC", week={"mon-fri": ["00:00-08:00"]})  # 08:00-16:00 CST
    lunch = BusinessCalendar(tz="Asia/Shanghai", week={"mon-sun": ["12:00-13:00"]})
    day = sh(2026, 11, 2)
    nxt = day + timedelta(days=1)
    assert (team & contract).between(day, nxt) == 7 * H
    assert (team | contract).between(day, nxt) == 10 * H
    assert (team - lunch).between(day, nxt) == 8 * H
    both = team & contract
    assert both.add(sh(2026, 11, 2, 15), 2 * H) == sh(2026, 11, 3, 10)
    assert both.add(sh(2026, 11, 2, 15), 2 * H).tzinfo == SH


# -------------------------------------------------- regressions named after their sources
def test_zammad_3180_24_7_calendar_does_not_break_at_midnight() -> None:
    cal = BusinessCalendar(tz="Europe/Berlin", week={"mon-sun": ["00:00-24:00"]})
    ber = ZoneInfo("Europe/Berlin")
    t = datetime(2026, 6, 1, 23, 30, tzinfo=ber)
    assert cal.add(t, H) == datetime(2026, 6, 2, 0, 30, tzinfo=ber)
    assert len(cal.intervals(t, t + timedelta(days=10))) == 1


def test_frappe_2075_overnight_shift_keeps_time_past_midnight() -> None:
    cal = BusinessCalendar(tz="Asia/Kolkata", week={"mon-sun": ["22:00-06:00"]})
    ist = ZoneInfo("Asia/Kolkata")
    assert cal.add(datetime(2026, 11, 7, 23, tzinfo=ist), 7 * H) == datetime(
        2026, 11, 8, 6, tzinfo=ist
    )
    assert (
        cal.between(datetime(2026, 11, 7, 23, tzinfo=ist), datetime(2026, 11, 8, 7, tzinfo=ist))
        == 7 * H
    )


def test_frappe_2449_deadline_across_the_weekend() -> None:
    cal = BusinessCalendar(tz="Asia/Shanghai", week={"mon-fri": ["09:00-18:00"]})
    assert cal.add(sh(2026, 11, 6, 17), 2 * H) == sh(2026, 11, 9, 10)  # Fri 17:00 + 2h


def test_frappe_1554_multi_day_resolution_time() -> None:
    cal = BusinessCalendar(tz="Asia/Shanghai", week={"mon-fri": ["09:00-18:00"]})
    assert cal.add(sh(2026, 11, 6, 17, 30), 10 * H) == sh(2026, 11, 10, 9, 30)


def test_osticket_6739_6847_business_hours_follow_the_calendar_zone() -> None:
    cal = BusinessCalendar(tz="Asia/Shanghai", week={"mon-fri": ["09:00-18:00"]})
    # the server runs in UTC or New York; the same instants give the same answers
    for zone in (UTC, NY, SH):
        t = sh(2026, 11, 2, 17).astimezone(zone)
        assert cal.is_open(t)
        assert cal.add(t, 2 * H) == sh(2026, 11, 3, 10)


def test_otrs_pr698_clock_does_not_collapse_on_dst_change() -> None:
    cal = BusinessCalendar(tz="Europe/Berlin", week={"mon-sun": ["00:00-24:00"]})
    ber = ZoneInfo("Europe/Berlin")
    a, b = datetime(2026, 3, 28, 12, tzinfo=ber), datetime(2026, 3, 29, 12, tzinfo=ber)
    assert cal.between(a, b) == 23 * H
    assert cal.add(a, 23 * H) == b


def test_biz_pr37_shift_ending_2400_on_a_dst_day() -> None:
    cal = BusinessCalendar(tz="America/New_York", week={"sun": ["09:00-24:00"]})
    assert cal.between(ny(2026, 11, 1), ny(2026, 11, 2)) == 15 * H
    assert cal.add(ny(2026, 11, 1, 9), 15 * H) == ny(2026, 11, 2, 0)


def test_biz_138_sum_ending_exactly_at_a_close_stays_there() -> None:
    cal = BusinessCalendar(tz="America/New_York", week={"mon-fri": ["09:00-17:00"]})
    assert cal.add(ny(2026, 11, 2, 9), 8 * H) == ny(2026, 11, 2, 17)


def test_pandas_29901_business_hours_on_a_dst_day() -> None:
    cal = BusinessCalendar(tz="America/New_York", week={"mon-sun": ["09:00-17:00"]})
    assert cal.add(ny(2026, 3, 8, 8), H) == ny(2026, 3, 8, 10)
    assert cal.between(ny(2026, 3, 7, 17), ny(2026, 3, 8, 17)) == 8 * H
    assert cal.add(ny(2026, 3, 7, 16), 2 * H) == ny(2026, 3, 8, 10)


def test_pandas_60596_nonexistent_local_time_does_not_raise() -> None:
    cal = BusinessCalendar(tz="America/New_York", week={"sun": ["02:30-04:00"]})
    assert cal.between(ny(2026, 3, 8), ny(2026, 3, 9)) == 30 * M
    assert cal.next_open(ny(2026, 3, 8, 1, 0)) == ny(2026, 3, 8, 3, 30)
