"""Automatic assignment: ordered rules and strategies (R-RTE-1, R-RTE-2, R-SLA-5, R-CAL-2).

A :class:`RoutingPolicy` is data (config section ``routing``): ordered rules, each a condition in
the shared language, the team (queue) it routes to and how to pick an agent there; the first
matching rule wins and a default rule catches the rest. Picking is pure and deterministic given
the same state (agents, their loads, the stored round-robin cursor); ties are broken by a
seeded pseudo-random choice keyed by the ticket, so a replay picks the same agent.

Strategies:

``round_robin``
    the next eligible agent after the rule's stored cursor, in id order; fair across restarts
    because the cursor is stored with the assignment.
``least_loaded``
    the eligible agent with the least open work, each open ticket weighted by its priority.
``skills``
    agents whose skills cover the most of the ticket's wanted skills beyond the required ones,
    then least loaded.
``queue``
    no agent: the ticket waits in the team's queue to be claimed.

Eligibility: in the rule's team (any team when the rule names none), tier at least the rule's
``min_tier``, skills covering the rule's and the ticket's needs (``custom.skills``), below their
capacity, online (unless the rule allows offline agents) and on shift per their calendar.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Protocol

import attrs

from helpdesk_core.conditions import FALSE, TRUE, Condition, all_of, field_is
from helpdesk_core.config import ConfigContext, config_keys, table
from helpdesk_core.errors import ConfigError
from helpdesk_core.model.people import Agent
from helpdesk_core.model.tickets import Ticket, ticket_subject

STRATEGIES: Final = ("round_robin", "least_loaded", "skills", "queue")
DEFAULT_PRIORITY_WEIGHTS: Final = {"urgent": 4.0, "high": 3.0, "normal": 2.0, "low": 1.0}


class ShiftCalendar(Protocol):
    def is_open(self, t: datetime) -> bool:
        """Whether the shift calendar is open at ``t``."""


@attrs.frozen
class RoutingRule:
    id: str
    where: Condition = TRUE
    team: str | None = None
    strategy: str = "least_loaded"
    skills: frozenset[str] = frozenset()
    min_tier: int = 1
    include_offline: bool = False
    ignore_shift: bool = False
    description: str = ""


@attrs.frozen
class PriorityRule:
    """Auto-priority from intake classification (R-SLA-5): the first matching rule sets the
    priority of a ticket opened without one; the agent confirms or changes it later."""

    where: Condition
    priority: str


LOAD_CATEGORIES: Final = ("new", "open", "pending")
"""Status categories whose tickets count towards an agent's load."""


@attrs.frozen
class AgentLoad:
    agent: Agent
    open_tickets: int = 0
    weighted: float = 0.0


@attrs.frozen
class RoutingDecision:
    """What routing decided and why, in words (kept as the assignment's reason)."""

    rule: str
    strategy: str
    team: str | None
    assignee: str | None
    reason: str
    cursor: str | None = None


