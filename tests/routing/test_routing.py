"""Routing rules and strategies (R-RTE-1, R-RTE-2, R-SLA-5, R-CAL-2), through the facade."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_core import Actor, Agent, ConfigError, Helpdesk, hookimpl
from helpdesk_core.config import load_config
from helpdesk_core.errors import AlreadyClaimed, PluginError
from helpdesk_core.routing import RoutingPolicy
from helpdesk_core.testing import FixedClock

ADMIN = Actor(id="root", roles={"admin"})
CUSTOMER = Actor(id="C1", roles={"customer"}, organisation="acme")


CUSTOM_FIELDS = {
    "skills": {"type": "tags"},
    "wanted_skills": {"type": "tags"},
    "complexity": {"type": "int"},
    "ivr": {"type": "text"},
}


def make_desk(
    routing: Mapping[str, Any],
    clock: FixedClock | None = None,
    plugins: list[object] | None = None,
    id_factory: Callable[[], str] | None = None,
) -> Helpdesk:
    return Helpdesk(
        config={
            "desk": {"default_team": "service"},
            "routing": dict(routing),
            "custom_fields": CUSTOM_FIELDS,
        },
        clock=clock or FixedClock("2026-11-02T10:00:00+08:00"),
        plugins=plugins or [],
        load_entrypoints=False,
        id_factory=id_factory,
    )


def agents(desk: Helpdesk, *specs: Agent) -> None:
    for spec in specs:
        desk.save_agent(ADMIN, spec)


def open_one(desk: Helpdesk, **kw: Any) -> Any:
    """Open as the customer; return the ticket as staff see it (customers do not see the
    assignee or team)."""
    t = desk.open_ticket(CUSTOMER, subject=kw.pop("subject", "help"), channel="web_form", **kw)
    return desk.get_ticket(ADMIN, t.id)


@pytest.fixture
def rr_desk() -> Iterator[Helpdesk]:
    with make_desk({"default": {"strategy": "round_robin", "team": "service"}}) as desk:
        yield desk


def test_round_robin_walks_agents_in_id_order(rr_desk: Helpdesk) -> None:
    agents(
        rr_desk, *(Agent(id=f"a{i}", name=f"A{i}", team="service", online=True) for i in (3, 1, 2))
    )
    owners = [open_one(rr_desk).assignee for _ in range(7)]
    assert owners == ["a1", "a2", "a3", "a1", "a2", "a3", "a1"]


@settings(max_examples=60, deadline=None)
@given(n_agents=st.integers(1, 7), n_tickets=st.integers(0, 40), restart_at=st.integers(0, 40))
def test_round_robin_is_fair_within_one_across_restarts(
    n_agents: int, n_tickets: int, restart_at: int
) -> None:
    """R-RTE-1: counts over N agents differ by at most 1, even when the desk restarts (the
    cursor is stored, not held in memory)."""
    routing = {"default": {"strategy": "round_robin", "team": "service"}}
    desk = make_desk(routing)
    agents(
        desk,
        *(Agent(id=f"a{i:02}", name="x", team="service", online=True) for i in range(n_agents)),
    )
    counts: Counter[str | None] = Counter()
    for i in range(n_tickets):
        if i == restart_at:
            reborn = make_desk(routing)
            reborn.storage = desk.storage  # a new process over the same store
            desk = reborn
        counts[open_one(desk).assignee] += 1
    assert None not in counts
    if n_tickets:
        full = [counts.get(f"a{i:02}", 0) for i in range(n_agents)]
        assert max(full) - min(full) <= 1


def test_round_robin_cursor_is_per_rule_and_stored(rr_desk: Helpdesk) -> None:
    agents(rr_desk, Agent(id="a1", name="A", team="service", online=True))
    open_one(rr_desk)
    with rr_desk.storage.transaction() as uow:
        assert uow.load_state("routing:rr:default") == {"cursor": "a1"}


def test_least_loaded_weighs_open_tickets_by_priority() -> None:
    with make_desk({"default": {"strategy": "least_loaded", "team": "service"}}) as desk:
        agents(
            desk,
            Agent(id="light", name="L", team="service", online=True),
            Agent(id="heavy", name="H", team="service", online=True),
        )
        staff = Actor(id="s1", roles={"supervisor"}, team="service")
        # heavy gets one urgent ticket (weight 4); light gets two low ones (weight 1 each)
        for owner, priority in (("heavy", "urgent"), ("light", "low"), ("light", "low")):
            t = desk.open_ticket(
                staff,
                subject="x",
                channel="web_form",
                customer_id="C1",
                priority=priority,
                team="elsewhere",
            )
            desk.assign(staff, t.id, owner, team="service")
        # next ticket: light has 2 open (weight 2) < heavy's 1 urgent (weight 4)
        assert open_one(desk).assignee == "light"
        # light now carries 2 low + 1 normal = 4.0; resolving heavy's urgent ticket frees heavy
        urgent = desk.tickets(staff, assignee="heavy")[0]
        desk.set_status(staff, urgent.id, "in_progress")
        desk.set_status(staff, urgent.id, "resolved")
        assert open_one(desk).assignee == "heavy"


def test_least_loaded_tie_break_is_deterministic_per_ticket() -> None:
    picks = []
    for _ in range(2):
        same_ids = iter(f"id{i}" for i in range(100)).__next__  # same ids each run
        with make_desk(
            {"default": {"strategy": "least_loaded", "team": "service"}, "seed": 7},
            id_factory=same_ids,
        ) as desk:
            agents(
                desk, *(Agent(id=f"a{i}", name="x", team="service", online=True) for i in range(4))
            )
            picks.append([open_one(desk).assignee for _ in range(8)])
    assert picks[0] == picks[1]
    assert Counter(picks[0]) == Counter({"a0": 2, "a1": 2, "a2": 2, "a3": 2})


def test_skills_must_cover_needs_and_best_wanted_match_wins() -> None:
    routing = {
        "rules": [
            {
                "id": "tech",
                "where": {"type": "technical_support"},
                "team": "tech",
                "strategy": "skills",
                "skills": ["network"],
            },
        ],
    }
    with make_desk(routing) as desk:
        agents(
            desk,
            Agent(id="gen", name="G", team="tech", skills={"billing"}, online=True),
            Agent(id="net", name="N", team="tech", skills={"network"}, online=True),
            Agent(id="net5g", name="N5", team="tech", skills={"network", "5g"}, online=True),
        )
        t = open_one(desk, type="technical_support", custom={"wanted_skills": ["5g"]})
        assert t.assignee == "net5g" and t.team == "tech"
        t = open_one(desk, type="technical_support", custom={"skills": ["billing"]})
        # nobody has both network and billing: queued in the team, unassigned
        assert t.assignee is None and t.team == "tech"


def test_capacity_offline_and_tier_filters() -> None:
    routing = {
        "rules": [
            {
                "id": "vip",
                "where": {"customer.tier": "vip"},
                "team": "service",
                "min_tier": 2,
                "strategy": "least_loaded",
            },
        ],
        "default": {"strategy": "round_robin", "team": "service"},
    }
    with make_desk(routing) as desk:
        agents(
            desk,
            Agent(id="busy", name="B", team="service", capacity=1, online=True),
            Agent(id="away", name="A", team="service", online=False),
            Agent(id="senior", name="S", team="service", tier=2, capacity=2, online=True),
        )
        owners = [open_one(desk).assignee for _ in range(4)]
        # "away" is offline; "busy" takes one then is full; "senior" takes two then is full
        assert Counter(owners) == Counter({"busy": 1, "senior": 2, None: 1})
        desk.set_presence(ADMIN, "away", True)
        assert open_one(desk).assignee == "away"


def test_only_agents_on_shift_are_eligible() -> None:
    """R-CAL-2: an agent whose shift calendar is closed gets no new tickets."""
    calendars = pytest.importorskip("helpdesk_core.calendars")
    clock = FixedClock("2026-11-02T20:00:00+08:00")  # a Monday evening in Shanghai
    with make_desk({"default": {"strategy": "round_robin", "team": "service"}}, clock) as desk:
        desk.calendars = {
            "day": calendars.BusinessCalendar(
                tz="Asia/Shanghai", week={"mon-fri": ["09:00-18:00"]}
            ),
            "night": calendars.BusinessCalendar(
                tz="Asia/Shanghai", week={"mon-sun": ["18:00-09:00"]}
            ),
        }
        agents(
            desk,
            Agent(id="d1", name="D", team="service", calendar="day", online=True),
            Agent(id="n1", name="N", team="service", calendar="night", online=True),
        )
        assert {open_one(desk).assignee for _ in range(3)} == {"n1"}
        clock.set("2026-11-03T10:00:00+08:00")
        assert {open_one(desk).assignee for _ in range(3)} == {"d1"}


def test_first_matching_rule_wins_and_guides_preset_routes_by_complexity() -> None:
    with make_desk({"preset": "guides"}) as desk:
        agents(desk, Agent(id="t1", name="T", team="tech", online=True))
        t = open_one(desk, type="after_sales", custom={"complexity": 9})
        assert (t.team, t.assignee) == ("tech", "t1")
        t = open_one(desk, type="complaint")
        assert (t.team, t.assignee) == ("complaints", None)


class _HostRouter:
    def __init__(self, choice: str | None) -> None:
        self.choice = choice
        self.seen: list[list[str]] = []

    @hookimpl
    def helpdesk_route_ticket(self, ticket: Any, candidates: list[Agent]) -> str | None:
        self.seen.append([a.id for a in candidates])
        return self.choice


def test_host_hook_overrides_the_strategy() -> None:
    host = _HostRouter("a2")
    with make_desk(
        {"default": {"strategy": "round_robin", "team": "service"}}, plugins=[host]
    ) as desk:
        agents(desk, *(Agent(id=f"a{i}", name="x", team="service", online=True) for i in (1, 2)))
        assert open_one(desk).assignee == "a2"
        assert host.seen == [["a1", "a2"]]
    ghost = make_desk({"default": {"team": "service"}}, plugins=[_HostRouter("ghost")])
    with ghost, pytest.raises(PluginError, match="ghost"):
        open_one(ghost)


def test_auto_priority_from_intake_then_agent_confirms_or_changes() -> None:
    """R-SLA-5: the channel/IVR choice sets the priority; the agent confirms or corrects it and
    both are kept as events."""
    routing = {
        "priority": [
            {"where": {"channel": "phone", "custom.ivr": "outage"}, "priority": "urgent"},
            {"where": {"type": "complaint"}, "priority": "high"},
        ],
    }
    with make_desk(routing) as desk:
        staff = Actor(id="s1", roles={"supervisor"}, team="service")
        t = desk.open_ticket(CUSTOMER, subject="down", channel="phone", custom={"ivr": "outage"})
        assert (t.priority, t.priority_confirmed) == ("urgent", False)
        t = desk.confirm_priority(staff, t.id)
        assert (t.priority, t.priority_confirmed) == ("urgent", True)
        t2 = open_one(desk, type="complaint")
        t2 = desk.confirm_priority(staff, t2.id, "normal")
        assert t2.priority == "normal"
        kinds = [e.kind for e in desk.history(staff, t2.id)]
        assert "priority_changed" in kinds
        created = desk.history(staff, t2.id)[0]
        assert created.priority_auto is True  # type: ignore[attr-defined]
        # an explicit priority is never overridden
        t3 = open_one(desk, type="complaint", priority="low")
        assert t3.priority == "low"


def test_claim_is_compare_and_set() -> None:
    with make_desk({"default": {"strategy": "queue", "team": "service"}}) as desk:
        t = open_one(desk)
        assert t.assignee is None
        a = Actor(id="a1", roles={"agent"}, team="service")
        b = Actor(id="a2", roles={"agent"}, team="service")
        assert desk.claim(a, t.id).assignee == "a1"
        with pytest.raises(AlreadyClaimed) as err:
            desk.claim(b, t.id)
        assert err.value.owner == "a1"


def test_transfer_with_summary_and_supervisor_approval() -> None:
    """R-RTE-3 / R-ORG-2: a hand-over summary and the steps tried travel with the ticket; a
    rule can require approval before a transfer to tier 3."""
    routing = {"transfer_approval": {"transfer.tier": {"gte": 3}}}
    with make_desk(routing) as desk:
        sup = Actor(id="s1", roles={"supervisor"}, team="service")
        agent = Actor(id="a1", roles={"agent"}, team="service")
        t = open_one(desk)
        desk.claim(agent, t.id)
        t = desk.transfer(
            agent,
            t.id,
            team="tier2",
            tier=2,
            summary="router reboots",
            steps_tried=["power cycle", "reset"],
        )
        assert (t.team, t.tier, t.assignee) == ("tier2", 2, None)
        sup = Actor(id="s2", roles={"supervisor"}, team="tier2")  # tier 2's supervisor
        t = desk.transfer(sup, t.id, team="tech", tier=3, summary="needs firmware")
        assert t.pending_transfer is not None and t.team == "tier2"
        with pytest.raises(Exception, match="awaits approval"):
            desk.transfer(sup, t.id, team="tech", tier=3, summary="again")
        t = desk.decide_transfer(sup, t.id, approve=True, note="ok")
        assert (t.team, t.tier, t.pending_transfer) == ("tech", 3, None)
        kinds = [e.kind for e in desk.history(ADMIN, t.id)]
        assert kinds.count("transferred") == 2 and "transfer_requested" in kinds
        with pytest.raises(Exception, match="summary"):
            desk.transfer(sup, t.id, team="x", summary="  ")


def test_rejected_transfer_leaves_the_ticket_where_it_was() -> None:
    with make_desk({"transfer_approval": {"all": []}}) as desk:
        sup = Actor(id="s1", roles={"supervisor"}, team="service")
        t = open_one(desk)
        t = desk.transfer(sup, t.id, team="tech", summary="s")
        t = desk.decide_transfer(sup, t.id, approve=False, note="handle it here")
        assert (t.team, t.pending_transfer) == ("service", None)


@pytest.mark.parametrize(
    ("routing", "path"),
    [
        ({"rules": [{"strategy": "random"}]}, "routing.rules[0].strategy"),
        ({"rules": [{"min_tier": 0}]}, "routing.rules[0].min_tier"),
        ({"rules": [{"where": {"nope": 1}}]}, "routing.rules[0].where"),
        ({"rules": [{"colour": "red"}]}, "routing.rules[0].colour"),
        ({"default": {"where": {}}}, "routing.default.where"),
        ({"priority": [{"where": {}, "priority": "extreme"}]}, "routing.priority[0].priority"),
        ({"weights": {"urgent": -1}}, "routing.weights.urgent"),
        ({"preset": "nope"}, "routing.preset"),
        ({"rules": [{"id": "x"}, {"id": "x"}]}, "routing.rules"),
    ],
)
def test_bad_routing_config_names_the_key_path(routing: dict[str, Any], path: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config({"routing": routing})
    assert err.value.path.startswith(path)


def test_policy_is_pure_and_deterministic() -> None:
    policy = load_config({"routing": {"preset": "guides"}}).sections["routing"]
    assert isinstance(policy, RoutingPolicy)
    at = datetime.fromisoformat("2026-11-02T10:00:00+08:00")
    assert policy.eligible(policy.default, _ticket(), [], at, {}) == []


def _ticket() -> Any:
    from helpdesk_core.model.events import TicketCreated
    from helpdesk_core.model.tickets import Ticket

    at = datetime.fromisoformat("2026-11-02T10:00:00+08:00")
    return Ticket.created(
        TicketCreated(
            ticket_id="t",
            seq=1,
            at=at,
            actor="C1",
            number="1",
            subject="s",
            description="",
            type="consultation",
            sub_category=None,
            priority="normal",
            urgency=None,
            channel="web_form",
            status="new",
            status_category="new",
            requester="C1",
            organisation=None,
            team=None,
            department=None,
            tags=frozenset(),
            custom={},
            expected_resolution_at=None,
        )
    )
