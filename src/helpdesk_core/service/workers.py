"""What worker processes run: escalation ticks and outbox delivery, plus the escalation
bookkeeping every command does (the next check instant of a changed ticket).

A tick also checks post-incident reviews: a review's approval clock and its improvement actions'
deadlines are scheduled beside the tickets, under the key ``review:<id>``, and their notices
fire exactly once the same way (a firing keyed ``review:<id>|...``, :mod:`helpdesk_core.reviews`).
An escalation level with ``review = true`` opens the ticket's review in the firing's transaction.

Escalation firings are exactly once per (ticket, policy, level, metric, cycle): the firing record
is written in the same transaction as its actions and notices, and a ticket is held under a lease
while a worker works on it. Outbox delivery is at least once, with an idempotency key per
notification; the rules of who hears of what are :mod:`helpdesk_core.notifications`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from helpdesk_core import notifications
from helpdesk_core import reviews as review_rules
from helpdesk_core.errors import ConcurrencyConflict, HelpdeskError, ValidationError
from helpdesk_core.escalation import (
    DueFiring,
    EscalationConfig,
    EscalationPolicy,
    resolve_recipients,
)
from helpdesk_core.model.customers import ProfileTimeline
from helpdesk_core.model.events import Event, FieldsChanged, PriorityChanged
from helpdesk_core.model.people import SYSTEM, Agent
from helpdesk_core.model.records import Firing, OutboxMessage, retry_at
from helpdesk_core.model.reviews import Review
from helpdesk_core.model.tickets import Ticket
from helpdesk_core.ports import Notifier, UnitOfWork
from helpdesk_core.service import reviews as review_service
from helpdesk_core.service.recipients import Addresses
from helpdesk_core.service.reviews import ReviewRules
from helpdesk_core.service.runner import MAX_RETRIES, Change, Runner
from helpdesk_core.service.tickets import add_transfer
from helpdesk_core.sla import SlaClock, SlaConfig, evaluate

log = logging.getLogger("helpdesk")


@attrs.frozen
class EscalationRun:
    """What one :meth:`Helpdesk.run_escalations` tick did."""

    claimed: int
    fired: int
    keys: tuple[str, ...]
    lost_leases: int = 0


class LeaseLost(HelpdeskError):
    """Another worker took the ticket over while this one worked on it; roll back."""


ReviewHook = Callable[[Ticket, DueFiring, Review | None], None]
"""Told after commit of a firing whose level asks for a post-incident review, with the review
it opened (or the ticket's live one; None when the ticket's priority is not reviewed)."""

Opened = list[tuple[Ticket, DueFiring, Review | None]]


@attrs.frozen
class Escalations:
    """The desk's SLA and escalation configuration, as the workers and the runner use it."""

    escalation: EscalationConfig | None
    sla: SlaConfig | None
    priorities: tuple[str, ...]
    reviews: ReviewRules | None = None

    def profile(self, uow: UnitOfWork, ticket: Ticket) -> ProfileTimeline | None:
        """The requester's profile through time, read only when an SLA or escalation condition
        reads ``customer.*`` fields (R-CUS-3: decided as of the ticket's events)."""
        reads = (self.sla is not None and self.sla.reads_customer) or (
            self.escalation is not None and self.escalation.reads_customer
        )
        return requester_timeline(uow, ticket) if reads else None

    def clocks(
        self,
        uow: UnitOfWork,
        ticket_id: str,
        now: datetime,
        history: Sequence[Event] | None = None,
        profile: ProfileTimeline | None = None,
    ) -> list[SlaClock]:
        """The ticket's clocks; ``history`` when the caller holds all its events already."""
        if self.sla is None:
            return []
        events = uow.ticket_events(ticket_id) if history is None else history
        return evaluate(self.sla, events, now, profile=profile)

    def schedule(
        self, uow: UnitOfWork, ticket: Ticket, now: datetime, new_events: Sequence[Event]
    ) -> None:
        """Keep the ticket's next escalation check current (same transaction). A ticket created
        by this command has no firings yet and ``new_events`` is its whole history, so nothing
        is read back from the store."""
        if self.escalation is None:
            return
        created = bool(new_events) and new_events[0].seq == 1
        fired = set() if created else {f.key for f in uow.firings(ticket.id)}
        profile = self.profile(uow, ticket)
        clocks = self.clocks(uow, ticket.id, now, new_events if created else None, profile)
        customer = _as_of(profile, ticket)
        following = self.escalation.next_check_at(ticket, clocks, now, fired, customer)
        uow.schedule_check(ticket.id, following)


