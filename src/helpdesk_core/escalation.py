"""Escalation policies: ordered levels, triggers, actions; pure evaluation (R-RTE-4, R-SLA-4).

A policy (config section ``escalation``) applies to the tickets its ``when`` condition matches
and has ordered levels. Each level has one trigger and a list of actions:

triggers
    ``{sla = "resolution", fraction = 0.75}``: the metric's elapsed time reaches that share of its
    target (in the target's own time: business time for business targets);
    ``{sla = "resolution", before_due = "15m"}``: that long before due, in the same time;
    ``{sla = "first_response", breached = true}``: at the due instant of an unmet clock;
    ``{idle = "2h"}``: no message on an open ticket for that long;
    ``{unassigned = "10m"}``: nobody has owned the ticket for that long.
    ``idle`` and ``unassigned`` count business time on the policy's ``calendar`` when it names
    one, real time otherwise. A level's own ``when`` condition (priority, status...) must hold
    at firing time too.
actions
    ``notify`` (``handler``, ``supervisor``, ``on_call``, ``manager``, ``agent:<id>``,
    ``role:<name>``, ``team:<name>``), ``reassign`` (a team and optionally a tier: a transfer
    with an automatic hand-over summary), ``priority`` (set) or ``raise_priority`` (one step up
    the configured order), ``tags``, ``review`` (open a post-incident review through the
    ``helpdesk_open_review`` hook).

Evaluation is pure: :meth:`EscalationPolicy.due_firings` lists what is due at ``now`` (a firing
is keyed ``(ticket, policy, level, metric, cycle)``: the worker records it in the same
transaction as its actions, so it happens exactly once), :meth:`EscalationPolicy.next_check_at`
says when to look at the ticket again, and the store keeps that instant indexed so a worker tick
touches only due tickets.

Notices respect business hours when the policy names ``notice_hours`` (a calendar): outside
them a notice waits for the next opening (Zammad #4432 sent escalation mail at midnight), unless
the level says ``off_hours = "on_call"``: then it goes at once to whoever the policy's on-call
rotation has on duty (R-CAL-1).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, Literal, Protocol

import attrs

from helpdesk_core.conditions import TRUE, Condition
from helpdesk_core.config import ConfigContext, config_keys, table
from helpdesk_core.errors import ConfigError, HelpdeskError
from helpdesk_core.model.people import Agent
from helpdesk_core.model.tickets import Ticket, ticket_subject

TriggerKind = Literal["sla_fraction", "sla_before_due", "sla_breach", "idle", "unassigned"]
OffHours = Literal["defer", "on_call", "send"]
RECIPIENT_KINDS: Final = ("handler", "supervisor", "on_call", "manager")
RECIPIENT_PREFIXES: Final = ("agent:", "role:", "team:")
ACTIVE_CATEGORIES: Final = frozenset({"new", "open", "pending"})


class SlaClockView(Protocol):
    """What escalation reads of an SLA clock (see :mod:`helpdesk_core.sla`)."""

    @property
    def metric(self) -> str: ...
    @property
    def cycle(self) -> int: ...
    @property
    def target(self) -> timedelta: ...
    @property
    def due_at(self) -> datetime | None: ...
    @property
    def met_at(self) -> datetime | None: ...

    def instant_at(self, elapsed: timedelta) -> datetime | None:
        """When the clock's elapsed time reaches ``elapsed`` (past or future), None when it
        will not while nothing changes (paused)."""
        ...


class Calendar(Protocol):
    def add(self, start: datetime, delta: timedelta) -> datetime: ...
    def is_open(self, t: datetime) -> bool: ...
    def next_open(self, t: datetime) -> datetime: ...


class OnCall(Protocol):
    def on_duty(self, t: datetime) -> str | None: ...


@attrs.frozen
class Trigger:
    kind: TriggerKind
    metric: str | None = None
    fraction: float | None = None
    duration: timedelta | None = None

    def describe(self) -> str:
        if self.kind == "sla_fraction":
            return f"{self.metric} reached {self.fraction:.0%} of its target"
        if self.kind == "sla_before_due":
            return f"{self.metric} due in {self.duration}"
        if self.kind == "sla_breach":
            return f"{self.metric} breached"
        if self.kind == "idle":
            return f"no message for {self.duration}"
        return f"unassigned for {self.duration}"


@attrs.frozen
class Level:
    """One escalation level: a trigger, an extra condition and the actions to take."""

    number: int
    trigger: Trigger
    when: Condition = TRUE
    notify: tuple[str, ...] = ()
    reassign_team: str | None = None
    reassign_tier: int | None = None
    priority: str | None = None
    raise_priority: bool = False
    tags: tuple[str, ...] = ()
    review: bool = False
    off_hours: OffHours = "defer"
    description: str = ""


@attrs.frozen
class DueFiring:
    """A level whose trigger was reached and has not fired yet for this cycle."""

    key: str
    ticket_id: str
    policy: str
    level: Level
    metric: str
    cycle: int
    due_at: datetime
    reason: str


def firing_key(ticket_id: str, policy: str, level: int, metric: str, cycle: int) -> str:
    return f"{ticket_id}|{policy}|{level}|{metric}|{cycle}"


@attrs.frozen
class EscalationPolicy:
    name: str
    levels: tuple[Level, ...]
    when: Condition = TRUE
    calendar: Calendar | None = None
    calendar_name: str | None = None
    notice_hours: Calendar | None = None
    on_call: OnCall | None = None

    def applies(self, ticket: Ticket, customer: Mapping[str, Any] | None = None) -> bool:
        """Whether the policy's ``when`` holds for the ticket (``customer``: the requester's
        ``customer.*`` fields as of the ticket's latest event, when conditions read them)."""
        return self.when.matches(ticket_subject(ticket, customer))

    def _after(self, start: datetime, duration: timedelta) -> datetime:
        return self.calendar.add(start, duration) if self.calendar is not None else start + duration

    def _instants(
        self, ticket: Ticket, clocks: Sequence[SlaClockView]
    ) -> Iterable[tuple[Level, str, int, datetime]]:
        """(level, metric, cycle, instant the trigger is reached) for every live trigger."""
        if ticket.status_category not in ACTIVE_CATEGORIES or ticket.merged_into is not None:
            return
        for level in self.levels:
            trigger = level.trigger
            if trigger.kind in ("sla_fraction", "sla_before_due", "sla_breach"):
                for clock in clocks:
                    if clock.metric != trigger.metric or clock.met_at is not None:
                        continue
                    at: datetime | None
                    if trigger.kind == "sla_breach":
                        at = clock.due_at
                    elif trigger.kind == "sla_fraction":
                        assert trigger.fraction is not None
                        at = clock.instant_at(clock.target * trigger.fraction)
                    else:
                        assert trigger.duration is not None
                        at = clock.instant_at(max(clock.target - trigger.duration, timedelta(0)))
                    if at is not None:
                        yield level, clock.metric, clock.cycle, at
            elif trigger.kind == "idle":
                if ticket.status_category == "pending":
                    continue  # waiting on someone else is not idleness
                assert trigger.duration is not None
                last = max((m.at for m in ticket.messages), default=ticket.created_at)
                yield level, "idle", int(last.timestamp()), self._after(last, trigger.duration)
            else:
                if ticket.assignee is not None:
                    continue
                assert trigger.duration is not None
                since = ticket.assignee_since or ticket.created_at
                yield (
                    level,
                    "unassigned",
                    int(since.timestamp()),
                    self._after(since, trigger.duration),
                )

    def due_firings(
        self,
        ticket: Ticket,
        sla_clocks: Sequence[SlaClockView],
        now: datetime,
        fired: Collection[str] = (),
        customer: Mapping[str, Any] | None = None,
    ) -> list[DueFiring]:
        """Levels whose trigger is reached at ``now`` and whose key is not in ``fired``, in
        level order (then by metric and cycle)."""
        subject = ticket_subject(ticket, customer)
        if not self.when.matches(subject):
            return []
        due = []
        for level, metric, cycle, at in self._instants(ticket, sla_clocks):
            if at > now or not level.when.matches(subject):
                continue
            key = firing_key(ticket.id, self.name, level.number, metric, cycle)
            if key in fired:
                continue
            reason = f"{self.name} level {level.number}: {level.trigger.describe()}"
            due.append(DueFiring(key, ticket.id, self.name, level, metric, cycle, at, reason))
        return sorted(due, key=lambda d: (d.level.number, d.metric, d.cycle))

    def next_check_at(
        self,
        ticket: Ticket,
        sla_clocks: Sequence[SlaClockView] = (),
        now: datetime | None = None,
        fired: Collection[str] = (),
        customer: Mapping[str, Any] | None = None,
    ) -> datetime | None:
        """The earliest instant a level not yet fired becomes due (may be <= ``now`` when one
        is due already), or None when nothing can fire while the ticket stays as it is. A level
        whose own ``when`` does not hold now is left out: only a change to the ticket can make
        it hold, and every change schedules the ticket again."""
        subject = ticket_subject(ticket, customer)
        if not self.when.matches(subject):
            return None
        instants = [
            at
            for level, metric, cycle, at in self._instants(ticket, sla_clocks)
            if firing_key(ticket.id, self.name, level.number, metric, cycle) not in fired
            and level.when.matches(subject)
        ]
        return min(instants, default=None)

    def notice_time(self, level: Level, now: datetime) -> tuple[datetime, bool]:
        """When a level's notices go out and whether they go to the on-call person instead."""
        hours = self.notice_hours
        if hours is None or level.off_hours == "send" or hours.is_open(now):
            return now, False
        if level.off_hours == "on_call" and self.on_call is not None:
            return now, True
        return hours.next_open(now), False


