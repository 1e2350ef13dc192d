"""Random command sequences against the default workflow (R-TKT-3).

Invariants after every step: the fold of the stored events equals the current state; every
status change in the history is a transition of the workflow; versions strictly increase; an
illegal move raises InvalidTransition naming exactly the allowed targets and changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from helpdesk_core import (
    DEFAULT_WORKFLOW,
    Actor,
    Helpdesk,
    InvalidTransition,
    PermissionDenied,
    Ticket,
)
from helpdesk_core.model.events import StatusChanged
from helpdesk_core.testing import FixedClock

AGENT = Actor(id="a-1", roles={"agent"}, team="t1")
SUPERVISOR = Actor(id="s-1", roles={"supervisor"}, team="t1")
QA = Actor(id="q-1", roles={"qa_inspector"})
CUSTOMER = Actor(id="C1", roles={"customer"})
ACTORS = st.sampled_from([AGENT, SUPERVISOR, QA, CUSTOMER])
STATUSES = st.sampled_from(sorted(DEFAULT_WORKFLOW.statuses))


class TicketLifecycle(RuleBasedStateMachine):
    @initialize()
    def open(self) -> None:
        self.clock = FixedClock("2026-11-02T09:00:00+00:00")
        self.desk = Helpdesk(
            config={"desk": {"default_team": "t1"}}, clock=self.clock, load_entrypoints=False
        )
        self.ticket = self.desk.open_ticket(CUSTOMER, subject="Broken", channel="email")
        self.versions = [self.ticket.version]

    def _step(self) -> None:
        self.clock.advance(minutes=7)

    def _record(self, ticket: Ticket) -> None:
        assert ticket.version >= self.versions[-1]
        self.versions.append(ticket.version)
        self.ticket = ticket

    @rule(actor=ACTORS, status=STATUSES)
    def set_status(self, actor: Actor, status: str) -> None:
        target = status
        self._step()
        before = self.desk.get_ticket(AGENT, self.ticket.id)
        allowed = DEFAULT_WORKFLOW.allowed_targets(before, actor)
        may = self.desk.policy.check(actor, "ticket.set_status", before).allowed
        try:
            after = self.desk.set_status(actor, self.ticket.id, target)
        except PermissionDenied:
            assert not may
            assert self.desk.get_ticket(AGENT, self.ticket.id) == before
            return
        except InvalidTransition as exc:
            assert may
            assert target not in allowed and target != before.status
            assert list(exc.allowed) == sorted(allowed)
            assert self.desk.get_ticket(AGENT, self.ticket.id) == before
            return
        if target == before.status:  # a no-op, so clients need not read first (issue 19)
            assert after.version == before.version
            assert self.desk.get_ticket(AGENT, self.ticket.id) == before
            return
        assert target in allowed
        assert after.status == target and after.version == before.version + 1
        self._record(after)

    @rule(assignee=st.sampled_from(["a-1", "a-2", None]))
    def assign(self, assignee: str | None) -> None:
        self._step()
        self._record(self.desk.assign(SUPERVISOR, self.ticket.id, assignee))

    @rule(public=st.booleans())
    def agent_writes(self, public: bool) -> None:
        self._step()
        self._record(self.desk.reply(AGENT, self.ticket.id, "working on it", public=public))

    @rule()
    def customer_writes(self) -> None:
        self._step()
        before = self.ticket.status
        try:
            after = self.desk.reply(CUSTOMER, self.ticket.id, "any news?")
        except PermissionDenied:
            assert before in ("archived", "merged")
            return
        if before in DEFAULT_WORKFLOW.pause_statuses:
            assert after.status == "in_progress"
        else:
            assert after.status == before
        self._record(after)

    @rule(priority=st.sampled_from(["urgent", "high", "normal", "low"]))
    def set_priority(self, priority: str) -> None:
        self._step()
        self._record(self.desk.set_priority(SUPERVISOR, self.ticket.id, priority))

    @invariant()
    def fold_equals_state(self) -> None:
        history = self.desk.history(AGENT, self.ticket.id)
        current = self.desk.get_ticket(AGENT, self.ticket.id)
        assert Ticket.from_events(history) == current
        assert [e.seq for e in history] == list(range(1, current.version + 1))
        times = [e.at for e in history]
        assert times == sorted(times)

    @invariant()
    def only_workflow_transitions(self) -> None:
        for event in self.desk.history(AGENT, self.ticket.id):
            if isinstance(event, StatusChanged):
                transition = DEFAULT_WORKFLOW.transition(event.from_status, event.to_status)
                assert transition is not None, (event.from_status, event.to_status)
                assert event.reopen == transition.reopen
                assert event.to_category == DEFAULT_WORKFLOW.category(event.to_status)

    @invariant()
    def versions_strictly_increase_per_change(self) -> None:
        changes = [b for a, b in zip(self.versions, self.versions[1:], strict=False) if b != a]
        assert all(b > a for a, b in zip([self.versions[0], *changes], changes, strict=False))

    def teardown(self) -> None:
        if hasattr(self, "desk"):
            self.desk.close()


TicketLifecycle.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
test_ticket_lifecycle = TicketLifecycle.TestCase


def test_reopen_counts_and_is_marked(desk: Helpdesk, agent: Actor, customer: Actor) -> None:
    t = desk.open_ticket(customer, subject="x", channel="web_form")
    desk.assign(agent, t.id, agent.id)
    desk.set_status(agent, t.id, "in_progress")
    desk.set_status(agent, t.id, "resolved")
    t = desk.set_status(customer, t.id, "in_progress", reason="still broken")
    assert t.reopen_count == 1
    last = desk.history(agent, t.id)[-1]
    assert isinstance(last, StatusChanged) and last.reopen and last.reason == "still broken"


def test_invalid_transition_names_allowed_targets(desk: Helpdesk, agent: Actor) -> None:
    t = desk.open_ticket(agent, subject="x", channel="phone", customer_id="C9")
    try:
        desk.set_status(agent, t.id, "archived")
    except InvalidTransition as exc:
        assert exc.current == "new" and exc.target == "archived"
        assert "in_progress" not in exc.allowed  # needs an assignee first
        assert "allowed from 'new'" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected InvalidTransition")


def test_guard_required_field_and_role(desk: Helpdesk, agent: Actor, customer: Actor) -> None:
    t = desk.open_ticket(customer, subject="x", channel="email")
    try:
        desk.set_status(agent, t.id, "in_progress")
    except InvalidTransition as exc:
        assert "assignee" in str(exc)
    desk.assign(agent, t.id, agent.id)
    try:
        desk.set_status(customer, t.id, "pending_customer")
    except InvalidTransition as exc:
        assert "roles" in str(exc)
    assert desk.clock.now() - t.created_at == timedelta(0)
