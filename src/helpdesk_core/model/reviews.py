"""Post-incident reviews of P1/P2 tickets (R-REV-1..3): the record and its state rules.

Semantics, cited by tests and docs/reviews.md:

1. A :class:`Review` is about one ticket. States: ``open -> minutes_submitted -> approved``;
   ``closed`` from any other state (a review that is not needed, or whose actions are all
   done). Minutes may be submitted again while not yet approved (a revision); approval needs
   submitted minutes and at least one root cause. Any other move raises
   :class:`~helpdesk_core.errors.InvalidTransition`.
2. A ticket has at most one *live* review (any state but ``closed``).
3. ``timeline``, ``statistics`` and the ``message`` items of ``feedback`` are derived from the
   ticket's events and escalation firings; they are refreshed while the review is not approved
   or closed, and frozen from approval on (the approved record is what was approved).
4. ``feedback`` is a tuple of :class:`FeedbackItem`; items of other sources (``survey``...) are
   appended and kept across refreshes.
5. Root causes have a category (:data:`CAUSE_CATEGORIES`), a description and 5-Whys notes;
   root causes and actions may be added until the review is closed; the minutes and root
   causes are frozen once approved, improvement actions keep being tracked.
6. An :class:`ImprovementAction` has an owner, a quantified target (a non-empty measurable
   statement), an aware deadline and how it will be verified; ``open -> done -> verified``.
7. Every change makes the next ``version``; a store refuses a stale version (optimistic).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

import attrs

from helpdesk_core.errors import InvalidTransition, ValidationError
from helpdesk_core.model.events import to_utc

REVIEW_STATES: Final = ("open", "minutes_submitted", "approved", "closed")
LIVE_STATES: Final = frozenset({"open", "minutes_submitted", "approved"})
CAUSE_CATEGORIES: Final = ("human_error", "process_gap", "system_defect", "external")
ACTION_STATES: Final = ("open", "done", "verified")
MAX_WHYS: Final = 5
_MOVES: Final = {
    "open": ("minutes_submitted", "closed"),
    "minutes_submitted": ("minutes_submitted", "approved", "closed"),
    "approved": ("closed",),
    "closed": (),
}


def _opt_utc(value: datetime | str | None) -> datetime | None:
    return None if value is None else to_utc(value)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def _delta(value: float | None) -> timedelta | None:
    return None if value is None else timedelta(seconds=value)


@attrs.frozen
class TimelineEntry:
    """One readable line of the incident: when, what kind, who, and a one-line summary.
    ``internal`` entries (notes, transfers) are shown only to readers of internal notes."""

    at: datetime = attrs.field(converter=to_utc)
    kind: str
    actor: str
    summary: str
    internal: bool = False


@attrs.frozen
class Measure:
    """A duration measured two ways: wall-clock time, and business time on the SLA calendar
    of the clock that measured it (``None`` when no SLA clock gives it)."""

    wall: timedelta
    business: timedelta | None = None
    calendar: str | None = None


@attrs.frozen
class ReviewStatistics:
    first_response: Measure | None = None
    resolution: Measure | None = None
    escalations: int = 0
    escalation_keys: tuple[str, ...] = ()


@attrs.frozen
class FeedbackItem:
    """What the customer said about the incident. ``source`` is ``message`` (their public
    messages after resolution) or another feature's name (``survey``: ``rating`` and
    ``category`` set); ``ref`` names the source record (message or survey id)."""

    source: str
    at: datetime = attrs.field(converter=to_utc)
    author: str
    text: str
    rating: int | None = None
    category: str | None = None
    ref: str | None = None


@attrs.frozen
class RootCause:
    id: str
    category: str
    description: str
    whys: tuple[str, ...]
    added_by: str
    added_at: datetime = attrs.field(converter=to_utc)


@attrs.frozen
class ImprovementAction:
    id: str
    owner: str
    description: str
    target: str
    deadline: datetime = attrs.field(converter=to_utc)
    verification: str
    created_by: str
    created_at: datetime = attrs.field(converter=to_utc)
    state: str = "open"
    completed_by: str | None = None
    completed_at: datetime | None = attrs.field(default=None, converter=_opt_utc)
    completion_note: str | None = None
    verified_by: str | None = None
    verified_at: datetime | None = attrs.field(default=None, converter=_opt_utc)
    verification_note: str | None = None

    def overdue(self, now: datetime) -> bool:
        """Still open at or after its deadline (a done or verified action never is)."""
        return self.state == "open" and now >= self.deadline


@attrs.frozen
class Approval:
    by: str
    at: datetime = attrs.field(converter=to_utc)


@attrs.frozen
class Review:
    """A post-incident review (see the module docstring for its rules)."""

    id: str
    ticket_id: str
    state: str
    opened_by: str
    opened_at: datetime = attrs.field(converter=to_utc)
    reason: str
    approval_due_at: datetime = attrs.field(converter=to_utc)
    """Minutes must be approved by then (R-REV-2: 2 business days, ``[reviews]``)."""
    approval_warn_at: datetime = attrs.field(converter=to_utc)
    calendar: str | None
    """The business calendar the approval clock runs on (None: calendar days)."""
    updated_at: datetime = attrs.field(converter=to_utc)
    timeline: tuple[TimelineEntry, ...] = ()
    statistics: ReviewStatistics = ReviewStatistics()
    feedback: tuple[FeedbackItem, ...] = ()
    root_causes: tuple[RootCause, ...] = ()
    minutes: str | None = None
    minutes_by: str | None = None
    minutes_at: datetime | None = attrs.field(default=None, converter=_opt_utc)
    approval: Approval | None = None
    actions: tuple[ImprovementAction, ...] = ()
    closed_reason: str | None = None
    version: int = 1

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES

    @property
    def frozen_record(self) -> bool:
        """Timeline, statistics, root causes and minutes no longer change (rule 3, 5)."""
        return self.state in ("approved", "closed")

    def action(self, action_id: str) -> ImprovementAction | None:
        return next((a for a in self.actions if a.id == action_id), None)

    # -- persistence ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        stats = self.statistics

        def measure(m: Measure | None) -> dict[str, Any] | None:
            if m is None:
                return None
            return {
                "wall": _seconds(m.wall),
                "business": _seconds(m.business),
                "calendar": m.calendar,
            }

        def row(value: Any) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for f in attrs.fields(type(value)):
                item = getattr(value, f.name)
                if isinstance(item, datetime):
                    item = item.isoformat()
                elif isinstance(item, tuple):
                    item = list(item)
                out[f.name] = item
            return out

        return {
            "id": self.id,
            "ticket_id": self.ticket_id,
            "state": self.state,
            "opened_by": self.opened_by,
            "opened_at": self.opened_at.isoformat(),
            "reason": self.reason,
            "approval_due_at": self.approval_due_at.isoformat(),
            "approval_warn_at": self.approval_warn_at.isoformat(),
            "calendar": self.calendar,
            "updated_at": self.updated_at.isoformat(),
            "timeline": [row(e) for e in self.timeline],
            "statistics": {
                "first_response": measure(stats.first_response),
                "resolution": measure(stats.resolution),
                "escalations": stats.escalations,
                "escalation_keys": list(stats.escalation_keys),
            },
            "feedback": [row(f) for f in self.feedback],
            "root_causes": [row(c) for c in self.root_causes],
            "minutes": self.minutes,
            "minutes_by": self.minutes_by,
            "minutes_at": _iso(self.minutes_at),
            "approval": None if self.approval is None else row(self.approval),
            "actions": [row(a) for a in self.actions],
            "closed_reason": self.closed_reason,
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Review:
        def measure(m: Mapping[str, Any] | None) -> Measure | None:
            if m is None:
                return None
            return Measure(timedelta(seconds=m["wall"]), _delta(m["business"]), m["calendar"])

        try:
            stats = data["statistics"]
            approval = data["approval"]
            return cls(
                id=data["id"],
                ticket_id=data["ticket_id"],
                state=data["state"],
                opened_by=data["opened_by"],
                opened_at=data["opened_at"],
                reason=data["reason"],
                approval_due_at=data["approval_due_at"],
                approval_warn_at=data["approval_warn_at"],
                calendar=data["calendar"],
                updated_at=data["updated_at"],
                timeline=tuple(TimelineEntry(**e) for e in data["timeline"]),
                statistics=ReviewStatistics(
                    measure(stats["first_response"]),
                    measure(stats["resolution"]),
                    stats["escalations"],
                    tuple(stats["escalation_keys"]),
                ),
                feedback=tuple(FeedbackItem(**f) for f in data["feedback"]),
                root_causes=tuple(
                    RootCause(**{**c, "whys": tuple(c["whys"])}) for c in data["root_causes"]
                ),
                minutes=data["minutes"],
                minutes_by=data["minutes_by"],
                minutes_at=data["minutes_at"],
                approval=None if approval is None else Approval(**approval),
                actions=tuple(ImprovementAction(**a) for a in data["actions"]),
                closed_reason=data["closed_reason"],
                version=data["version"],
            )
        except (KeyError, TypeError) as exc:
            raise ValidationError("review", f"not a stored review: {exc}") from exc


# ---------------------------------------------------------------------- state rules
def _move(review: Review, target: str, now: datetime, **changes: Any) -> Review:
    allowed = _MOVES[review.state]
    if target not in allowed:
        raise InvalidTransition(review.state, target, allowed, f"review {review.id}")
    return attrs.evolve(review, state=target, updated_at=now, version=review.version + 1, **changes)


def _changed(review: Review, now: datetime, **changes: Any) -> Review:
    return attrs.evolve(review, updated_at=now, version=review.version + 1, **changes)


def add_root_cause(review: Review, cause: RootCause, now: datetime) -> Review:
    if review.frozen_record:
        raise InvalidTransition(
            review.state, "root cause", (), f"review {review.id}: root causes are frozen"
        )
    return _changed(review, now, root_causes=(*review.root_causes, cause))


def submit_minutes(review: Review, text: str, by: str, now: datetime) -> Review:
    return _move(review, "minutes_submitted", now, minutes=text, minutes_by=by, minutes_at=now)


def approve(review: Review, by: str, now: datetime) -> Review:
    if review.state == "minutes_submitted" and not review.root_causes:
        raise InvalidTransition(
            review.state, "approved", (), "a review needs at least one root cause to be approved"
        )
    return _move(review, "approved", now, approval=Approval(by, now))


def close(review: Review, reason: str, now: datetime) -> Review:
    return _move(review, "closed", now, closed_reason=reason)


def add_action(review: Review, action: ImprovementAction, now: datetime) -> Review:
    if review.state == "closed":
        raise InvalidTransition(review.state, "action", (), f"review {review.id} is closed")
    return _changed(review, now, actions=(*review.actions, action))


def _replace_action(review: Review, action: ImprovementAction, now: datetime) -> Review:
    actions = tuple(action if a.id == action.id else a for a in review.actions)
    return _changed(review, now, actions=actions)


def complete_action(
    review: Review, action: ImprovementAction, by: str, note: str | None, now: datetime
) -> Review:
    if action.state != "open":
        raise InvalidTransition(action.state, "done", (), f"action {action.id} is {action.state}")
    done = attrs.evolve(
        action, state="done", completed_by=by, completed_at=now, completion_note=note
    )
    return _replace_action(review, done, now)


def verify_action(
    review: Review, action: ImprovementAction, by: str, note: str | None, now: datetime
) -> Review:
    if action.state != "done":
        raise InvalidTransition(action.state, "verified", (), "only a done action is verified")
    verified = attrs.evolve(
        action, state="verified", verified_by=by, verified_at=now, verification_note=note
    )
    return _replace_action(review, verified, now)


def add_feedback(review: Review, item: FeedbackItem, now: datetime) -> Review:
    """Append a feedback item of another source (a survey answer, rule 4); kept in time order
    and across refreshes. ``message`` items are the review's own (derived) and refused here."""
    if item.source == "message":
        raise ValidationError("source", "message feedback is derived from the ticket")
    if review.state == "closed":
        raise InvalidTransition(review.state, "feedback", (), f"review {review.id} is closed")
    feedback = tuple(sorted((*review.feedback, item), key=lambda f: f.at))
    return _changed(review, now, feedback=feedback)


def feedback_from(review: Review, item: FeedbackItem, now: datetime) -> Review:
    """The review with ``item`` in its feedback: added, or replacing the item of the same source
    and ``ref`` (a survey answer later classified). A closed review or an approved one (its
    record frozen) is returned unchanged: feedback after approval belongs to the next review."""
    if review.state == "closed" or review.frozen_record:
        return review
    kept = tuple(f for f in review.feedback if not (f.source == item.source and f.ref == item.ref))
    feedback = tuple(sorted((*kept, item), key=lambda f: f.at))
    return _changed(review, now, feedback=feedback)


def refreshed(
    review: Review,
    timeline: tuple[TimelineEntry, ...],
    statistics: ReviewStatistics,
    messages: tuple[FeedbackItem, ...],
) -> Review:
    """The review with its derived parts rebuilt (rule 3); other feedback is kept (rule 4).
    Not a change: the version stays."""
    if review.frozen_record:
        return review
    others = tuple(f for f in review.feedback if f.source != "message")
    feedback = tuple(sorted((*messages, *others), key=lambda f: f.at))
    return attrs.evolve(review, timeline=timeline, statistics=statistics, feedback=feedback)
