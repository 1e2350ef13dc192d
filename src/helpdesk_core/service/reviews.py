"""Post-incident reviews through the one command path (R-REV-1..3).

A review is seen and changed through its ticket: ``review.view`` on the ticket lets an actor read
it (a review of a ticket outside that scope is ``NotFound``, exactly as a missing one),
``review.edit`` opens it, adds root causes, minutes and improvement actions, and
``review.approve`` (the service director, role ``manager``) approves the minutes. Every change is
audited, saved with the review's approval-clock check (the escalation worker's schedule, key
``review:<id>``) in the same transaction. The rules are :mod:`helpdesk_core.reviews` and
:mod:`helpdesk_core.model.reviews`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

import attrs

from helpdesk_core import reviews as rules
from helpdesk_core import validation as check
from helpdesk_core.access import Decision
from helpdesk_core.conditions import all_of, field_is
from helpdesk_core.errors import NotFound, ValidationError
from helpdesk_core.model import reviews as model
from helpdesk_core.model.people import Actor
from helpdesk_core.model.reviews import ImprovementAction, Review, RootCause
from helpdesk_core.model.tickets import Ticket
from helpdesk_core.ports import TicketQuery, UnitOfWork
from helpdesk_core.reviews import ReviewSettings
from helpdesk_core.service.runner import Call, Runner
from helpdesk_core.sla import SlaConfig, evaluate


@attrs.frozen
class ReviewRules:
    """What the review commands need of the desk: ``[reviews]`` and the SLA (statistics)."""

    settings: ReviewSettings
    sla: SlaConfig | None


# ---------------------------------------------------------------------- shared with the worker
def derive(uow: UnitOfWork, sla: SlaConfig | None, review: Review, at: datetime) -> Review:
    """The review with its timeline, statistics and message feedback rebuilt from the ticket's
    events and firings as of ``at`` (a frozen record is returned as it is)."""
    if review.frozen_record:
        return review
    events = uow.ticket_events(review.ticket_id)
    clocks = evaluate(sla, events, at) if sla is not None and events else []
    return model.refreshed(
        review,
        rules.timeline(events),
        rules.statistics(events, clocks, uow.firings(review.ticket_id)),
        rules.customer_feedback(events),
    )


def schedule(uow: UnitOfWork, review: Review) -> None:
    """Keep the review's next check current (approval clock, action deadlines)."""
    key = rules.schedule_key(review.id)
    fired = {f.key for f in uow.firings(key)}
    uow.schedule_check(key, rules.next_check_at(review, fired))


def live_review(uow: UnitOfWork, ticket_id: str) -> Review | None:
    return next((r for r in uow.reviews(ticket_id=ticket_id) if r.live), None)


def open_in(
    uow: UnitOfWork,
    review_rules: ReviewRules,
    ticket: Ticket,
    review_id: str,
    *,
    opened_by: str,
    reason: str,
    at: datetime,
) -> Review:
    """Open a review of ``ticket`` in the caller's transaction: saved and scheduled."""
    warn_at, due_at = review_rules.settings.approval_clock(at)
    review = Review(
        id=review_id,
        ticket_id=ticket.id,
        state="open",
        opened_by=opened_by,
        opened_at=at,
        reason=reason,
        approval_due_at=due_at,
        approval_warn_at=warn_at,
        calendar=review_rules.settings.calendar_name,
        updated_at=at,
    )
    review = derive(uow, review_rules.sla, review, at)
    uow.save_review(review)
    schedule(uow, review)
    return review


def open_for_escalation(
    uow: UnitOfWork, review_rules: ReviewRules, ticket: Ticket, review_id: str, reason: str,
    at: datetime,
) -> Review | None:  # fmt: skip
    """What an escalation level with ``review = true`` does: the ticket's live review (opened
    now unless it has one), or None when its priority is not reviewed."""
    existing = live_review(uow, ticket.id)
    if existing is not None:
        return existing
    if not review_rules.settings.reviewed(ticket.priority):
        return None
    return open_in(uow, review_rules, ticket, review_id, opened_by="system", reason=reason, at=at)


# ---------------------------------------------------------------------- the call's helpers
def _present(call: Call, ticket: Ticket, review: Review) -> Review:
    """Internal timeline entries only for readers of the ticket's internal notes."""
    if call.view.may("ticket.view_notes", ticket):
        return review
    return attrs.evolve(review, timeline=tuple(e for e in review.timeline if not e.internal))