def resolve_recipients(
    ticket: Ticket,
    notify: Sequence[str],
    directory: Sequence[Agent],
    on_call: str | None,
    to_on_call: bool,
) -> list[str]:
    """The people a level's ``notify`` list names for this ticket, in order, without repeats.

    ``handler`` is the assignee; ``supervisor`` the supervisors of the ticket's team, else of its
    department; ``manager`` every manager; ``on_call`` whoever is on duty; ``agent:ID``,
    ``role:NAME`` and ``team:NAME`` (or a bare team name) name people directly. A notice sent
    outside hours to the on-call rota (``to_on_call``) goes to the person on duty only.
    """
    if to_on_call:
        return [on_call] if on_call else []
    return team_recipients(
        notify, ticket.team, ticket.department, directory, assignee=ticket.assignee, on_call=on_call
    )


def team_recipients(
    notify: Sequence[str],
    team: str | None,
    department: str | None,
    directory: Sequence[Agent],
    *,
    assignee: str | None = None,
    on_call: str | None = None,
) -> list[str]:
    """The people ``notify`` names for work of ``team`` (in ``department``), in order, without
    repeats: the names of :func:`resolve_recipients` (``handler`` is ``assignee``)."""
    found: list[str] = []
    for who in notify:
        if who == "handler":
            ids = [assignee] if assignee else []
        elif who == "supervisor":
            ids = [a.id for a in directory if "supervisor" in a.roles and a.team == team]
            if not ids:  # nobody in the team: the department's supervisors
                ids = [
                    a.id
                    for a in directory
                    if "supervisor" in a.roles
                    and department is not None
                    and a.department == department
                ]
        elif who == "manager":
            ids = [a.id for a in directory if "manager" in a.roles]
        elif who == "on_call":
            ids = [on_call] if on_call else []
        elif who.startswith("agent:"):
            ids = [who.removeprefix("agent:")]
        elif who.startswith("role:"):
            ids = [a.id for a in directory if who.removeprefix("role:") in a.roles]
        else:
            ids = [a.id for a in directory if a.team == who.removeprefix("team:")]
        found += [i for i in ids if i not in found]
    return found


