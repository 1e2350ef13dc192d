"""The live queue and its alarms (R-RPT-2, R-RTE-5): rules in :mod:`helpdesk_core.monitoring`.

``queue_status`` is a query on the one command path: it counts only the tickets inside the
actor's ``report.view`` scope (as reports do: an agent their own tickets, a supervisor their
department's, a manager and admin the whole desk) and the agents of the actor's team,
department and the teams it shows.
``check_alarms`` is a worker task like ``run_escalations``: it reads the unsolved tickets, the
SLA clocks of the queued ones only, and the alarm state document, and in one transaction writes
an outbox notice per alarm raised or cleared and the new state. Two workers checking at once
write the same outbox keys (episode numbers), so each notice is queued once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import attrs

from helpdesk_core import monitoring
from helpdesk_core.conditions import FALSE, TRUE, Condition, all_of, field_is
from helpdesk_core.escalation import team_recipients
from helpdesk_core.model.people import Actor, Agent
from helpdesk_core.model.records import OutboxMessage
from helpdesk_core.model.tickets import Ticket
from helpdesk_core.ports import TicketQuery, UnitOfWork
from helpdesk_core.routing import ShiftCalendar
from helpdesk_core.service.runner import Call, Runner
from helpdesk_core.service.workers import Escalations
from helpdesk_core.sla import SlaClock

STATE_KEY = "alarms"
"""The state document holding the active alarms and each alarm's episode counter."""


def _unsolved(uow: UnitOfWork, scope: Condition = TRUE) -> list[Ticket]:
    unsolved = field_is("status_category", "in", list(monitoring.UNSOLVED))
    return uow.query_tickets(TicketQuery(where=all_of([scope, unsolved]), limit=None))


def _clocks(
    uow: UnitOfWork, rules: Escalations, ticket: Ticket, at: datetime
) -> Sequence[SlaClock]:
    if rules.sla is None:
        return ()
    return rules.clocks(uow, ticket.id, at, profile=rules.profile(uow, ticket))


def queue_status(
    runner: Runner,
    rules: Escalations,
    calendars: Mapping[str, ShiftCalendar],
    actor: Actor,
    *,
    now: datetime | None,
) -> monitoring.QueueStatus:
    def body(call: Call) -> monitoring.QueueStatus:
        scope = call.view.scope("report.view")
        if scope == FALSE:  # no rule gives this actor any figures: refused and audited
            call.authorise("report.view", target="queue")
        tickets = _unsolved(call.uow, scope)
        pairs = [(t, _clocks(call.uow, rules, t, call.at)) for t in tickets]
        agents = call.uow.agents()
        if scope != TRUE:  # the agents of the actor's team, department and the teams shown
            teams = {t.team for t in tickets} | {actor.team}
            agents = [
                a
                for a in agents
                if (a.team is not None and a.team in teams)
                or (actor.department is not None and a.department == actor.department)
            ]
        config = monitoring.alarms_config(runner.config)
        return monitoring.queue_status(call.at, pairs, agents, calendars, config)

    return runner.run(actor, "report.view", None, now, body)


@attrs.frozen
class AlarmCheck:
    """What one :meth:`Helpdesk.check_alarms` did: the alarms raised and cleared, and every
    alarm that holds after it."""

    changes: tuple[monitoring.AlarmChange, ...]
    active: tuple[monitoring.Alarm, ...]


def check_alarms(
    runner: Runner,
    rules: Escalations,
    calendars: Mapping[str, ShiftCalendar],
    *,
    now: datetime | None,
) -> AlarmCheck:
    at = runner.now(now)
    config = monitoring.alarms_config(runner.config)
    with runner.storage.transaction() as uow:
        queued = [t for t in _unsolved(uow) if monitoring.in_queue(t)]
        # only queued tickets' clocks are read: O(queue), not O(all tickets)
        pairs = [(t, _clocks(uow, rules, t, at)) for t in queued]
        directory = uow.agents()
        status = monitoring.queue_status(at, pairs, directory, calendars, config)
        state = uow.load_state(STATE_KEY) or {}
        changes, active, episodes = monitoring.transitions(
            state.get("active", {}), state.get("episodes", {}), status.alarms
        )
        departments = _departments(queued, directory)
        for change in changes:
            alarm = change.alarm
            recipients = team_recipients(
                config.recipients, alarm.team, departments.get(alarm.team), directory
            ) or [a.id for a in directory if "manager" in a.roles]
            uow.add_outbox(
                OutboxMessage(
                    id=runner.new_id(),
                    topic="alarm",
                    key=f"alarm:{alarm.key}:{change.episode}:{change.state}",
                    payload={
                        "rule": alarm.rule,
                        "team": alarm.team,
                        "state": change.state,
                        "episode": change.episode,
                        "value": alarm.value,
                        "threshold": alarm.threshold,
                        "detail": alarm.detail,
                        "recipients": recipients,
                        "at": at.isoformat(),
                    },
                    created_at=at,
                    available_at=at,
                )
            )
        if changes or state.get("active", {}) != active:
            uow.save_state(STATE_KEY, {"active": active, "episodes": episodes})
    return AlarmCheck(tuple(changes), status.alarms)


def _departments(tickets: Sequence[Ticket], directory: Sequence[Agent]) -> dict[str | None, str]:
    """Each team's department, from its tickets, else from its agents."""
    found: dict[str | None, str] = {}
    for agent in directory:
        if agent.department is not None:
            found.setdefault(agent.team, agent.department)
    for ticket in tickets:
        if ticket.department is not None:
            found[ticket.team] = ticket.department
    return found
