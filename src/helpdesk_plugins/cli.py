"""The ``helpdesk`` command: database migrations and backups, and the long-running worker.

``helpdesk db upgrade --url URL``
    apply the shipped Alembic migrations (SQLite or PostgreSQL).
``helpdesk db backup --url URL --to backup.db``
    a consistent snapshot: SQLite's online backup API, or ``pg_dump`` for PostgreSQL.
``helpdesk db restore --url URL --from backup.db``
    replace the database's contents by a snapshot (stop the desk's processes first).
``helpdesk db reindex --url URL``
    rebuild the ticket full-text search tables from the stored tickets.
``helpdesk db keygen``
    print a new key for encrypting sensitive fields at rest (``HELPDESK_FIELD_KEY``).
``helpdesk worker --url URL [--config desk.toml] [--id NAME]``
    tick forever: claim tickets whose escalation check is due (leases; ``FOR UPDATE SKIP
    LOCKED`` on PostgreSQL), fire due escalation levels exactly once, deliver the outbox.
    SIGTERM or SIGINT finishes the current tick and exits 0; a killed worker's leases expire
    and another worker takes its tickets over.

Other distributions add commands through the ``helpdesk.cli`` entry-point group: each entry
point names a :class:`CommandRegistrar`, a callable that adds its subcommands to the parser
(the reference server adds ``serve`` and ``demo`` this way). A subcommand sets ``run`` (a
function of the parsed arguments returning the exit code) with ``set_defaults``.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from importlib.metadata import entry_points
from types import FrameType
from typing import Final, Protocol

import attrs

from helpdesk_core.clock import Clock, SystemClock
from helpdesk_core.desk import Helpdesk
from helpdesk_core.errors import HelpdeskError

log = logging.getLogger("helpdesk.worker")

CLI_ENTRY_POINT_GROUP: Final = "helpdesk.cli"
"""Entry-point group of :class:`CommandRegistrar` objects that add ``helpdesk`` subcommands."""

Subcommands = argparse._SubParsersAction  # the type argparse gives add_subparsers()' result


class CommandRegistrar(Protocol):
    """What a ``helpdesk.cli`` entry point names: ``register(commands)`` adds subparsers with
    ``commands.add_parser(name, help=...)`` and sets ``run`` (``args -> exit code``) on each."""

    def __call__(self, commands: Subcommands[argparse.ArgumentParser]) -> None: ...


def add_extension_commands(commands: Subcommands[argparse.ArgumentParser]) -> list[str]:
    """Let every installed ``helpdesk.cli`` entry point add its subcommands; returns their
    entry-point names. A broken extension is reported on stderr and skipped, so the built-in
    commands keep working."""
    loaded = []
    for point in entry_points(group=CLI_ENTRY_POINT_GROUP):
        try:
            register: CommandRegistrar = point.load()
            register(commands)
        except Exception as exc:  # an extension must not break `helpdesk db ...`
            print(f"helpdesk: skipping CLI extension {point.name!r}: {exc}", file=sys.stderr)
            continue
        loaded.append(point.name)
    return loaded


@attrs.frozen
class TickResult:
    at: datetime
    claimed: int
    fired: int
    delivered: int


@attrs.define
class Worker:
    """Runs escalation ticks and outbox delivery for one desk until told to stop."""

    desk: Helpdesk
    worker_id: str
    interval: float = 5.0
    batch: int = 500
    lease: timedelta = timedelta(minutes=5)
    clock: Clock = attrs.field(factory=SystemClock)
    stop_event: threading.Event = attrs.field(factory=threading.Event)
    ticks: int = 0

    def tick(self) -> TickResult:
        now = self.clock.now()
        run = self.desk.run_escalations(
            now=now, worker=self.worker_id, limit=self.batch, lease=self.lease
        )
        delivered = self.desk.dispatch_outbox(now=now, worker=self.worker_id, lease=self.lease)
        self.ticks += 1
        return TickResult(now, run.claimed, run.fired, delivered)

    def run(self, max_ticks: int | None = None) -> None:
        """Tick until :meth:`stop` (or ``max_ticks``); an idle tick waits ``interval``."""
        while not self.stop_event.is_set():
            try:
                result = self.tick()
            except HelpdeskError:
                log.exception(
                    "worker %s: tick failed; retrying after %ss", self.worker_id, self.interval
                )
                result = None
            if max_ticks is not None and self.ticks >= max_ticks:
                return
            busy = result is not None and (result.claimed or result.delivered)
            if not busy:
                self.stop_event.wait(self.interval)

    def stop(self, *_: object) -> None:
        self.stop_event.set()


def _storage_url(args: argparse.Namespace) -> str:
    url: str | None = args.url or os.environ.get("HELPDESK_DATABASE_URL")
    if not url:
        raise SystemExit("helpdesk: give --url or set HELPDESK_DATABASE_URL")
    return url


def _worker(args: argparse.Namespace) -> int:
    desk = Helpdesk(config=args.config, storage_url=_storage_url(args))
    worker = Worker(
        desk,
        args.id or f"{socket.gethostname()}:{os.getpid()}",
        interval=args.interval,
        batch=args.batch,
        lease=timedelta(seconds=args.lease),
    )

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("worker %s: signal %s, finishing the current tick", worker.worker_id, signum)
        worker.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.info("worker %s started on %s", worker.worker_id, desk.storage.url)
    try:
        worker.run(max_ticks=args.max_ticks)
    finally:
        desk.close()
    return 0


def _db(args: argparse.Namespace) -> int:
    from helpdesk_plugins import storage_sql

    if args.action == "keygen":
        from helpdesk_plugins.storage_sql.cipher import generate_key

        print(generate_key())
        return 0
    url = _storage_url(args)
    if args.action == "upgrade":
        storage_sql.upgrade(url)
        print(f"{url}: migrated to head")
    elif args.action == "reindex":
        from helpdesk_plugins.storage_sql.search import reindex

        with storage_sql.open_storage(url) as store:
            count = reindex(store)
        print(f"{url}: search index rebuilt from {count} tickets")
    elif args.action == "backup":
        if not args.to:
            raise SystemExit("helpdesk db backup: give --to PATH")
        storage_sql.backup(url, args.to)
        print(f"{url}: snapshot written to {args.to}")
    else:
        if not args.source:
            raise SystemExit("helpdesk db restore: give --from PATH")
        storage_sql.restore(args.source, url)
        print(f"{url}: restored from {args.source}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="helpdesk", description=__doc__.split("\n")[0])
    parser.add_argument("--log-level", default="INFO")
    sub = parser.add_subparsers(dest="command", required=True)
    db = sub.add_parser("db", help="migrations and backups")
    db.add_argument("action", choices=["upgrade", "reindex", "backup", "restore", "keygen"])
    db.add_argument("--url")
    db.add_argument("--to", help="backup: the new snapshot file")
    db.add_argument("--from", dest="source", help="restore: the snapshot file")
    db.set_defaults(run=_db)
    work = sub.add_parser("worker", help="escalation ticks and outbox delivery")
    work.add_argument("--url")
    work.add_argument("--config")
    work.add_argument("--id")
    work.add_argument("--interval", type=float, default=5.0)
    work.add_argument("--batch", type=int, default=500)
    work.add_argument("--lease", type=float, default=300.0, help="seconds")
    work.add_argument("--max-ticks", type=int, default=None)
    work.set_defaults(run=_worker)
    add_extension_commands(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    try:
        code: int = args.run(args)
    except HelpdeskError as exc:
        print(f"helpdesk: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