@attrs.frozen
class EscalationConfig:
    policies: tuple[EscalationPolicy, ...] = ()

    def for_ticket(
        self, ticket: Ticket, customer: Mapping[str, Any] | None = None
    ) -> list[EscalationPolicy]:
        return [p for p in self.policies if p.applies(ticket, customer)]

    @property
    def reads_customer(self) -> bool:
        """Whether a policy's or level's condition reads a ``customer.*`` field."""
        conditions = [p.when for p in self.policies]
        conditions += [lv.when for p in self.policies for lv in p.levels]
        return any(f.startswith("customer.") for c in conditions for f in c.fields())

    def due_firings(
        self,
        ticket: Ticket,
        sla_clocks: Sequence[SlaClockView],
        now: datetime,
        fired: Collection[str] = (),
        customer: Mapping[str, Any] | None = None,
    ) -> list[DueFiring]:
        return [
            f
            for p in self.policies
            for f in p.due_firings(ticket, sla_clocks, now, fired, customer)
        ]

    def next_check_at(
        self,
        ticket: Ticket,
        sla_clocks: Sequence[SlaClockView] = (),
        now: datetime | None = None,
        fired: Collection[str] = (),
        customer: Mapping[str, Any] | None = None,
    ) -> datetime | None:
        found = [p.next_check_at(ticket, sla_clocks, now, fired, customer) for p in self.policies]
        return min((f for f in found if f is not None), default=None)