def _load(call: Call, review_id: str, action: str) -> tuple[Review, Ticket, Decision]:
    review = call.uow.get_review(review_id)
    if review is None:
        raise NotFound("review", review_id)
    ticket = call.uow.get_ticket(review.ticket_id)
    if ticket is None:
        raise NotFound("review", review_id)
    seen = call.view.check("review.view", ticket)
    if not seen.allowed:
        call.refuse_hidden("review", review_id, "review.view", seen)
    decision = seen if action == "review.view" else call.authorise(action, ticket)
    return review, ticket, decision


def _change(
    runner: Runner,
    review_rules: ReviewRules,
    actor: Actor,
    review_id: str,
    action: str,
    detail: str,
    now: datetime | None,
    decide: Callable[[Call, Review], Review],
) -> Review:
    """Load the review the actor may ``action``, let ``decide`` change it, refresh, save,
    schedule and audit, in one transaction."""

    def body(call: Call) -> Review:
        review, ticket, decision = _load(call, review_id, action)
        changed = derive(call.uow, review_rules.sla, decide(call, review), call.at)
        call.uow.save_review(changed)
        schedule(call.uow, changed)
        call.audit(action, f"review:{review_id}", decision, detail)
        return _present(call, ticket, changed)

    return runner.run(actor, action, f"review:{review_id}", now, body)


