"""Contract tests for the review part of the storage port (R-REV-1..3), mixed into
:class:`~helpdesk_core.testing.StorageContract`: a store keeps every part of a review, refuses a
stale version, lists by state and ticket in ``(opened_at, id)`` order, rolls back with the
transaction and keeps a ticket to one live review even under concurrent transactions."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from helpdesk_core.errors import ConcurrencyConflict
from helpdesk_core.model import reviews as model
from helpdesk_core.model.reviews import (
    FeedbackItem,
    ImprovementAction,
    Measure,
    Review,
    ReviewStatistics,
    RootCause,
    TimelineEntry,
)
from helpdesk_core.ports import Storage

R0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def sample_review(review_id: str, ticket_id: str, *, at: datetime = R0) -> Review:
    """A review with every part filled in (what a store must round-trip)."""
    return Review(
        id=review_id,
        ticket_id=ticket_id,
        state="open",
        opened_by="m-1",
        opened_at=at,
        reason="tier-chain level 3: resolution breached",
        approval_due_at=at + timedelta(days=2),
        approval_warn_at=at + timedelta(days=1, hours=12),
        calendar="office",
        updated_at=at,
        timeline=(
            TimelineEntry(at, "ticket_created", "C1", "Opened T1 (urgent) via phone: 网站打不开"),
            TimelineEntry(at + timedelta(minutes=5), "note_added", "a-1", "Note", internal=True),
        ),
        statistics=ReviewStatistics(
            Measure(timedelta(minutes=10), timedelta(minutes=7, microseconds=5), "office"),
            Measure(timedelta(hours=5), None, None),
            2,
            ("t1|p|1|resolution|1", "t1|p|2|resolution|1"),
        ),
        feedback=(
            FeedbackItem("message", at + timedelta(hours=6), "C1", "Thanks", ref="m9"),
            FeedbackItem("survey", at + timedelta(hours=7), "C1", "slow", 2, "process", "s1"),
        ),
    )


class ReviewContract:
    """Reviews in a store (issue 22). Subclasses provide the ``storage`` fixture."""

    @pytest.fixture
    def storage(self) -> Iterator[Storage]:  # pragma: no cover - overridden
        raise NotImplementedError("provide a 'storage' fixture yielding an empty store")

    def test_r_rev_1_a_review_round_trips_whole(self, storage: Storage) -> None:
        """R-REV-1: timeline, statistics, feedback, root causes, actions, approval."""
        review = sample_review("r1", "t1")
        with storage.transaction() as uow:
            uow.save_review(review)
        cause = RootCause("c1", "process_gap", "no runbook", ("why 1", "why 2"), "a-1", R0)
        action = ImprovementAction(
            "x1", "a-1", "write runbook", "< 2 repeats a quarter", R0 + timedelta(days=9),
            "quarterly report", "m-1", R0,
        )  # fmt: skip
        changed = model.add_action(model.add_root_cause(review, cause, R0), action, R0)
        changed = model.approve(model.submit_minutes(changed, "met", "m-1", R0), "m-1", R0)
        with storage.transaction() as uow:
            assert uow.get_review("r1") == review
            uow.save_review(attrs.evolve(changed, version=2))
        with storage.transaction() as uow:
            stored = uow.get_review("r1")
            assert stored == attrs.evolve(changed, version=2)
            assert uow.get_review("missing") is None

    def test_a_stale_review_version_is_a_conflict(self, storage: Storage) -> None:
        review = sample_review("r1", "t1")
        with storage.transaction() as uow:
            uow.save_review(review)
        with pytest.raises(ConcurrencyConflict), storage.transaction() as uow:
            uow.save_review(review)  # version 1 again
        with pytest.raises(ConcurrencyConflict), storage.transaction() as uow:
            uow.save_review(attrs.evolve(review, version=3))
        with storage.transaction() as uow:
            uow.save_review(attrs.evolve(review, minutes="m", version=2))
        with storage.transaction() as uow:
            stored = uow.get_review("r1")
            assert stored is not None and (stored.version, stored.minutes) == (2, "m")

    def test_reviews_list_by_state_and_ticket_in_opening_order(self, storage: Storage) -> None:
        with storage.transaction() as uow:
            uow.save_review(sample_review("rb", "t2", at=R0))
            uow.save_review(sample_review("ra", "t1", at=R0 + timedelta(hours=1)))
            uow.save_review(sample_review("rc", "t3", at=R0))
        with storage.transaction() as uow:
            closed = model.close(uow.get_review("rc") or sample_review("?", "?"), "dup", R0)
            uow.save_review(closed)
        with storage.transaction() as uow:
            assert [r.id for r in uow.reviews()] == ["rb", "rc", "ra"]
            assert [r.id for r in uow.reviews(state="open")] == ["rb", "ra"]
            assert [r.id for r in uow.reviews(state="closed")] == ["rc"]
            assert [r.id for r in uow.reviews(ticket_id="t1")] == ["ra"]
            assert uow.reviews(state="open", ticket_id="t3") == []

    def test_r_rev_1_a_ticket_has_one_live_review(self, storage: Storage) -> None:
        """R-REV-1: a second live review of a ticket is refused; a closed one does not count."""
        with storage.transaction() as uow:
            uow.save_review(sample_review("r1", "t1"))
        with pytest.raises(ConcurrencyConflict), storage.transaction() as uow:
            uow.save_review(sample_review("r2", "t1"))
        with storage.transaction() as uow:
            first = uow.get_review("r1")
            assert first is not None
            uow.save_review(model.close(first, "opened by mistake", R0))
        with storage.transaction() as uow:
            uow.save_review(sample_review("r2", "t1"))
        with storage.transaction() as uow:
            assert [(r.id, r.state) for r in uow.reviews(ticket_id="t1")] == [
                ("r1", "closed"),
                ("r2", "open"),
            ]

    def test_review_writes_roll_back_with_the_transaction(self, storage: Storage) -> None:
        with pytest.raises(RuntimeError), storage.transaction() as uow:
            uow.save_review(sample_review("r1", "t1"))
            raise RuntimeError("the command failed")
        with storage.transaction() as uow:
            assert uow.get_review("r1") is None
            assert uow.reviews() == []
            uow.save_review(sample_review("r1", "t1"))  # the ticket's live slot is free

    def test_concurrent_openings_leave_one_live_review(self, storage: Storage) -> None:
        """Two transactions opening a review of the same ticket at once: one commits, the
        other fails with ConcurrencyConflict (the command path then retries and finds it)."""
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def open_one(review_id: str) -> None:
            try:
                with storage.transaction() as uow:
                    uow.reviews(ticket_id="t1")
                    barrier.wait(timeout=10)
                    uow.save_review(sample_review(review_id, "t1"))
                outcomes.append("committed")
            except ConcurrencyConflict:
                outcomes.append("conflict")

        threads = [threading.Thread(target=open_one, args=(f"r{i}",)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(outcomes) == ["committed", "conflict"]
        with storage.transaction() as uow:
            assert len([r for r in uow.reviews(ticket_id="t1") if r.live]) == 1
