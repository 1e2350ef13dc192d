"""``joined(desk, connection)``: a desk's commands inside the host's transaction, on SQLite and
PostgreSQL (issue 25, "Embedding"; R-DATA: nothing half-written, DESIGN principle 7)."""

from __future__ import annotations

import tempfile
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from embedding_hosts import CONFIG, Observer, app_notes, host_engine, ticket_numbers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk_core import Actor, Helpdesk, hookimpl
from helpdesk_core.errors import ConcurrencyConflict, PermissionDenied, ValidationError
from helpdesk_core.model.events import Event
from helpdesk_core.model.tickets import Ticket
from helpdesk_plugins.storage_sql import joined

sa = pytest.importorskip("sqlalchemy")

MakeDesk = Callable[..., Helpdesk]


def open_ticket(desk: Helpdesk, agent: Actor, subject: str) -> Ticket:
    """A ticket for a customer of its own (so duplicate detection adds no events)."""
    customer = f"C{uuid.uuid4().hex[:12]}"
    return desk.open_ticket(agent, subject=subject, channel="email", customer_id=customer)


def note(conn: Any, text: str) -> None:
    conn.execute(sa.text("INSERT INTO app_notes (text) VALUES (:t)"), {"t": text})


def test_host_write_and_ticket_commit_together_and_observers_hear_after_commit(
    engine: Any, make_desk: MakeDesk, observer: Observer, agent: Actor
) -> None:
    """The commit path: the host's row and the ticket are stored by the host's commit; the
    observer hears nothing before it, and when it hears, the ticket is visible to others."""
    desk = make_desk()
    visible_when_heard: list[bool] = []

    class Checker:
        @hookimpl
        def helpdesk_event_committed(self, event: Event, ticket: Ticket) -> None:
            visible_when_heard.append(ticket.number in ticket_numbers(engine))

    desk.plugins.register(Checker())
    with engine.connect() as conn:
        with joined(desk, conn):
            note(conn, "order 1 refunded")
            ticket = open_ticket(desk, agent, "Refund for order 1")
            desk.reply(agent, ticket.id, "Refunded today.")
        assert observer.heard == []
        assert ticket_numbers(engine) == []  # not before the host commits
        conn.commit()
    assert observer.heard == [("ticket_created", ticket.id), ("replied", ticket.id)]
    assert visible_when_heard == [True, True]
    assert app_notes(engine) == ["order 1 refunded"]
    assert ticket_numbers(engine) == [ticket.number]


def test_a_host_rollback_stores_nothing_of_either_side_and_tells_no_one(
    engine: Any, make_desk: MakeDesk, observer: Observer, agent: Actor
) -> None:
    """The rollback path: neither the host's row nor the ticket, its events or its outbox rows
    are stored, and observers never hear of the events."""
    desk = make_desk()
    with engine.connect() as conn:
        with joined(desk, conn):
            note(conn, "order 2 refunded")
            ticket = open_ticket(desk, agent, "Refund for order 2")
            desk.reply(agent, ticket.id, "Refunded today.")
        conn.rollback()
        conn.commit()  # a later commit of the same connection does not revive them
    assert observer.heard == []
    assert app_notes(engine) == []
    assert ticket_numbers(engine) == []
    with engine.connect() as conn:
        for table in ("hd_events", "hd_outbox"):
            assert conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one() == 0


def test_an_exception_leaving_engine_begin_rolls_both_back(
    engine: Any, make_desk: MakeDesk, observer: Observer, agent: Actor
) -> None:
    """The usual host pattern ``with engine.begin() as conn``: an error after the helpdesk's
    command undoes both sides."""
    desk = make_desk()
    with pytest.raises(RuntimeError), engine.begin() as conn, joined(desk, conn):
        note(conn, "order 3")
        open_ticket(desk, agent, "order 3")
        raise RuntimeError("the host's own check failed")
    assert (app_notes(engine), ticket_numbers(engine), observer.heard) == ([], [], [])


