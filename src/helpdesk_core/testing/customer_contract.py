"""Storage contract for customers (issue 20), mixed into
:class:`~helpdesk_core.testing.storage_contract.StorageContract` so every store runs it.

What a store must do: keep profiles and their events with the ticket rules for optimistic
versions, index contacts by their normalised keys, list customers by tier/tag/organisation with
a keyset cursor and the actor's scope (``requester_of``: list == check), evaluate ``customer.*``
ticket conditions against the requester's current profile, and hand out customer numbers that
never repeat.
"""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk_core.conditions import compile_condition
from helpdesk_core.config import load_config
from helpdesk_core.customer_commands import (
    create_customer_in,
    customer_scope,
    customer_visible,
    find_customer_in,
    merge_customers_in,
    record_customer_fact_in,
    update_customer_in,
)
from helpdesk_core.customer_numbers import allocate_customer_number
from helpdesk_core.customers import CustomersConfig, change_customer, new_customer
from helpdesk_core.errors import ConcurrencyConflict
from helpdesk_core.model.customers import (
    Customer,
    CustomerEvent,
    customer_event_to_dict,
    customer_subject,
)
from helpdesk_core.model.events import TicketCreated
from helpdesk_core.model.people import Actor
from helpdesk_core.model.tickets import Ticket, ticket_subject
from helpdesk_core.permissions import PermissionMatrix
from helpdesk_core.ports import CustomerQuery, Storage, TicketQuery

_RUNS = itertools.count()
"""Fresh id prefixes for the examples of a property test that share one store."""
C0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
SETTINGS = load_config({"customers": {"tag_types": {"segment": ["enterprise", "smb"]}}}).sections[
    "customers"
]


def make_customer(customer_id: str, **fields: Any) -> tuple[Customer, list[CustomerEvent]]:
    fields.setdefault("name", f"Customer {customer_id}")
    customer, events = new_customer(
        customer_id, actor="agent-1", now=fields.pop("now", C0), settings=SETTINGS, **fields
    )
    return customer, list(events)


def _ticket(
    ticket_id: str, n: int, requester: str | None, **fields: Any
) -> tuple[Ticket, TicketCreated]:
    created = TicketCreated(
        ticket_id=ticket_id,
        seq=1,
        at=C0 + timedelta(minutes=n),
        actor="agent-1",
        number=fields.pop("number", f"T{n:08d}"),
        subject=f"Ticket {n}",
        type="complaint",
        priority="normal",
        channel="email",
        status="new",
        status_category="new",
        requester=requester,
        **fields,
    )
    return Ticket.created(created), created


