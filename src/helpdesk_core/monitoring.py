"""Live queue monitoring and queue alarms (R-RPT-2, R-RTE-5): pure rules, no I/O.

Definitions (docs/reports.md, "Live queue"):

* **the queue**: unsolved tickets (category new, open or pending) that are in category ``new``,
  or have no assignee, or have an assignee but no agent reply yet;
* **wait**: for a queue ticket without a first agent reply, the wall time from its creation to
  ``now``; ``average_wait`` and ``longest_wait`` are over those tickets;
* **agents online**: directory profiles with ``online`` set; **on shift**: profiles whose shift
  calendar is open at ``now`` (no calendar: always on shift);
* **breaches due in the next hour**: unsolved tickets with a running SLA clock whose due instant
  falls in ``(now, now + 1 h]``; **breached**: unsolved tickets with a clock already breached
  and unmet.

Alarm rules (``[alarms]``, the guides' defaults), evaluated per team:

* ``wait_over_target`` (default 0.2): over the team's queue tickets whose first-response clock
  runs with a target, the average elapsed time exceeds the average target by more than this
  share (the clocks' own time: business time where the policy counts business time);
* ``max_queued`` (default 50): the team's queue holds strictly more tickets than this.

An alarm is an *episode*: raised once when its condition starts to hold, cleared once (with a
notice) when it stops; :func:`transitions` compares the previous tick's active alarms with the
current ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, Literal

import attrs

from helpdesk_core.config import ConfigContext, HelpdeskConfig, config_keys, table
from helpdesk_core.errors import ConfigError
from helpdesk_core.model.people import Agent
from helpdesk_core.model.tickets import Ticket
from helpdesk_core.routing import ShiftCalendar
from helpdesk_core.sla import DONE_CATEGORIES, SlaClock

UNSOLVED: Final = ("new", "open", "pending")
"""The status categories of tickets the live figures look at."""

AlarmRule = Literal["wait_over_target", "max_queued"]
ALARM_RULES: Final = ("wait_over_target", "max_queued")
HORIZON: Final = timedelta(hours=1)
"""How far ahead ``breaches_next_hour`` looks."""


@attrs.frozen
class AlarmsConfig:
    """The validated ``[alarms]`` section."""

    wait_over_target: float = 0.2
    max_queued: int = 50
    recipients: tuple[str, ...] = ("supervisor",)
    """Who hears of a team's alarm: escalation's recipient names (``supervisor`` is the team's
    supervisors, else its department's; ``manager``, ``role:NAME``, ``agent:ID``...). When
    nobody is found, the managers."""
    enabled: bool = True


_KEYS: Final = ("wait_over_target", "max_queued", "recipients", "enabled")


@config_keys({"alarms": _KEYS})
def parse_alarms(value: Any, path: str, context: ConfigContext) -> AlarmsConfig:
    """``[alarms] wait_over_target = 0.2``, ``max_queued = 50``, ``recipients =
    ["supervisor"]``, ``enabled = true``; errors name the key path."""
    section = table(value, path, _KEYS)
    enabled = section.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{path}.enabled", "must be true or false", enabled)
    share = section.get("wait_over_target", 0.2)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 10:
        raise ConfigError(
            f"{path}.wait_over_target", "must be a share of the target between 0 and 10", share
        )
    most = section.get("max_queued", 50)
    if isinstance(most, bool) or not isinstance(most, int) or not 0 <= most <= 1_000_000:
        raise ConfigError(f"{path}.max_queued", "must be a whole number 0..1000000", most)
    raw = section.get("recipients", ["supervisor"])
    if (
        not isinstance(raw, list)
        or not raw
        or not all(isinstance(r, str) and r.strip() for r in raw)
    ):
        raise ConfigError(f"{path}.recipients", "must be a non-empty list of recipient names", raw)
    return AlarmsConfig(float(share), most, tuple(r.strip() for r in raw), enabled)


def alarms_config(config: HelpdeskConfig) -> AlarmsConfig:
    found = config.sections.get("alarms")
    return found if isinstance(found, AlarmsConfig) else AlarmsConfig()


def answered(ticket: Ticket) -> bool:
    """Whether an agent has replied publicly (notes do not count)."""
    return any(m.kind == "reply" for m in ticket.messages)


def in_queue(ticket: Ticket) -> bool:
    """Unsolved, and new, or unassigned, or assigned but not yet answered."""
    if ticket.status_category in DONE_CATEGORIES:
        return False
    return ticket.status_category == "new" or ticket.assignee is None or not answered(ticket)


@attrs.frozen
class Alarm:
    """A queue alarm that holds now for one team (``team`` None: tickets of no team)."""

    rule: str
    team: str | None
    value: float
    """The measured figure: the share over target, or the queue length."""
    threshold: float
    detail: str

    @property
    def key(self) -> str:
        return f"{self.rule}|{self.team or ''}"


@attrs.frozen
class TeamQueue:
    """The live figures of one team (``team`` None: tickets of no team)."""

    team: str | None
    queue_length: int
    average_wait: timedelta | None
    longest_wait: timedelta | None
    agents_online: int
    agents_on_shift: int
    breaches_next_hour: int
    breached: int
    first_response_over_target: float | None
    """Average first-response elapsed time over the average target, minus 1 (0.25: 25 % over);
    None without running first-response clocks."""


@attrs.frozen
class QueueStatus:
    """What ``desk.queue_status`` returns: the whole visible queue and each team's, as of
    ``at``, with the alarms that hold now."""

    at: datetime
    queue_length: int
    average_wait: timedelta | None
    longest_wait: timedelta | None
    agents_online: int
    agents_on_shift: int
    breaches_next_hour: int
    breached: int
    teams: tuple[TeamQueue, ...]
    alarms: tuple[Alarm, ...]

    def team(self, name: str | None) -> TeamQueue | None:
        return next((t for t in self.teams if t.team == name), None)


@attrs.define
class _Tally:
    queue: int = 0
    waits: list[timedelta] = attrs.field(factory=list)
    elapsed: timedelta = timedelta(0)
    targets: timedelta = timedelta(0)
    clocks: int = 0
    due_soon: int = 0
    breached: int = 0
    online: int = 0
    on_shift: int = 0

    def add_ticket(self, ticket: Ticket, clocks: Sequence[SlaClock], at: datetime) -> None:
        unmet = [c for c in clocks if c.met_at is None]
        if any(c.breached_at is not None for c in unmet):
            self.breached += 1
        elif any(c.due_at is not None and at < c.due_at <= at + HORIZON for c in unmet):
            self.due_soon += 1
        if not in_queue(ticket):
            return
        self.queue += 1
        if not answered(ticket):
            self.waits.append(max(at - ticket.created_at, timedelta(0)))
        for clock in unmet:
            if clock.metric == "first_response" and clock.target > timedelta(0):
                self.elapsed += clock.elapsed
                self.targets += clock.target
                self.clocks += 1

    def add_agent(self, agent: Agent, calendars: Mapping[str, ShiftCalendar], at: datetime) -> None:
        self.online += agent.online
        calendar = calendars.get(agent.calendar) if agent.calendar is not None else None
        self.on_shift += agent.calendar is None or (calendar is not None and calendar.is_open(at))

    @property
    def over_target(self) -> float | None:
        if not self.clocks:
            return None
        return self.elapsed / self.targets - 1

    def merge(self, other: _Tally) -> None:
        self.queue += other.queue
        self.waits += other.waits
        self.elapsed += other.elapsed
        self.targets += other.targets
        self.clocks += other.clocks
        self.due_soon += other.due_soon
        self.breached += other.breached
        self.online += other.online
        self.on_shift += other.on_shift


def _average(waits: Sequence[timedelta]) -> timedelta | None:
    return sum(waits, timedelta(0)) / len(waits) if waits else None


def team_alarms(team: str | None, tally: _Tally, config: AlarmsConfig) -> list[Alarm]:
    if not config.enabled:
        return []
    found = []
    over = tally.over_target
    if over is not None and over > config.wait_over_target:
        found.append(
            Alarm(
                "wait_over_target",
                team,
                round(over, 4),
                config.wait_over_target,
                f"average first-response wait is {over:.0%} over target "
                f"(alarm above {config.wait_over_target:.0%})",
            )
        )
    if tally.queue > config.max_queued:
        found.append(
            Alarm(
                "max_queued",
                team,
                float(tally.queue),
                float(config.max_queued),
                f"{tally.queue} tickets queued (alarm above {config.max_queued})",
            )
        )
    return found


def queue_status(
    at: datetime,
    tickets: Iterable[tuple[Ticket, Sequence[SlaClock]]],
    agents: Iterable[Agent],
    calendars: Mapping[str, ShiftCalendar],
    config: AlarmsConfig,
) -> QueueStatus:
    """The live figures of unsolved ``tickets`` (each with its SLA clocks as of ``at``) and of
    ``agents``, per team and in all, with the alarms that hold."""
    tallies: dict[str | None, _Tally] = {}
    for ticket, clocks in tickets:
        if ticket.status_category in DONE_CATEGORIES:
            continue
        tallies.setdefault(ticket.team, _Tally()).add_ticket(ticket, clocks, at)
    for agent in agents:
        tallies.setdefault(agent.team, _Tally()).add_agent(agent, calendars, at)
    total = _Tally()
    teams = []
    alarms: list[Alarm] = []
    for team in sorted(tallies, key=lambda t: (t is None, t or "")):
        tally = tallies[team]
        total.merge(tally)
        over = tally.over_target
        teams.append(
            TeamQueue(
                team=team,
                queue_length=tally.queue,
                average_wait=_average(tally.waits),
                longest_wait=max(tally.waits, default=None),
                agents_online=tally.online,
                agents_on_shift=tally.on_shift,
                breaches_next_hour=tally.due_soon,
                breached=tally.breached,
                first_response_over_target=None if over is None else round(over, 4),
            )
        )
        alarms += team_alarms(team, tally, config)
    return QueueStatus(
        at=at,
        queue_length=total.queue,
        average_wait=_average(total.waits),
        longest_wait=max(total.waits, default=None),
        agents_online=total.online,
        agents_on_shift=total.on_shift,
        breaches_next_hour=total.due_soon,
        breached=total.breached,
        teams=tuple(teams),
        alarms=tuple(alarms),
    )


@attrs.frozen
class AlarmChange:
    """An alarm raised or cleared by a check: ``episode`` counts the alarm's episodes (1, 2...)."""

    alarm: Alarm
    state: Literal["raised", "cleared"]
    episode: int


def transitions(
    active: Mapping[str, Mapping[str, Any]],
    episodes: Mapping[str, int],
    current: Sequence[Alarm],
) -> tuple[list[AlarmChange], dict[str, dict[str, Any]], dict[str, int]]:
    """Compare the previous check's ``active`` alarms (by :attr:`Alarm.key`, each the alarm's
    fields) with ``current``: the changes (raised for a new episode, cleared for one that
    ended), and the new active map and episode counters."""
    now_active: dict[str, dict[str, Any]] = {}
    counters = dict(episodes)
    changes: list[AlarmChange] = []
    for alarm in current:
        key = alarm.key
        if key in active:
            now_active[key] = {**active[key], "value": alarm.value, "detail": alarm.detail}
            continue
        counters[key] = counters.get(key, 0) + 1
        now_active[key] = {**attrs.asdict(alarm), "episode": counters[key]}
        changes.append(AlarmChange(alarm, "raised", counters[key]))
    for key, was in active.items():
        if key in now_active:
            continue
        ended = Alarm(
            str(was["rule"]),
            was.get("team"),
            float(was["value"]),
            float(was["threshold"]),
            f"cleared: {was['detail']}",
        )
        changes.append(AlarmChange(ended, "cleared", int(was.get("episode", counters.get(key, 1)))))
    return changes, now_active, counters
