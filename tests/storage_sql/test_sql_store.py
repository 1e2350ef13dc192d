"""The SQL store beyond the shared contract: migrations, encryption at rest, backups, the
desk end to end on a SQLite file, and clear errors (issue 9; R-SEC-2, R-SEC-3)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from helpdesk_core import Actor, Helpdesk
from helpdesk_core.config import load_config
from helpdesk_core.errors import ConfigError, StorageError
from helpdesk_core.ports import TicketQuery
from helpdesk_core.testing import FixedClock
from helpdesk_core.testing.storage_contract import new_ticket
from helpdesk_plugins import cli, storage_sql
from helpdesk_plugins.storage_sql import open_storage
from helpdesk_plugins.storage_sql.cipher import generate_key
from helpdesk_plugins.storage_sql.migrate import head
from helpdesk_plugins.storage_sql.schema import is_declared_elsewhere, metadata

PII_CONFIG = {
    "desk": {"default_team": "after-sales"},
    "custom_fields": {
        "mobile": {"type": "text", "pii": "mobile"},
        "email": {"type": "text", "pii": "email"},
        "order": {"type": "text"},
    },
}
AGENT = Actor(id="a-17", roles={"agent"}, team="after-sales", department="service")
CUSTOMER = Actor(id="C1", roles={"customer"})


def _diff(url: str) -> list[object]:
    storage_sql.upgrade(url)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == head()
            # FTS5 virtual tables (SQLite) and the tsvector column and its GIN index
            # (PostgreSQL) are made by raw DDL in migration 0004, outside SQLAlchemy's
            # metadata (it has no FTS5 table, and the column exists on one dialect only)
            context = MigrationContext.configure(
                conn,
                opts={
                    "include_object": lambda _obj, name, type_, *_: (
                        not is_declared_elsewhere(name, type_)
                    )
                },
            )
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def test_migrations_produce_exactly_the_declared_tables_on_sqlite(sqlite_url: str) -> None:
    assert _diff(sqlite_url) == []
    assert _diff(sqlite_url) == []  # idempotent


@pytest.mark.postgres
def test_migrations_produce_exactly_the_declared_tables_on_postgres(pg_url: str) -> None:
    assert _diff(pg_url) == []


def test_a_store_refuses_an_unmigrated_database_when_told_not_to_migrate(
    sqlite_url: str,
) -> None:
    config = load_config({"storage": {"migrate": False}})
    with pytest.raises(StorageError, match="helpdesk db upgrade"):
        open_storage(sqlite_url, config)
    storage_sql.upgrade(sqlite_url)
    open_storage(sqlite_url, config).close()


def test_the_desk_runs_on_a_sqlite_file_and_keeps_everything(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    clock = FixedClock("2026-11-02T09:00:00+08:00")
    with Helpdesk(
        config={"desk": {"default_team": "after-sales"}},
        storage_url=url,
        clock=clock,
        load_entrypoints=False,
    ) as desk:
        ticket = desk.open_ticket(CUSTOMER, subject="Broken parcel", channel="email")
        desk.assign(AGENT, ticket.id, AGENT.id)
        clock.advance(minutes=5)
        desk.reply(AGENT, ticket.id, "Replacement on its way", status="pending_customer")
        before = desk.get_ticket(AGENT, ticket.id)
    with Helpdesk(
        config={"desk": {"default_team": "after-sales"}},
        storage_url=url,
        clock=clock,
        load_entrypoints=False,
    ) as desk:
        again = desk.get_ticket(AGENT, ticket.id)
        assert again == before and again.status == "pending_customer"
        kinds = [e.kind for e in desk.history(AGENT, ticket.id)]
        assert kinds[0] == "ticket_created" and "replied" in kinds
        assert [t.id for t in desk.tickets(AGENT)] == [ticket.id]
        second = desk.open_ticket(CUSTOMER, subject="Another", channel="web_form")
        assert second.number == "T20261102000002"


def test_sensitive_fields_are_unreadable_in_the_raw_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R-SEC-2: pii custom fields are encrypted in ticket state, events and outbox rows."""
    monkeypatch.setenv("HELPDESK_FIELD_KEY", generate_key())
    path = tmp_path / "desk.db"
    with Helpdesk(
        config=PII_CONFIG,
        storage_url=f"sqlite:///{path}",
        clock=FixedClock("2026-11-02T09:00:00+08:00"),
        load_entrypoints=False,
    ) as desk:
        ticket = desk.open_ticket(
            CUSTOMER,
            subject="Call me back",
            channel="phone",
            custom={"mobile": "13812345678", "email": "li.lei@example.cn", "order": "A-77"},
        )
        stored = desk.get_ticket(AGENT, ticket.id)
    with sqlite3.connect(path) as conn:
        dump = "\n".join(conn.iterdump())
    assert "13812345678" not in dump and "li.lei@example.cn" not in dump
    assert "A-77" in dump  # not sensitive: stays queryable in clear
    assert "$enc" in dump
    assert stored.custom["order"] == "A-77"
    with (
        Helpdesk(
            config=PII_CONFIG,
            storage_url=f"sqlite:///{path}",
            load_entrypoints=False,
        ) as desk,
        desk.storage.transaction() as uow,
    ):
        clear = uow.get_ticket(ticket.id)
        assert clear is not None and clear.custom["mobile"] == "13812345678"
        assert uow.ticket_events(ticket.id)[0].custom["email"] == "li.lei@example.cn"  # type: ignore[attr-defined]