@attrs.frozen
class RoutingPolicy:
    rules: tuple[RoutingRule, ...]
    default: RoutingRule = RoutingRule(id="default", strategy="queue")
    priority_rules: tuple[PriorityRule, ...] = ()
    weights: Mapping[str, float] = attrs.field(factory=lambda: dict(DEFAULT_PRIORITY_WEIGHTS))
    seed: int = 0
    auto: bool = True
    transfer_approval: Condition = FALSE
    """Transfers that need a supervisor's approval first (R-RTE-3); reads the ticket's fields
    and ``transfer.team`` / ``transfer.tier``."""

    def needs_approval(self, ticket: Ticket, team: str, tier: int | None) -> bool:
        subject = ticket_subject(ticket)
        subject["transfer.team"] = team
        subject["transfer.tier"] = tier
        return self.transfer_approval.matches(subject)

    def match(self, ticket: Ticket, customer: Mapping[str, Any] | None = None) -> RoutingRule:
        subject = ticket_subject(ticket, customer)
        return next((r for r in self.rules if r.where.matches(subject)), self.default)

    def auto_priority(self, subject: Mapping[str, Any]) -> str | None:
        return next((r.priority for r in self.priority_rules if r.where.matches(subject)), None)

    def eligible(
        self,
        rule: RoutingRule,
        ticket: Ticket,
        loads: Iterable[AgentLoad],
        now: datetime,
        calendars: Mapping[str, ShiftCalendar],
    ) -> list[AgentLoad]:
        needs = rule.skills | _ticket_skills(ticket)
        found = []
        for load in loads:
            agent = load.agent
            if rule.team is not None and agent.team != rule.team:
                continue
            if agent.tier < rule.min_tier or not needs <= agent.skills:
                continue
            if agent.capacity is not None and load.open_tickets >= agent.capacity:
                continue
            if not agent.online and not rule.include_offline:
                continue
            if not rule.ignore_shift and agent.calendar is not None:
                calendar = calendars.get(agent.calendar)
                if calendar is None or not calendar.is_open(now):
                    continue
            found.append(load)
        return sorted(found, key=lambda item: item.agent.id)

    def choose(
        self,
        ticket: Ticket,
        rule: RoutingRule,
        candidates: Sequence[AgentLoad],
        cursor: str | None,
    ) -> RoutingDecision:
        """Pick among eligible ``candidates`` (sorted by id) with the rule's strategy."""
        team = rule.team if rule.team is not None else ticket.team
        if rule.strategy == "queue":
            return RoutingDecision(rule.id, rule.strategy, team, None, f"rule {rule.id}: queued")
        if not candidates:
            return RoutingDecision(
                rule.id, rule.strategy, team, None, f"rule {rule.id}: no eligible agent; queued"
            )
        if rule.strategy == "round_robin":
            ids = [c.agent.id for c in candidates]
            chosen = next((i for i in ids if cursor is None or i > cursor), ids[0])
            return RoutingDecision(
                rule.id,
                rule.strategy,
                team,
                chosen,
                f"rule {rule.id}: round robin after {cursor or 'start'}",
                cursor=chosen,
            )
        pool = list(candidates)
        if rule.strategy == "skills":
            wanted = _ticket_skills(ticket, key="wanted_skills")
            best = max(len(wanted & c.agent.skills) for c in pool)
            pool = [c for c in pool if len(wanted & c.agent.skills) == best]
        lowest = min(c.weighted for c in pool)
        tied = [c for c in pool if c.weighted == lowest]
        chosen_load = random.Random(f"{self.seed}:{ticket.id}").choice(tied)
        return RoutingDecision(
            rule.id,
            rule.strategy,
            team,
            chosen_load.agent.id,
            f"rule {rule.id}: {rule.strategy}, open work {lowest:g} among {len(candidates)}",
        )

    def weight(self, priority: str) -> float:
        return self.weights.get(priority, 1.0)

    def load_condition(self, agents: Sequence[Agent]) -> Condition:
        """The tickets that count towards these agents' loads: assigned to one of them and not
        yet solved (categories new, open and pending)."""
        return all_of(
            [
                field_is("assignee", "in", [a.id for a in agents]),
                field_is("status_category", "in", list(LOAD_CATEGORIES)),
            ]
        )

    def loads(self, agents: Sequence[Agent], assigned: Iterable[Ticket]) -> list[AgentLoad]:
        """Each agent's open tickets, counted and weighted by priority, from the tickets that
        :meth:`load_condition` selects."""
        counts: dict[str, int] = {}
        weights: dict[str, float] = {}
        for ticket in assigned:
            if ticket.assignee is None:
                continue
            counts[ticket.assignee] = counts.get(ticket.assignee, 0) + 1
            weights[ticket.assignee] = weights.get(ticket.assignee, 0.0) + self.weight(
                ticket.priority
            )
        return [AgentLoad(a, counts.get(a.id, 0), weights.get(a.id, 0.0)) for a in agents]


def _ticket_skills(ticket: Ticket, key: str = "skills") -> frozenset[str]:
    value = ticket.custom.get(key)
    if isinstance(value, list | tuple | set | frozenset):
        return frozenset(str(v) for v in value)
    if isinstance(value, str) and value:
        return frozenset({value})
    return frozenset()


_RULE_KEYS: Final = {
    "id", "where", "team", "strategy", "skills", "min_tier", "include_offline",
    "ignore_shift", "description",
}  # fmt: skip
_PRIORITY_RULE_KEYS: Final = frozenset({"where", "priority"})
_KEYS: Final = {
    "preset", "rules", "default", "priority", "weights", "seed", "auto", "transfer_approval",
}  # fmt: skip


def _rule(raw: Any, path: str, context: ConfigContext) -> RoutingRule:
    if not isinstance(raw, Mapping):
        raise ConfigError(path, "must be a table", raw)
    extra = set(raw) - _RULE_KEYS
    if extra:
        raise ConfigError(
            f"{path}.{sorted(extra)[0]}", f"unknown key; expected {sorted(_RULE_KEYS)}"
        )
    strategy = raw.get("strategy", "least_loaded")
    if strategy not in STRATEGIES:
        raise ConfigError(f"{path}.strategy", f"must be one of {STRATEGIES}", strategy)
    skills = raw.get("skills", [])
    if not isinstance(skills, list) or not all(isinstance(s, str) for s in skills):
        raise ConfigError(f"{path}.skills", "must be a list of skill names", skills)
    min_tier = raw.get("min_tier", 1)
    if isinstance(min_tier, bool) or not isinstance(min_tier, int) or min_tier < 1:
        raise ConfigError(f"{path}.min_tier", "must be a whole number >= 1", min_tier)
    team = raw.get("team")
    if team is not None and not isinstance(team, str):
        raise ConfigError(f"{path}.team", "must be a team name", team)
    for key in ("include_offline", "ignore_shift"):
        if not isinstance(raw.get(key, False), bool):
            raise ConfigError(f"{path}.{key}", "must be true or false", raw.get(key))
    return RoutingRule(
        id=str(raw.get("id", path)),
        where=context.condition(raw.get("where", {}), f"{path}.where"),
        team=team,
        strategy=strategy,
        skills=frozenset(skills),
        min_tier=min_tier,
        include_offline=raw.get("include_offline", False),
        ignore_shift=raw.get("ignore_shift", False),
        description=str(raw.get("description", "")),
    )


