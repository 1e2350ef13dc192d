"""Schema migrations with Alembic; the scripts ship inside this package (``migrations/``).

:func:`upgrade` brings a database to the newest schema; opening a :class:`SqlStorage` does the
same unless ``[storage] migrate = false``. Concurrent upgrades are safe: SQLite takes its write
lock first, PostgreSQL an advisory lock, and DDL is transactional on both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from helpdesk_core.errors import StorageError

MIGRATIONS: Final = Path(__file__).with_name("migrations")
_PG_LOCK: Final = 0x48_44_4D_47  # "HDMG": one upgrade at a time per database


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for the packaged scripts (``connection``: migrate through it)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None
    return revision


def current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade_engine(engine: Engine, revision: str = "head") -> None:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.begin()  # a host's engine may begin on the driver itself (SQLAlchemy's recipe)
            raw: Any = conn.connection.dbapi_connection
            if not raw.in_transaction:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK})")
        if revision == "head" and current(conn) == head():
            conn.commit()
            return
        command.upgrade(alembic_config(conn), revision)
        conn.commit()


def check_current(engine: Engine) -> None:
    with engine.connect() as conn:
        found = current(conn)
    if found != head():
        raise StorageError(
            f"the database schema is at revision {found or 'none'}, this code needs {head()}: "
            "run `helpdesk db upgrade --url ...` (or set [storage] migrate = true)"
        )


def upgrade(url: str, revision: str = "head") -> None:
    """Apply the packaged migrations to the database at ``url`` (``helpdesk db upgrade``)."""
    import shutil

    from helpdesk_plugins.storage_sql.settings import StorageSettings
    from helpdesk_plugins.storage_sql.store import make_engine, shown

    engine, tempdir = make_engine(url, StorageSettings())
    try:
        upgrade_engine(engine, revision)
    except sa.exc.OperationalError as exc:
        raise StorageError(f"cannot migrate {shown(url)}: {exc.orig}") from exc
    finally:
        engine.dispose()
        if tempdir is not None:
            shutil.rmtree(tempdir, ignore_errors=True)