# ---------------------------------------------------------------------- config
PRESETS: Final[dict[str, list[dict[str, Any]]]] = {
    # R-RTE-4 / R-SLA-4 / R-ORG-2: warn before breach, then up the tier chain
    # tier 1 -> tier 2 expert -> tech support -> manager
    "guides": [
        {
            "name": "sla-warnings",
            "levels": [
                {"trigger": {"sla": "first_response", "fraction": 0.75},
                 "notify": ["handler", "supervisor"]},
                {"trigger": {"sla": "first_response", "breached": True},
                 "notify": ["handler", "supervisor"]},
                {"trigger": {"sla": "resolution", "fraction": 0.75},
                 "notify": ["handler", "supervisor"]},
            ],
        },
        {
            "name": "tier-chain",
            "levels": [
                {"trigger": {"sla": "resolution", "fraction": 0.9},
                 "reassign": {"team": "tier2", "tier": 2}, "notify": ["supervisor"],
                 "description": "tier 1 -> tier 2 expert"},
                {"trigger": {"sla": "resolution", "breached": True},
                 "when": {"type": "technical_support"},
                 "reassign": {"team": "tech", "tier": 3}, "notify": ["supervisor"],
                 "off_hours": "on_call", "description": "tier 2 -> tech support"},
                {"trigger": {"sla": "resolution", "breached": True},
                 "notify": ["manager", "supervisor"], "tags": ["escalated"], "review": True,
                 "description": "-> manager"},
            ],
        },
        {
            "name": "unassigned",
            "levels": [
                {"trigger": {"unassigned": "10m"}, "notify": ["supervisor"],
                 "description": "nobody picked the ticket up"},
            ],
        },
    ],
}  # fmt: skip

_LEVEL_KEYS: Final = {
    "trigger", "when", "notify", "reassign", "priority", "raise_priority", "tags", "review",
    "off_hours", "description",
}  # fmt: skip
_POLICY_KEYS: Final = {"name", "when", "levels", "calendar", "notice_hours", "on_call"}
_KEYS: Final = ("preset", "policies")
_ON_CALL_KEYS: Final = {"members", "start", "period", "calendar"}


def _duration(value: Any, path: str) -> timedelta:
    from helpdesk_core.durations import parse_duration

    try:
        duration = parse_duration(value)
    except HelpdeskError as exc:
        raise ConfigError(
            path, f"must be a duration such as '15m' or 'PT2H' ({exc})", value
        ) from exc
    if duration <= timedelta(0):
        raise ConfigError(path, "must be a positive duration", value)
    return duration


def _trigger(raw: Any, path: str) -> Trigger:
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(
            path, "must be a table such as {sla = 'resolution', fraction = 0.75}", raw
        )
    if "sla" in raw:
        metric = raw["sla"]
        if not isinstance(metric, str) or not metric:
            raise ConfigError(f"{path}.sla", "must name an SLA metric", metric)
        rest = set(raw) - {"sla"}
        if len(rest) != 1 or not rest <= {"fraction", "before_due", "breached"}:
            raise ConfigError(
                path, "an sla trigger needs exactly one of fraction, before_due, breached", raw
            )
        if "fraction" in raw:
            fraction = raw["fraction"]
            if (
                isinstance(fraction, bool)
                or not isinstance(fraction, int | float)
                or not 0 < fraction <= 1
            ):
                raise ConfigError(f"{path}.fraction", "must be a number in (0, 1]", fraction)
            return Trigger("sla_fraction", metric, fraction=float(fraction))
        if "before_due" in raw:
            return Trigger(
                "sla_before_due",
                metric,
                duration=_duration(raw["before_due"], f"{path}.before_due"),
            )
        if raw["breached"] is not True:
            raise ConfigError(f"{path}.breached", "must be true", raw["breached"])
        return Trigger("sla_breach", metric)
    if set(raw) == {"idle"}:
        return Trigger("idle", duration=_duration(raw["idle"], f"{path}.idle"))
    if set(raw) == {"unassigned"}:
        return Trigger("unassigned", duration=_duration(raw["unassigned"], f"{path}.unassigned"))
    raise ConfigError(
        f"{path}.{sorted(raw)[0]}",
        "unknown trigger; use sla (+ fraction, before_due or breached), idle or unassigned",
    )


