"""Review commands through the facade on the memory, SQLite and PostgreSQL stores
(R-REV-1..3, R-PRM-1, R-PRM-2, R-SEC-1)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from review_setup import (
    ADMIN,
    AGENT,
    CUSTOMER,
    DIRECTOR,
    MONDAY,
    OUTSIDER,
    SH,
    TEAMMATE,
    p1_ticket,
)

from helpdesk_core import (
    Helpdesk,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationError,
)

LATER = MONDAY + timedelta(hours=5)
LATER_BY = timedelta(minutes=1)


def _full_review(desk: Helpdesk) -> str:
    ticket = p1_ticket(desk)
    review = desk.open_review(AGENT, ticket.id, now=LATER)
    desk.add_root_cause(
        AGENT, review.id, category="system_defect", description="payment node disk full",
        whys=["checkout failed", "node out of disk", "logs never rotated"], now=LATER,
    )  # fmt: skip
    desk.submit_minutes(AGENT, review.id, "Met 14:00; agreed on rotation and alerts.", now=LATER)
    return review.id


def test_r_rev_1_open_review_builds_the_record(review_desk: Helpdesk) -> None:
    """R-REV-1: a P1 ticket's review carries its timeline, statistics and approval clock."""
    ticket = p1_ticket(review_desk)
    opened_at = datetime(2026, 11, 2, 13, 1, tzinfo=SH)
    review = review_desk.open_review(AGENT, ticket.id, now=opened_at)
    assert (review.ticket_id, review.state, review.opened_by, review.version) == (
        ticket.id, "open", AGENT.id, 1,
    )  # fmt: skip
    assert review.approval_due_at == datetime(2026, 11, 4, 18, 0, tzinfo=SH)
    assert review.calendar == "office"
    assert [e.kind for e in review.timeline] == [
        "ticket_created", "assigned", "status_changed", "replied",
    ]  # fmt: skip
    first = review.statistics.first_response
    assert first is not None
    assert (first.wall, first.business, first.calendar) == (
        timedelta(minutes=10), timedelta(minutes=10), "office",
    )  # fmt: skip
    assert review.statistics.resolution is None  # not resolved yet
    assert review_desk.get_review(DIRECTOR, review.id, now=opened_at) == review


def test_r_rev_1_only_p1_p2_tickets_and_one_live_review(review_desk: Helpdesk) -> None:
    normal = p1_ticket(review_desk, priority="normal")
    with pytest.raises(ValidationError) as caught:
        review_desk.open_review(AGENT, normal.id)
    assert caught.value.field == "ticket_id"
    high = p1_ticket(review_desk, priority="high")
    first = review_desk.open_review(AGENT, high.id)
    with pytest.raises(ValidationError, match=first.id):
        review_desk.open_review(DIRECTOR, high.id)
    review_desk.close_review(DIRECTOR, first.id, reason="opened by mistake")
    second = review_desk.open_review(DIRECTOR, high.id)
    assert second.id != first.id
    assert [r.id for r in review_desk.reviews(DIRECTOR, state="open")] == [second.id]


def test_r_prm_2_reviews_are_seen_through_the_ticket_scope(review_desk: Helpdesk) -> None:
    """R-PRM-2: agents of the ticket's team see its review; others get NotFound, exactly as
    for a missing review; the customer sees none."""
    review_id = review_desk.open_review(AGENT, p1_ticket(review_desk).id).id
    assert review_desk.get_review(TEAMMATE, review_id).id == review_id
    for stranger in (OUTSIDER, CUSTOMER):
        with pytest.raises(NotFound) as hidden:
            review_desk.get_review(stranger, review_id)
        with pytest.raises(NotFound) as missing:
            review_desk.get_review(stranger, "no-such-review")
        assert str(hidden.value) == str(missing.value).replace("no-such-review", review_id)
        assert review_desk.reviews(stranger) == []
    assert [r.id for r in review_desk.reviews(TEAMMATE)] == [review_id]