def requester_timeline(uow: UnitOfWork, ticket: Ticket) -> ProfileTimeline | None:
    """The ticket's requester's ``customer.*`` fields through time (None: no requester or no
    record), for decisions that read them as of the ticket's events."""
    if ticket.requester is None:
        return None
    return customer_timeline(uow, ticket.requester)


def customer_timeline(uow: UnitOfWork, customer_id: str) -> ProfileTimeline | None:
    """A customer's ``customer.*`` fields through time, from their profile events (None: no
    record)."""
    return ProfileTimeline.of(uow.customer_events(customer_id))


def _as_of(profile: ProfileTimeline | None, ticket: Ticket) -> Mapping[str, Any] | None:
    """The requester's ``customer.*`` fields as of the ticket's latest event."""
    return None if profile is None else profile.at(ticket.updated_at)


def run_escalations(
    runner: Runner,
    rules: Escalations,
    review: ReviewHook,
    *,
    now: datetime | None,
    worker: str,
    limit: int,
    lease: timedelta,
) -> EscalationRun:
    _check_tick(worker, limit, lease)
    at = runner.now(now)
    with runner.storage.transaction() as uow:
        claimed = uow.claim_due(at, limit, worker, lease)
    keys = [key for key, _ in claimed]
    batched = _escalate_batches(
        runner, rules, review, [k for k in keys if review_rules.review_of_key(k) is None], at,
        worker,
    )  # fmt: skip
    fired: list[str] = []
    lost = 0
    for key in keys:
        if key in batched:
            fired += batched[key]
            continue
        review_id = review_rules.review_of_key(key)
        opened: Opened
        done_keys: list[str]
        for attempt in range(MAX_RETRIES + 1):
            try:
                if review_id is not None:
                    done_keys, opened = _check_review(runner, rules, review_id, at, worker), []
                else:
                    done, opened = _escalate(runner, rules, key, at, worker)
                    done_keys = [d.key for d in done]
            except ConcurrencyConflict:
                if attempt == MAX_RETRIES:
                    raise
                continue
            except LeaseLost:
                lost += 1
                done_keys, opened = [], []
            break
        fired += done_keys
        _tell_reviews(review, opened)
    return EscalationRun(len(claimed), len(fired), tuple(fired), lost)


def _check_tick(worker: object, limit: object, lease: object) -> None:
    if not isinstance(worker, str) or not worker:
        raise ValidationError("worker", "must be a non-empty worker name")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100_000:
        raise ValidationError("limit", f"must be 1..100000, got {limit!r}")
    if not isinstance(lease, timedelta) or lease <= timedelta(0):
        raise ValidationError("lease", f"must be a positive timedelta, got {lease!r}")


def _tell_reviews(review: ReviewHook, opened: Opened) -> None:
    """After commit: the levels that asked for a post-incident review, with what they opened."""
    for ticket, firing, opened_review in opened:
        try:
            review(ticket, firing, opened_review)
        except Exception:
            log.exception("helpdesk_open_review failed for %s", firing.key)


