"""Contract tests every Storage must pass.

A storage plugin proves itself by subclassing :class:`StorageContract` in its own test suite and
providing a ``storage`` fixture that yields a fresh, empty store::

    import pytest
    from helpdesk_core.testing import StorageContract

    class TestMyStorage(StorageContract):
        @pytest.fixture
        def storage(self):
            store = MyStorage("mystore://...")
            yield store
            store.close()

The memory store and the SQL store run the same class.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from helpdesk_core.conditions import TRUE, Condition, compile_condition, compile_filter
from helpdesk_core.errors import ConcurrencyConflict, ValidationError
from helpdesk_core.model.events import (
    Assigned,
    Event,
    FieldsChanged,
    NoteAdded,
    Replied,
    TicketCreated,
    event_to_dict,
)
from helpdesk_core.model.grants import Grant
from helpdesk_core.model.knowledge import (
    ArticleUse,
    Usage,
    answer_gap,
    new_article,
    report_gap,
    submit_article,
    update_article,
    usage_of,
)
from helpdesk_core.model.people import Actor, Agent
from helpdesk_core.model.records import AuditRecord, Firing, OutboxMessage
from helpdesk_core.model.tickets import Ticket, ticket_subject
from helpdesk_core.permissions import PermissionMatrix
from helpdesk_core.ports import Storage, TextQuery, TicketQuery, UnitOfWork
from helpdesk_core.search.text import query_terms
from helpdesk_core.search.tickets import PUBLIC_FIELDS, TICKET_FIELDS, ticket_index
from helpdesk_core.testing.customer_contract import CustomerContract
from helpdesk_core.testing.intake_contract import IntakeContract
from helpdesk_core.testing.review_contract import ReviewContract
from helpdesk_core.testing.survey_contract import SurveyContract

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def make_created(ticket_id: str, n: int, *, at: datetime = T0, **fields: Any) -> TicketCreated:
    base: dict[str, Any] = {
        "ticket_id": ticket_id,
        "seq": 1,
        "at": at,
        "actor": "agent-1",
        "number": f"T{n:08d}",
        "subject": f"Ticket {n}",
        "type": "complaint",
        "priority": "normal",
        "channel": "email",
        "status": "new",
        "status_category": "new",
        "requester": f"C{n % 5}",
    }
    base.update(fields)
    return TicketCreated(**base)


def new_ticket(ticket_id: str, n: int, **fields: Any) -> tuple[Ticket, list[Event]]:
    created = make_created(ticket_id, n, **fields)
    return Ticket.created(created), [created]


def assign_event(ticket: Ticket, assignee: str, at: datetime | None = None) -> Assigned:
    return Assigned(
        ticket_id=ticket.id,
        seq=ticket.version + 1,
        at=at or ticket.updated_at + timedelta(minutes=1),
        actor="sup-1",
        assignee=assignee,
        team="after-sales",
        previous_assignee=ticket.assignee,
        previous_team=ticket.team,
    )


def _by_creation(
    uow: UnitOfWork,
    ids: Iterable[str],
    where: Condition,
    low: datetime | None,
    high: datetime,
) -> list[tuple[datetime, str]]:
    """(created_at, id) of the tickets among ``ids`` matching ``where`` created in
    ``[low, high)``, in the order the reports' streams give them."""
    tickets = [uow.get_ticket(ticket_id) for ticket_id in ids]
    return sorted(
        (t.created_at, t.id)
        for t in tickets
        if t is not None
        and t.created_at < high
        and (low is None or t.created_at >= low)
        and where.matches(ticket_subject(t))
    )