def test_customer_contacts_are_unreadable_in_the_raw_database_and_still_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R-SEC-2, R-CUS-2: with a field key, a customer's emails and phones are sealed in the
    profile and its events, the contact index holds keyed hashes, and find_customer still finds
    the customer, also after the key rotates."""
    old, new = generate_key(), generate_key()
    monkeypatch.setenv("HELPDESK_FIELD_KEY", old)
    path = tmp_path / "desk.db"
    admin = Actor(id="root", roles={"admin"})

    def desk() -> Helpdesk:
        return Helpdesk(
            config=PII_CONFIG,
            storage_url=f"sqlite:///{path}",
            clock=FixedClock("2026-11-02T09:00:00+08:00"),
            load_entrypoints=False,
        )

    with desk() as d:
        made = d.create_customer(
            admin, name="Li Lei", emails=["Li.Lei@Example.cn"], phones=["13812345678"]
        )
        d.update_customer(admin, made.id, emails=["li.lei@example.cn", "ll@work.example"])
    with sqlite3.connect(path) as conn:
        dump = "\n".join(conn.iterdump()).lower()
    for secret in ("li.lei@example.cn", "ll@work.example", "13812345678", "812345678"):
        assert secret not in dump
    monkeypatch.setenv("HELPDESK_FIELD_KEY", f"{new},{old}")  # rotated: the old key still finds
    with desk() as d:
        found = d.find_customer(admin, email="LI.LEI@example.cn")
        assert found is not None and found.id == made.id
        assert found.emails == ("li.lei@example.cn", "ll@work.example")
        assert d.find_customer(admin, phone="138 1234 5678") == found
        assert d.find_customer(admin, email="nobody@example.cn") is None
        # a profile saved under the new key is found under it
        d.update_customer(admin, made.id, tier="vip")
    monkeypatch.setenv("HELPDESK_FIELD_KEY", new)
    with desk() as d:
        again = d.find_customer(admin, email="ll@work.example")
        assert again is not None and again.tier == "vip"
    monkeypatch.delenv("HELPDESK_FIELD_KEY")
    with (
        pytest.raises(StorageError, match="HELPDESK_FIELD_KEY"),
        Helpdesk(
            config={**PII_CONFIG, "storage": {"encryption": "off"}},
            storage_url=f"sqlite:///{path}",
            load_entrypoints=False,
        ) as d,
    ):
        d.get_customer(admin, made.id)


def test_keys_rotate_and_a_wrong_key_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = generate_key(), generate_key()
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    config = load_config(PII_CONFIG)
    ticket, events = new_ticket("t1", 1, custom={"mobile": "13800000000"})
    monkeypatch.setenv("HELPDESK_FIELD_KEY", old)
    with open_storage(url, config) as store, store.transaction() as uow:
        uow.save_ticket(ticket, events)
    monkeypatch.setenv("HELPDESK_FIELD_KEY", f"{new},{old}")  # new key first, old still reads
    with open_storage(url, config) as store, store.transaction() as uow:
        assert uow.get_ticket("t1") == ticket
    monkeypatch.setenv("HELPDESK_FIELD_KEY", new)
    with (
        open_storage(url, config) as store,
        pytest.raises(StorageError, match=r"cannot decrypt custom\.mobile"),
        store.transaction() as uow,
    ):
        uow.get_ticket("t1")
    monkeypatch.setenv("HELPDESK_FIELD_KEY", "not-a-key")
    with pytest.raises(StorageError, match="not a Fernet key"):
        open_storage(url, config)


def test_sealed_rows_read_without_a_key_are_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R-SEC (issue 24's fast decoding keeps it): rows written with a field key, read with
    encryption off and no key, are refused with the way out, by every reader, the reports'
    event stream included; rows with nothing sealed read as before."""
    from datetime import UTC, datetime

    from helpdesk_core.conditions import TRUE

    url = f"sqlite:///{tmp_path / 'desk.db'}"
    monkeypatch.setenv("HELPDESK_FIELD_KEY", generate_key())
    sealed, sealed_events = new_ticket("t1", 1, custom={"mobile": "13800000000"})
    clear, clear_events = new_ticket("t2", 2, custom={"order": "A1"})
    with open_storage(url, load_config(PII_CONFIG)) as store, store.transaction() as uow:
        uow.save_ticket(sealed, sealed_events)
        uow.save_ticket(clear, clear_events)
    monkeypatch.delenv("HELPDESK_FIELD_KEY")
    plain = load_config({**PII_CONFIG, "storage": {"encryption": "off"}})
    later = datetime(2100, 1, 1, tzinfo=UTC)
    with open_storage(url, plain) as store, store.transaction() as uow:
        assert uow.get_ticket("t2") == clear
        for read in (
            lambda: uow.get_ticket("t1"),
            lambda: uow.ticket_events("t1"),
            lambda: list(uow.events_by_creation(TRUE, created_before=later)),
        ):
            with pytest.raises(StorageError, match="holds encrypted fields"):
                read()


