"""Customer commands on a unit of work (what the facade's customer commands call): door
validation, NotFound for hidden and missing alike, history with merged profiles and the
actor's tickets (issue 20, R-CUS-3, R-CUS-5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from helpdesk_core.customer_commands import (
    create_customer_in,
    customer_history_in,
    customer_scope,
    get_customer_in,
    list_customers_in,
    merge_customers_in,
    requester_profile,
    update_customer_in,
)
from helpdesk_core.customers import CustomersConfig
from helpdesk_core.errors import ConcurrencyConflict, NotFound, ValidationError
from helpdesk_core.model.events import TicketCreated
from helpdesk_core.model.people import Actor
from helpdesk_core.model.tickets import Ticket
from helpdesk_core.permissions import PermissionMatrix
from helpdesk_plugins.storage_memory import MemoryStorage

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
SETTINGS = CustomersConfig()
MATRIX = PermissionMatrix.default()
AGENT = Actor(id="a1", roles={"agent"}, team="after-sales")
ADMIN = Actor(id="adm", roles={"admin"})


def _open(uow: object, ticket_id: str, requester: str, team: str | None, n: int) -> None:
    created = TicketCreated(
        ticket_id=ticket_id,
        seq=1,
        at=NOW + timedelta(minutes=n),
        actor="intake",
        number=f"T{n}",
        subject="s",
        type="complaint",
        priority="normal",
        channel="email",
        status="open",
        status_category="open",
        requester=requester,
        team=team,
    )
    uow.save_ticket(Ticket.created(created), [created])  # type: ignore[attr-defined]


@pytest.fixture
def store() -> MemoryStorage:
    store = MemoryStorage()
    with store.transaction() as uow:
        for name in ("Li", "Wang", "Zhao"):
            create_customer_in(uow, actor="a1", now=NOW, settings=SETTINGS, name=name)
        _open(uow, "t1", "C20261122001", "after-sales", 1)
        _open(uow, "t2", "C20261122002", "tech", 2)
        _open(uow, "t3", "C20261122002", "after-sales", 3)
    return store


def test_r_cus_5_an_agent_sees_the_requesters_of_its_teams_tickets(store: MemoryStorage) -> None:
    scope = customer_scope(MATRIX, AGENT)
    with store.transaction() as uow:
        listed = list_customers_in(uow, requester_of=scope, settings=SETTINGS)
        assert [c.id for c in listed] == ["C20261122001", "C20261122002"]
        assert get_customer_in(uow, "C20261122001", scope).name == "Li"
        with pytest.raises(NotFound):  # hidden: no ticket of the agent's team
            get_customer_in(uow, "C20261122003", scope)
        with pytest.raises(NotFound):  # missing: the same answer
            get_customer_in(uow, "C20269999999", scope)
        everyone = list_customers_in(
            uow, requester_of=customer_scope(MATRIX, ADMIN), settings=SETTINGS
        )
        assert len(everyone) == 3


@pytest.mark.parametrize(
    ("filters", "parameter"),
    [
        ({"tier": "gold"}, "tier"),
        ({"limit": 0}, "limit"),
        ({"limit": 5000}, "limit"),
        ({"tag": ""}, "tag"),
        ({"after": 3}, "after"),
    ],
)
def test_the_customer_list_is_validated_at_the_door(
    store: MemoryStorage, filters: dict[str, object], parameter: str
) -> None:
    with store.transaction() as uow, pytest.raises(ValidationError) as info:
        list_customers_in(uow, requester_of=None, settings=SETTINGS, **filters)  # type: ignore[arg-type]
    assert info.value.field == parameter


def test_expected_version_guards_updates(store: MemoryStorage) -> None:
    with store.transaction() as uow:
        updated = update_customer_in(
            uow,
            "C20261122001",
            {"industry": "retail"},
            actor="a1",
            now=NOW,
            settings=SETTINGS,
            expected_version=1,
        )
    assert updated.version == 2
    with store.transaction() as uow, pytest.raises(ConcurrencyConflict):
        update_customer_in(
            uow,
            "C20261122001",
            {"industry": "energy"},
            actor="a1",
            now=NOW,
            settings=SETTINGS,
            expected_version=1,
        )


def test_r_cus_3_history_keeps_both_profiles_after_a_merge(store: MemoryStorage) -> None:
    with store.transaction() as uow:
        merge_customers_in(uow, "C20261122002", "C20261122001", actor="sup", now=NOW)
    with store.transaction() as uow:
        history = customer_history_in(uow, "C20261122001", MATRIX.scope(AGENT, "ticket.view"))
        assert [t.id for t in history.tickets] == ["t3", "t1"]  # t2 is the tech team's
        assert [e.kind for e in history.events] == ["customer_created", "customer_merge_received"]
        assert [e.kind for e in history.merged["C20261122002"]] == [
            "customer_created",
            "customer_merged",
        ]
        profile = requester_profile(uow, "C20261122002")  # open_ticket for the old id
        assert profile is not None and profile.id == "C20261122001"
        assert requester_profile(uow, "kept-elsewhere") is None
    with store.transaction() as uow, pytest.raises(ValidationError) as info:
        merge_customers_in(uow, "C20261122002", "C20261122003", actor="sup", now=NOW)
    assert info.value.field == "source_id"
