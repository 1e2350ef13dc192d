"""SQL storage plugin: SQLite by default, PostgreSQL at scale (extras ``sql`` / ``postgres``).

Serves ``sqlite:///path.db``, ``sqlite://`` (temporary, for tests) and
``postgresql+psycopg://...`` through ``helpdesk_storage_open``, and a host application's own
SQLAlchemy ``Engine`` on SQLite or PostgreSQL (``docs/embedding.md``). SQLAlchemy is imported only
when such a URL is opened, so the core and the memory store work without the extra installed.

Functions: :func:`upgrade` (migrations), :func:`backup` / :func:`restore` (R-SEC-3), and
:func:`joined` (run a desk's commands inside the host's transaction).
"""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Final

from helpdesk_core.config import HelpdeskConfig, SectionRegistrar
from helpdesk_core.errors import StorageError
from helpdesk_core.hookspecs import hookimpl
from helpdesk_plugins.storage_sql.settings import parse_storage

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from helpdesk_core.desk import Helpdesk
    from helpdesk_plugins.storage_sql.store import SqlStorage

SCHEMES: Final = ("sqlite:", "sqlite+pysqlite:", "postgresql:", "postgresql+psycopg:")


def _missing(exc: ImportError) -> StorageError:
    return StorageError(
        f"the SQL storage needs its extra: pip install 'helpdesk-core[sql]' "
        f"(PostgreSQL: 'helpdesk-core[postgres]'); missing module {exc.name!r}"
    )


def open_storage(url: str | Engine, config: HelpdeskConfig | None = None) -> SqlStorage:
    """Open (and migrate, unless configured otherwise) the database at ``url``, or on a host's
    ``Engine`` (which the store uses and never disposes)."""
    try:
        from helpdesk_plugins.storage_sql.store import SqlStorage
    except ImportError as exc:
        raise _missing(exc) from exc
    return SqlStorage(url, config)


@hookimpl(trylast=True)
def helpdesk_register_config_sections(register: SectionRegistrar) -> None:
    register("storage", parse_storage)


@hookimpl(trylast=True)
def helpdesk_storage_open(url: object, config: HelpdeskConfig) -> SqlStorage | None:
    if isinstance(url, str):
        return open_storage(url, config) if url.startswith(SCHEMES) else None
    if "sqlalchemy" not in sys.modules:  # then it cannot be an engine
        return None
    from helpdesk_plugins.storage_sql.hosted import host_engine

    engine = host_engine(url)
    return None if engine is None else open_storage(engine, config)


def joined(desk: Helpdesk, connection: Connection) -> AbstractContextManager[Helpdesk]:
    """Run ``desk``'s commands, in this thread, inside the transaction of the host's
    ``connection`` (``with joined(desk, conn): desk.open_ticket(...)``).

    The host commits or rolls back, and the desk's writes go with its own; observers hear of the
    events only when the host commits. A lost race raises ``ConcurrencyConflict`` (no retry).
    See :mod:`helpdesk_plugins.storage_sql.hosted` and ``docs/embedding.md``.
    """
    try:
        from helpdesk_plugins.storage_sql.hosted import joined as run
    except ImportError as exc:
        raise _missing(exc) from exc
    return run(desk, connection)


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to the newest schema (``helpdesk db upgrade``)."""
    try:
        from helpdesk_plugins.storage_sql.migrate import upgrade as run
    except ImportError as exc:
        raise _missing(exc) from exc
    run(url, revision)


def backup(url: str, to: str) -> str:
    """A consistent snapshot of the database at ``url`` written to ``to``; returns its path."""
    try:
        from helpdesk_plugins.storage_sql.snapshots import backup as run
    except ImportError as exc:
        raise _missing(exc) from exc
    return run(url, to)


def restore(source: str, url: str) -> None:
    """Replace the database at ``url`` by the snapshot ``source`` made by :func:`backup`."""
    try:
        from helpdesk_plugins.storage_sql.snapshots import restore as run
    except ImportError as exc:
        raise _missing(exc) from exc
    run(source, url)


def __getattr__(name: str) -> Any:
    if name == "SqlStorage":
        from helpdesk_plugins.storage_sql.store import SqlStorage

        return SqlStorage
    raise AttributeError(name)
