"""The pure review rules: the approval clock, the ``[reviews]`` section, the state rules and
the record derived from a ticket's history (R-REV-1..3)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_core import ConfigError, InvalidTransition, ValidationError, load_config
from helpdesk_core import reviews as rules
from helpdesk_core.calendars import BusinessCalendar
from helpdesk_core.model import reviews as model
from helpdesk_core.model.events import CustomerMessaged, NoteAdded, Replied, StatusChanged
from helpdesk_core.model.records import Firing
from helpdesk_core.model.reviews import ImprovementAction, RootCause
from helpdesk_core.reviews import ReviewSettings
from helpdesk_core.testing.review_contract import sample_review
from helpdesk_core.testing.storage_contract import make_created

SH = ZoneInfo("Asia/Shanghai")
OFFICE = BusinessCalendar(
    tz="Asia/Shanghai",
    week={"mon-fri": ["09:00-12:00", "13:00-18:00"]},
    holidays=["2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"],
    extra_workdays={"2026-10-10": "fri"},
    name="office",
)
SETTINGS = ReviewSettings(calendar=OFFICE, calendar_name="office")


def _sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


# ---------------------------------------------------------------------- the approval clock
def test_r_rev_2_due_is_close_of_business_two_business_days_later() -> None:
    """R-REV-2 (rule 5): opened Monday 13:01 -> due Wednesday 18:00; the warning comes at 75%
    of the window's business time (4h59 + 8h + 8h = 20h59; 15h44m15s of it is Monday 4h59,
    Tuesday 8h and Wednesday 2h45m15s -> 11:45:15)."""
    warn, due = SETTINGS.approval_clock(_sh(2026, 11, 2, 13, 1))
    assert due == _sh(2026, 11, 4, 18, 0)
    assert warn == _sh(2026, 11, 4, 11, 45, 15)


def test_r_rev_2_the_clock_skips_weekends_and_holidays_and_counts_extra_workdays() -> None:
    """Friday evening -> Tuesday; opened before the National Day break -> the Friday after
    it, the 调休 Saturday 10 Oct counting as a business day."""
    assert SETTINGS.approval_clock(_sh(2026, 11, 6, 20, 0))[1] == _sh(2026, 11, 10, 18, 0)
    assert SETTINGS.approval_clock(_sh(2026, 9, 30, 10, 0))[1] == _sh(2026, 10, 9, 18, 0)
    assert SETTINGS.approval_clock(_sh(2026, 10, 9, 10, 0))[1] == _sh(2026, 10, 12, 18, 0)


def test_without_a_calendar_days_are_24_hours() -> None:
    opened = datetime(2026, 11, 7, 3, 0, tzinfo=UTC)
    warn, due = ReviewSettings(warn_at=0.5).approval_clock(opened)
    assert (warn, due) == (opened + timedelta(days=1), opened + timedelta(days=2))


@settings(max_examples=150, deadline=None)
@given(
    opened=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 20), timezones=st.just(UTC)
    ),
    days=st.integers(1, 5),
    warn_at=st.floats(0.05, 0.95),
)
def test_r_rev_2_due_property(opened: datetime, days: int, warn_at: float) -> None:
    """Rule 5 as a property: the due instant closes a business day; exactly ``days`` business
    dates lie after the opening date up to the due date; the warning sits inside the window at
    ``warn_at`` of its business time."""
    setup = ReviewSettings(calendar=OFFICE, calendar_name="office", approval_days=days,
                           warn_at=warn_at)  # fmt: skip
    warn, due = setup.approval_clock(opened)
    tiny = timedelta(microseconds=1)
    assert OFFICE.is_open(due - tiny) and not OFFICE.is_open(due)
    start_day = opened.astimezone(SH).date()
    due_day = (due - tiny).astimezone(SH).date()
    business = [
        start_day + timedelta(days=i)
        for i in range(1, (due_day - start_day).days + 1)
        if _has_open_time(start_day + timedelta(days=i))
    ]
    assert len(business) == days and business[-1] == due_day
    assert opened <= warn <= due
    window = OFFICE.between(opened, due)
    assert abs(OFFICE.between(opened, warn) - window * warn_at) <= tiny


def _has_open_time(day: date) -> bool:
    start = datetime(day.year, day.month, day.day, tzinfo=SH)
    return bool(OFFICE.intervals(start, start + timedelta(days=1)))


# ---------------------------------------------------------------------- [reviews]
def _config(reviews: dict[str, Any], **extra: Any) -> Any:
    return load_config(
        {
            "calendars": {"office": {"tz": "Asia/Shanghai", "week": {"mon-fri": ["09:00-18:00"]}}},
            "reviews": reviews,
            **extra,
        }
    ).sections["reviews"]


def test_reviews_section_defaults_and_values() -> None:
    parsed = _config({"priorities": ["urgent"], "calendar": "office", "warn_at": 0.5})
    assert (parsed.priorities, parsed.calendar_name, parsed.approval_days, parsed.warn_at) == (
        ("urgent",),
        "office",
        2,
        0.5,
    )
    defaults = _config({}, sla={"calendar": "office"})
    assert (defaults.priorities, defaults.calendar_name) == (("urgent", "high"), "office")


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ({"priorities": ["p0"]}, "reviews.priorities[0]"),
        ({"priorities": "urgent"}, "reviews.priorities"),
        ({"calendar": "nowhere"}, "reviews.calendar"),
        ({"approval_days": 0}, "reviews.approval_days"),
        ({"approval_days": True}, "reviews.approval_days"),
        ({"warn_at": 1}, "reviews.warn_at"),
        ({"warn_at": "75%"}, "reviews.warn_at"),
        ({"approve_within": "2d"}, "reviews.approve_within"),
    ],
)
def test_reviews_section_errors_name_the_key_path(raw: dict[str, Any], path: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _config(raw)
    assert str(caught.value).startswith(path)


# ---------------------------------------------------------------------- state rules
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
CAUSE = RootCause("c1", "system_defect", "disk full", ("no alert",), "a-1", NOW)


def test_r_rev_2_approval_needs_minutes_and_a_root_cause() -> None:
    review = sample_review("r1", "t1")
    with pytest.raises(InvalidTransition):
        model.approve(review, "m-1", NOW)  # no minutes yet
    submitted = model.submit_minutes(review, "met", "a-1", NOW)
    with pytest.raises(InvalidTransition):
        model.approve(submitted, "m-1", NOW)  # no root cause
    revised = model.submit_minutes(model.add_root_cause(submitted, CAUSE, NOW), "v2", "a-1", NOW)
    approved = model.approve(revised, "m-1", NOW)
    assert (approved.state, approved.minutes, approved.version) == ("approved", "v2", 5)
    with pytest.raises(InvalidTransition):
        model.add_root_cause(approved, CAUSE, NOW)  # the approved record is frozen
    with pytest.raises(InvalidTransition):
        model.submit_minutes(approved, "v3", "a-1", NOW)
    closed = model.close(approved, "all actions verified", NOW)
    assert not closed.live
    with pytest.raises(InvalidTransition):
        model.close(closed, "again", NOW)


def test_r_rev_3_actions_go_open_done_verified() -> None:
    action = ImprovementAction(
        "x1", "a-1", "alerts", "< 1 outage a quarter", NOW + timedelta(days=5), "report",
        "m-1", NOW,
    )  # fmt: skip
    review = model.add_action(sample_review("r1", "t1"), action, NOW)
    assert review.actions[0].overdue(NOW + timedelta(days=5))
    with pytest.raises(InvalidTransition):
        model.verify_action(review, action, "m-1", None, NOW)
    done = model.complete_action(review, action, "a-1", "shipped", NOW)
    assert not done.actions[0].overdue(NOW + timedelta(days=9))
    with pytest.raises(InvalidTransition):
        model.complete_action(done, done.actions[0], "a-1", None, NOW)
    verified = model.verify_action(done, done.actions[0], "m-1", "no outage", NOW)
    assert verified.actions[0].state == "verified" and verified.version == 4


def test_r_rev_1_a_survey_answer_is_appended_to_feedback() -> None:
    """Rule 4: another feature appends its items (a survey answer with rating and category);
    a refresh of the derived message items keeps them."""
    review = model.refreshed(sample_review("r1", "t1"), (), model.ReviewStatistics(), ())
    answer = model.FeedbackItem("survey", NOW, "C1", "too slow", 2, "process", "survey-9")
    added = model.add_feedback(review, answer, NOW)
    assert added.feedback[0] == answer and added.version == review.version + 1  # time order
    assert [f.at for f in added.feedback] == sorted(f.at for f in added.feedback)
    again = model.refreshed(added, (), model.ReviewStatistics(), ())
    assert answer in again.feedback
    with pytest.raises(ValidationError):
        model.add_feedback(review, attrs.evolve(answer, source="message"), NOW)


def test_refresh_keeps_other_feedback_and_skips_frozen_records() -> None:
    """Rules 3 and 4: message items are rebuilt, survey items kept; approved is frozen."""
    review = sample_review("r1", "t1")
    fresh = model.refreshed(review, (), model.ReviewStatistics(), ())
    assert [f.source for f in fresh.feedback] == ["survey"] and fresh.version == review.version
    approved = attrs.evolve(review, state="approved")
    assert model.refreshed(approved, (), model.ReviewStatistics(), ()) is approved


# ---------------------------------------------------------------------- the derived record
def test_r_rev_1_timeline_statistics_and_feedback_from_events() -> None:
    """R-REV-1: rules 2-4 on a small history."""
    created = make_created("t1", 1, at=NOW, priority="urgent", requester="C1")
    note = NoteAdded(
        ticket_id="t1", seq=2, at=NOW + timedelta(minutes=3), actor="a-1", message_id="m1",
        body="checking the disk", channel="internal",
    )  # fmt: skip
    reply = Replied(
        ticket_id="t1", seq=3, at=NOW + timedelta(minutes=20), actor="a-1", message_id="m2",
        body="On it", channel="email",
    )  # fmt: skip
    solved = StatusChanged(
        ticket_id="t1", seq=4, at=NOW + timedelta(hours=3), actor="a-1", from_status="new",
        to_status="solved", to_category="solved",
    )  # fmt: skip
    thanks = CustomerMessaged(
        ticket_id="t1", seq=5, at=NOW + timedelta(hours=4), actor="C1", message_id="m3",
        body="Works again, but it took long", channel="email",
    )  # fmt: skip
    events = [created, note, reply, solved, thanks]
    lines = rules.timeline(events)
    assert [(e.kind, e.internal) for e in lines] == [
        ("ticket_created", False),
        ("note_added", True),
        ("replied", False),
        ("status_changed", False),
        ("customer_messaged", False),
    ]
    assert lines[2].summary == "Public reply: On it"
    firing = Firing("t1|p|1|resolution|1", "t1", "p", 1, "resolution", 1, NOW, "w")
    stats = rules.statistics(events, [], [firing])
    assert stats.first_response is not None and stats.first_response.wall == timedelta(minutes=20)
    assert stats.first_response.business is None  # no SLA clock gives it
    # the customer's message reopened nothing: the ticket is still solved, resolved after 3h
    assert stats.resolution is not None and stats.resolution.wall == timedelta(hours=3)
    assert (stats.escalations, stats.escalation_keys) == (1, ("t1|p|1|resolution|1",))
    feedback = rules.customer_feedback(events)
    assert [(f.source, f.author, f.ref) for f in feedback] == [("message", "C1", "m3")]