def test_sensitive_fields_without_a_key_refuse_to_open(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("HELPDESK_FIELD_KEY", raising=False)
    with pytest.raises(StorageError, match=r"custom\.email, custom\.mobile.*HELPDESK_FIELD_KEY"):
        open_storage(sqlite_url, load_config(PII_CONFIG))
    key_file = tmp_path / "field.key"
    key_file.write_text(generate_key() + "\n")
    with_file = {**PII_CONFIG, "storage": {"field_key_file": str(key_file)}}
    open_storage(sqlite_url, load_config(with_file)).close()
    plain = {**PII_CONFIG, "storage": {"encryption": "off"}}
    open_storage(sqlite_url, load_config(plain)).close()


@pytest.mark.parametrize(
    ("section", "path"),
    [
        ({"encryption": "maybe"}, "storage.encryption"),
        ({"sensitive_fields": ["custom.nope"]}, "storage.sensitive_fields[0]"),
        ({"sensitive_fields": ["requester"]}, "storage.sensitive_fields[0]"),
        ({"busy_timeout_ms": 0}, "storage.busy_timeout_ms"),
        ({"colour": "red"}, "storage.colour"),
    ],
)
def test_storage_settings_errors_name_the_key(section: dict[str, object], path: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config({**PII_CONFIG, "storage": section})
    assert info.value.path == path


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite:////no/such/dir/desk.db", "does not exist"),
        ("mysql://x@y/z", "unsupported database 'mysql'"),
        ("not a url", "not a database URL"),
        ("postgresql+psycopg://nobody@127.0.0.1:9/none", "cannot open postgresql"),
    ],
)
def test_bad_urls_get_clear_errors(url: str, message: str) -> None:
    with pytest.raises(StorageError, match=message):
        open_storage(url)


