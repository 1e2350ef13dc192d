"""Consistent backups and restores (R-SEC-3).

- SQLite: the online backup API copies a live database page by page into a new file while
  writers keep working; the copy is a consistent snapshot. Restoring copies a snapshot back
  the same way (stop the desk's processes first).
- PostgreSQL: ``pg_dump --format=custom`` (a consistent snapshot of the desk's schema taken in
  one repeatable-read transaction) and ``pg_restore --clean``; both must be on ``PATH``.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import unquote

import sqlalchemy as sa

from helpdesk_core.errors import StorageError

_REQUIRED_TABLES = ("alembic_version", "hd_tickets", "hd_events")


def _sqlite_path(url: sa.engine.URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise StorageError(f"{url}: a temporary database has nothing to back up or restore")
    return Path(url.database).expanduser()


def _libpq(url: sa.engine.URL) -> tuple[str, str | None]:
    """The libpq URI for ``url`` and the schema its ``search_path`` option selects, if any."""
    schema = None
    options = url.query.get("options")
    if isinstance(options, str) and "search_path=" in unquote(options):
        schema = unquote(options).split("search_path=", 1)[1].split()[0].split(",")[0]
    plain = url.set(drivername="postgresql")
    return plain.render_as_string(hide_password=False), schema


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise StorageError(f"{name} is not on PATH; install the PostgreSQL client tools")
    return path


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy the SQLite database ``source`` into ``target`` with the online backup API."""
    src = sqlite3.connect(source)
    dest = sqlite3.connect(target)
    try:
        src.backup(dest)
    finally:
        dest.close()
        src.close()


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise StorageError(f"{what} failed ({done.returncode}): {done.stderr.strip()}")


def backup(url: str, to: str) -> str:
    """Write a consistent snapshot of the database at ``url`` to the new file ``to``."""
    parsed = sa.engine.make_url(url)
    target = Path(to).expanduser()
    if target.exists():
        raise StorageError(f"backup target {target} exists; choose a new file name")
    if not target.parent.is_dir():
        raise StorageError(f"backup target directory {target.parent} does not exist")
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        source_path = _sqlite_path(parsed)
        if not source_path.exists():
            raise StorageError(f"{parsed}: no database file at {source_path}")
        _sqlite_copy(source_path, target)
        return str(target)
    if backend == "postgresql":
        uri, schema = _libpq(parsed)
        command = [_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={target}"]
        if schema:
            command.append(f"--schema={schema}")
        _run([*command, f"--dbname={uri}"], "pg_dump")
        return str(target)
    raise StorageError(f"{parsed}: cannot back up a {backend!r} database")


def restore(source: str, url: str) -> None:
    """Replace the contents of the database at ``url`` by the snapshot ``source``."""
    parsed = sa.engine.make_url(url)
    snapshot = Path(source).expanduser()
    if not snapshot.is_file():
        raise StorageError(f"no backup file at {snapshot}")
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        try:
            check = sqlite3.connect(f"file:{snapshot}?mode=ro", uri=True)
            names = {r[0] for r in check.execute("SELECT name FROM sqlite_master")}
            check.close()
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"{snapshot} is not a SQLite database: {exc}") from exc
        missing = [t for t in _REQUIRED_TABLES if t not in names]
        if missing:
            raise StorageError(f"{snapshot} is not a helpdesk backup (no {', '.join(missing)})")
        _sqlite_copy(snapshot, _sqlite_path(parsed))
        return
    if backend == "postgresql":
        uri, _ = _libpq(parsed)
        _run(
            [
                _tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                f"--dbname={uri}",
                str(snapshot),
            ],
            "pg_restore",
        )
        return
    raise StorageError(f"{parsed}: cannot restore into a {backend!r} database")
