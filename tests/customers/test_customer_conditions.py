"""``customer.*`` fields in SLA selection and escalation, decided as of the ticket's events
(R-CUS-3, R-SLA-1), on the memory, SQLite and PostgreSQL stores."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk_core import Actor, Helpdesk, reports
from helpdesk_core.customers import customer_facts
from helpdesk_core.model.customers import (
    Customer,
    CustomerCreated,
    CustomerEvent,
    ProfileTimeline,
    TierChanged,
    customer_subject,
)
from helpdesk_core.service import reporting
from helpdesk_core.testing import FixedClock

ADMIN = Actor(id="root", roles={"admin"})
AGENT = Actor(id="a-1", roles={"agent"}, team="after-sales", department="service")
T0 = "2026-11-23T09:00:00+08:00"

CONFIG: dict[str, Any] = {
    "desk": {"default_team": "after-sales", "timezone": "Asia/Shanghai"},
    "storage": {"encryption": "off"},
    "sla": {
        "policies": [
            {
                "name": "vip",
                "when": {"customer.tier": {"in": ["vip", "strategic"]}},
                "targets": {"normal": {"first_response": "10m", "resolution": "2h"}},
            },
            {
                "name": "standard",
                "targets": {"normal": {"first_response": "1h", "resolution": "8h"}},
            },
        ]
    },
    "escalation": {
        "policies": [
            {
                "name": "vip-watch",
                "when": {"customer.tier": "vip"},
                "levels": [
                    {
                        "trigger": {"sla": "first_response", "breached": True},
                        "notify": ["agent:duty-manager"],
                    }
                ],
            }
        ]
    },
}


@pytest.fixture
def desk(store_url: str) -> Iterator[Helpdesk]:
    with Helpdesk(
        config=CONFIG, storage_url=store_url, clock=FixedClock(T0), load_entrypoints=False
    ) as d:
        yield d


def _policies(desk: Helpdesk, ticket_id: str) -> set[str]:
    return {c.policy for c in desk.sla_status(ADMIN, ticket_id)}


def test_sla_policy_is_chosen_by_customer_tier(desk: Helpdesk) -> None:
    """R-CUS-3: a VIP's ticket runs on the VIP policy; a customer without a record and a normal
    customer on the standard one."""
    vip = desk.create_customer(ADMIN, name="Vera", tier="vip")
    plain = desk.create_customer(ADMIN, name="Paul")
    t_vip = desk.open_ticket(Actor(id=vip.id, roles={"customer"}), subject="a", channel="email")
    t_plain = desk.open_ticket(
        Actor(id=plain.id, roles={"customer"}), subject="b", channel="web_form"
    )
    t_none = desk.open_ticket(
        Actor(id="C-elsewhere", roles={"customer"}), subject="c", channel="web_form"
    )
    assert _policies(desk, t_vip.id) == {"vip"}
    assert {c.metric: c.target for c in desk.sla_status(ADMIN, t_vip.id)} == {
        "first_response": timedelta(minutes=10),
        "resolution": timedelta(hours=2),
    }
    assert _policies(desk, t_plain.id) == {"standard"}
    assert _policies(desk, t_none.id) == {"standard"}
    assert desk.sla_explain(ADMIN, t_vip.id).policy == "vip"
    assert desk.sla_explain(ADMIN, t_plain.id).policy == "standard"


def test_sla_policy_follows_the_profile_as_of_each_ticket_event(desk: Helpdesk) -> None:
    """R-CUS-3: raising the tier after the ticket opened changes nothing until the next ticket
    event is decided; from then on the VIP policy applies (targets from the original start)."""
    clock = desk.clock
    assert isinstance(clock, FixedClock)
    cust = desk.create_customer(ADMIN, name="Rising")
    ticket = desk.open_ticket(Actor(id=cust.id, roles={"customer"}), subject="x", channel="email")
    clock.advance(timedelta(minutes=5))
    desk.update_customer(ADMIN, cust.id, tier="vip")
    assert _policies(desk, ticket.id) == {"standard"}
    clock.advance(timedelta(minutes=1))
    desk.assign(ADMIN, ticket.id, AGENT.id)
    assert _policies(desk, ticket.id) == {"vip"}
    first = next(c for c in desk.sla_status(ADMIN, ticket.id) if c.metric == "first_response")
    assert first.due_at == ticket.created_at + timedelta(minutes=10)


def test_reports_count_sla_compliance_under_the_customers_policy(desk: Helpdesk) -> None:
    """R-RPT-1 with R-CUS-3: SLA compliance counts a VIP's ticket under the VIP policy, from the
    stored report facts and from the event stream alike (the pure function given profiles)."""
    vip = desk.create_customer(ADMIN, name="Vera", tier="vip")
    std = desk.create_customer(ADMIN, name="Sam")
    desk.open_ticket(Actor(id=vip.id, roles={"customer"}), subject="a", channel="email")
    desk.open_ticket(Actor(id=std.id, roles={"customer"}), subject="b", channel="email")
    start, end = datetime.fromisoformat(T0), datetime.fromisoformat(T0) + timedelta(minutes=30)
    stored = desk.report(ADMIN, "sla_compliance", start=start, end=end).rows
    first = {r["policy"]: (r["met"], r["breached"], r["open"]) for r in stored
             if r["metric"] == "first_response"}  # fmt: skip
    assert first == {"vip": (0, 1, 0), "standard": (0, 0, 1)}
    with desk.storage.transaction() as uow:
        events = list(reports.stored_events(uow, created_before=end))
        pure = reports.sla_compliance(
            events, start=start, end=end, tz="Asia/Shanghai", sla=desk.sla,
            profiles=reporting.profile_lookup(uow),
        )  # fmt: skip
        blind = reports.sla_compliance(
            events, start=start, end=end, tz="Asia/Shanghai", sla=desk.sla
        )
    assert pure.rows == stored
    assert {r["policy"] for r in blind.rows} == {"standard"}  # without profiles: no tiers


def test_escalation_policy_applies_by_customer_tier(desk: Helpdesk) -> None:
    """R-CUS-3, R-SLA-4: the VIP escalation fires for the VIP's breached ticket only."""
    clock = desk.clock
    assert isinstance(clock, FixedClock)
    vip = desk.create_customer(ADMIN, name="Vera", tier="vip")
    plain = desk.create_customer(ADMIN, name="Paul")
    t_vip = desk.open_ticket(Actor(id=vip.id, roles={"customer"}), subject="a", channel="email")
    desk.open_ticket(Actor(id=plain.id, roles={"customer"}), subject="b", channel="email")
    clock.advance(timedelta(minutes=11))
    run = desk.run_escalations()
    assert run.fired == 1 and all(t_vip.id in key for key in run.keys)
    clock.advance(timedelta(hours=2))
    assert desk.run_escalations().fired == 0  # the standard ticket never matches vip-watch


