"""Customers through the facade (R-CUS-1..5, R-TKT-5), on the memory, SQLite and PostgreSQL
stores: permissions, scope, masking, history, facts, merge, duplicates, and list == check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk_core import Actor, Helpdesk, NotFound, PermissionDenied
from helpdesk_core.testing import FixedClock

CONFIG: dict[str, Any] = {
    "desk": {"default_team": "after-sales", "timezone": "Asia/Shanghai"},
    "permissions": {"teams": {"after-sales": "service", "tech": "engineering"}},
    "customers": {"tier_rules": [{"when": {"fact.spend": {"gte": 10000}}, "tier": "vip"}]},
    "storage": {"encryption": "off"},
}
ADMIN = Actor(id="root", roles={"admin"})
SUPERVISOR = Actor(id="s-1", roles={"supervisor"}, team="after-sales", department="service")
AGENT = Actor(id="a-1", roles={"agent"}, team="after-sales", department="service")
OUTSIDER = Actor(id="a-9", roles={"agent"}, team="tech", department="engineering")


@pytest.fixture
def desk(store_url: str) -> Iterator[Helpdesk]:
    with Helpdesk(
        config=CONFIG,
        storage_url=store_url,
        clock=FixedClock("2026-11-22T09:00:00+08:00"),
        load_entrypoints=False,
    ) as d:
        yield d


def test_numbers_permissions_scope_and_masking(desk: Helpdesk) -> None:
    """R-CUS-1, R-CUS-2, R-CUS-5, R-PRM-2."""
    alice = desk.create_customer(
        SUPERVISOR, name="Alice", emails=["alice@example.com"], phones=["13812345678"]
    )
    bob = desk.create_customer(SUPERVISOR, name="Bob", emails=["bob@example.com"])
    assert (alice.id, bob.id) == ("C20261122001", "C20261122002")
    assert alice.emails == ("alice@example.com",)  # a supervisor sees contacts in clear
    with pytest.raises(PermissionDenied):
        desk.create_customer(Actor(id="C9", roles={"customer"}), name="Mallory")
    desk.open_ticket(AGENT, subject="Broken", channel="email", customer_id=alice.id)
    # the agent sees Alice (requester of a team ticket), masked; Bob is hidden like a missing one
    seen = desk.get_customer(AGENT, alice.id)
    assert seen.emails == ("ali***@example.com",) and seen.phones == ("138****5678",)
    with pytest.raises(NotFound) as hidden:
        desk.get_customer(AGENT, bob.id)
    with pytest.raises(NotFound) as missing:
        desk.get_customer(AGENT, "C20991231001")
    assert str(hidden.value) == str(missing.value).replace("C20991231001", bob.id)
    assert [c.id for c in desk.customers(AGENT)] == [alice.id]
    assert desk.customers(OUTSIDER) == []
    assert desk.find_customer(AGENT, email="ALICE@example.com") == seen
    assert desk.find_customer(AGENT, email="bob@example.com") is None


def test_ticket_carries_the_customers_organisation_and_duplicates_are_flagged(
    desk: Helpdesk,
) -> None:
    """R-TKT-5: a resubmission is flagged on the new ticket, never merged by itself."""
    acme = desk.create_customer(SUPERVISOR, name="Acme Ltd", kind="company", organisation="acme")
    first = desk.open_ticket(
        AGENT,
        subject="Order SO-2026-0042 arrived broken",
        description="The parcel was crushed and the screen is cracked.",
        channel="email",
        customer_id=acme.id,
    )
    again = desk.open_ticket(
        AGENT,
        subject="order SO-2026-0042 arrived broken!! urgent",
        description="The parcel was crushed, and the screen is cracked.",
        channel="email",
        customer_id=acme.id,
    )
    other = desk.open_ticket(
        AGENT,
        subject="Order SO-2026-0077 arrived broken",
        description="The parcel was crushed and the screen is cracked.",
        channel="email",
        customer_id=acme.id,
    )
    assert desk.get_ticket(ADMIN, first.id).organisation == "acme"
    assert desk.get_ticket(ADMIN, again.id).suspected_duplicates == (first.id,)
    assert first.id not in desk.get_ticket(ADMIN, other.id).suspected_duplicates
    assert "duplicate_suspected" in [e.kind for e in desk.history(ADMIN, again.id)]


def test_facts_raise_the_tier_history_summary_and_merge(desk: Helpdesk) -> None:
    """R-CUS-3, R-CUS-4."""
    carol = desk.create_customer(SUPERVISOR, name="Carol", tags=["frequent buyer"])
    with pytest.raises(NotFound):  # no ticket in the supervisor's department yet (R-PRM-2)
        desk.get_customer(SUPERVISOR, carol.id)
    desk.open_ticket(AGENT, subject="Invoice", channel="email", customer_id=carol.id)
    raised = desk.record_customer_fact(SUPERVISOR, carol.id, "spend", 12000)
    assert raised.tier == "vip"
    events, _ = desk.customer_history(SUPERVISOR, carol.id)
    assert [e.kind for e in events][-2:] == ["fact_recorded", "tier_changed"]
    assert "VIP" in desk.customer_summary(SUPERVISOR, carol.id)
    assert desk.customer_summary(SUPERVISOR, carol.id, locale="zh-CN")
    dup = desk.create_customer(SUPERVISOR, name="Carol (duplicate)")
    ticket = desk.open_ticket(AGENT, subject="Where is it", channel="email", customer_id=dup.id)
    merged = desk.merge_customers(SUPERVISOR, dup.id, carol.id)
    assert merged.id == carol.id
    assert desk.get_ticket(ADMIN, ticket.id).requester == carol.id
    updated = desk.update_customer(SUPERVISOR, carol.id, industry="retail")
    assert updated.industry == "retail"


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    teams=st.lists(st.sampled_from(["after-sales", "tech", None]), min_size=1, max_size=6),
    viewer=st.sampled_from([AGENT, OUTSIDER, SUPERVISOR, ADMIN]),
)
def test_customer_list_equals_check(desk: Helpdesk, teams: list[str | None], viewer: Actor) -> None:
    """A list never shows a customer a single check hides, and the reverse (R-PRM-2)."""
    made = []
    for team in teams:
        customer = desk.create_customer(ADMIN, name="Someone")
        desk.open_ticket(
            ADMIN, subject="Help", channel="web_form", customer_id=customer.id, team=team
        )
        made.append(customer.id)
    listed = {c.id for c in desk.customers(viewer, limit=1000)}
    for customer_id in made:
        try:
            desk.get_customer(viewer, customer_id)
            visible = True
        except NotFound:
            visible = False
        assert (customer_id in listed) == visible


def test_a_rule_on_customer_tier_lists_what_a_check_allows(tmp_path: Path) -> None:
    """R-CUS-5: with a rule reading ``customer.tier`` the pushed-down list and the single
    check (which loads the requester's profile) agree, on SQLite."""
    pytest.importorskip("sqlalchemy")
    config = dict(CONFIG)
    config["permissions"] = {
        **CONFIG["permissions"],
        "rules": [
            {
                "id": "strategic-to-supervisors",
                "roles": ["agent"],
                "actions": ["ticket.view"],
                "effect": "deny",
                "where": {"customer.tier": "strategic"},
            }
        ],
    }
    with Helpdesk(
        config=config,
        storage_url=f"sqlite:///{tmp_path / 'tier.db'}",
        clock=FixedClock("2026-11-22T09:00:00+08:00"),
        load_entrypoints=False,
    ) as desk:
        big = desk.create_customer(ADMIN, name="Big Co", kind="company", tier="strategic")
        small = desk.create_customer(ADMIN, name="Small")
        hidden = desk.open_ticket(ADMIN, subject="x", channel="email", customer_id=big.id)
        shown = desk.open_ticket(ADMIN, subject="y", channel="email", customer_id=small.id)
        assert [t.id for t in desk.tickets(AGENT)] == [shown.id]
        assert desk.get_ticket(AGENT, shown.id).id == shown.id
        with pytest.raises(NotFound):
            desk.get_ticket(AGENT, hidden.id)


def test_routing_rules_read_the_requesters_tier() -> None:
    """R-RTE-1: "VIP after-sales goes to a senior after-sales specialist"."""
    from helpdesk_core import Agent

    config = {
        "desk": {"default_team": "after-sales"},
        "routing": {
            "rules": [
                {
                    "id": "vip",
                    "where": {"customer.tier": "vip"},
                    "team": "after-sales",
                    "strategy": "round_robin",
                    "min_tier": 2,
                }
            ],
        },
    }
    with Helpdesk(
        config=config, clock=FixedClock("2026-11-22T09:00:00+08:00"), load_entrypoints=False
    ) as desk:
        desk.save_agent(ADMIN, Agent(id="junior", name="J", team="after-sales", online=True))
        desk.save_agent(
            ADMIN, Agent(id="senior", name="S", team="after-sales", tier=2, online=True)
        )
        vip = desk.create_customer(ADMIN, name="V", tier="vip")
        ticket = desk.open_ticket(
            Actor(id=vip.id, roles={"customer"}), subject="Broken", channel="email"
        )
        assert desk.get_ticket(ADMIN, ticket.id).assignee == "senior"


def test_merge_moves_tickets_through_the_command_path(desk: Helpdesk) -> None:
    """R-CUS-4: the moved ticket's ``requester_changed`` gets its outbox row like any event."""
    keep = desk.create_customer(SUPERVISOR, name="Keep")
    dup = desk.create_customer(SUPERVISOR, name="Dup")
    ticket = desk.open_ticket(AGENT, subject="Where", channel="email", customer_id=dup.id)
    desk.merge_customers(ADMIN, dup.id, keep.id)
    moved = desk.history(ADMIN, ticket.id)[-1]
    assert moved.kind == "requester_changed"
    with desk.storage.transaction() as uow:
        rows = {m.key: m for m in uow.outbox() if m.topic == "event"}
    row = rows[f"event:{ticket.id}:{moved.seq}"]
    assert row.payload["kind"] == "requester_changed"
    assert row.payload["to_requester"] == keep.id
