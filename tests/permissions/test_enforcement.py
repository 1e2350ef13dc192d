"""The matrix enforced by every command and query of the facade (R-PRM-1..3, R-SEC-1)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from helpdesk_core import (
    Actor,
    ConfigError,
    Helpdesk,
    NotFound,
    PermissionDenied,
    ValidationError,
    hookimpl,
)
from helpdesk_core.permissions import PermissionMatrix, Rule, mask_email, mask_mobile
from helpdesk_core.testing import FixedClock

CONFIG: dict[str, Any] = {
    "desk": {"default_team": "after-sales"},
    "custom_fields": {
        "mobile": {"type": "text", "pii": "mobile"},
        "email": {"type": "text", "pii": "email"},
        "order_id": {"type": "text"},
    },
    "permissions": {"teams": {"after-sales": "service", "tech": "engineering"}},
}
CUSTOMER = Actor(id="C1", roles={"customer"}, organisation="acme")
AGENT = Actor(id="a-in", roles={"agent"}, team="after-sales", department="service")
OUTSIDER = Actor(id="a-out", roles={"agent"}, team="tech", department="engineering")
SUPERVISOR = Actor(id="s-1", roles={"supervisor"}, department="service")
SALES = Actor(id="sales-1", roles={"sales"}, department="sales")
ADMIN = Actor(id="root", roles={"admin"})


@pytest.fixture
def desk() -> Helpdesk:
    return Helpdesk(
        config=CONFIG, clock=FixedClock("2026-11-02T09:00:00+08:00"), load_entrypoints=False
    )


def _open(desk: Helpdesk, **kw: Any) -> str:
    custom = {"mobile": "13812345678", "email": "example@domain.com", "order_id": "A1"}
    return desk.open_ticket(CUSTOMER, subject="Broken", channel="email", custom=custom, **kw).id


def test_not_found_and_forbidden_look_the_same(desk: Helpdesk) -> None:
    tid = _open(desk)
    with pytest.raises(NotFound) as hidden:
        desk.get_ticket(OUTSIDER, tid)
    with pytest.raises(NotFound) as missing:
        desk.get_ticket(OUTSIDER, "no-such-id")
    assert type(hidden.value) is type(missing.value)
    assert str(hidden.value) == str(missing.value).replace("no-such-id", tid)
    for command in (
        lambda: desk.reply(OUTSIDER, tid, "hi"),
        lambda: desk.assign(OUTSIDER, tid, OUTSIDER.id),
        lambda: desk.history(OUTSIDER, tid),
        lambda: desk.set_priority(OUTSIDER, tid, "high"),
    ):
        with pytest.raises(NotFound):
            command()
    assert (
        desk.explain(OUTSIDER, "ticket.view", tid)
        == f"a-out may NOT ticket.view: ticket {tid} not found"
    )


def test_denied_commands_name_the_rule_and_are_audited(desk: Helpdesk) -> None:
    tid = _open(desk)
    with pytest.raises(PermissionDenied) as info:
        desk.add_note(Actor(id="q", roles={"qa_inspector"}), tid, "looks fine")
    assert info.value.rule == "default-deny" and info.value.action == "ticket.note"
    with pytest.raises(PermissionDenied):
        desk.open_ticket(Actor(id="anon", roles=set()), subject="x", channel="web_form")
    with pytest.raises(PermissionDenied):
        desk.audit_log(AGENT)
    log = desk.audit_log(SUPERVISOR)
    denied = [(r.actor, r.action, r.allowed) for r in log]
    assert ("q", "ticket.note", False) in denied
    assert ("anon", "ticket.create", False) in denied
    assert ("a-in", "audit.view", False) in denied
    assert desk.get_ticket(AGENT, tid).version == 1  # nothing written by the refusals


def test_customer_sees_no_internal_notes_and_masked_nothing_of_their_own(desk: Helpdesk) -> None:
    tid = _open(desk)
    desk.add_note(AGENT, tid, "customer sounds angry")
    desk.reply(AGENT, tid, "We are on it")
    mine = desk.get_ticket(CUSTOMER, tid)
    assert [m.body for m in mine.messages] == ["We are on it"]
    assert mine.custom["mobile"] == "13812345678"  # their own contact data
    assert mine.assignee is None and mine.team is None  # hidden fields for customers
    kinds = [e.kind for e in desk.history(CUSTOMER, tid)]
    assert "note_added" not in kinds and "replied" in kinds


def test_agent_outside_ownership_sees_masked_contact(desk: Helpdesk) -> None:
    tid = _open(desk)
    seen = desk.get_ticket(AGENT, tid)  # same team, not the assignee
    assert seen.custom["mobile"] == "138****5678"
    assert seen.custom["email"] == "exa***@domain.com"
    assert seen.custom["order_id"] == "A1"
    desk.assign(SUPERVISOR, tid, AGENT.id)
    assert desk.get_ticket(AGENT, tid).custom["mobile"] == "13812345678"  # now the handler


def test_masking_helpers_follow_r_cus_2() -> None:
    assert mask_mobile("13812345678") == "138****5678"
    assert mask_mobile("+86 138-1234-5678") == "+86 138-****-5678"
    assert mask_email("example@domain.com") == "exa***@domain.com"
    assert mask_email("ab@x.cn") == "ab***@x.cn"


def test_grant_lifecycle_and_revocation_is_immediate(desk: Helpdesk) -> None:
    tid = _open(desk)
    with pytest.raises(NotFound):
        desk.get_ticket(SALES, tid)
    now = desk.clock.now()
    grant = desk.request_grant(
        SALES,
        grantee=SALES.id,
        actions=["ticket.view", "customer.view"],
        where={"requester": "C1"},
        valid_until=now + timedelta(days=1),
        reason="follow-up sale after repair",
    )
    with pytest.raises(NotFound):  # requested is not approved
        desk.get_ticket(SALES, tid)
    with pytest.raises(ValidationError, match="other than its requester"):
        desk.approve_grant(Actor(id="sales-1", roles={"supervisor"}), grant.id)
    with pytest.raises(PermissionDenied):
        desk.approve_grant(AGENT, grant.id)
    desk.approve_grant(SUPERVISOR, grant.id, note="ok for this week")
    assert desk.get_ticket(SALES, tid).id == tid
    assert [t.id for t in desk.tickets(SALES)] == [tid]
    assert desk.get_ticket(SALES, tid).custom["mobile"] == "138****5678"
    assert "grant:" in desk.explain(SALES, "ticket.view", tid)
    desk.revoke_grant(SUPERVISOR, grant.id)
    with pytest.raises(NotFound):
        desk.get_ticket(SALES, tid)
    assert desk.tickets(SALES) == []
    states = [c.state for c in desk.grants(SUPERVISOR)[0].history]
    assert states == ["requested", "approved", "revoked"]
    audit = desk.audit_log(SUPERVISOR, target=f"grant:{grant.id}")
    assert [(r.actor, r.action, r.allowed) for r in audit] == [
        ("sales-1", "grant.request", True),
        ("a-in", "grant.approve", False),
        ("s-1", "grant.approve", True),
        ("s-1", "grant.approve", True),
    ]


def test_grant_expires_at_valid_until(desk: Helpdesk) -> None:
    tid = _open(desk)
    clock = desk.clock
    assert isinstance(clock, FixedClock)
    grant = desk.request_grant(
        SUPERVISOR,
        role="sales",
        actions=["ticket.view"],
        where={"requester": "C1"},
        valid_until=clock.now() + timedelta(hours=2),
        reason="campaign",
    )
    desk.approve_grant(ADMIN, grant.id)
    assert desk.get_ticket(SALES, tid)
    clock.advance(hours=2)
    with pytest.raises(NotFound):
        desk.get_ticket(SALES, tid)
    assert [g.state for g in desk.expire_grants()] == ["expired"]


def test_export_is_scoped_and_masked(desk: Helpdesk) -> None:
    _open(desk)
    other = Actor(id="C9", roles={"customer"})
    desk.open_ticket(other, subject="Elsewhere", channel="email", team="tech")
    text = desk.export_tickets(SUPERVISOR, columns=["number", "subject", "custom.mobile"])
    lines = text.strip().splitlines()
    assert lines[0] == "number,subject,custom.mobile"
    assert len(lines) == 2 and lines[1].endswith(",Broken,13812345678")  # may view contact
    with pytest.raises(PermissionDenied):
        desk.export_tickets(AGENT)


def test_config_rejects_unknown_roles_and_actions_with_key_path() -> None:
    for rule, path in [
        ({"roles": ["wizard"], "actions": ["ticket.view"]}, "permissions.rules[0].roles"),
        ({"roles": ["agent"], "actions": ["ticket.fly"]}, "permissions.rules[0].actions"),
        (
            {"roles": ["agent"], "actions": ["kb.read"], "scope": "galaxy"},
            "permissions.rules[0].scope",
        ),
        ({"roles": ["agent"], "actions": ["kb.read"], "wher": {}}, "permissions.rules[0].wher"),
    ]:
        with pytest.raises(ConfigError) as info:
            Helpdesk(config={"permissions": {"rules": [rule]}}, load_entrypoints=False)
        assert info.value.path == path
    with pytest.raises(ConfigError) as info:
        Helpdesk(
            config={"permissions": {"fields": {"wizard": {"hidden": []}}}}, load_entrypoints=False
        )
    assert info.value.path == "permissions.fields.wizard"


def test_plugins_add_roles_and_actions_that_config_uses() -> None:
    class Billing:
        @hookimpl
        def helpdesk_register_permissions(self, matrix: PermissionMatrix) -> None:
            matrix.add_role("billing")
            matrix.add_action("invoice.refund")
            matrix.add_rule(
                Rule(id="billing-kb", roles=frozenset({"billing"}), actions=("kb.read",))
            )

    desk = Helpdesk(
        config={
            "permissions": {
                "rules": [{"id": "refunds", "roles": ["billing"], "actions": ["invoice.refund"]}]
            }
        },
        plugins=[Billing()],
        load_entrypoints=False,
    )
    billing = Actor(id="b1", roles={"billing"})
    assert desk.policy.check(billing, "invoice.refund").rule == "refunds"
    assert desk.policy.check(billing, "kb.read").allowed


ROLE_ACTORS = [
    CUSTOMER,
    AGENT,
    OUTSIDER,
    SUPERVISOR,
    SALES,
    ADMIN,
    Actor(id="q", roles={"qa_inspector"}),
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from([None, "after-sales", "tech"]),
            st.sampled_from(["C1", "C2", "C3"]),
            st.sampled_from([None, "a-in", "a-out"]),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_list_equals_check_and_no_unmasked_contact_leaks(
    population: list[tuple[str | None, str, str | None]],
) -> None:
    """R-PRM-2: every list equals the set of single checks; R-CUS-2: no output path returns an
    unmasked contact field to an actor without customer.view_contact on that ticket."""
    desk = Helpdesk(config=CONFIG, load_entrypoints=False)
    ids = []
    for team, requester, assignee in population:
        customer = Actor(id=requester, roles={"customer"})
        tid = desk.open_ticket(
            customer,
            subject="s",
            channel="email",
            team=team,
            custom={"mobile": "13912345678", "email": "someone@example.com"},
        ).id
        if assignee:
            desk.assign(ADMIN, tid, assignee)
        ids.append(tid)
    matrix = desk.policy
    for actor in ROLE_ACTORS:
        listed = {t.id: t for t in desk.tickets(actor, limit=None)}
        with desk.storage.transaction() as uow:
            stored = {tid: uow.get_ticket(tid) for tid in ids}
        allowed = {
            tid for tid, t in stored.items() if matrix.check(actor, "ticket.view", t).allowed
        }
        assert set(listed) == allowed
        assert desk.count_tickets(actor) == len(allowed)
        for tid in allowed:
            raw = stored[tid]
            assert raw is not None
            outputs = [listed[tid], desk.get_ticket(actor, tid)]
            events = desk.history(actor, tid)
            if not matrix.check(actor, "customer.view_contact", raw).allowed:
                for ticket in outputs:
                    assert ticket.custom.get("mobile") in (None, "139****5678")
                    assert ticket.custom.get("email") in (None, "som***@example.com")
                for event in events:
                    assert "13912345678" not in repr(event)
                    assert "someone@example.com" not in repr(event)
