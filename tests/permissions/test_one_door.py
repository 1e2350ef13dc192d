"""Issue 17 "One door": regression tests for the permission leaks found where the authorisation
path forked, on the memory, SQLite and PostgreSQL stores (R-PRM-1..3, R-CUS-2, R-SEC-1).

Defects 7 (linear-time ``matches``) and 8 (custom-field push-down) are tested beside the condition
language and the SQL translator.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from helpdesk_core import (
    Actor,
    ConfigError,
    Helpdesk,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from helpdesk_core.errors import ConditionError
from helpdesk_core.testing import FixedClock

CONFIG: dict[str, Any] = {
    "desk": {"default_team": "after-sales"},
    "custom_fields": {
        "mobile": {"type": "text", "pii": "mobile"},
        "order_id": {"type": "text"},
    },
    "permissions": {"teams": {"after-sales": "service", "tech": "engineering"}},
    "routing": {"auto": False, "transfer_approval": {"transfer.team": "tech"}},
    "storage": {"encryption": "off"},
}
CUSTOMER = Actor(id="C1", roles={"customer"}, organisation="acme")
OTHER_CUSTOMER = Actor(id="C2", roles={"customer"}, organisation="globex")
AGENT = Actor(id="a-in", roles={"agent"}, team="after-sales", department="service")
OUTSIDER = Actor(id="a-out", roles={"agent"}, team="tech", department="engineering")
SUPERVISOR = Actor(id="s-1", roles={"supervisor"}, team="after-sales", department="service")
SALES = Actor(id="sales-1", roles={"sales"}, department="sales")
ADMIN = Actor(id="root", roles={"admin"})


def make_desk(store_url: str, config: dict[str, Any] | None = None) -> Helpdesk:
    return Helpdesk(
        config=config or CONFIG,
        storage_url=store_url,
        clock=FixedClock("2026-11-02T09:00:00+08:00"),
        load_entrypoints=False,
    )


@pytest.fixture
def desk(store_url: str) -> Iterator[Helpdesk]:
    with make_desk(store_url) as d:
        yield d


def _open(desk: Helpdesk, customer: Actor = CUSTOMER, **kw: Any) -> str:
    custom = {"mobile": "13812345678", "order_id": "SO-1"}
    return desk.open_ticket(customer, subject="Broken", channel="email", custom=custom, **kw).id


# -- 1. no caller chooses another action's scope ---------------------------------------------
def test_lists_take_no_action_parameter(desk: Helpdesk) -> None:
    for method in (desk.tickets, desk.count_tickets, desk.export_tickets):
        assert "action" not in inspect.signature(method).parameters
    with pytest.raises(ValidationError, match="action: unknown filter"):
        desk.count_tickets(CUSTOMER, action="kb.read")


def test_customers_and_other_departments_list_only_what_they_may_view(desk: Helpdesk) -> None:
    mine, theirs = _open(desk), _open(desk, OTHER_CUSTOMER)
    assert [t.id for t in desk.tickets(CUSTOMER)] == [mine]
    assert [t.id for t in desk.tickets(OTHER_CUSTOMER)] == [theirs]
    assert desk.tickets(SALES) == [] and desk.count_tickets(SALES) == 0
    assert desk.count_tickets(CUSTOMER) == 1


def test_export_is_within_view_so_a_deny_on_view_restricts_export(store_url: str) -> None:
    config = dict(CONFIG)
    config["permissions"] = {
        **CONFIG["permissions"],
        "rules": [
            {
                "id": "no-vip-view",
                "roles": ["supervisor"],
                "actions": ["ticket.view"],
                "effect": "deny",
                "where": {"priority": "urgent"},
            }
        ],
    }
    with make_desk(store_url, config) as desk:
        plain = desk.open_ticket(CUSTOMER, subject="Plain", channel="email")
        desk.open_ticket(CUSTOMER, subject="Secret", channel="email", priority="urgent")
        rows = desk.export_tickets(SUPERVISOR, columns=["number", "subject"]).splitlines()
        assert rows == ["number,subject", f"{plain.number},Plain"]
        with pytest.raises(PermissionDenied):
            desk.export_tickets(AGENT)  # agents have no ticket.export at all


# -- 2. a hidden ticket's number reads like an unknown number ----------------------------------
def test_hidden_and_unknown_numbers_read_the_same(desk: Helpdesk) -> None:
    number = desk.get_ticket(ADMIN, _open(desk)).number
    with pytest.raises(NotFound) as hidden:
        desk.get_ticket_by_number(OUTSIDER, number)
    with pytest.raises(NotFound) as unknown:
        desk.get_ticket_by_number(OUTSIDER, "T20991231999999")
    assert str(hidden.value) == str(unknown.value).replace("T20991231999999", number)


# -- 3. filters, sorting, counts and writes are no oracle --------------------------------------
def _error(call: Any) -> tuple[type[BaseException], str]:
    with pytest.raises(ConfigError) as caught:
        call()
    return type(caught.value), str(caught.value)


def test_masked_contact_fields_cannot_be_filtered_or_counted(desk: Helpdesk) -> None:
    _open(desk)
    for op in ("eq", "matches"):
        hidden = _error(
            lambda op=op: desk.count_tickets(AGENT, where={"custom.mobile": {op: "^138"}})
        )
        unknown = _error(lambda op=op: desk.count_tickets(AGENT, where={"nosuch": {op: "^138"}}))
        assert hidden[0] is unknown[0] is ConditionError
        assert hidden[1] == unknown[1].replace("nosuch", "custom.mobile")
    # a reader of contact data on every ticket may filter on it
    assert desk.count_tickets(SUPERVISOR, where={"custom.mobile": "13812345678"}) == 1


def test_customers_cannot_filter_on_fields_the_preset_hides(desk: Helpdesk) -> None:
    _open(desk)
    for field in ("assignee", "tags", "department", "team"):
        hidden = _error(lambda f=field: desk.tickets(CUSTOMER, where={f: {"exists": True}}))
        unknown = _error(lambda: desk.tickets(CUSTOMER, where={"nosuch": {"exists": True}}))
        assert hidden == (unknown[0], unknown[1].replace("nosuch", field))
    for name, value in (("assignee", "a-in"), ("tag", "vip"), ("team", "after-sales")):
        with pytest.raises(ConditionError, match="unknown field"):
            desk.tickets(CUSTOMER, **{name: value})
        with pytest.raises(ConditionError, match="unknown field"):
            desk.count_tickets(CUSTOMER, **{name: value})


def test_writing_an_unreadable_field_is_refused_whatever_the_value(desk: Helpdesk) -> None:
    tid = _open(desk)
    before = desk.get_ticket(ADMIN, tid).version
    errors = []
    for guess in ("13812345678", "13900000000"):  # the true value, then a wrong guess
        with pytest.raises(ValidationError) as caught:
            desk.update_ticket(AGENT, tid, custom={"mobile": guess})
        errors.append(str(caught.value))
    assert errors[0] == errors[1] == "custom.mobile: is not a field this actor may edit"
    assert desk.get_ticket(ADMIN, tid).version == before
    # the handling agent sees the contact in clear on their own ticket, and may write it
    desk.assign(SUPERVISOR, tid, AGENT.id)
    assert desk.update_ticket(AGENT, tid, custom={"mobile": "13900000000"}).version > before


# -- 4. history, events and explain go through the field rules ---------------------------------
def test_customer_history_hides_internal_events_and_fields(desk: Helpdesk) -> None:
    tid = _open(desk)
    desk.assign(SUPERVISOR, tid, AGENT.id)
    desk.update_ticket(AGENT, tid, add_tags=["vip"])
    desk.add_note(AGENT, tid, "internal: refund over limit")
    desk.transfer(AGENT, tid, team="tech", summary="needs a firmware look", tier=2)
    desk.decide_transfer(SUPERVISOR, tid, approve=True, note="ok")
    desk.reply(ADMIN, tid, "We are on it.")
    staff = [e.kind for e in desk.history(ADMIN, tid)]
    assert {"note_added", "transfer_requested", "transfer_decided", "transferred"} <= set(staff)
    events = desk.history(CUSTOMER, tid)
    kinds = [e.kind for e in events]
    assert not {"note_added", "transfer_requested", "transfer_decided", "transferred"} & set(kinds)
    assert "replied" in kinds
    for event in events:
        for name in ("assignee", "previous_assignee", "team", "previous_team", "department"):
            assert getattr(event, name, None) is None, (event.kind, name)
        for name in ("tags", "tags_added", "tags_removed"):
            assert not getattr(event, name, frozenset()), (event.kind, name)
    text = repr(events)
    for secret in ("after-sales", "tech", "vip", "firmware", "refund"):
        assert secret not in text


def test_explain_names_no_hidden_field(desk: Helpdesk) -> None:
    tid = _open(desk, OTHER_CUSTOMER)
    desk.assign(SUPERVISOR, tid, AGENT.id)
    text = desk.explain(OTHER_CUSTOMER, "ticket.reply", tid)
    for hidden in ("assignee=", "team=", "team ==", "department=", "a-in", "after-sales"):
        assert hidden not in text, text
    full = desk.explain(CUSTOMER, "ticket.view", tid, asked_by=ADMIN)
    assert "a-in" in full  # an auditor sees the reasoning in full


# -- 5. grant commands check permission before they look at the grant -------------------------
def test_grant_commands_check_first_and_hidden_reads_as_missing(desk: Helpdesk) -> None:
    grant = desk.request_grant(
        SALES,
        grantee=SALES.id,
        actions=["ticket.view"],
        where={"requester": "C1"},
        valid_until=desk.clock.now() + timedelta(days=1),
        reason="follow-up sale",
    )
    desk.revoke_grant(SUPERVISOR, grant.id)
    for command in (desk.approve_grant, desk.reject_grant, desk.revoke_grant):
        with pytest.raises(PermissionDenied) as existing:
            command(AGENT, grant.id)  # revoked already: never said to an agent
        with pytest.raises(PermissionDenied) as missing:
            command(AGENT, "no-such-grant")
        assert str(existing.value) == str(missing.value)
    with pytest.raises(ValidationError, match="already revoked"):
        desk.revoke_grant(SALES, grant.id)  # whoever asked may see their own grant's state
    with pytest.raises(NotFound):
        desk.approve_grant(SUPERVISOR, "no-such-grant")


# -- 6. a customer's ticket belongs to the customer's organisation -----------------------------
def test_customer_cannot_open_in_another_organisation(desk: Helpdesk) -> None:
    with pytest.raises(ValidationError, match=r"^organisation:"):
        desk.open_ticket(CUSTOMER, subject="x", channel="email", organisation="globex")
    own = desk.open_ticket(CUSTOMER, subject="x", channel="email", organisation="acme")
    assert desk.get_ticket(ADMIN, own.id).organisation == "acme"
    implicit = desk.open_ticket(CUSTOMER, subject="y", channel="email")
    assert desk.get_ticket(ADMIN, implicit.id).organisation == "acme"
    assert desk.tickets(OTHER_CUSTOMER) == []


# -- the door -----------------------------------------------------------------------------------
def test_the_door_refuses_a_non_actor_and_a_bad_now(desk: Helpdesk) -> None:
    tid = _open(desk)
    with pytest.raises(ValidationError, match=r"^actor:"):
        desk.get_ticket("root", tid)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"^now:"):
        desk.get_ticket(ADMIN, tid, now="garbage")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"^limit:"):
        desk.tickets(ADMIN, limit=-1)
    with pytest.raises(ValidationError, match=r"^order_by:"):
        desk.tickets(ADMIN, order_by="nosuch")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"^columns:"):
        desk.export_tickets(ADMIN, columns=["nope"])
    with pytest.raises(ValidationError, match=r"^status:"):
        desk.tickets(ADMIN, status=5)  # type: ignore[arg-type]


def test_set_status_to_the_current_status_is_a_checked_no_op(desk: Helpdesk) -> None:
    tid = _open(desk)
    before = desk.get_ticket(ADMIN, tid)
    assert desk.set_status(ADMIN, tid, before.status).version == before.version
    with pytest.raises(NotFound):
        desk.set_status(OUTSIDER, tid, before.status)


def test_reopen_takes_the_workflows_reopen_transition(desk: Helpdesk) -> None:
    tid = _open(desk)
    desk.assign(SUPERVISOR, tid, AGENT.id)
    from helpdesk_core import InvalidTransition

    with pytest.raises(InvalidTransition):
        desk.reopen(AGENT, tid)  # assigned has no reopen transition
    desk.set_status(AGENT, tid, "resolved")
    reopened = desk.reopen(CUSTOMER, tid, reason="still broken")
    assert reopened.status == "in_progress"
    assert desk.get_ticket(ADMIN, tid).reopen_count == 1