def test_a_stale_version_raises_and_leaves_the_host_transaction_usable(
    engine: Any, make_desk: MakeDesk, observer: Observer, agent: Actor
) -> None:
    """A conflict raises ConcurrencyConflict; the failed command leaves nothing (its SAVEPOINT
    is rolled back) and the host can still commit its own work."""
    desk = make_desk()
    ticket = open_ticket(desk, agent, "Parcel broken")
    with engine.connect() as conn:
        with joined(desk, conn):
            desk.reply(agent, ticket.id, "first", expected_version=ticket.version)
            with pytest.raises(ConcurrencyConflict):
                desk.reply(agent, ticket.id, "second", expected_version=ticket.version)
            note(conn, "still fine")
        conn.commit()
    assert app_notes(engine) == ["still fine"]
    assert [kind for kind, _ in observer.heard] == ["ticket_created", "replied"]
    assert [e.kind for e in desk.history(agent, ticket.id)] == ["ticket_created", "replied"]


@pytest.mark.postgres
def test_a_lost_race_is_not_retried_inside_joined(tmp_path: Any, agent: Actor) -> None:
    """PostgreSQL (READ COMMITTED): another transaction commits a change to the ticket between
    the command's read and its write. Outside ``joined`` the runner retries and succeeds;
    inside, the conflict is raised and the host's transaction stays usable."""
    with host_engine("postgres", tmp_path) as engine:
        desk = Helpdesk(config=CONFIG, storage_url=engine, load_entrypoints=False)
        racer = Helpdesk(config=CONFIG, storage_url=engine, load_entrypoints=False)
        ticket = open_ticket(desk, agent, "Parcel broken")

        def race_once(sql: str) -> None:
            if sql.startswith("UPDATE hd_tickets") and not raced:
                raced.append(True)
                racer.add_note(agent, ticket.id, "racer")

        desk.storage.trace = race_once  # type: ignore[attr-defined]
        raced: list[bool] = []
        desk.reply(agent, ticket.id, "outside joined")  # retried after the lost race
        assert raced and desk.get_ticket(agent, ticket.id).version == 3
        raced.clear()
        with engine.connect() as conn:
            with joined(desk, conn), pytest.raises(ConcurrencyConflict):
                desk.reply(agent, ticket.id, "inside joined")
            note(conn, "host goes on")
            conn.commit()
        assert raced and desk.get_ticket(agent, ticket.id).version == 4  # only the racer's note
        assert app_notes(engine) == ["host goes on"]
        desk.close()
        racer.close()


def test_a_refusal_inside_joined_is_audited_in_the_host_transaction(
    engine: Any, make_desk: MakeDesk, agent: Actor
) -> None:
    """A refused command raises PermissionDenied and writes nothing but its audit record, which
    commits with the host's transaction."""
    desk = make_desk()
    customer = Actor(id="C1", roles={"customer"}, organisation="acme")
    ticket = desk.open_ticket(agent, subject="Parcel broken", channel="email", customer_id="C1")
    with engine.connect() as conn:
        with joined(desk, conn), pytest.raises(PermissionDenied):
            desk.assign(customer, ticket.id, "a-17")
        note(conn, "after the refusal")
        conn.commit()
    assert app_notes(engine) == ["after the refusal"]
    admin = Actor(id="root", roles={"admin"})
    denied = [r for r in desk.audit_log(admin) if not r.allowed]
    assert [(r.actor, r.action) for r in denied] == [("C1", "ticket.assign")]
    assert desk.get_ticket(agent, ticket.id).assignee is None


def test_nesting_and_leaving_the_block_restore_normal_behaviour(
    engine: Any, make_desk: MakeDesk, observer: Observer, agent: Actor
) -> None:
    """An inner ``joined`` on the same connection joins the same transaction; after the outer
    block (and the host's commit) commands commit themselves again and observers hear at once."""
    desk = make_desk()
    with engine.connect() as conn:
        with joined(desk, conn):
            with joined(desk, conn):
                inner = open_ticket(desk, agent, "inner")
            outer = open_ticket(desk, agent, "outer")
            assert observer.heard == []
        conn.rollback()
    assert ticket_numbers(engine) == []
    after = open_ticket(desk, agent, "after")
    assert observer.heard == [("ticket_created", after.id)]
    assert ticket_numbers(engine) == [after.number]
    assert {inner.id, outer.id}.isdisjoint(t.id for t in desk.tickets(agent))