def test_r_prm_1_who_may_edit_and_approve(review_desk: Helpdesk) -> None:
    """R-PRM-1: the handling agent edits; a teammate only reads; only the service director
    (manager) approves; refusals are audited."""
    review_id = _full_review(review_desk)
    with pytest.raises(PermissionDenied):
        review_desk.add_root_cause(TEAMMATE, review_id, category="external", description="x")
    with pytest.raises(PermissionDenied):
        review_desk.approve_review(AGENT, review_id)
    approved = review_desk.approve_review(DIRECTOR, review_id, now=LATER)
    assert approved.state == "approved" and approved.approval is not None
    assert (approved.approval.by, approved.approval.at) == (DIRECTOR.id, LATER)
    log = review_desk.audit_log(ADMIN, target=f"review:{review_id}")
    assert [(r.actor, r.action, r.allowed) for r in log] == [
        ("a-17", "review.edit", True),  # opened
        ("a-17", "review.edit", True),  # root cause
        ("a-17", "review.edit", True),  # minutes
        ("m-1", "review.approve", True),
    ]
    # a refusal is audited against the ticket the review is about
    refused = [r for r in review_desk.audit_log(ADMIN) if not r.allowed]
    assert [(r.actor, r.action, r.target) for r in refused] == [
        ("a-18", "review.edit", approved.ticket_id),
        ("a-17", "review.approve", approved.ticket_id),
    ]


def test_r_rev_2_approval_freezes_the_record(review_desk: Helpdesk) -> None:
    review_id = _full_review(review_desk)
    approved = review_desk.approve_review(DIRECTOR, review_id, now=LATER)
    ticket_id = approved.ticket_id
    review_desk.reply(AGENT, ticket_id, "Fixed for good", now=LATER + timedelta(hours=1))
    again = review_desk.get_review(DIRECTOR, review_id, now=LATER + timedelta(hours=2))
    assert again.timeline == approved.timeline and again.statistics == approved.statistics
    with pytest.raises(InvalidTransition):
        review_desk.add_root_cause(AGENT, review_id, category="external", description="late")


def test_r_rev_1_timeline_follows_the_ticket_until_approval(review_desk: Helpdesk) -> None:
    """R-REV-1: resolution time, internal notes for their readers only, customer feedback."""
    ticket = p1_ticket(review_desk)
    review = review_desk.open_review(AGENT, ticket.id, now=MONDAY + timedelta(hours=1))
    review_desk.add_note(AGENT, ticket.id, "disk full on node 3", now=MONDAY + timedelta(hours=2))
    review_desk.set_status(AGENT, ticket.id, "in_progress", now=MONDAY + timedelta(hours=2))
    review_desk.set_status(AGENT, ticket.id, "resolved", now=MONDAY + timedelta(hours=3))
    review_desk.reply(CUSTOMER, ticket.id, "Works, thanks", now=MONDAY + timedelta(hours=4))
    seen = review_desk.get_review(AGENT, review.id, now=MONDAY + timedelta(hours=5))
    resolution = seen.statistics.resolution
    assert resolution is not None and resolution.wall == timedelta(hours=3)
    assert "note_added" in [e.kind for e in seen.timeline]
    assert [(f.source, f.text) for f in seen.feedback] == [("message", "Works, thanks")]