class _Directory:
    """The agents of one transaction, read on first need (escalation recipients)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._agents: list[Agent] | None = None

    def __call__(self) -> list[Agent]:
        if self._agents is None:
            self._agents = self._uow.agents()
        return self._agents


BATCH: int = 100
"""Claimed tickets escalated in one transaction: one commit (and, on SQLite, one acquisition of
the write lock) for up to this many tickets instead of one per ticket."""


def _escalate_batches(
    runner: Runner,
    rules: Escalations,
    review: ReviewHook,
    ticket_ids: Sequence[str],
    at: datetime,
    worker: str,
) -> dict[str, list[str]]:
    """Escalate claimed tickets in transactions of up to :data:`BATCH`; the fired keys of every
    ticket whose batch committed. A batch that cannot commit as a whole (a ticket changed
    under it, or a lease lost) is rolled back entirely and its tickets are left out of the
    answer: the caller escalates them one transaction at a time, which retries and counts
    lost leases as before. Any other error rolls the batch back and propagates (its tickets'
    leases expire and another tick takes them). Exactly once holds either way: a firing, its
    actions and notices commit together or not at all."""
    fired: dict[str, list[str]] = {}
    if len(ticket_ids) < 2:
        return fired
    for start in range(0, len(ticket_ids), BATCH):
        batch = ticket_ids[start : start + BATCH]
        results: list[tuple[str, list[DueFiring], Opened, Change | None]] = []
        try:
            with runner.storage.transaction() as uow:
                directory = _Directory(uow)
                for ticket_id in batch:
                    done, opened, change = _escalate_in(
                        runner, rules, uow, ticket_id, at, worker, directory
                    )
                    results.append((ticket_id, done, opened, change))
        except (ConcurrencyConflict, LeaseLost):
            continue
        runner.committed([change for *_, change in results if change is not None])
        for ticket_id, done, opened, _ in results:
            fired[ticket_id] = [d.key for d in done]
            _tell_reviews(review, opened)
    return fired


def _escalate(
    runner: Runner, rules: Escalations, ticket_id: str, at: datetime, worker: str
) -> tuple[list[DueFiring], Opened]:
    with runner.storage.transaction() as uow:
        done, opened, change = _escalate_in(
            runner, rules, uow, ticket_id, at, worker, _Directory(uow)
        )
    if change is not None:
        runner.committed([change])
    return done, opened


def _escalate_in(
    runner: Runner, rules: Escalations, uow: UnitOfWork, ticket_id: str, at: datetime,
    worker: str, directory: Callable[[], Sequence[Agent]],
) -> tuple[list[DueFiring], Opened, Change | None]:  # fmt: skip
    """Fire what is due on one claimed ticket inside ``uow`` and schedule its next check
    (``directory``: the agents, read at most once per transaction)."""
    escalation = rules.escalation
    ticket = uow.get_ticket(ticket_id)
    if ticket is None or escalation is None:
        uow.release_check(ticket_id, worker, None)
        return [], [], None
    profile = rules.profile(uow, ticket)
    clocks = rules.clocks(uow, ticket_id, at, profile=profile)
    fired = {f.key for f in uow.firings(ticket_id)}
    change = Change(ticket)
    done: list[DueFiring] = []
    customer = _as_of(profile, ticket)
    for policy in escalation.for_ticket(ticket, customer):
        for due in policy.due_firings(change.ticket, clocks, at, fired, customer):
            firing = Firing(
                due.key, ticket_id, due.policy, due.level.number, due.metric,
                due.cycle, at, worker,
            )  # fmt: skip
            if not uow.add_firing(firing):
                continue
            fired.add(due.key)
            done.append(due)
            _actions(runner, rules, uow, change, policy, due, at, directory)
    if change.events:
        runner.record(uow, change, at)
        clocks = rules.clocks(uow, ticket_id, at, profile=profile)
    latest = uow.get_ticket(ticket_id) or change.ticket
    if latest.version != change.ticket.version:
        raise ConcurrencyConflict(ticket_id, change.ticket.version, latest.version)
    # a level asking for a review opens it here, in the firing's transaction, once the
    # level's own events are recorded (the review's timeline includes them)
    opened: Opened = [
        (change.ticket, d, _open_review(runner, rules, uow, change.ticket, d, at))
        for d in done
        if d.level.review
    ]
    following = escalation.next_check_at(
        change.ticket, clocks, at, fired, _as_of(profile, change.ticket)
    )
    if not uow.release_check(ticket_id, worker, following):
        raise LeaseLost(ticket_id)
    return done, opened, change


def _open_review(
    runner: Runner, rules: Escalations, uow: UnitOfWork, ticket: Ticket, due: DueFiring,
    at: datetime,
) -> Review | None:  # fmt: skip
    if rules.reviews is None:
        return None
    return review_service.open_for_escalation(
        uow, rules.reviews, ticket, runner.new_id(), due.reason, at
    )


def _check_review(
    runner: Runner, rules: Escalations, review_id: str, at: datetime, worker: str
) -> list[str]:
    """Fire the review's due notices (approval warning and breach, overdue actions) once each,
    and schedule its next check; the fired keys."""
    key = review_rules.schedule_key(review_id)
    with runner.storage.transaction() as uow:
        review = uow.get_review(review_id)
        if review is None:
            uow.release_check(key, worker, None)
            return []
        fired = {f.key for f in uow.firings(key)}
        done: list[str] = []
        due = review_rules.due_notices(review, at, fired)
        ticket = uow.get_ticket(review.ticket_id) if due else None
        directory = uow.agents() if due else []
        managers = [a.id for a in directory if "manager" in a.roles]
        for notice in due:
            firing = Firing(notice.key, key, "review", notice.level, notice.metric, 1, at, worker)
            if not uow.add_firing(firing):
                continue
            fired.add(notice.key)
            done.append(notice.key)
            uow.add_outbox(_review_notice(runner, review, ticket, notice, managers, at))
        following = review_rules.next_check_at(review, fired)
        if not uow.release_check(key, worker, following):
            raise LeaseLost(key)
    return done


def _review_notice(
    runner: Runner,
    review: Review,
    ticket: Ticket | None,
    notice: review_rules.ReviewNotice,
    managers: list[str],
    at: datetime,
) -> OutboxMessage:
    recipients = list(managers)
    action = review.action(notice.action_id) if notice.action_id is not None else None
    if action is not None:
        recipients = [action.owner, *(m for m in managers if m != action.owner)]
        text = (
            f"Improvement action overdue since {action.deadline.isoformat()}: "
            f"{action.description} (target: {action.target}; owner {action.owner})"
        )
    elif notice.kind == "approval_warning":
        text = f"Review minutes are due approved by {review.approval_due_at.isoformat()}"
    else:
        text = f"Review minutes were due approved by {review.approval_due_at.isoformat()}"
    return OutboxMessage(
        id=runner.new_id(),
        topic="review",
        key=f"review-notice:{notice.key}",
        payload={
            "kind": notice.kind,
            "review_id": review.id,
            "ticket_id": review.ticket_id,
            "number": ticket.number if ticket is not None else review.ticket_id,
            "subject": ticket.subject if ticket is not None else "",
            "due_at": notice.due_at.isoformat(),
            "action_id": notice.action_id,
            "recipients": recipients,
            "text": text,
        },
        created_at=at,
        available_at=at,
    )


def _actions(
    runner: Runner,
    rules: Escalations,
    uow: UnitOfWork,
    change: Change,
    policy: EscalationPolicy,
    due: DueFiring,
    at: datetime,
    directory: Callable[[], Sequence[Agent]],
) -> None:
    """A fired level's actions: a notice (now, or when business hours resume, or to the
    on-call), a reassignment, a priority raise, tags."""
    level = due.level
    before = change.ticket
    if level.notify:
        send_at, to_on_call = policy.notice_time(level, at)
        on_call = policy.on_call.on_duty(at) if policy.on_call is not None else None
        recipients = resolve_recipients(before, level.notify, directory(), on_call, to_on_call)
        uow.add_outbox(
            OutboxMessage(
                id=runner.new_id(),
                topic="escalation",
                key=f"escalation:{due.key}",
                payload={
                    "ticket_id": before.id,
                    "number": before.number,
                    "subject": before.subject,
                    "policy": due.policy,
                    "level": level.number,
                    "metric": due.metric,
                    "cycle": due.cycle,
                    "reason": due.reason,
                    "recipients": recipients,
                    "on_call": to_on_call,
                    "due_at": due.due_at.isoformat(),
                },
                created_at=at,
                available_at=send_at,
            )
        )
    if level.reassign_team is not None:
        add_transfer(
            change, SYSTEM.id, at, level.reassign_team, level.reassign_tier,
            f"Escalated automatically: {due.reason}", (),
        )  # fmt: skip
    new_priority = level.priority
    if level.raise_priority:
        order = list(rules.priorities)
        current = order.index(change.ticket.priority) if change.ticket.priority in order else 0
        new_priority = order[max(current - 1, 0)]
    if new_priority is not None and new_priority != change.ticket.priority:
        old = change.ticket.priority
        change.add(
            lambda seq: PriorityChanged(
                ticket_id=before.id, seq=seq, at=at, actor=SYSTEM.id,
                from_priority=old, to_priority=new_priority, reason=due.reason,
            )
        )  # fmt: skip
    missing = frozenset(level.tags) - change.ticket.tags
    if missing:
        change.add(
            lambda seq: FieldsChanged(
                ticket_id=before.id, seq=seq, at=at, actor=SYSTEM.id, tags_added=missing
            )
        )


def dispatch_outbox(
    runner: Runner,
    notifiers: Sequence[Notifier],
    *,
    now: datetime | None,
    worker: str,
    limit: int,
    lease: timedelta,
) -> int:
    """Deliver claimed outbox messages to every notifier, at least once; a failure is retried
    with exponential back-off and the message is dead after its last attempt
    (:func:`helpdesk_core.model.records.retry_at`). Each notification's recipient is resolved
    first (address, name, contact masking: :mod:`helpdesk_core.service.recipients`)."""
    _check_tick(worker, limit, lease)
    at = runner.now(now)
    with runner.storage.transaction() as uow:
        claimed = uow.claim_outbox(at, limit, worker, lease)
    for message in claimed:
        error: str | None = None
        try:
            ticket_id = notifications.needs_ticket(message)
            with runner.storage.transaction() as uow:
                ticket = None if ticket_id is None else uow.get_ticket(ticket_id)
                addresses = Addresses(runner, uow, at)
                if ticket is not None:
                    addresses.remember(ticket)
                addressed = [
                    addresses.address(n) for n in notifications.notifications(message, ticket)
                ]
            for notification in addressed:
                for notifier in notifiers:
                    notifier.send(notification)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.warning("outbox delivery of %s failed: %s", message.key, error)
        with runner.storage.transaction() as uow:
            if error is None:
                uow.finish_outbox(message.id, delivered=True)
            else:
                uow.finish_outbox(
                    message.id, delivered=False, error=error, retry_at=retry_at(message, at)
                )
    return len(claimed)