PRESETS: Final[dict[str, list[dict[str, Any]]]] = {
    # R-RTE-1 / R-RTE-2, the guides' examples
    "guides": [
        {
            "id": "complex-to-tech",
            "where": {"custom.complexity": {"gte": 8}},
            "team": "tech",
            "strategy": "skills",
            "description": "complexity score >= 8 goes to the tech department",
        },
        {
            "id": "vip-after-sales",
            "where": {"type": "after_sales", "customer.tier": {"in": ["vip", "strategic"]}},
            "team": "after-sales",
            "strategy": "least_loaded",
            "min_tier": 2,
            "description": "VIP after-sales goes to a senior after-sales specialist",
        },
        {"id": "complaints", "where": {"type": "complaint"}, "team": "complaints"},
        {"id": "technical", "where": {"type": "technical_support"}, "team": "tech"},
        {"id": "after-sales", "where": {"type": "after_sales"}, "team": "after-sales"},
        {
            "id": "consultation",
            "where": {"type": "consultation"},
            "team": "service",
            "strategy": "round_robin",
        },
    ],
}


@config_keys(
    {
        "routing": _KEYS,
        "routing.rules[]": _RULE_KEYS,
        "routing.default": _RULE_KEYS,
        "routing.priority[]": _PRIORITY_RULE_KEYS,
    }
)
def parse_routing(value: Any, path: str, context: ConfigContext) -> RoutingPolicy:
    """``[routing]``: ``preset``, ``rules`` (list), ``default`` (a rule without ``where``),
    ``priority`` (list of ``{where, priority}``), ``weights`` (priority -> number), ``seed``,
    ``auto`` (route on open)."""
    value = table(value, path, _KEYS)
    raw = context.raw
    preset = value.get("preset")
    if preset is not None and preset not in PRESETS:
        raise ConfigError(f"{path}.preset", f"unknown preset; known: {sorted(PRESETS)}", preset)
    raw_rules = value.get("rules", [])
    if not isinstance(raw_rules, list):
        raise ConfigError(f"{path}.rules", "must be a list of tables", raw_rules)
    rules = [_rule(r, f"{path}.rules[{i}]", context) for i, r in enumerate(raw_rules)]
    if preset is not None:
        rules += [
            _rule(r, f"{path}.preset {preset}[{i}]", context) for i, r in enumerate(PRESETS[preset])
        ]
    default_raw = value.get("default", {"strategy": "queue"})
    if isinstance(default_raw, Mapping) and "where" in default_raw:
        raise ConfigError(f"{path}.default.where", "the default rule matches everything")
    default = _rule({"id": "default", **default_raw}, f"{path}.default", context)
    priorities = []
    raw_priority = value.get("priority", [])
    if not isinstance(raw_priority, list):
        raise ConfigError(f"{path}.priority", "must be a list of {where, priority}", raw_priority)
    known_priorities = raw.get("priorities", list(DEFAULT_PRIORITY_WEIGHTS))
    for i, item in enumerate(raw_priority):
        ppath = f"{path}.priority[{i}]"
        if not isinstance(item, Mapping) or set(item) - _PRIORITY_RULE_KEYS:
            raise ConfigError(ppath, "must be a table with 'where' and 'priority'", item)
        if item.get("priority") not in known_priorities:
            raise ConfigError(
                f"{ppath}.priority", f"must be one of {known_priorities}", item.get("priority")
            )
        priorities.append(
            PriorityRule(
                context.condition(item.get("where", {}), f"{ppath}.where"), item["priority"]
            )
        )
    weights = dict(DEFAULT_PRIORITY_WEIGHTS)
    raw_weights = value.get("weights", {})
    if not isinstance(raw_weights, Mapping):
        raise ConfigError(f"{path}.weights", "must be a table of priority = number", raw_weights)
    for name, number in raw_weights.items():
        if isinstance(number, bool) or not isinstance(number, int | float) or number < 0:
            raise ConfigError(f"{path}.weights.{name}", "must be a number >= 0", number)
        weights[str(name)] = float(number)
    seed = value.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"{path}.seed", "must be an integer", seed)
    auto = value.get("auto", True)
    if not isinstance(auto, bool):
        raise ConfigError(f"{path}.auto", "must be true or false", auto)
    ids = [r.id for r in rules]
    duplicate = next((i for i in ids if ids.count(i) > 1), None)
    if duplicate is not None:
        raise ConfigError(f"{path}.rules", "rule ids must be unique", duplicate)
    approval = (
        context.condition(value["transfer_approval"], f"{path}.transfer_approval")
        if "transfer_approval" in value
        else FALSE
    )
    return RoutingPolicy(tuple(rules), default, tuple(priorities), weights, seed, auto, approval)
