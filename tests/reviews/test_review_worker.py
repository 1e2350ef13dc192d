"""The review clock through the escalation machinery (R-REV-2, R-REV-3, issue 22): a P1 breach
opens the review in the firing's transaction; the approval warning, the approval breach and an
overdue improvement action each notify exactly once, on every store."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from review_setup import AGENT, DIRECTOR, SH, Observer, p1_ticket

from helpdesk_core import Helpdesk

BREACH = datetime(2026, 11, 2, 14, 1, tzinfo=SH)  # 4 business hours after 09:00, lunch closed
WARN = datetime(2026, 11, 4, 13, 0, 15, tzinfo=SH)  # 75% of Mon 14:01 .. Wed 18:00
DUE = datetime(2026, 11, 4, 18, 0, tzinfo=SH)


def _notices(desk: Helpdesk, observer: Observer, now: datetime) -> list[tuple[str, str]]:
    desk.dispatch_outbox(now=now)
    return [
        (n.event_kind, n.recipient)
        for n in observer.notifier.sent
        if n.event_kind.startswith(("approval_", "action_"))
    ]


def test_r_rev_2_a_p1_breach_opens_the_review_once(
    review_desk: Helpdesk, observer: Observer
) -> None:
    """The level with review = true opens the library's review in the firing's transaction;
    the hook observes it afterwards; later ticks neither open nor report another."""
    ticket = p1_ticket(review_desk)
    assert review_desk.run_escalations(now=BREACH - timedelta(minutes=2)).fired == 0
    run = review_desk.run_escalations(now=BREACH)
    assert run.fired == 1
    [review] = review_desk.reviews(DIRECTOR)
    assert (review.ticket_id, review.opened_by, review.opened_at) == (ticket.id, "system", BREACH)
    assert review.reason == "p1 level 1: resolution breached"
    assert review.approval_due_at == DUE and review.approval_warn_at == WARN
    assert review.statistics.escalation_keys == run.keys
    assert observer.opened == [(ticket.id, run.keys[0], review.id)]
    review_desk.run_escalations(now=BREACH + timedelta(hours=1))
    assert len(review_desk.reviews(DIRECTOR)) == 1 and len(observer.opened) == 1


def test_a_breach_on_a_ticket_not_reviewed_opens_nothing(
    review_desk: Helpdesk, observer: Observer
) -> None:
    ticket = p1_ticket(review_desk, priority="normal")
    run = review_desk.run_escalations(now=datetime(2026, 12, 31, 12, 0, tzinfo=SH))
    assert run.fired == 1
    assert review_desk.reviews(DIRECTOR) == []
    assert observer.opened == [(ticket.id, run.keys[0], None)]


def test_r_rev_2_the_approval_clock_warns_then_breaches_once_each(
    review_desk: Helpdesk, observer: Observer
) -> None:
    p1_ticket(review_desk)
    review_desk.run_escalations(now=BREACH)
    review_id = review_desk.reviews(DIRECTOR)[0].id
    before = WARN - timedelta(seconds=1)
    assert review_desk.run_escalations(now=before).fired == 0
    warned = review_desk.run_escalations(now=WARN)
    assert warned.keys == (f"review:{review_id}|approval|warning",)
    assert review_desk.run_escalations(now=WARN + timedelta(minutes=5)).fired == 0
    breached = review_desk.run_escalations(now=DUE + timedelta(days=3))
    assert breached.keys == (f"review:{review_id}|approval|breached",)
    assert review_desk.run_escalations(now=DUE + timedelta(days=9)).claimed == 0
    assert _notices(review_desk, observer, DUE + timedelta(days=9)) == [
        ("approval_warning", "m-1"),
        ("approval_breached", "m-1"),
    ]


def test_r_rev_2_an_approved_review_is_not_chased(
    review_desk: Helpdesk, observer: Observer
) -> None:
    p1_ticket(review_desk)
    review_desk.run_escalations(now=BREACH)
    review_id = review_desk.reviews(DIRECTOR)[0].id
    review_desk.add_root_cause(
        AGENT, review_id, category="process_gap", description="no on-call runbook", now=BREACH
    )
    review_desk.submit_minutes(AGENT, review_id, "Met on Tuesday.", now=BREACH)
    review_desk.approve_review(DIRECTOR, review_id, now=BREACH + timedelta(hours=1))
    assert review_desk.run_escalations(now=DUE + timedelta(days=1)).fired == 0
    assert _notices(review_desk, observer, DUE + timedelta(days=1)) == []


def test_r_rev_3_an_overdue_action_tells_its_owner_and_the_manager_once(
    review_desk: Helpdesk, observer: Observer
) -> None:
    review = review_desk.open_review(AGENT, p1_ticket(review_desk).id, now=BREACH)
    deadline = datetime(2026, 11, 3, 10, 0, tzinfo=SH)  # before the approval warning
    late = review_desk.add_action(
        AGENT, review.id, owner="a-17", description="Add disk alerts",
        target="alert at 80% on 100% of nodes", deadline=deadline, verification="audit",
        now=BREACH,
    ).actions[0]  # fmt: skip
    on_time = review_desk.add_action(
        AGENT, review.id, owner="a-17", description="Rotate logs",
        target="0 full disks in 90 days", deadline=deadline, verification="report", now=BREACH,
    ).actions[1]  # fmt: skip
    review_desk.complete_action(AGENT, review.id, on_time.id, now=deadline - timedelta(hours=1))
    run = review_desk.run_escalations(now=deadline)  # the ticket's own breach fires too
    assert [k for k in run.keys if k.startswith("review:")] == [
        f"review:{review.id}|action:{late.id}|overdue"
    ]
    assert review_desk.run_escalations(now=deadline + timedelta(hours=1)).fired == 0
    assert _notices(review_desk, observer, deadline + timedelta(hours=1)) == [
        ("action_overdue", "a-17"),
        ("action_overdue", "m-1"),
    ]


def test_concurrent_ticks_fire_a_review_notice_once(
    review_desk: Helpdesk, observer: Observer
) -> None:
    """Exactly once with several workers ticking at the same instant."""
    review = review_desk.open_review(AGENT, p1_ticket(review_desk).id, now=BREACH)
    fired: list[tuple[str, ...]] = []
    barrier = threading.Barrier(3)

    def tick(worker: str) -> None:
        barrier.wait(timeout=10)
        fired.append(review_desk.run_escalations(now=WARN, worker=worker).keys)

    threads = [threading.Thread(target=tick, args=(f"w{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    keys = [k for run in fired for k in run if k.startswith("review:")]
    assert keys == [f"review:{review.id}|approval|warning"]
    assert _notices(review_desk, observer, WARN) == [("approval_warning", "m-1")]