def _strings(raw: Any, path: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(v, str) and v for v in raw):
        raise ConfigError(path, "must be a list of strings", raw)
    return tuple(raw)


def _level(
    raw: Any, path: str, number: int, priorities: Sequence[str], context: ConfigContext
) -> Level:
    raw = table(raw, path, _LEVEL_KEYS)
    if "trigger" not in raw:
        raise ConfigError(f"{path}.trigger", "every level needs a trigger")
    notify = _strings(raw.get("notify", []), f"{path}.notify")
    for i, who in enumerate(notify):
        if who not in RECIPIENT_KINDS and not who.startswith(RECIPIENT_PREFIXES):
            raise ConfigError(
                f"{path}.notify[{i}]",
                f"unknown recipient; use {list(RECIPIENT_KINDS)} or agent:/role:/team:<name>",
                who,
            )
    team: str | None = None
    tier: int | None = None
    if "reassign" in raw:
        target = raw["reassign"]
        if isinstance(target, str):
            team = target
        elif isinstance(target, Mapping) and set(target) <= {"team", "tier"} and "team" in target:
            team = target["team"]
            tier = target.get("tier")
            if tier is not None and (
                isinstance(tier, bool) or not isinstance(tier, int) or tier < 1
            ):
                raise ConfigError(f"{path}.reassign.tier", "must be a whole number >= 1", tier)
        else:
            raise ConfigError(f"{path}.reassign", "must be a team name or {team, tier}", target)
        if not isinstance(team, str) or not team:
            raise ConfigError(f"{path}.reassign.team", "must be a team name", team)
    priority = raw.get("priority")
    if priority is not None and priority not in priorities:
        raise ConfigError(f"{path}.priority", f"must be one of {list(priorities)}", priority)
    for flag in ("raise_priority", "review"):
        if not isinstance(raw.get(flag, False), bool):
            raise ConfigError(f"{path}.{flag}", "must be true or false", raw.get(flag))
    off_hours = raw.get("off_hours", "defer")
    if off_hours not in ("defer", "on_call", "send"):
        raise ConfigError(f"{path}.off_hours", "must be defer, on_call or send", off_hours)
    level = Level(
        number=number,
        trigger=_trigger(raw["trigger"], f"{path}.trigger"),
        when=context.condition(raw.get("when", {}), f"{path}.when"),
        notify=notify,
        reassign_team=team,
        reassign_tier=tier,
        priority=priority,
        raise_priority=raw.get("raise_priority", False),
        tags=_strings(raw.get("tags", []), f"{path}.tags"),
        review=raw.get("review", False),
        off_hours=off_hours,
        description=str(raw.get("description", "")),
    )
    if not (level.notify or team or priority or level.raise_priority or level.tags or level.review):
        raise ConfigError(path, "a level needs at least one action (notify, reassign, ...)")
    return level


def _calendars(context: ConfigContext) -> Mapping[str, Any]:
    """The configuration's ``[calendars]``, the very objects SLA and routing use."""
    parsed = context.section("calendars")
    return parsed if isinstance(parsed, Mapping) else {}