def test_r_rev_3_improvement_actions_are_tracked_and_verified(review_desk: Helpdesk) -> None:
    review_id = _full_review(review_desk)
    deadline = datetime(2026, 11, 20, 18, 0, tzinfo=SH)
    review = review_desk.add_action(
        AGENT, review_id, owner="a-17", description="Rotate payment node logs daily",
        target="0 disk-full incidents over 90 days", deadline=deadline,
        verification="monthly disk report reviewed by ops", now=LATER,
    )  # fmt: skip
    action = review.actions[0]
    assert (action.owner, action.state, action.deadline) == ("a-17", "open", deadline)
    with pytest.raises(InvalidTransition):
        review_desk.verify_action(DIRECTOR, review_id, action.id)
    done = review_desk.complete_action(AGENT, review_id, action.id, note="cron installed")
    verified = review_desk.verify_action(DIRECTOR, review_id, action.id, note="report clean")
    assert [a.state for a in (done.actions[0], verified.actions[0])] == ["done", "verified"]
    with pytest.raises(NotFound):
        review_desk.complete_action(AGENT, review_id, "no-such-action")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"target": "fewer incidents"}, "target"),  # not quantified
        ({"target": "   "}, "target"),
        ({"deadline": datetime(2026, 11, 20, 18, 0)}, "deadline"),  # naive
        ({"deadline": "2026-11-20"}, "deadline"),
        ({"owner": ""}, "owner"),
        ({"verification": None}, "verification"),
    ],
)
def test_r_rev_3_bad_actions_are_refused_at_the_door(
    review_desk: Helpdesk, change: dict[str, object], field: str
) -> None:
    review_id = review_desk.open_review(AGENT, p1_ticket(review_desk).id).id
    good: dict[str, object] = {
        "owner": "a-17", "description": "alerts", "target": "alert at 80% disk on 100% of nodes",
        "deadline": datetime(2026, 11, 20, 18, 0, tzinfo=SH), "verification": "audit",
    }  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        review_desk.add_action(AGENT, review_id, **{**good, **change})  # type: ignore[arg-type]
    assert caught.value.field == field
    assert review_desk.get_review(AGENT, review_id).version == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"category": "bad_luck"}, "category"),
        ({"description": ""}, "description"),
        ({"whys": "why"}, "whys"),
        ({"whys": ["1", "2", "3", "4", "5", "6"]}, "whys"),
    ],
)
def test_r_rev_1_root_causes_are_checked(
    review_desk: Helpdesk, change: dict[str, object], field: str
) -> None:
    review_id = review_desk.open_review(AGENT, p1_ticket(review_desk).id).id
    good: dict[str, object] = {"category": "process_gap", "description": "no runbook"}
    with pytest.raises(ValidationError) as caught:
        review_desk.add_root_cause(AGENT, review_id, **{**good, **change})  # type: ignore[arg-type]
    assert caught.value.field == field


def test_reviews_filter_by_state_and_refuse_unknown_states(review_desk: Helpdesk) -> None:
    first = _full_review(review_desk)
    second = review_desk.open_review(AGENT, p1_ticket(review_desk).id, now=LATER + LATER_BY).id
    assert [r.id for r in review_desk.reviews(DIRECTOR, state="minutes_submitted")] == [first]
    assert [r.id for r in review_desk.reviews(DIRECTOR)] == [first, second]  # by opening
    with pytest.raises(ValidationError) as caught:
        review_desk.reviews(DIRECTOR, state="pending")
    assert caught.value.field == "state"


def test_r_rev_1_r_rev_4_survey_answers_become_review_feedback(review_desk: Helpdesk) -> None:
    """R-REV-1, R-REV-4: the customer's rating of the resolved incident joins the live review's
    feedback, and its later classification (process / people / tool) follows it there."""
    ticket = p1_ticket(review_desk)
    review = review_desk.open_review(AGENT, ticket.id, now=LATER)
    review_desk.set_status(AGENT, ticket.id, "resolved", now=LATER)
    rated = review_desk.rate_ticket(
        CUSTOMER, ticket.id, stars=2, comment="Took all morning", now=LATER + LATER_BY
    )
    seen = review_desk.get_review(AGENT, review.id, now=LATER + 2 * LATER_BY)
    survey_items = [f for f in seen.feedback if f.source == "survey"]
    assert [(f.rating, f.text, f.ref, f.category) for f in survey_items] == [
        (2, "Took all morning", rated.id, None)
    ]
    review_desk.classify_feedback(AGENT, rated.id, "process", now=LATER + 3 * LATER_BY)
    seen = review_desk.get_review(AGENT, review.id, now=LATER + 4 * LATER_BY)
    assert [f.category for f in seen.feedback if f.source == "survey"] == ["process"]
