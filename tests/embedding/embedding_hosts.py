"""What the embedding tests share: the host application's engine (a SQLite file, a PostgreSQL
scratch schema), a desk configuration, an observer, and reads of the host's database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from helpdesk_core import hookimpl
from helpdesk_core.model.events import Event
from helpdesk_core.model.tickets import Ticket
from helpdesk_core.testing.postgres import POSTGRES_SKIP_REASON, postgres_url

sa = pytest.importorskip("sqlalchemy")

APP_TABLES = sa.MetaData()
APP_NOTES = sa.Table(
    "app_notes",
    APP_TABLES,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("text", sa.String(200), nullable=False),
)
"""The host application's own table."""

CONFIG = {"desk": {"default_team": "after-sales"}, "storage": {"encryption": "off"}}


def begin_on_the_driver(engine: sa.engine.Engine) -> None:
    """SQLAlchemy's recipe for pysqlite: the driver's own transaction handling off, and a
    (deferred) BEGIN emitted whenever SQLAlchemy begins; hosts use it for SAVEPOINTs."""

    @sa.event.listens_for(engine, "connect")
    def no_driver_transactions(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def begin(conn: sa.engine.Connection) -> None:
        conn.exec_driver_sql("BEGIN")


@contextmanager
def host_engine(kind: str, tmp_path: Path) -> Iterator[sa.engine.Engine]:
    """The host's own engine on ``kind`` (sqlite, sqlite_begins or postgres) with its own table
    (``app_notes``), disposed afterwards."""
    if kind.startswith("sqlite"):
        # the host's own engine, as an application would create it (no helpdesk settings;
        # a generous lock timeout so that a loaded test machine never turns waits into errors)
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'app.db'}", connect_args={"timeout": 60})
        if kind == "sqlite_begins":
            begin_on_the_driver(engine)
        APP_TABLES.create_all(engine)
        yield engine
        engine.dispose()
        return
    base = postgres_url()
    if base is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    from helpdesk_plugins.storage_sql.scratch import scratch_schema

    with scratch_schema(base, "hd_embed") as url:
        engine = sa.create_engine(url)
        APP_TABLES.create_all(engine)
        yield engine
        engine.dispose()


class Observer:
    """Records what ``helpdesk_event_committed`` tells, as (event kind, ticket id)."""

    def __init__(self) -> None:
        self.heard: list[tuple[str, str]] = []

    @hookimpl
    def helpdesk_event_committed(self, event: Event, ticket: Ticket) -> None:
        self.heard.append((event.kind, ticket.id))


def app_notes(engine: sa.engine.Engine) -> list[str]:
    with engine.connect() as conn:
        return [text for (text,) in conn.exec_driver_sql("SELECT text FROM app_notes ORDER BY id")]


def ticket_numbers(engine: sa.engine.Engine) -> list[str]:
    """The numbers of the tickets stored in the host's database."""
    with engine.connect() as conn:
        return [n for (n,) in conn.exec_driver_sql("SELECT number FROM hd_tickets ORDER BY number")]