class CustomerContract:
    """Customer duties of a Storage; the ``storage`` fixture comes from the subclass."""

    def test_customer_round_trips_and_folds(self, storage: Storage) -> None:
        customer, events = make_customer(
            "C20261122001",
            emails=["li.wei@example.com", "lw@work.example"],
            phones=["+86 138-1234-5678"],
            organisation="acme",
            tags=["frequent buyer", "segment:enterprise"],
        )
        with storage.transaction() as uow:
            uow.save_customer(customer, events)
        changed, more = change_customer(
            customer,
            {"industry": "retail", "tier": "vip"},
            actor="sup-1",
            now=C0 + timedelta(days=1),
            settings=SETTINGS,
            reason="tier raised to vip after purchase",
        )
        with storage.transaction() as uow:
            uow.save_customer(changed, more)
        with storage.transaction() as uow:
            stored = uow.get_customer("C20261122001")
            history = uow.customer_events("C20261122001")
            assert stored == changed == Customer.from_events(history)
            assert [customer_event_to_dict(e) for e in history] == [
                customer_event_to_dict(e) for e in [*events, *more]
            ]
            assert [e.seq for e in uow.customer_events("C20261122001", after_seq=1)] == [2, 3]
            assert uow.get_customer("C404") is None

    def test_customer_stale_version_and_taken_id_conflict(self, storage: Storage) -> None:
        customer, events = make_customer("C1")
        with storage.transaction() as uow:
            uow.save_customer(customer, events)
        first, first_events = change_customer(
            customer, {"industry": "retail"}, actor="a", now=C0, settings=SETTINGS
        )
        with storage.transaction() as uow:
            uow.save_customer(first, first_events)
        stale, stale_events = change_customer(
            customer, {"industry": "energy"}, actor="b", now=C0, settings=SETTINGS
        )
        with pytest.raises(ConcurrencyConflict) as info, storage.transaction() as uow:
            uow.save_customer(stale, stale_events)
        assert info.value.current_version == 2
        again, again_events = make_customer("C1", name="Someone else")
        with pytest.raises(ConcurrencyConflict), storage.transaction() as uow:
            uow.save_customer(again, again_events)
        with storage.transaction() as uow:
            assert uow.get_customer("C1") == first

    def test_customer_writes_roll_back_with_the_transaction(self, storage: Storage) -> None:
        customer, events = make_customer("C1", emails=["a@example.com"])
        with pytest.raises(RuntimeError), storage.transaction() as uow:
            uow.save_customer(customer, events)
            assert uow.get_customer("C1") == customer  # reads see own writes
            raise RuntimeError("boom")
        with storage.transaction() as uow:
            assert uow.get_customer("C1") is None
            assert uow.customer_events("C1") == []
            assert uow.find_customers("email:a@example.com") == []

    def test_contacts_are_found_by_normalised_keys(self, storage: Storage) -> None:
        customer, events = make_customer(
            "C1", emails=["Li.Wei@Example.com"], phones=["+86 138-1234-5678"]
        )
        other, other_events = make_customer("C2", emails=["wang@example.com"])
        with storage.transaction() as uow:
            uow.save_customer(customer, events)
            uow.save_customer(other, other_events)
        with storage.transaction() as uow:
            assert find_customer_in(uow, email="ＬＩ.wei@example.COM ") == customer
            assert find_customer_in(uow, phone="13812345678") == customer
            assert find_customer_in(uow, phone="0086 138 1234 5678") == customer
            assert find_customer_in(uow, email="li.wei@example.com", phone="138") is None
            assert find_customer_in(uow, email="nobody@example.com") is None
        with storage.transaction() as uow:
            update_customer_in(
                uow,
                "C1",
                {"emails": ["new@example.com"]},
                actor="a",
                now=C0 + timedelta(hours=1),
                settings=SETTINGS,
            )
        with storage.transaction() as uow:
            assert find_customer_in(uow, email="li.wei@example.com") is None
            found = find_customer_in(uow, email="NEW@example.com")
            assert found is not None and found.id == "C1"

    def _customers(self, storage: Storage, n: int = 23) -> list[Customer]:
        made = []
        with storage.transaction() as uow:
            for i in range(n):
                customer, events = make_customer(
                    f"C{i:03d}",
                    tier=("normal", "vip", "strategic")[i % 3],
                    organisation=("acme", "globex", None)[i % 3 if i % 2 else 2],
                    tags=["frequent buyer"] if i % 4 == 0 else [],
                )
                uow.save_customer(customer, events)
                made.append(customer)
        return made

    @pytest.mark.parametrize(
        "filters",
        [
            {},
            {"tier": "vip"},
            {"tag": "frequent buyer"},
            {"organisation": "acme"},
            {"tier": "normal", "tag": "frequent buyer"},
        ],
    )
    def test_customer_list_filters_and_keyset_pages(
        self, storage: Storage, filters: dict[str, Any]
    ) -> None:
        made = self._customers(storage)
        query = CustomerQuery(**filters, limit=None)
        expected = sorted(c.id for c in made if query.matches(c))
        seen: list[str] = []
        after = None
        while True:
            with storage.transaction() as uow:
                page = uow.query_customers(CustomerQuery(**filters, after=after, limit=4))
            if not page:
                break
            seen.extend(c.id for c in page)
            after = page[-1].id
        assert seen == expected

    def test_merge_moves_tickets_and_keeps_both_histories(self, storage: Storage) -> None:
        source, source_events = make_customer("C1", emails=["old@example.com"], tags=["a"])
        into, into_events = make_customer("C2", emails=["new@example.com"], organisation="acme")
        with storage.transaction() as uow:
            uow.save_customer(source, source_events)
            uow.save_customer(into, into_events)
            for i, requester in enumerate(["C1", "C1", "C2", "C3"]):
                ticket, created = _ticket(f"t{i}", i, requester)
                uow.save_ticket(ticket, [created])
        with storage.transaction() as uow:
            survivor = merge_customers_in(uow, "C1", "C2", actor="sup-1", now=C0 + timedelta(1))
        assert survivor.merged_from == frozenset({"C1"}) and "a" in survivor.tags
        with storage.transaction() as uow:
            moved = uow.query_tickets(
                TicketQuery(where=compile_condition({"requester": "C2"}), limit=None)
            )
            assert sorted(t.id for t in moved) == ["t0", "t1", "t2"]
            assert all(t.organisation == "acme" for t in moved if t.id != "t2")
            assert [e.kind for e in uow.ticket_events("t0")][-1] == "requester_changed"
            assert [e.kind for e in uow.customer_events("C1")] == [
                "customer_created",
                "customer_merged",
            ]
            assert [e.kind for e in uow.customer_events("C2")][-1] == "customer_merge_received"
            found = find_customer_in(uow, email="old@example.com")
            assert found is not None and found.id == "C2"
            listed = uow.query_customers(CustomerQuery(limit=None))
            assert [c.id for c in listed] == ["C2"]
            assert len(uow.query_customers(CustomerQuery(include_merged=True, limit=None))) == 2

    @pytest.mark.parametrize(
        "condition",
        [
            {"customer.tier": "vip"},
            {"customer.tier": {"in": ["vip", "strategic"]}, "priority": "normal"},
            {"customer.tier": None},
            {"not": {"customer.tier": {"eq": "vip"}}},
            {"customer.tags": {"contains": "frequent buyer"}},
            {"customer.tags": {"exists": False}},
            {"customer.organisation": "acme"},
            {"customer.kind": "company", "customer.industry": {"ne": "retail"}},
            {"any": [{"customer.tier": "strategic"}, {"team": "tech"}]},
        ],
    )
    def test_ticket_conditions_read_the_requesters_profile(
        self, storage: Storage, condition: dict[str, Any]
    ) -> None:
        customers = {c.id: c for c in self._customers(storage, 9)}
        tickets = []
        with storage.transaction() as uow:
            for i in range(24):
                requester = None if i % 5 == 4 else f"C{i % 12:03d}"  # C009+: no profile
                ticket, created = _ticket(f"t{i:03d}", i, requester, team=("tech", None)[i % 2])
                uow.save_ticket(ticket, [created])
                tickets.append(ticket)
        where = compile_condition(condition)

        def subject(t: Ticket) -> dict[str, Any]:
            profile = customers.get(t.requester or "")
            return ticket_subject(t, customer_subject(profile))

        expected = [t.id for t in tickets if where.matches(subject(t))]
        with storage.transaction() as uow:
            got = uow.query_tickets(TicketQuery(where=where, limit=None))
            assert [t.id for t in got] == expected
            assert uow.count_tickets(where) == len(expected)

    def test_customer_scope_list_equals_check(self, storage: Storage) -> None:
        """R-CUS-5: an actor lists exactly the customers a single check lets it see (the
        requesters of tickets it may view; everyone for unrestricted roles)."""
        matrix = PermissionMatrix.default()
        matrix.teams.update({"after-sales": "service", "tech": "engineering"})
        made = self._customers(storage, 12)
        with storage.transaction() as uow:
            for i in range(30):
                ticket, created = _ticket(
                    f"t{i:03d}",
                    i,
                    f"C{(i * 5) % 14:03d}",  # C012, C013: no profile
                    team=("after-sales", "tech", None)[i % 3],
                    department=("service", None)[i % 2],
                    assignee=(None, "a1", "a2")[i % 3],
                )
                uow.save_ticket(ticket, [created])
        actors = [
            Actor(id="a1", roles={"agent"}, team="after-sales", department="service"),
            Actor(id="a2", roles={"agent"}),
            Actor(id="s1", roles={"supervisor"}, department="service"),
            Actor(id="adm", roles={"admin"}),
            Actor(id="C001", roles={"customer"}),
            Actor(id="x", roles=set()),
        ]
        sizes = set()
        for actor in actors:
            scope = customer_scope(matrix, actor)
            with storage.transaction() as uow:
                listed = uow.query_customers(
                    CustomerQuery(requester_of=scope, include_merged=True, limit=None)
                )
                checked = [c.id for c in made if customer_visible(uow, c.id, scope)]
            assert [c.id for c in listed] == checked, actor.id
            sizes.add(len(checked))
        assert len(sizes) >= 3  # the actors really see different customers

    @settings(
        max_examples=12,
        deadline=None,
        # one store per test (the examples use fresh ids); each store class runs it once
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.differing_executors,
        ],
    )
    @given(data=st.data())
    def test_property_customer_list_equals_check(self, storage: Storage, data: Any) -> None:
        """Hypothesis: for random tickets, profiles and actors, the customers listed under an
        actor's scope are exactly those a single check shows (each example uses fresh ids)."""
        run = f"h{next(_RUNS)}-"
        matrix = PermissionMatrix.default()
        matrix.teams.update({"after-sales": "service", "tech": "engineering"})
        profiles = data.draw(st.sets(st.integers(0, 7), max_size=8), label="profiles")
        rows = data.draw(
            st.lists(
                st.tuples(
                    st.integers(0, 7),
                    st.sampled_from(["after-sales", "tech", None]),
                    st.sampled_from(["a1", "a2", None]),
                    st.sampled_from(["service", None]),
                ),
                max_size=12,
            ),
            label="tickets",
        )
        with storage.transaction() as uow:
            for n in sorted(profiles):
                customer, events = make_customer(f"{run}C{n}", tier=("normal", "vip")[n % 2])
                uow.save_customer(customer, events)
            for i, (who, team, assignee, department) in enumerate(rows):
                ticket, created = _ticket(
                    f"{run}t{i}",
                    i,
                    f"{run}C{who}",
                    team=team,
                    assignee=assignee,
                    department=department,
                    number=f"{run}T{i}",
                )
                uow.save_ticket(ticket, [created])
        actor = data.draw(
            st.sampled_from(
                [
                    Actor(id="a1", roles={"agent"}, team="after-sales", department="service"),
                    Actor(id="a2", roles={"agent"}),
                    Actor(id="s1", roles={"supervisor"}, department="service"),
                    Actor(id="adm", roles={"admin"}),
                    Actor(id="x", roles=set()),
                ]
            ),
            label="actor",
        )
        scope = customer_scope(matrix, actor)
        with storage.transaction() as uow:
            listed = [
                c.id
                for c in uow.query_customers(
                    CustomerQuery(requester_of=scope, include_merged=True, limit=None)
                )
                if c.id.startswith(run)
            ]
            checked = [
                f"{run}C{n}" for n in sorted(profiles) if customer_visible(uow, f"{run}C{n}", scope)
            ]
        assert listed == sorted(checked)

    def test_permission_rules_on_customer_fields_list_equals_check(self, storage: Storage) -> None:
        """A rule on ``customer.tier`` gives the same tickets listed (pushed into storage) as
        checked one by one with the requester's profile."""
        matrix = PermissionMatrix.from_config(
            load_config(
                {
                    "permissions": {
                        "preset": "none",
                        "rules": [
                            {
                                "id": "vip-desk",
                                "roles": ["agent"],
                                "actions": ["ticket.view"],
                                "where": {"customer.tier": {"in": ["vip", "strategic"]}},
                            },
                            {
                                "id": "no-acme",
                                "roles": ["agent"],
                                "actions": ["ticket.view"],
                                "where": {"customer.organisation": "acme"},
                                "effect": "deny",
                            },
                        ],
                    }
                }
            ).sections["permissions"]
        )
        customers = {c.id: c for c in self._customers(storage, 9)}
        tickets = []
        with storage.transaction() as uow:
            for i in range(20):
                ticket, created = _ticket(f"t{i:03d}", i, f"C{i % 11:03d}")
                uow.save_ticket(ticket, [created])
                tickets.append(ticket)
        agent = Actor(id="a1", roles={"agent"}, team="after-sales")
        expected = [
            t.id
            for t in tickets
            if matrix.check(
                agent,
                "ticket.view",
                t,
                customer=customer_subject(customers.get(t.requester or "")),
            ).allowed
        ]
        with storage.transaction() as uow:
            listed = uow.query_tickets(
                TicketQuery(where=matrix.scope(agent, "ticket.view"), limit=None)
            )
        assert [t.id for t in listed] == expected
        assert 0 < len(expected) < len(tickets)

    def test_customer_numbers_are_unique_and_skip_taken_ids(self, storage: Storage) -> None:
        settings = CustomersConfig()
        taken, taken_events = make_customer("C20261122002")  # made by hand by a host
        with storage.transaction() as uow:
            uow.save_customer(taken, taken_events)
        numbers: list[str] = []
        lock = threading.Lock()

        def create() -> None:
            for _ in range(10):
                with storage.transaction() as uow:
                    made = create_customer_in(
                        uow,
                        actor="agent-1",
                        now=C0,
                        settings=settings,
                        timezone="Asia/Shanghai",
                        name="n",
                    )
                with lock:
                    numbers.append(made.id)

        threads = [threading.Thread(target=create) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(numbers) == 30 and len(set(numbers)) == 30
        assert "C20261122002" not in numbers
        assert all(n.startswith("C20261122") and len(n) == 12 for n in numbers)
        with storage.transaction() as uow:  # another local day starts again at 001
            next_day = allocate_customer_number(
                uow, settings.number_pattern, C0 + timedelta(days=1), "Asia/Shanghai"
            )
        assert next_day == "C20261123001"

    def test_recorded_fact_raises_the_tier_by_rule(self, storage: Storage) -> None:
        settings = load_config(
            {"customers": {"tier_rules": [{"when": {"fact.spend": {"gte": 10000}}, "tier": "vip"}]}}
        ).sections["customers"]
        customer, events = make_customer("C1")
        with storage.transaction() as uow:
            uow.save_customer(customer, events)
        with storage.transaction() as uow:
            record_customer_fact_in(
                uow, "C1", "spend", 12000, actor="shop", now=C0 + timedelta(1), settings=settings
            )
        with storage.transaction() as uow:
            stored = uow.get_customer("C1")
            assert stored is not None and stored.tier == "vip"
            assert stored.facts == {"spend": 12000}
            assert [e.kind for e in uow.customer_events("C1")] == [
                "customer_created",
                "fact_recorded",
                "tier_changed",
            ]