# -- the timeline itself --------------------------------------------------------------------------
TIERS = ("normal", "vip", "strategic")


def _history(changes: list[tuple[int, str]]) -> list[CustomerEvent]:
    start = datetime.fromisoformat("2026-11-01T00:00:00+00:00")
    events: list[CustomerEvent] = [
        CustomerCreated(
            customer_id="C1", seq=1, at=start, actor="x", kind_of="individual", name="n"
        )
    ]
    at, tier_before = start, "normal"
    for seq, (gap, tier) in enumerate(changes, start=2):
        at += timedelta(minutes=gap)
        events.append(
            TierChanged(
                customer_id="C1", seq=seq, at=at, actor="x",
                from_tier=tier_before, to_tier=tier, reason="test",
            )
        )  # fmt: skip
        tier_before = tier
    return events


@given(
    st.lists(st.tuples(st.integers(0, 30), st.sampled_from(TIERS)), max_size=12),
    st.integers(-10, 400),
)
def test_timeline_equals_the_fold_up_to_the_instant(
    changes: list[tuple[int, str]], minutes: int
) -> None:
    """R-CUS-3: the timeline at an instant is the profile folded from every event at or before
    it (none before the profile existed)."""
    events = _history(changes)
    timeline = ProfileTimeline.of(events)
    assert timeline is not None
    instant = events[0].at + timedelta(minutes=minutes)
    upto = [e for e in events if e.at <= instant]
    expected = customer_subject(Customer.from_events(upto)) if upto else {}
    assert dict(timeline.at(instant)) == expected == customer_facts(events, at=instant)


def test_no_history_no_timeline() -> None:
    assert ProfileTimeline.of([]) is None