@pytest.mark.postgres
def test_an_inner_block_on_another_connection_runs_there(tmp_path: Any, agent: Actor) -> None:
    """PostgreSQL: ``joined`` on a second connection inside the first runs the inner commands on
    the second (committed by it) and the outer ones on the first again after the inner block."""
    with host_engine("postgres", tmp_path) as engine:
        observer = Observer()
        desk = Helpdesk(
            config=CONFIG, storage_url=engine, plugins=[observer], load_entrypoints=False
        )
        with engine.connect() as first, engine.connect() as second:
            with joined(desk, first):
                with joined(desk, second):
                    inner = open_ticket(desk, agent, "inner")
                second.commit()
                outer = open_ticket(desk, agent, "outer")
            assert observer.heard == [("ticket_created", inner.id)]
            first.rollback()
        assert ticket_numbers(engine) == [inner.number]
        assert outer.id not in {t.id for t in desk.tickets(agent)}
        desk.close()


def test_the_hosts_savepoints_are_honoured(
    engine: Any,
    make_desk: MakeDesk,
    observer: Observer,
    agent: Actor,
    request: pytest.FixtureRequest,
) -> None:
    """Commands inside a SAVEPOINT the host rolls back are undone and never heard of; those in
    a released one commit with the transaction."""
    if request.node.callspec.params["engine"] == "sqlite":
        pytest.skip("pysqlite's own transaction handling breaks SAVEPOINT (SQLAlchemy's docs)")
    desk = make_desk()
    with engine.connect() as conn:
        with joined(desk, conn):
            note(conn, "outer")
            kept = open_ticket(desk, agent, "kept")
            dropped_savepoint = conn.begin_nested()
            note(conn, "inner")
            open_ticket(desk, agent, "dropped")
            dropped_savepoint.rollback()
            released_savepoint = conn.begin_nested()
            also = open_ticket(desk, agent, "also kept")
            released_savepoint.commit()
        conn.commit()
    assert app_notes(engine) == ["outer"]
    assert ticket_numbers(engine) == sorted([kept.number, also.number])
    assert observer.heard == [("ticket_created", kept.id), ("ticket_created", also.id)]


def test_a_savepoint_opened_before_joined_is_honoured_too(
    engine: Any,
    make_desk: MakeDesk,
    observer: Observer,
    agent: Actor,
    request: pytest.FixtureRequest,
) -> None:
    """The host opens a savepoint, then joins the desk inside it, then rolls the savepoint
    back: the command inside is undone and never heard of; the host's later write commits."""
    if request.node.callspec.params["engine"] == "sqlite":
        pytest.skip("pysqlite's own transaction handling breaks SAVEPOINT (SQLAlchemy's docs)")
    desk = make_desk()
    with engine.connect() as conn:
        note(conn, "before")
        savepoint = conn.begin_nested()
        with joined(desk, conn):
            open_ticket(desk, agent, "inside the host's savepoint")
        savepoint.rollback()
        note(conn, "after")
        conn.commit()
    assert app_notes(engine) == ["before", "after"]
    assert (ticket_numbers(engine), observer.heard) == ([], [])


@pytest.mark.postgres
def test_a_desk_opened_by_url_on_postgres_joins_connections_of_its_engine(
    tmp_path: Path, agent: Actor
) -> None:
    """PostgreSQL: an application without an engine of its own can take connections from the
    desk's engine (``desk.storage.engine``) and share transactions the same way."""
    with host_engine("postgres", tmp_path) as engine:
        url = engine.url.render_as_string(hide_password=False)
        observer = Observer()
        with Helpdesk(
            config=CONFIG, storage_url=url, plugins=[observer], load_entrypoints=False
        ) as desk:
            desk_engine = desk.storage.engine  # type: ignore[attr-defined]
            with desk_engine.connect() as conn:
                with joined(desk, conn):
                    dropped = open_ticket(desk, agent, "rolled back")
                conn.rollback()
                with joined(desk, conn):
                    kept = open_ticket(desk, agent, "committed")
                    note(conn, "with the ticket")
                conn.commit()
            assert observer.heard == [("ticket_created", kept.id)]
            assert dropped.id not in {t.id for t in desk.tickets(agent)}
        assert ticket_numbers(engine) == [kept.number]
        assert app_notes(engine) == ["with the ticket"]