def _fill(url: str, n: int) -> None:
    with open_storage(url) as store, store.transaction() as uow:
        for i in range(n):
            ticket, events = new_ticket(f"t{i}", i)
            uow.save_ticket(ticket, events)


def _ids(url: str) -> list[str]:
    with open_storage(url) as store, store.transaction() as uow:
        return sorted(t.id for t in uow.query_tickets(TicketQuery(limit=None)))


def test_sqlite_backup_while_open_and_restore(tmp_path: Path) -> None:
    """R-SEC-3: a snapshot taken while the store is open restores to exactly that state."""
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    _fill(url, 5)
    with open_storage(url) as live, live.transaction() as uow:  # an open reader: no obstacle
        assert uow.get_ticket("t0") is not None
        snapshot = storage_sql.backup(url, str(tmp_path / "snap.db"))
    with open_storage(url) as store, store.transaction() as uow:
        for i in range(5, 8):
            ticket, events = new_ticket(f"t{i}", i)
            uow.save_ticket(ticket, events)
    assert len(_ids(url)) == 8
    storage_sql.restore(snapshot, url)
    assert _ids(url) == [f"t{i}" for i in range(5)]
    with pytest.raises(StorageError, match="exists"):
        storage_sql.backup(url, snapshot)
    junk = tmp_path / "junk.db"
    sqlite3.connect(junk).close()
    with pytest.raises(StorageError, match="not a helpdesk backup"):
        storage_sql.restore(str(junk), url)


@pytest.mark.postgres
def test_postgres_backup_and_restore_with_pg_dump(pg_url: str, tmp_path: Path) -> None:
    _fill(pg_url, 4)
    snapshot = storage_sql.backup(pg_url, str(tmp_path / "snap.dump"))
    with open_storage(pg_url) as store, store.transaction() as uow:
        ticket, events = new_ticket("late", 99)
        uow.save_ticket(ticket, events)
    assert "late" in _ids(pg_url)
    storage_sql.restore(snapshot, pg_url)
    assert _ids(pg_url) == [f"t{i}" for i in range(4)]


def test_cli_upgrade_backup_restore_and_keygen(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert cli.main(["db", "upgrade", "--url", url]) == 0
    _fill(url, 2)
    snap = tmp_path / "cli-snap.db"
    assert cli.main(["db", "backup", "--url", url, "--to", str(snap)]) == 0
    with open_storage(url) as store, store.transaction() as uow:
        uow.save_ticket(*new_ticket("x", 50))
    assert cli.main(["db", "restore", "--url", url, "--from", str(snap)]) == 0
    assert _ids(url) == ["t0", "t1"]
    assert cli.main(["db", "keygen"]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert len(key) == 44
    assert cli.main(["db", "backup", "--url", url, "--to", str(snap)]) == 2  # exists: refused


@pytest.mark.postgres
def test_ticket_numbers_on_postgres_skip_the_wal_flush_but_tickets_do_not(pg_url: str) -> None:
    """The counter connection commits with synchronous_commit = off (a crash can only lose
    counter steps that no committed ticket uses: the ticket's own commit flushes the WAL past
    them); ticket transactions keep the server's durable default."""
    with open_storage(pg_url) as store:
        with store.transaction() as uow:
            assert [uow.next_number("T20261102") for _ in range(3)] == [1, 2, 3]
            assert uow._conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
        with store.autocommit(flush=False) as conn:
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "off"
        with store.autocommit() as conn:
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
        with store.transaction() as uow:
            assert uow.next_number("T20261102") == 4
