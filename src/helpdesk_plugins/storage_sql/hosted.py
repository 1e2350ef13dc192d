"""A desk inside a host application's database: its engine, and its transactions (issue 25).

Rules a host may rely on:

1. ``Helpdesk(storage_url=engine)`` stores on the host's SQLAlchemy ``Engine`` (SQLite or
   PostgreSQL) with the same ``[storage]`` settings and migrations as for a URL. The host keeps
   owning the engine: ``desk.close()`` returns the store's connections to the host's pool and
   never disposes it.
2. ``with joined(desk, connection):`` runs the desk's commands, in this thread (a context
   variable: other threads and tasks using the same desk are unaffected), on the host's
   ``connection`` and inside its transaction (begun if the connection has none). Each command
   runs in a SAVEPOINT: a command that fails leaves nothing of its own behind and the host's
   transaction usable; one that succeeds is committed or rolled back by the host, together with
   the host's own writes.
3. Inside ``joined`` there is no automatic retry: a lost optimistic race raises
   :class:`~helpdesk_core.errors.ConcurrencyConflict` (the host decides whether to start over).
4. After-commit work (``helpdesk_event_committed`` observers) runs when the host's transaction
   commits, after the database has committed it, and never when the host rolls back.
5. On PostgreSQL, ticket numbers and work claims take effect at once, as outside ``joined``: a
   rolled-back host transaction leaves a gap in the day's numbers, never a duplicate. On SQLite
   they are part of the host's transaction.
6. Leaving the block (or an inner ``joined`` block) restores what was in force before.

7. The host's own SAVEPOINTs (``connection.begin_nested()``) are honoured: commands inside a
   savepoint the host rolls back are undone with it and never heard of.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import attrs
import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection, Engine

from helpdesk_core.errors import StorageError, ValidationError

if TYPE_CHECKING:
    from helpdesk_core.desk import Helpdesk

SUPPORTED_DIALECTS = ("sqlite", "postgresql")


def host_engine(value: object) -> Engine | None:
    """``value`` as an engine the SQL store can use, or None when it is not an engine at all.

    An async engine or an engine on another database is a :class:`ValidationError` naming
    ``storage_url`` and what was given.
    """
    if isinstance(value, Engine):
        name = value.dialect.name
        if name not in SUPPORTED_DIALECTS:
            raise ValidationError(
                "storage_url",
                f"an Engine on {name!r}: the SQL storage runs on sqlite or postgresql",
            )
        return value
    if type(value).__name__ == "AsyncEngine" and isinstance(
        getattr(value, "sync_engine", None), Engine
    ):
        raise ValidationError(
            "storage_url",
            "an AsyncEngine: give its .sync_engine (the desk is synchronous; see "
            "docs/embedding.md for calling it from async code)",
        )
    return None


class HostCommit:
    """The after-commit work of helpdesk commands run on one host connection.

    Listens to the connection's transaction events. Callbacks are kept per SAVEPOINT level
    (SQLAlchemy's savepoints nest strictly): a released savepoint's callbacks join the level
    below, a rolled-back one's are dropped, the transaction's commit runs them all and its
    rollback drops them all. A savepoint the host opened before its first ``joined`` on the
    connection is the bottom level. Holds no reference to the connection, so a connection the
    host drops is collected with its listeners.
    """

    def __init__(self, connection: Connection) -> None:
        self._levels: list[list[Callable[[], None]]] = [[]]
        for name, listener in (
            ("commit", self._commit),
            ("rollback", self._rollback),
            ("savepoint", self._savepoint),
            ("release_savepoint", self._release_savepoint),
            ("rollback_savepoint", self._rollback_savepoint),
        ):
            sa_event.listen(connection, name, listener)

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._levels[-1].append(callback)

    @property
    def pending(self) -> int:
        """Callbacks waiting for the host's commit."""
        return sum(len(level) for level in self._levels)

    def _commit(self, connection: Connection) -> None:
        pending = [callback for level in self._levels for callback in level]
        self._levels = [[]]
        if not pending:
            return
        # SQLAlchemy tells listeners *before* the driver commits; commit on the driver first so
        # that observers only ever hear of committed work (the driver's own commit that follows
        # then has nothing left to do)
        dbapi_connection: Any = connection.connection.dbapi_connection
        dbapi = connection.dialect.loaded_dbapi
        try:
            dbapi_connection.commit()
        except dbapi.Error as exc:
            raise sa.exc.DBAPIError.instance(None, None, exc, dbapi.Error) from exc
        for callback in pending:
            callback()

    def _rollback(self, connection: Connection) -> None:
        self._levels = [[]]

    def _savepoint(self, connection: Connection, name: str | None) -> None:
        self._levels.append([])

    def _release_savepoint(self, connection: Connection, name: str, context: Any) -> None:
        if len(self._levels) > 1:
            released = self._levels.pop()
            self._levels[-1].extend(released)

    def _rollback_savepoint(self, connection: Connection, name: str, context: Any) -> None:
        if len(self._levels) > 1:
            self._levels.pop()
        else:  # a savepoint older than these listeners: everything they saw was inside it
            self._levels[0].clear()


@attrs.frozen
class Joined:
    """The host connection a desk's commands run on in the current context."""

    connection: Connection
    host: HostCommit


class HostConnections:
    """One store's host connections: which one the current context has joined, and the
    :class:`HostCommit` of each (created once per connection)."""

    def __init__(self) -> None:
        # one variable per store: desks on different stores join independently
        self.current: ContextVar[Joined | None] = ContextVar("helpdesk_joined", default=None)
        self._hosts: weakref.WeakKeyDictionary[Connection, HostCommit] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def join(self, connection: Connection) -> Joined:
        with self._lock:
            host = self._hosts.get(connection)
            if host is None:
                host = self._hosts[connection] = HostCommit(connection)
        return Joined(connection, host)


@contextmanager
def joined(desk: Helpdesk, connection: Connection) -> Iterator[Helpdesk]:
    """See :func:`helpdesk_plugins.storage_sql.joined` and the module docstring."""
    from helpdesk_plugins.storage_sql.store import SqlStorage

    store = desk.storage
    if not isinstance(store, SqlStorage):
        raise ValidationError(
            "desk", f"joined() needs a desk on SQL storage, this one stores in {store.url!r}"
        )
    if not isinstance(connection, Connection):
        kind = type(connection)
        raise ValidationError(
            "connection",
            f"must be an SQLAlchemy Connection, got {kind.__module__}.{kind.__qualname__}",
        )
    if connection.closed:
        raise ValidationError("connection", "is closed")
    if connection.engine.pool is not store.engine.pool:
        raise ValidationError(
            "connection",
            f"belongs to another engine than the desk's storage ({store.url}): build the desk "
            "with Helpdesk(storage_url=engine) on the host's engine",
        )
    if store.dialect == "sqlite" and not store.hosted:
        # the desk's own SQLite engine runs the driver in autocommit: a host's statements on it
        # would not wait for the host's commit
        raise ValidationError(
            "connection",
            "is a connection of the desk's own SQLite engine: build the desk on your engine "
            "(Helpdesk(storage_url=engine)) to share transactions with it",
        )
    token = store.hosts.current.set(store.hosts.join(connection))
    try:
        yield desk
    finally:
        store.hosts.current.reset(token)


def require_open(connection: Connection, url: str) -> None:
    if connection.closed or connection.invalidated:
        raise StorageError(f"{url}: the host's connection of joined() is closed")