def _on_call(raw: Any, path: str, calendars: Mapping[str, Any]) -> OnCall:
    from helpdesk_core.rotation import Rotation

    if not isinstance(raw, Mapping) or set(raw) - _ON_CALL_KEYS:
        raise ConfigError(path, "must be a table with members, start, period (and calendar)", raw)
    members = _strings(raw.get("members", []), f"{path}.members")
    if not members:
        raise ConfigError(f"{path}.members", "needs at least one person")
    try:
        start = datetime.fromisoformat(str(raw.get("start")))
    except ValueError as exc:
        raise ConfigError(
            f"{path}.start", "must be an ISO date-time with offset", raw.get("start")
        ) from exc
    if start.tzinfo is None:
        raise ConfigError(f"{path}.start", "needs a UTC offset", raw.get("start"))
    period = _duration(raw.get("period"), f"{path}.period")
    calendar = None
    if "calendar" in raw:
        calendar = calendars.get(raw["calendar"])
        if calendar is None:
            raise ConfigError(f"{path}.calendar", f"unknown calendar; known: {sorted(calendars)}")
    rotation: OnCall = Rotation(members, start, period, calendar)
    return rotation


@config_keys(
    {
        "escalation": _KEYS,
        "escalation.policies[]": _POLICY_KEYS,
        "escalation.policies[].levels[]": _LEVEL_KEYS,
        "escalation.policies[].on_call": _ON_CALL_KEYS,
    }
)
def parse_escalation(value: Any, path: str, context: ConfigContext) -> EscalationConfig:
    """``[escalation]``: ``preset`` and/or ``[[escalation.policies]]``; each policy has
    ``name``, ``when``, ``calendar`` (business time for idle/unassigned), ``notice_hours``
    (a calendar), ``on_call`` ({members, start, period, calendar}) and ``[[levels]]``."""
    if not isinstance(value, Mapping):
        raise ConfigError(path, "must be a table", value)
    for key in value:
        if key not in _KEYS:
            raise ConfigError(f"{path}.{key}", "unknown key; expected preset or policies")
    raw_policies: list[tuple[str, Any]] = []
    preset = value.get("preset")
    if preset is not None:
        if preset not in PRESETS:
            raise ConfigError(f"{path}.preset", f"unknown preset; known: {sorted(PRESETS)}", preset)
        raw_policies += [(f"{path}.preset {preset}[{i}]", p) for i, p in enumerate(PRESETS[preset])]
    policies_raw = value.get("policies", [])
    if not isinstance(policies_raw, list):
        raise ConfigError(f"{path}.policies", "must be a list of tables", policies_raw)
    raw_policies += [(f"{path}.policies[{i}]", p) for i, p in enumerate(policies_raw)]
    priorities = context.raw.get("priorities", ["urgent", "high", "normal", "low"])
    calendars = _calendars(context) if raw_policies else {}
    policies = []
    for ppath, item in raw_policies:
        item = table(item, ppath, _POLICY_KEYS)
        name = item.get("name")
        if not isinstance(name, str) or not name or "|" in name:
            raise ConfigError(f"{ppath}.name", "must be a non-empty name without '|'", name)
        levels_raw = item.get("levels")
        if not isinstance(levels_raw, list) or not levels_raw:
            raise ConfigError(f"{ppath}.levels", "must be a non-empty list of levels", levels_raw)
        levels = tuple(
            _level(lv, f"{ppath}.levels[{i}]", i + 1, priorities, context)
            for i, lv in enumerate(levels_raw)
        )
        named: dict[str, Any] = {}
        for key in ("calendar", "notice_hours"):
            if key in item:
                found = calendars.get(item[key])
                if found is None:
                    raise ConfigError(
                        f"{ppath}.{key}", f"unknown calendar; known: {sorted(calendars)}", item[key]
                    )
                named[key] = found
        on_call = (
            _on_call(item["on_call"], f"{ppath}.on_call", calendars) if "on_call" in item else None
        )
        if (
            any(lv.off_hours == "on_call" for lv in levels)
            and on_call is None
            and "notice_hours" in item
        ):
            raise ConfigError(
                f"{ppath}.on_call", "levels with off_hours = 'on_call' need a rotation"
            )
        policies.append(
            EscalationPolicy(
                name=name,
                levels=levels,
                when=context.condition(item.get("when", {}), f"{ppath}.when"),
                calendar=named.get("calendar"),
                calendar_name=item.get("calendar"),
                notice_hours=named.get("notice_hours"),
                on_call=on_call,
            )
        )
    names = [p.name for p in policies]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise ConfigError(f"{path}.policies", "policy names must be unique", duplicate)
    return EscalationConfig(tuple(policies))