class StorageContract(CustomerContract, SurveyContract, IntakeContract, ReviewContract):
    """The behaviour the desk relies on. Subclasses provide the ``storage`` fixture."""

    @pytest.fixture
    def storage(self) -> Iterator[Storage]:  # pragma: no cover - overridden
        raise NotImplementedError("provide a 'storage' fixture yielding an empty store")

    # -- tickets and events -------------------------------------------------------------
    def test_new_ticket_round_trips(self, storage: Storage) -> None:
        ticket, events = new_ticket("t1", 1, tags=frozenset({"vip"}), custom={"order": "A1"})
        with storage.transaction() as uow:
            uow.save_ticket(ticket, events)
        with storage.transaction() as uow:
            assert uow.get_ticket("t1") == ticket
            assert uow.get_ticket_by_number(ticket.number) == ticket
            assert [event_to_dict(e) for e in uow.ticket_events("t1")] == [
                event_to_dict(e) for e in events
            ]
            assert uow.get_ticket("missing") is None

    def test_a_unit_of_its_own_is_in_no_host_transaction(self, storage: Storage) -> None:
        """Outside a host's transaction (issue 25) a unit commits itself: the runner may retry
        it and tells observers after its commit."""
        with storage.transaction() as uow:
            assert uow.host_transaction() is None

    def test_events_append_in_order_and_fold_to_state(self, storage: Storage) -> None:
        ticket, events = new_ticket("t1", 1)
        with storage.transaction() as uow:
            uow.save_ticket(ticket, events)
        more: list[Event] = []
        for i in range(3):
            event = Replied(
                ticket_id="t1",
                seq=ticket.version + 1,
                at=T0 + timedelta(minutes=i + 1),
                actor="agent-1",
                message_id=f"m{i}",
                body=f"reply {i}",
                channel="email",
            )
            ticket = ticket.apply(event)
            more.append(event)
        with storage.transaction() as uow:
            uow.save_ticket(ticket, more)
        with storage.transaction() as uow:
            stored = uow.ticket_events("t1")
            assert [e.seq for e in stored] == [1, 2, 3, 4]
            assert Ticket.from_events(stored) == uow.get_ticket("t1") == ticket
            assert [e.seq for e in uow.ticket_events("t1", after_seq=2)] == [3, 4]

    def test_requester_tickets_are_the_newest_unsolved_in_the_window(
        self, storage: Storage
    ) -> None:
        """What duplicate detection reads on every open_ticket (R-TKT-5)."""
        rows = [
            ("r-old", T0 - timedelta(days=9), "new"),  # before the window
            ("r-a", T0, "new"),
            ("r-b", T0 + timedelta(hours=1), "open"),
            ("r-c", T0 + timedelta(hours=2), "pending"),
            ("r-done", T0 + timedelta(hours=3), "solved"),  # solved: never a candidate
            ("r-d", T0 + timedelta(hours=4), "open"),
        ]
        with storage.transaction() as uow:
            for n, (ticket_id, at, category) in enumerate(rows, start=1):
                ticket, events = new_ticket(
                    ticket_id, n, at=at, requester="C-dup", status_category=category
                )
                uow.save_ticket(ticket, events)
            other, events = new_ticket("r-other", 99, at=T0, requester="C-else")
            uow.save_ticket(other, events)
        with storage.transaction() as uow:
            since = T0 - timedelta(days=7)
            found = [t.id for t in uow.requester_tickets("C-dup", since, 10)]
            assert found == ["r-d", "r-c", "r-b", "r-a"]
            assert [t.id for t in uow.requester_tickets("C-dup", since, 2)] == ["r-d", "r-c"]
            assert uow.requester_tickets("C-nobody", since, 10) == []

    def test_stale_version_raises_conflict_with_current_version(self, storage: Storage) -> None:
        ticket, events = new_ticket("t1", 1)
        with storage.transaction() as uow:
            uow.save_ticket(ticket, events)
        first = assign_event(ticket, "a1")
        with storage.transaction() as uow:
            uow.save_ticket(ticket.apply(first), [first])
        stale = assign_event(ticket, "a2")  # built on version 1 again
        with pytest.raises(ConcurrencyConflict) as info, storage.transaction() as uow:
            uow.save_ticket(ticket.apply(stale), [stale])
        assert info.value.current_version == 2
        with storage.transaction() as uow:
            assert uow.get_ticket("t1") is not None
            assert uow.get_ticket("t1").assignee == "a1"  # type: ignore[union-attr]

    def test_duplicate_ticket_id_is_a_conflict(self, storage: Storage) -> None:
        ticket, events = new_ticket("t1", 1)
        with storage.transaction() as uow:
            uow.save_ticket(ticket, events)
        again, again_events = new_ticket("t1", 2)
        with pytest.raises(ConcurrencyConflict), storage.transaction() as uow:
            uow.save_ticket(again, again_events)

    def test_concurrent_transactions_one_wins(self, storage: Storage) -> None:
        ticket, events = new_ticket("t1", 1)
        with storage.transaction() as uow:
            uow.save_ticket(ticket, events)
        results: list[str] = []
        barrier = threading.Barrier(2)

        def edit(assignee: str) -> None:
            event = assign_event(ticket, assignee)
            try:
                with storage.transaction() as uow:
                    current = uow.get_ticket("t1")
                    assert current is not None
                    barrier.wait(timeout=10)
                    uow.save_ticket(current.apply(event), [event])
                results.append(assignee)
            except ConcurrencyConflict:
                results.append("conflict")

        threads = [threading.Thread(target=edit, args=(name,)) for name in ("a1", "a2")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(results).count("conflict") == 1
        winner = next(r for r in results if r != "conflict")
        with storage.transaction() as uow:
            stored = uow.get_ticket("t1")
            assert stored is not None and stored.assignee == winner and stored.version == 2
            assert len(uow.ticket_events("t1")) == 2

    def test_error_inside_transaction_writes_nothing(self, storage: Storage) -> None:
        ticket, events = new_ticket("t1", 1)
        message = OutboxMessage(
            id="o1", topic="event", key="k1", payload={"a": 1}, created_at=T0, available_at=T0
        )
        with pytest.raises(RuntimeError), storage.transaction() as uow:
            uow.save_ticket(ticket, events)
            uow.add_outbox(message)
            uow.add_audit(
                AuditRecord(id="r1", at=T0, actor="a", action="x", target="t1", allowed=True)
            )
            raise RuntimeError("boom")
        with storage.transaction() as uow:
            assert uow.get_ticket("t1") is None
            assert uow.ticket_events("t1") == []
            assert uow.outbox() == []
            assert uow.audit_log() == []

    def test_reads_see_own_writes(self, storage: Storage) -> None:
        ticket, events = new_ticket("t1", 1)
        with storage.transaction() as uow:
            uow.save_ticket(ticket, events)
            assert uow.get_ticket("t1") == ticket
            assert len(uow.query_tickets(TicketQuery())) == 1
            assert uow.count_tickets(TRUE) == 1

    # -- queries --------------------------------------------------------------------------
    def _population(self, storage: Storage, n: int = 30) -> list[Ticket]:
        tickets = []
        with storage.transaction() as uow:
            for i in range(n):
                ticket, events = new_ticket(
                    f"t{i:03d}",
                    i,
                    at=T0 + timedelta(minutes=i % 7),
                    priority=("urgent", "high", "normal", "low")[i % 4],
                    team=("after-sales", "tech", None)[i % 3],
                    tags=frozenset({"vip"} if i % 5 == 0 else set()),
                    custom={"complexity": i % 10},
                )
                uow.save_ticket(ticket, events)
                tickets.append(ticket)
        return tickets

    @pytest.mark.parametrize(
        "condition",
        [
            {},
            {"priority": "high"},
            {"priority": {"in": ["urgent", "high"]}, "team": "tech"},
            {"any": [{"team": "tech"}, {"tags": {"contains": "vip"}}]},
            {"not": {"team": {"exists": True}}},
            {"custom.complexity": {"gte": 8}},
            {"requester": {"ne": "C1"}, "subject": {"matches": "^Ticket 1"}},
            {"team": {"not_in": ["tech"]}},
        ],
    )
    def test_query_matches_condition_semantics(
        self, storage: Storage, condition: dict[str, Any]
    ) -> None:
        tickets = self._population(storage)
        where = compile_condition(condition)
        expected = sorted((t.created_at, t.id) for t in tickets if where.matches(ticket_subject(t)))
        with storage.transaction() as uow:
            got = uow.query_tickets(TicketQuery(where=where, limit=None))
            assert [(t.created_at, t.id) for t in got] == expected
            assert uow.count_tickets(where) == len(expected)

    @pytest.mark.parametrize("descending", [False, True])
    @pytest.mark.parametrize("order_by", ["created_at", "number", "updated_at"])
    def test_keyset_pages_cover_everything_once(
        self, storage: Storage, order_by: Any, descending: bool
    ) -> None:
        tickets = self._population(storage)
        seen: list[str] = []
        after = None
        while True:
            with storage.transaction() as uow:
                page = uow.query_tickets(
                    TicketQuery(order_by=order_by, descending=descending, after=after, limit=7)
                )
            if not page:
                break
            seen.extend(t.id for t in page)
            last = page[-1]
            after = (getattr(last, order_by), last.id)
        expected = sorted(tickets, key=lambda t: (getattr(t, order_by), t.id), reverse=descending)
        assert seen == [t.id for t in expected]

    def _histories(self, storage: Storage, n: int = 24) -> dict[str, list[Event]]:
        """``n`` tickets created over 7 minutes (several per instant: ties broken by id), most
        with a few later events, saved in an order unlike the creation order."""
        histories: dict[str, list[Event]] = {}
        with storage.transaction() as uow:
            for i in reversed(range(n)):
                ticket_id = f"t{(i * 7) % n:03d}"
                ticket, events = new_ticket(
                    ticket_id,
                    i,
                    at=T0 + timedelta(minutes=i % 7),
                    priority=("urgent", "high", "normal", "low")[i % 4],
                    team=("after-sales", "tech", None)[i % 3],
                    custom={"complexity": i % 10, "vip": i % 2 == 0},
                )
                for k in range(i % 3):
                    event = assign_event(ticket, f"agent-{k}")
                    ticket = ticket.apply(event)
                    events.append(event)
                uow.save_ticket(ticket, events)
                histories[ticket_id] = events
        return histories

    @pytest.mark.parametrize(
        "condition",
        [
            {},
            {"priority": {"in": ["urgent", "high"]}},
            {"any": [{"team": "tech"}, {"custom.complexity": {"gte": 8}}]},
            {"custom.vip": True},
        ],
    )
    @pytest.mark.parametrize("bounded", [False, True])
    def test_events_by_creation_stream_whole_histories_in_creation_order(
        self, storage: Storage, condition: dict[str, Any], bounded: bool
    ) -> None:
        """R-RPT-1 (issue 24): the reports' event stream is the same events in the same order
        on every store: tickets by ``(created_at, id)`` inside ``[created_from,
        created_before)``, each history whole and in seq order."""
        histories = self._histories(storage)
        where = compile_condition(condition)
        low = T0 + timedelta(minutes=1) if bounded else None
        high = T0 + timedelta(minutes=5)
        with storage.transaction() as uow:
            chosen = _by_creation(uow, histories, where, low, high)
            got = list(uow.events_by_creation(where, created_before=high, created_from=low))
        expected = [event_to_dict(e) for _, ticket_id in chosen for e in histories[ticket_id]]
        assert chosen and len(chosen) < len(histories)
        assert [event_to_dict(e) for e in got] == expected

    def test_events_by_creation_see_own_writes_and_stop_early(self, storage: Storage) -> None:
        """The stream reads inside the unit of work (its own writes included) and may be left
        unfinished without harm (issue 24)."""
        histories = self._histories(storage, n=6)
        with storage.transaction() as uow:
            ticket, events = new_ticket("t900", 900, at=T0 - timedelta(minutes=1))
            uow.save_ticket(ticket, events)
            stream = uow.events_by_creation(TRUE, created_before=T0 + timedelta(hours=1))
            first = next(stream)
            assert (first.ticket_id, first.seq) == ("t900", 1)
            del stream
            assert len(list(uow.events_by_creation(TRUE, created_before=T0))) == 1
        with storage.transaction() as uow:
            everything = list(uow.events_by_creation(TRUE, created_before=T0 + timedelta(1)))
        assert len(everything) == 1 + sum(len(h) for h in histories.values())

    @pytest.mark.parametrize(
        "condition",
        [{}, {"priority": {"in": ["urgent", "high"]}}, {"custom.vip": True}],
    )
    @pytest.mark.parametrize("bounded", [False, True])
    def test_report_facts_one_row_per_ticket_current_facts_only(
        self, storage: Storage, condition: dict[str, Any], bounded: bool
    ) -> None:
        """Issue 24 (report facts): one row per ticket matching the condition inside
        ``[created_from, created_before)``, in ``(created_at, id)`` order, with the document
        last saved when it was saved for the ticket's current version; None when none was
        saved or the ticket changed since (here: facts saved for an older version)."""
        histories = self._histories(storage)
        ids = sorted(histories)
        with storage.transaction() as uow:
            for k, ticket_id in enumerate(ids):
                version = len(histories[ticket_id])
                if k % 3 == 0:
                    uow.save_report_facts(ticket_id, version, ["old", k])
                    uow.save_report_facts(ticket_id, version, ["kept", k, None, [1.5, True]])
                elif k % 3 == 1:
                    uow.save_report_facts(ticket_id, version - 1, ["stale", k])
        where = compile_condition(condition)
        low = T0 + timedelta(minutes=1) if bounded else None
        high = T0 + timedelta(minutes=5)
        with storage.transaction() as uow:
            chosen = _by_creation(uow, ids, where, low, high)
            got = list(uow.report_facts(where, created_before=high, created_from=low))
        expected = []
        for _, ticket_id in chosen:
            k = ids.index(ticket_id)
            expected.append((ticket_id, ["kept", k, None, [1.5, True]] if k % 3 == 0 else None))
        assert chosen and len(chosen) < len(histories)
        assert [(row.ticket_id, row.doc) for row in got] == expected

    def test_report_facts_see_own_writes_and_roll_back_with_the_unit(
        self, storage: Storage
    ) -> None:
        """Facts are written in the command's transaction: visible to it at once, gone with
        it when it fails (issue 24)."""
        with storage.transaction() as uow:
            ticket, events = new_ticket("t500", 500)
            uow.save_ticket(ticket, events)
            uow.save_report_facts("t500", ticket.version, ["mine"])
            rows = list(uow.report_facts(TRUE, created_before=T0 + timedelta(days=1)))
            assert [(r.ticket_id, r.doc) for r in rows] == [("t500", ["mine"])]
            for bad in (["a", object()], ["nan", float("nan")], "text"):
                with pytest.raises(ValidationError, match="doc"):
                    uow.save_report_facts("t500", ticket.version, bad)
        with pytest.raises(RuntimeError), storage.transaction() as uow:
            uow.save_report_facts("t500", ticket.version, ["lost"])
            raise RuntimeError("the command failed")
        with storage.transaction() as uow:
            rows = list(uow.report_facts(TRUE, created_before=T0 + timedelta(days=1)))
        assert [(r.ticket_id, r.doc) for r in rows] == [("t500", ["mine"])]

    @pytest.mark.parametrize(
        "scope",
        [
            {"custom.order_id": "O0042"},
            {"custom.order_id": {"in": ["O0042", "missing"]}, "status_category": {"ne": "closed"}},
            {
                "all": [
                    {"custom.order_id": {"gte": "O0042"}},
                    {"not": {"custom.order_id": {"gt": "O0042"}}},
                ]
            },
            {"custom.channels": {"contains": "web-42"}},
        ],
        ids=["eq", "in", "range", "list-member"],
    )
    def test_a_scope_on_a_custom_field_loads_only_what_it_returns(
        self, storage: Storage, scope: dict[str, Any]
    ) -> None:
        """Issue 17 defect 8 (R-PRM-2: scope pushed down): 300 tickets, a scope on a
        ``custom.*`` field matching one of them; the store reads exactly that one document,
        and counting reads none."""
        with storage.transaction() as uow:
            for i in range(300):
                custom = {"order_id": f"O{i:04d}", "channels": ["phone", f"web-{i}"]}
                ticket, events = new_ticket(f"t{i:03d}", i, custom=custom)
                uow.save_ticket(ticket, events)
        where = compile_condition(scope)
        before = storage.tickets_loaded
        with storage.transaction() as uow:
            found = uow.query_tickets(TicketQuery(where=where, limit=None))
        assert [t.id for t in found] == ["t042"]
        assert storage.tickets_loaded - before == 1
        with storage.transaction() as uow:
            assert uow.count_tickets(where) == 1
        assert storage.tickets_loaded - before == 1

    def test_an_actor_pattern_runs_in_linear_time(self, storage: Storage) -> None:
        """Issue 17 defect 7 (R-SEC-1): ``^(a+)+$`` over 25+ characters returns at once on the
        linear-time engine (a backtracking engine takes about 2**30 steps on these subjects).
        The time limit is only a guard against a hang, not a measurement."""
        pytest.importorskip("re2", reason="the linear-time engine needs the 're2' extra")
        from helpdesk_core.config import default_registry

        subjects = ["a" * 30 + "!", "a" * 28, "b" + "a" * 40, "aaaa"]
        with storage.transaction() as uow:
            for i, subject in enumerate(subjects):
                ticket, events = new_ticket(f"t{i}", i, subject=subject, custom={"note": subject})
                uow.save_ticket(ticket, events)
        registry = default_registry().conditions
        for field in ("subject", "custom.note"):
            where = compile_filter({field: {"matches": "^(a+)+$"}}, registry)
            started = time.monotonic()
            with storage.transaction() as uow:
                found = sorted(
                    t.id for t in uow.query_tickets(TicketQuery(where=where, limit=None))
                )
                counted = uow.count_tickets(where)
            assert time.monotonic() - started < 2.0
            assert (found, counted) == (["t1", "t3"], 2)

    # -- sequences ------------------------------------------------------------------------
    def test_next_number_is_unique_under_threads(self, storage: Storage) -> None:
        numbers: list[int] = []
        lock = threading.Lock()

        def take() -> None:
            for _ in range(20):
                with storage.transaction() as uow:
                    value = uow.next_number("ticket:20261102")
                with lock:
                    numbers.append(value)

        threads = [threading.Thread(target=take) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(numbers) == 80 and len(set(numbers)) == 80
        with storage.transaction() as uow:
            assert uow.next_number("other") == 1

    # -- outbox ---------------------------------------------------------------------------
    def _outbox_message(self, i: int, at: datetime = T0) -> OutboxMessage:
        return OutboxMessage(
            id=f"o{i}", topic="event", key=f"k{i}", payload={"i": i}, created_at=at, available_at=at
        )

    def test_outbox_duplicate_keys_are_ignored(self, storage: Storage) -> None:
        with storage.transaction() as uow:
            uow.add_outbox(self._outbox_message(1))
        with storage.transaction() as uow:
            uow.add_outbox(attrs_evolve_id(self._outbox_message(1), "o1-again"))
            uow.add_outbox(self._outbox_message(2))
        with storage.transaction() as uow:
            assert sorted(m.key for m in uow.outbox("pending")) == ["k1", "k2"]

    def test_outbox_claim_lease_retry_and_dead(self, storage: Storage) -> None:
        with storage.transaction() as uow:
            for i in range(3):
                uow.add_outbox(self._outbox_message(i))
        lease = timedelta(minutes=5)
        with storage.transaction() as uow:
            first = uow.claim_outbox(T0, 2, "w1", lease)
        assert [m.key for m in first] == ["k0", "k1"]
        with storage.transaction() as uow:
            second = uow.claim_outbox(T0 + timedelta(minutes=1), 10, "w2", lease)
        assert [m.key for m in second] == ["k2"]  # leased ones are skipped
        with storage.transaction() as uow:
            uow.finish_outbox("o0", delivered=True)
            uow.finish_outbox("o1", delivered=False, error="smtp down", retry_at=T0 + lease * 4)
            uow.finish_outbox("o2", delivered=False, error="bad address")
        with storage.transaction() as uow:
            states = {m.key: (m.state, m.attempts, m.last_error) for m in uow.outbox()}
        assert states == {
            "k0": ("delivered", 1, None),
            "k1": ("pending", 1, "smtp down"),
            "k2": ("dead", 1, "bad address"),
        }
        with storage.transaction() as uow:
            assert uow.claim_outbox(T0 + lease * 2, 10, "w3", lease) == []
            again = uow.claim_outbox(T0 + lease * 4, 10, "w3", lease)
        assert [m.key for m in again] == ["k1"]

    def test_expired_lease_is_claimed_again(self, storage: Storage) -> None:
        with storage.transaction() as uow:
            uow.add_outbox(self._outbox_message(1))
        lease = timedelta(minutes=5)
        with storage.transaction() as uow:
            assert len(uow.claim_outbox(T0, 10, "killed-worker", lease)) == 1
        with storage.transaction() as uow:
            assert uow.claim_outbox(T0 + timedelta(minutes=4), 10, "w2", lease) == []
            retaken = uow.claim_outbox(T0 + timedelta(minutes=6), 10, "w2", lease)
        assert [m.claimed_by for m in retaken] == ["w2"]

    def test_a_dead_letter_is_revived_to_pending_and_claimed_again(self, storage: Storage) -> None:
        """Dead letters retried by hand (issue 23): only a dead row comes back, once."""
        with storage.transaction() as uow:
            uow.add_outbox(self._outbox_message(1))
            uow.add_outbox(self._outbox_message(2))
        lease = timedelta(minutes=5)
        with storage.transaction() as uow:
            uow.claim_outbox(T0, 10, "w1", lease)
        with storage.transaction() as uow:
            uow.finish_outbox("o1", delivered=False, error="550 no such user")
            uow.finish_outbox("o2", delivered=True)
        later = T0 + timedelta(hours=1)
        with storage.transaction() as uow:
            assert uow.revive_outbox("o2", available_at=later) is None  # delivered: not dead
            assert uow.revive_outbox("missing", available_at=later) is None
            revived = uow.revive_outbox("o1", available_at=later)
        assert revived is not None
        assert (revived.state, revived.attempts, revived.last_error) == (
            "pending",
            0,
            "550 no such user",
        )
        assert revived.available_at == later and revived.lease_until is None
        with storage.transaction() as uow:
            assert uow.revive_outbox("o1", available_at=later) is None  # pending now
            assert [m.id for m in uow.outbox("dead")] == []
            assert uow.claim_outbox(later - timedelta(seconds=1), 10, "w2", lease) == []
            again = uow.claim_outbox(later, 10, "w2", lease)
        assert [(m.id, m.claimed_by) for m in again] == [("o1", "w2")]

    def test_a_revival_rolls_back_with_its_transaction(self, storage: Storage) -> None:
        with storage.transaction() as uow:
            uow.add_outbox(self._outbox_message(1))
        with storage.transaction() as uow:
            uow.finish_outbox("o1", delivered=False, error="dead")
        with contextlib.suppress(RuntimeError), storage.transaction() as uow:
            assert uow.revive_outbox("o1", available_at=T0) is not None
            raise RuntimeError("abort")
        with storage.transaction() as uow:
            assert [m.id for m in uow.outbox("dead")] == ["o1"]

    # -- grants ---------------------------------------------------------------------------
    def test_escalation_schedule_claims_and_releases(self, storage: Storage) -> None:
        lease = timedelta(minutes=5)
        with storage.transaction() as uow:
            uow.schedule_check("t1", T0 + timedelta(minutes=10))
            uow.schedule_check("t2", T0)
            uow.schedule_check("t3", T0 + timedelta(days=1))
            uow.schedule_check("t4", None)
        with storage.transaction() as uow:
            assert uow.claim_due(T0 - timedelta(seconds=1), 10, "w1", lease) == []
            got = uow.claim_due(T0 + timedelta(minutes=10), 10, "w1", lease)
        assert [t for t, _ in got] == ["t2", "t1"]  # oldest check first
        assert got[0][1] == T0
        with storage.transaction() as uow:  # leased: another worker gets nothing
            assert uow.claim_due(T0 + timedelta(minutes=11), 10, "w2", lease) == []
        with storage.transaction() as uow:
            assert uow.release_check("t2", "w2", None) is False  # not w2's lease
            assert uow.release_check("t2", "w1", T0 + timedelta(hours=1)) is True
        with storage.transaction() as uow:
            again = uow.claim_due(T0 + timedelta(hours=1), 10, "w2", lease)
        # t2 is due again at its new time; t1's lease (w1, until T0+15m) has expired
        assert sorted(t for t, _ in again) == ["t1", "t2"]
        with storage.transaction() as uow:  # a command reschedules; the lease stays
            uow.schedule_check("t1", T0 + timedelta(days=2))
        with storage.transaction() as uow:
            assert uow.release_check("t1", "w2", None) is True

    def test_a_failed_transaction_releases_nothing(self, storage: Storage) -> None:
        lease = timedelta(minutes=5)
        with storage.transaction() as uow:
            uow.schedule_check("t1", T0)
        with storage.transaction() as uow:
            assert [t for t, _ in uow.claim_due(T0, 1, "w1", lease)] == ["t1"]
        with pytest.raises(RuntimeError), storage.transaction() as uow:
            uow.release_check("t1", "w1", None)
            uow.add_firing(Firing("t1|p|1|resolution|1", "t1", "p", 1, "resolution", 1, T0, "w1"))
            raise RuntimeError("crash before commit")
        with storage.transaction() as uow:
            assert uow.firings() == []
            # still leased by w1 until T0 + lease; claimable after
            assert uow.claim_due(T0 + lease, 1, "w2", lease)[0][0] == "t1"

    def test_firings_are_unique_by_key(self, storage: Storage) -> None:
        firing = Firing("t1|p|1|resolution|1", "t1", "p", 1, "resolution", 1, T0, "w1")
        with storage.transaction() as uow:
            assert uow.add_firing(firing) is True
            assert uow.add_firing(firing) is False
        with storage.transaction() as uow:
            assert uow.add_firing(attrs.evolve(firing, worker="w2")) is False
            other = attrs.evolve(firing, key="t2|p|1|resolution|1", ticket_id="t2")
            assert uow.add_firing(other) is True
        with storage.transaction() as uow:
            assert [f.key for f in uow.firings()] == [firing.key, "t2|p|1|resolution|1"]
            assert [f.worker for f in uow.firings("t1")] == ["w1"]

    def test_concurrent_identical_firings_commit_once(self, storage: Storage) -> None:
        firing = Firing("t9|p|2|first_response|1", "t9", "p", 2, "first_response", 1, T0, "w")
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def fire(worker: str) -> None:
            try:
                with storage.transaction() as uow:
                    inserted = uow.add_firing(attrs.evolve(firing, worker=worker))
                    # a store that serialises writers breaks the barrier: the other waits
                    with contextlib.suppress(threading.BrokenBarrierError):
                        barrier.wait(timeout=3)
                outcomes.append("inserted" if inserted else "skipped")
            except ConcurrencyConflict:
                outcomes.append("conflict")

        threads = [threading.Thread(target=fire, args=(w,)) for w in ("w1", "w2")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with storage.transaction() as uow:
            assert len(uow.firings("t9")) == 1
        assert "inserted" in outcomes and len(outcomes) == 2

    def test_grants_round_trip_and_filter_by_state(self, storage: Storage) -> None:
        grant = Grant(
            id="g1",
            actions=("ticket.view",),
            where={"requester": "C123"},
            valid_until=T0 + timedelta(days=2),
            reason="sales follow-up",
            requested_by="sales-7",
            grantee="sales-7",
        ).change("requested", T0, "sales-7")
        with storage.transaction() as uow:
            uow.save_grant(grant)
        approved = grant.change("approved", T0 + timedelta(hours=1), "sup-1", "ok")
        with storage.transaction() as uow:
            assert uow.get_grant("g1") == grant
            uow.save_grant(approved)
        with storage.transaction() as uow:
            assert uow.get_grant("g1") == approved
            assert uow.grants("approved") == [approved]
            assert uow.grants("requested") == []
            assert uow.get_grant("nope") is None

    # -- agents and state -------------------------------------------------------------------
    def test_agents_and_state_documents(self, storage: Storage) -> None:
        agents = [
            Agent(id="a2", name="Li Lei", team="tech", skills={"billing", "en"}, tier=2),
            Agent(id="a1", name="Han Meimei", team="after-sales", capacity=5, online=True),
        ]
        with storage.transaction() as uow:
            for agent in agents:
                uow.save_agent(agent)
            uow.save_state("routing:rr:vip", {"cursor": "a1", "n": 3})
        with storage.transaction() as uow:
            assert uow.agents() == sorted(agents, key=lambda a: a.id)
            assert uow.load_state("routing:rr:vip") == {"cursor": "a1", "n": 3}
            assert uow.load_state("nope") is None
            uow.save_agent(attrs.evolve(agents[1], online=False))
            uow.save_state("routing:rr:vip", {"cursor": "a2", "n": 4})
        with storage.transaction() as uow:
            assert [a.online for a in uow.agents()] == [False, False]
            assert uow.load_state("routing:rr:vip") == {"cursor": "a2", "n": 4}
        with pytest.raises(RuntimeError), storage.transaction() as uow:
            uow.save_state("routing:rr:vip", {"cursor": "lost"})
            raise RuntimeError("rollback")
        with storage.transaction() as uow:
            assert uow.load_state("routing:rr:vip") == {"cursor": "a2", "n": 4}

    # -- scope (the permission matrix pushes it into storage) ---------------------------------
    def test_scope_query_equals_single_checks(self, storage: Storage) -> None:
        """R-PRM-2: for every actor, the tickets listed under the matrix scope are exactly those
        a single-object check allows (list and check cannot disagree)."""
        matrix = PermissionMatrix.default(share_organisation_tickets=True)
        matrix.teams.update({"after-sales": "service", "tech": "engineering"})
        tickets = []
        with storage.transaction() as uow:
            for i in range(40):
                ticket, events = new_ticket(
                    f"t{i:03d}",
                    i,
                    team=("after-sales", "tech", None)[i % 3],
                    department=("service", None)[i % 2],
                    assignee=(None, "a1", "a2")[i % 3],
                    requester=f"C{i % 4}",
                    organisation=("acme", None)[i % 2],
                    status=("new", "archived")[int(i % 7 == 0)],
                )
                uow.save_ticket(ticket, events)
                tickets.append(ticket)
        actors = [
            Actor(id="a1", roles={"agent"}, team="after-sales", department="service"),
            Actor(id="a2", roles={"agent"}),
            Actor(id="s1", roles={"supervisor"}, department="service"),
            Actor(id="C1", roles={"customer"}, organisation="acme"),
            Actor(id="C2", roles={"customer"}),
            Actor(id="q1", roles={"qa_inspector"}),
            Actor(id="x", roles=set()),
        ]
        for actor in actors:
            for action in ("ticket.view", "ticket.reply", "ticket.export"):
                expected = {t.id for t in tickets if matrix.check(actor, action, t).allowed}
                with storage.transaction() as uow:
                    listed = uow.query_tickets(
                        TicketQuery(where=matrix.scope(actor, action), limit=None)
                    )
                assert {t.id for t in listed} == expected, (actor.id, action)

    # -- audit ----------------------------------------------------------------------------
    def test_audit_log_appends_and_filters(self, storage: Storage) -> None:
        with storage.transaction() as uow:
            for i in range(4):
                uow.add_audit(
                    AuditRecord(
                        id=f"r{i}",
                        at=T0 + timedelta(seconds=i),
                        actor=f"u{i % 2}",
                        action="ticket.view",
                        target=f"t{i % 3}",
                        allowed=i != 3,
                        rule="r",
                        detail="d",
                    )
                )
        with storage.transaction() as uow:
            assert [r.id for r in uow.audit_log()] == ["r0", "r1", "r2", "r3"]
            assert [r.id for r in uow.audit_log(actor="u1")] == ["r1", "r3"]
            assert [r.id for r in uow.audit_log(target="t0")] == ["r0", "r3"]
            assert uow.audit_log()[3].allowed is False

    # -- knowledge base (R-KB-1..4) -----------------------------------------------------
    def test_r_kb_2_every_article_version_is_kept(self, storage: Storage) -> None:
        draft = new_article(
            "kb1", category="faq", title="Refund times", problem="When?", author="a1", now=T0
        )
        edited = update_article(draft, author="a1", now=T0 + timedelta(hours=1), steps=["Wait"])
        with storage.transaction() as uow:
            uow.save_article(draft)
            uow.save_article(edited)
        submitted = submit_article(edited, author="a1", now=T0 + timedelta(hours=2))
        with storage.transaction() as uow:
            uow.save_article(submitted)
        with storage.transaction() as uow:
            assert uow.article_versions("kb1") == [draft, edited, submitted]
            assert uow.get_article("kb1") == submitted
            assert uow.get_article("kb1", version=2) == edited
            assert uow.get_article("kb1", version=9) is None
            assert uow.get_article("missing") is None
            assert uow.article_versions("missing") == []

    def test_article_version_must_follow_the_stored_one(self, storage: Storage) -> None:
        draft = new_article("kb1", category="faq", title="T", problem="", author="a1", now=T0)
        with storage.transaction() as uow:
            uow.save_article(draft)
        with pytest.raises(ConcurrencyConflict), storage.transaction() as uow:
            uow.save_article(draft)  # version 1 again
        skipped = attrs.evolve(draft, version=3)
        with pytest.raises(ConcurrencyConflict), storage.transaction() as uow:
            uow.save_article(skipped)
        with storage.transaction() as uow:
            assert [a.version for a in uow.article_versions("kb1")] == [1]

    def test_articles_lists_latest_versions_by_id_and_state(self, storage: Storage) -> None:
        b1 = new_article("kb-b", category="faq", title="B", problem="", author="a", now=T0)
        a1 = new_article("kb-a", category="faq", title="A", problem="", author="a", now=T0)
        b2 = submit_article(b1, author="a", now=T0)
        with storage.transaction() as uow:
            for article in (b1, a1, b2):
                uow.save_article(article)
        with storage.transaction() as uow:
            assert uow.articles() == [a1, b2]
            assert uow.articles("in_review") == [b2]
            assert uow.articles("draft") == [a1]

    def test_gaps_and_article_uses_round_trip(self, storage: Storage) -> None:
        gap = report_gap("g1", "how to pair the headset?", reported_by="a1", now=T0)
        other = report_gap("g2", "退货运费谁出", reported_by="a2", now=T0, ticket_id="t9")
        with storage.transaction() as uow:
            uow.save_gap(gap)
            uow.save_gap(other)
            uow.add_article_use(ArticleUse("kb1", "view", "c1", T0))
            uow.add_article_use(ArticleUse("kb1", "link", "a1", T0, ticket_id="t1", solved=True))
            uow.add_article_use(ArticleUse("kb2", "view", "c1", T0))
        answered, _ = answer_gap(gap, "kb7", category="faq", title="Pairing", author="a3", now=T0)
        with storage.transaction() as uow:
            uow.save_gap(answered)
        with storage.transaction() as uow:
            assert uow.gaps() == [answered, other]
            assert uow.gaps("open") == [other]
            assert uow.get_gap("g1") == answered and uow.get_gap("nope") is None
            uses = uow.article_uses("kb1")
            assert [(u.kind, u.ticket_id, u.solved) for u in uses] == [
                ("view", None, False),
                ("link", "t1", True),
            ]
            assert usage_of(uses) == Usage(views=1, linked=1, solved=1)
            assert len(uow.article_uses()) == 3

    def test_knowledge_writes_roll_back_with_the_transaction(self, storage: Storage) -> None:
        draft = new_article("kb1", category="faq", title="T", problem="", author="a1", now=T0)
        with pytest.raises(RuntimeError), storage.transaction() as uow:
            uow.save_article(draft)
            uow.save_gap(report_gap("g1", "q", reported_by="a1", now=T0))
            uow.add_article_use(ArticleUse("kb1", "view", "c1", T0))
            raise RuntimeError("boom")
        with storage.transaction() as uow:
            assert uow.articles() == [] and uow.gaps() == [] and uow.article_uses() == []

    # -- ticket full-text search (issue 21) ---------------------------------------------
    def _search_fixture(self, storage: Storage) -> list[Ticket]:
        texts = [
            ("Refund not received", "The refund for SO-2026-0042 is late", "team-a"),
            ("退款還沒到賬", "客户要求退货退款", "team-b"),
            ("Parcel damaged", "box crushed, refunding shipping", "team-a"),
            ("Password reset", "reset link expired", "team-b"),
        ]
        tickets: list[Ticket] = []
        with storage.transaction() as uow:
            for n, (subject, description, team) in enumerate(texts, start=1):
                ticket, events = new_ticket(
                    f"t{n}", n, subject=subject, description=description, team=team
                )
                uow.save_ticket(ticket, events)
                tickets.append(ticket)
        note = NoteAdded(
            ticket_id="t4",
            seq=2,
            at=T0 + timedelta(minutes=5),
            actor="agent-1",
            message_id="n1",
            body="VIP customer, refund goodwill",
            channel="internal",
        )
        with storage.transaction() as uow:
            tickets[3] = tickets[3].apply(note)
            uow.save_ticket(tickets[3], [note])
        return tickets

    def _search(
        self, storage: Storage, query: str, fields: tuple[str, ...] = PUBLIC_FIELDS, **kw: Any
    ) -> list[tuple[str, float]]:
        terms = tuple(query_terms(query))
        with storage.transaction() as uow:
            found = uow.search_tickets(TextQuery(terms, fields, **kw))
        return [(ticket.id, match.score) for ticket, match in found]

    def test_r_kb_3_search_ranks_exactly_like_the_pure_index(self, storage: Storage) -> None:
        tickets = self._search_fixture(storage)
        index = ticket_index(tickets)
        for query in ("refund", "refnd", "退款", "退貨", "so-2026-0042", "passw", "reset link"):
            for fields in (PUBLIC_FIELDS, TICKET_FIELDS):
                expected = [(m.doc_id, m.score) for m in index.rank(query_terms(query), fields, 20)]
                found = self._search(storage, query, fields)
                assert [d for d, _ in found] == [d for d, _ in expected], query
                assert [sc for _, sc in found] == pytest.approx([sc for _, sc in expected])
        assert self._search(storage, "refund")[0][0] == "t1"

    def test_search_keeps_to_the_scope_and_the_limit(self, storage: Storage) -> None:
        self._search_fixture(storage)
        scope = compile_condition({"team": "team-a"})
        assert [d for d, _ in self._search(storage, "refund", where=scope)] == ["t1", "t3"]
        assert [d for d, _ in self._search(storage, "refund", limit=1)] == ["t1"]

    def test_search_reads_notes_only_when_asked(self, storage: Storage) -> None:
        self._search_fixture(storage)
        assert self._search(storage, "goodwill") == []
        assert [d for d, _ in self._search(storage, "goodwill", TICKET_FIELDS)] == ["t4"]

    def test_search_follows_ticket_changes_and_rollbacks(self, storage: Storage) -> None:
        tickets = self._search_fixture(storage)
        changed = FieldsChanged(
            ticket_id="t3",
            seq=2,
            at=T0 + timedelta(minutes=9),
            actor="agent-1",
            changes={"subject": "Printer jam"},
        )
        with pytest.raises(RuntimeError), storage.transaction() as uow:
            uow.save_ticket(tickets[2].apply(changed), [changed])
            raise RuntimeError("boom")
        assert [d for d, _ in self._search(storage, "parcel")] == ["t3"]
        with storage.transaction() as uow:
            uow.save_ticket(tickets[2].apply(changed), [changed])
        assert self._search(storage, "parcel") == []
        assert [d for d, _ in self._search(storage, "printer")] == ["t3"]


def attrs_evolve_id(message: OutboxMessage, new_id: str) -> OutboxMessage:
    return attrs.evolve(message, id=new_id)


__all__ = [
    "StorageContract",
    "assign_event",
    "make_created",
    "new_ticket",
]