def test_another_thread_using_the_same_desk_is_unaffected(
    engine: Any, make_desk: MakeDesk, observer: Observer, agent: Actor
) -> None:
    """``joined`` holds for this thread only: a thread using the same desk meanwhile reads
    committed data (not the host's open transaction) and commits its own command itself, which
    stays when the host rolls back."""
    desk = make_desk()
    seen_by_other: list[set[str]] = []
    other_read = threading.Event()
    errors: list[BaseException] = []
    others: list[Ticket] = []

    def other_thread() -> None:
        try:
            seen_by_other.append({t.id for t in desk.tickets(agent)})
            other_read.set()
            # SQLite: waits for the host's write lock, which the rollback below releases
            others.append(open_ticket(desk, agent, "from the other thread"))
        except BaseException as exc:
            errors.append(exc)
            other_read.set()

    with engine.connect() as conn:
        with joined(desk, conn):
            mine = open_ticket(desk, agent, "in the host transaction")
            worker = threading.Thread(target=other_thread)
            worker.start()
            other_read.wait()
        conn.rollback()
    worker.join()
    assert errors == []
    assert seen_by_other == [set()]
    (theirs,) = others
    assert observer.heard == [("ticket_created", theirs.id)]
    assert ticket_numbers(engine) == [theirs.number]
    assert mine.id not in {t.id for t in desk.tickets(agent)}


def test_joined_refuses_what_it_cannot_join(
    engine: Any, make_desk: MakeDesk, tmp_path: Any
) -> None:
    """Wrong arguments are ValidationErrors naming the parameter (R-API: never a raw error)."""
    desk = make_desk()
    with Helpdesk(load_entrypoints=False) as memory_desk, engine.connect() as conn:
        with pytest.raises(ValidationError) as err, joined(memory_desk, conn):
            pass
        assert err.value.field == "desk"
    with pytest.raises(ValidationError) as err, joined(desk, "sqlite:///x.db"):  # type: ignore[arg-type]
        pass
    assert err.value.field == "connection" and "builtins.str" in str(err.value)
    by_url = Helpdesk(config=CONFIG, storage_url=f"sqlite:///{tmp_path / 'desk.db'}")
    with by_url.storage.engine.connect() as conn:  # type: ignore[attr-defined]
        with pytest.raises(ValidationError) as err, joined(by_url, conn):
            pass
        assert err.value.field == "connection" and "storage_url=engine" in str(err.value)
    by_url.close()
    other = sa.create_engine(f"sqlite:///{tmp_path / 'other.db'}")
    with other.connect() as conn:
        with pytest.raises(ValidationError) as err, joined(desk, conn):
            pass
        assert err.value.field == "connection" and "another engine" in str(err.value)
    other.dispose()


# -- a property over any sequence of host transactions ------------------------------------------
Outcome = str  # "commit" | "rollback" | "raise"
transactions = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=2), st.sampled_from(["commit", "rollback", "raise"])
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=transactions)
def test_whatever_the_host_does_exactly_its_committed_work_is_stored_and_heard(
    plan: list[tuple[int, Outcome]],
) -> None:
    """For any sequence of host transactions, each writing a row of its own and running 0-2
    helpdesk commands, then committing, rolling back or raising: the stored rows, tickets and
    events, and what observers heard, are exactly those of the committed transactions."""
    agent = Actor(id="a-17", roles={"agent"}, team="after-sales", department="service")
    with tempfile.TemporaryDirectory() as tmp, host_engine("sqlite", Path(tmp)) as engine:
        observer = Observer()
        desk = Helpdesk(
            config=CONFIG, storage_url=engine, plugins=[observer], load_entrypoints=False
        )
        committed_notes: list[str] = []
        committed: list[Ticket] = []
        for n, (commands, outcome) in enumerate(plan):
            opened: list[Ticket] = []
            try:
                with engine.connect() as conn:
                    with joined(desk, conn):
                        note(conn, f"host {n}")
                        for i in range(commands):
                            # a customer per ticket: no duplicate-detection events
                            opened.append(
                                desk.open_ticket(
                                    agent,
                                    subject=f"order {n}-{i}",
                                    channel="email",
                                    customer_id=f"C{n}x{i}",
                                )
                            )
                    if outcome == "raise":
                        raise RuntimeError(outcome)
                    getattr(conn, outcome)()
            except RuntimeError:
                pass
            if outcome == "commit":
                committed_notes.append(f"host {n}")
                committed.extend(opened)
        assert app_notes(engine) == committed_notes
        assert ticket_numbers(engine) == sorted(t.number for t in committed)
        assert observer.heard == [("ticket_created", t.id) for t in committed]
        desk.close()