def _when(value: object, name: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(name, f"must be an aware datetime, got {value!r:.60}")
    return value


def _whys(value: object) -> tuple[str, ...]:
    whys = check.lines(value, "whys")
    if len(whys) > model.MAX_WHYS:
        raise ValidationError("whys", f"has {len(whys)} answers; 5 Whys are at most 5")
    return whys


# ---------------------------------------------------------------------- commands
def open_review(
    runner: Runner,
    review_rules: ReviewRules,
    actor: Actor,
    ticket_id: str,
    *,
    now: datetime | None,
) -> Review:
    check.ident(ticket_id, "ticket_id")
    review_id = runner.new_id()

    def body(call: Call) -> Review:
        ticket = call.load_visible(ticket_id, "ticket.view")
        decision = call.authorise("review.edit", ticket)
        settings = review_rules.settings
        if not settings.reviewed(ticket.priority):
            raise ValidationError(
                "ticket_id",
                f"ticket priority {ticket.priority!r} is not reviewed; "
                f"[reviews] priorities: {list(settings.priorities)}",
            )
        existing = live_review(call.uow, ticket.id)
        if existing is not None:
            raise ValidationError("ticket_id", f"the ticket already has review {existing.id}")
        review = open_in(
            call.uow, review_rules, ticket, review_id, opened_by=actor.id,
            reason=f"opened by {actor.id}", at=call.at,
        )  # fmt: skip
        call.audit("review.edit", f"review:{review_id}", decision, f"opened for {ticket.id}")
        return _present(call, ticket, review)

    return runner.run(actor, "review.edit", ticket_id, now, body)


def add_root_cause(
    runner: Runner,
    review_rules: ReviewRules,
    actor: Actor,
    review_id: str,
    *,
    category: str,
    description: str,
    whys: Iterable[str],
    now: datetime | None,
) -> Review:
    check.ident(review_id, "review_id")
    check.label(category, "category", model.CAUSE_CATEGORIES)
    check.text(description, "description")
    answers = _whys(whys)
    cause_id = runner.new_id()

    def decide(call: Call, review: Review) -> Review:
        cause = RootCause(cause_id, category, description, answers, actor.id, call.at)
        return model.add_root_cause(review, cause, call.at)

    return _change(
        runner, review_rules, actor, review_id, "review.edit", f"root cause {category}", now,
        decide,
    )  # fmt: skip


def submit_minutes(
    runner: Runner,
    review_rules: ReviewRules,
    actor: Actor,
    review_id: str,
    text: str,
    *,
    now: datetime | None,
) -> Review:
    check.ident(review_id, "review_id")
    check.text(text, "text")

    def decide(call: Call, review: Review) -> Review:
        return model.submit_minutes(review, text, actor.id, call.at)

    return _change(
        runner, review_rules, actor, review_id, "review.edit", "minutes submitted", now, decide
    )


def approve_review(
    runner: Runner, review_rules: ReviewRules, actor: Actor, review_id: str, *,
    now: datetime | None,
) -> Review:  # fmt: skip
    check.ident(review_id, "review_id")

    def decide(call: Call, review: Review) -> Review:
        # the approved record is the one as of approval: refresh first, then freeze
        return model.approve(derive(call.uow, review_rules.sla, review, call.at), actor.id, call.at)

    return _change(
        runner, review_rules, actor, review_id, "review.approve", "minutes approved", now, decide
    )


def close_review(
    runner: Runner, review_rules: ReviewRules, actor: Actor, review_id: str, *, reason: str,
    now: datetime | None,
) -> Review:  # fmt: skip
    check.ident(review_id, "review_id")
    check.text(reason, "reason", limit=check.MAX_LINE)

    def decide(call: Call, review: Review) -> Review:
        return model.close(derive(call.uow, review_rules.sla, review, call.at), reason, call.at)

    return _change(runner, review_rules, actor, review_id, "review.approve", "closed", now, decide)


def add_action(
    runner: Runner,
    review_rules: ReviewRules,
    actor: Actor,
    review_id: str,
    *,
    owner: str,
    description: str,
    target: str,
    deadline: datetime,
    verification: str,
    now: datetime | None,
) -> Review:
    check.ident(review_id, "review_id")
    check.ident(owner, "owner")
    check.text(description, "description")
    check.text(target, "target", limit=check.MAX_LINE)
    if not any(ch.isdigit() for ch in target):
        raise ValidationError(
            "target", 'must be quantified: a measurable statement with a number ("< 2 a month")'
        )
    _when(deadline, "deadline")
    check.text(verification, "verification", limit=check.MAX_LINE)
    action_id = runner.new_id()

    def decide(call: Call, review: Review) -> Review:
        action = ImprovementAction(
            action_id, owner, description, target, deadline, verification, actor.id, call.at
        )
        return model.add_action(review, action, call.at)

    return _change(
        runner, review_rules, actor, review_id, "review.edit", f"action for {owner}", now, decide
    )


def _on_action(
    runner: Runner,
    review_rules: ReviewRules,
    actor: Actor,
    review_id: str,
    action_id: str,
    note: str | None,
    now: datetime | None,
    verify: bool,
) -> Review:
    check.ident(review_id, "review_id")
    check.ident(action_id, "action_id")
    check.optional_text(note, "note")

    def decide(call: Call, review: Review) -> Review:
        action = review.action(action_id)
        if action is None:
            raise NotFound("action", action_id)
        if verify:
            return model.verify_action(review, action, actor.id, note, call.at)
        return model.complete_action(review, action, actor.id, note, call.at)

    detail = f"action {action_id} {'verified' if verify else 'done'}"
    return _change(runner, review_rules, actor, review_id, "review.edit", detail, now, decide)


def complete_action(
    runner: Runner, review_rules: ReviewRules, actor: Actor, review_id: str, action_id: str, *,
    note: str | None, now: datetime | None,
) -> Review:  # fmt: skip
    return _on_action(runner, review_rules, actor, review_id, action_id, note, now, verify=False)


def verify_action(
    runner: Runner, review_rules: ReviewRules, actor: Actor, review_id: str, action_id: str, *,
    note: str | None, now: datetime | None,
) -> Review:  # fmt: skip
    return _on_action(runner, review_rules, actor, review_id, action_id, note, now, verify=True)


# ---------------------------------------------------------------------- queries
def get_review(
    runner: Runner, review_rules: ReviewRules, actor: Actor, review_id: str, *,
    now: datetime | None,
) -> Review:  # fmt: skip
    check.ident(review_id, "review_id")

    def body(call: Call) -> Review:
        review, ticket, _ = _load(call, review_id, "review.view")
        return _present(call, ticket, derive(call.uow, review_rules.sla, review, call.at))

    return runner.run(actor, "review.view", f"review:{review_id}", now, body)


def reviews(
    runner: Runner, review_rules: ReviewRules, actor: Actor, *, state: str | None,
    now: datetime | None,
) -> list[Review]:  # fmt: skip
    """The reviews of tickets in the actor's ``review.view`` scope, oldest first. The scope is
    pushed down as one ticket query over the listed reviews' tickets."""
    check.optional_label(state, "state", model.REVIEW_STATES)

    def body(call: Call) -> list[Review]:
        found = call.uow.reviews(state=state)
        if not found:
            return []
        ids = sorted({r.ticket_id for r in found})
        where = all_of([call.view.scope("review.view"), field_is("id", "in", ids)])
        visible = {t.id: t for t in call.uow.query_tickets(TicketQuery(where=where, limit=None))}
        return [
            _present(call, visible[r.ticket_id], derive(call.uow, review_rules.sla, r, call.at))
            for r in found
            if r.ticket_id in visible
        ]

    return runner.run(actor, "review.view", None, now, body)
