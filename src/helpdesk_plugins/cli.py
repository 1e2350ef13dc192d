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
``helpdesk report NAME --period 2026-11 [--group-by type,priority] [--format table|csv|json]
[--chart FILE.svg]``
    a KPI report (``desk.report``) over local days, as the acting user (``--as``/``--role``,
    default an administrator).
``helpdesk whatif --against new.toml --period 2026-11``
    replay the period's tickets under another configuration (the desk's own is "before") and
    print the difference: breaches per metric and priority, escalations, workload, due instants
    that moved most.
``helpdesk worker --url URL [--config desk.toml] [--id NAME]``
    tick forever: claim tickets whose escalation check is due (leases; ``FOR UPDATE SKIP
    LOCKED`` on PostgreSQL), fire due escalation levels exactly once, check the queue alarms,
    deliver the outbox.
    SIGTERM or SIGINT finishes the current tick and exits 0; a killed worker's leases expire
    and another worker takes its tickets over.
``helpdesk dead-letters list|retry [ID] --url URL``
    outbox messages that failed every delivery attempt, with their last error; ``retry ID``
    puts one back to pending (the next worker tick delivers it). Runs as an administrator
    named by ``--as`` (default ``cli``), which the audit log records.
``helpdesk ingest-mail FILE... --url URL [--config desk.toml]``
    ingest .eml files, mbox files and Maildir folders; one line per message (where, outcome,
    ticket, reason) and a summary. Exit code 0: all recorded; 1: some quarantined or failed
    (storage down: run again, redeliveries are recognised); 2: usage error.
``helpdesk mail poll --url URL --config desk.toml [--once]``
    poll the ``[email.imap]`` mailboxes every ``interval`` seconds (docs/email.md).
``helpdesk mail listen --url URL [--host 127.0.0.1] [--port 8025] [--lmtp]``
    a local SMTP (or LMTP) server for the host's MTA; 250 only after ingest committed, 451
    when the store is down so the MTA retries.

``--url`` defaults to ``HELPDESK_DATABASE_URL`` and ``--config`` to ``HELPDESK_CONFIG``.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import cast

import attrs

from helpdesk_core.clock import Clock, SystemClock
from helpdesk_core.desk import Helpdesk
from helpdesk_core.errors import HelpdeskError
from helpdesk_core.model.people import Actor
from helpdesk_plugins.mail_intake import Ingest

log = logging.getLogger("helpdesk.worker")

EXIT_OK = 0
EXIT_PROBLEMS = 1
"""A check found problems (``config check``, ``ingest-mail`` with quarantined mail...)."""
EXIT_USAGE = 2
"""A usage error or a library error (its message on stderr)."""


class UsageError(Exception):
    """A command line that cannot run: printed as ``helpdesk: <message>``, exit code 2."""


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
        self.desk.check_alarms(now=now)
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
        raise UsageError("give --url or set HELPDESK_DATABASE_URL")
    return url


def _config(args: argparse.Namespace) -> str | None:
    config: str | None = args.config or os.environ.get("HELPDESK_CONFIG")
    return config


def _desk(args: argparse.Namespace) -> Helpdesk:
    return Helpdesk(config=_config(args), storage_url=_storage_url(args))


def _ingest_of(desk: Helpdesk) -> Ingest:
    """The desk's ``ingest_email`` as an :data:`Ingest`."""
    ingest = getattr(desk, "ingest_email", None)
    if ingest is None:  # pragma: no cover - this desk's build has no email intake
        raise UsageError("this helpdesk_core has no desk.ingest_email")
    return cast(Ingest, ingest)


def _worker(args: argparse.Namespace) -> int:
    desk = _desk(args)
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
            raise UsageError("db backup: give --to PATH")
        storage_sql.backup(url, args.to)
        print(f"{url}: snapshot written to {args.to}")
    else:
        if not args.source:
            raise UsageError("db restore: give --from PATH")
        storage_sql.restore(args.source, url)
        print(f"{url}: restored from {args.source}")
    return 0


def _period(text: str) -> tuple[date, date]:
    """``2026-11`` (a month), ``2026-11-02`` (a day) or ``2026-11-01..2026-11-15`` (local days,
    both included)."""
    try:
        if ".." in text:
            first, last = text.split("..", 1)
            return date.fromisoformat(first), date.fromisoformat(last)
        if len(text) == 7:
            year, month = (int(part) for part in text.split("-"))
            start = date(year, month, 1)
            following = date(year + month // 12, month % 12 + 1, 1)
            return start, following - timedelta(days=1)
        day = date.fromisoformat(text)
        return day, day
    except ValueError as exc:
        raise UsageError(
            f"--period {text!r}: give YYYY-MM, YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD"
        ) from exc


def _actor(args: argparse.Namespace) -> Actor:
    return Actor(id=args.as_id, roles={args.role})


def _progress(label: str) -> Callable[[int], None]:
    def tell(count: int) -> None:
        if sys.stderr.isatty():
            print(f"\r{label}: {count} tickets", end="", file=sys.stderr, flush=True)

    return tell


def _report(args: argparse.Namespace) -> int:
    from helpdesk_core.reports import KB_USAGE, REPORTS

    known = sorted([*REPORTS, KB_USAGE])
    if args.name not in known:
        raise UsageError(f"report: unknown report {args.name!r}; known: {known}")
    start, end = _period(args.period)
    groups = [g.strip() for g in args.group_by.split(",") if g.strip()] if args.group_by else []
    with _desk(args) as desk:
        report = desk.report(_actor(args), args.name, start=start, end=end, group_by=groups)
    if args.format == "csv":
        print(report.to_csv(), end="")
    elif args.format == "json":
        print(report.to_json())
    else:
        widths = {
            c: max([len(c)] + [len(_cell(r.get(c))) for r in report.rows]) for c in report.columns
        }
        print("  ".join(c.ljust(widths[c]) for c in report.columns))
        for row in report.rows:
            print("  ".join(_cell(row.get(c)).ljust(widths[c]) for c in report.columns))
    if args.chart:
        from helpdesk_plugins.charts import render_svg

        Path(args.chart).write_text(render_svg(report, title=args.name), encoding="utf-8")
        print(f"chart written to {args.chart}", file=sys.stderr)
    return 0


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value)


def _whatif(args: argparse.Namespace) -> int:
    start, end = _period(args.period)
    with _desk(args) as desk:
        result = desk.whatif(
            _actor(args), args.against, start=start, end=end, progress=_progress("replayed")
        )
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(result.text())
    return 0


def _add_reader_options(parser: argparse.ArgumentParser) -> None:
    _store_options(parser)
    parser.add_argument(
        "--period", required=True,
        help="YYYY-MM (a month), YYYY-MM-DD (a day) or FIRST..LAST (local days, inclusive)",
    )  # fmt: skip
    parser.add_argument("--as", dest="as_id", default="cli", help="acting user id (default: cli)")
    parser.add_argument(
        "--role", default="admin", help="the acting user's role (default: admin: the whole desk)"
    )


def _dead_letters(args: argparse.Namespace) -> int:
    admin = Actor(id=args.actor, roles={"admin"})
    with _desk(args) as desk:
        if args.action == "retry":
            if not args.id:
                raise UsageError("dead-letters retry: give the message ID")
            message = desk.retry_dead_letter(admin, args.id)
            print(f"{message.id}\tpending again ({message.key}); the next worker tick sends it")
            return 0
        dead = desk.dead_letters(admin, limit=args.limit)
        for message in dead:
            print(
                f"{message.id}\t{message.created_at.isoformat()}\t{message.topic}\t"
                f"{message.key}\tattempts={message.attempts}\t{message.last_error or '-'}"
            )
        print(f"{len(dead)} dead letter(s)")
    return 0


def _ingest_mail(args: argparse.Namespace) -> int:
    from helpdesk_plugins.mail_intake.files import FAILED, ingest_files

    paths = [Path(p) for p in args.files]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        print(
            f"helpdesk ingest-mail: no such file or folder: {', '.join(missing)}", file=sys.stderr
        )
        return 2
    counts: Counter[str] = Counter()
    with _desk(args) as desk:
        for outcome in ingest_files(paths, _ingest_of(desk)):
            print(outcome.line())
            counts[outcome.outcome] += 1
    total = sum(counts.values())
    parts = [f"{counts[k]} {k}" for k in ("created", "appended", "ignored", "quarantined", FAILED)]
    print(f"{total} message(s): " + ", ".join(parts))
    return 1 if counts["quarantined"] or counts[FAILED] else 0


def _mail(args: argparse.Namespace) -> int:
    desk = _desk(args)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("mail %s: signal %s, stopping", args.action, signum)
        stop.set()

    try:
        if args.action == "poll":
            from helpdesk_plugins.channel_email import email_settings
            from helpdesk_plugins.mail_intake.imap import ImapPoller

            settings = email_settings(desk.config).imap
            if settings is None:
                raise UsageError("mail poll: the config has no [email.imap] table")
            poller = ImapPoller(settings, _ingest_of(desk), desk.storage)
            if args.once:  # one poll; a refused login or an unreachable server exits 2
                result = poller.poll()
                for fetched in result.handled:
                    ticket = fetched.result.ticket_id or "-"
                    print(f"{fetched.mailbox}\t{fetched.uid}\t{fetched.result.outcome}\t{ticket}")
                print(
                    f"{len(result.handled)} message(s)"
                    + (f"; stopped: {result.error}" if result.error else "")
                )
                return 1 if result.error else 0
            poller.stop_event = stop
            signal.signal(signal.SIGTERM, on_signal)
            signal.signal(signal.SIGINT, on_signal)
            poller.run()
            return 0
        from helpdesk_plugins.mail_intake.listener import make_controller

        controller = make_controller(
            _ingest_of(desk),
            host=args.host,
            port=args.port,
            lmtp=args.lmtp,
            max_bytes=args.max_bytes,
        )
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        controller.start()
        kind = "LMTP" if args.lmtp else "SMTP"
        log.info(
            "%s listener on %s:%s, ingesting into %s", kind, args.host, args.port, desk.storage.url
        )
        try:
            stop.wait()
        finally:
            controller.stop()
        return 0
    finally:
        desk.close()


def _store_options(parser: argparse.ArgumentParser, *, config: bool = True) -> None:
    parser.add_argument("--url", help="the desk's database URL (default: $HELPDESK_DATABASE_URL)")
    if config:
        parser.add_argument(
            "--config", help="the desk's TOML configuration (default: $HELPDESK_CONFIG)"
        )


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
    rep = sub.add_parser("report", help="a KPI report over a period, as a table, CSV or JSON")
    rep.add_argument("name", help="volumes, first_response_time, sla_compliance, ... (see docs)")
    _add_reader_options(rep)
    rep.add_argument("--group-by", help="comma-separated dimensions, e.g. type,priority")
    rep.add_argument("--format", choices=["table", "csv", "json"], default="table")
    rep.add_argument("--chart", metavar="FILE.svg", help="also draw the report as an SVG chart")
    rep.set_defaults(run=_report)
    what = sub.add_parser(
        "whatif", help="replay a period's tickets under another configuration and compare"
    )
    what.add_argument("--against", required=True, metavar="NEW.toml", help="the changed config")
    _add_reader_options(what)
    what.set_defaults(run=_whatif)
    dead = sub.add_parser(
        "dead-letters", help="list or retry outbox messages that failed every attempt"
    )
    dead.add_argument("action", choices=["list", "retry"])
    dead.add_argument("id", nargs="?", help="retry: the message ID (first column of list)")
    _store_options(dead)
    dead.add_argument("--as", dest="actor", default="cli", help="administrator name to audit")
    dead.add_argument("--limit", type=int, default=100, help="list: at most this many (1-1000)")
    dead.set_defaults(run=_dead_letters)
    files = sub.add_parser(
        "ingest-mail",
        help="ingest .eml files, mbox files and Maildir folders",
        description="Ingest every message of each FILE (an .eml file, an mbox file or a "
        "Maildir folder). Prints one line per message (where, outcome, ticket, reason) and a "
        "summary. Exit code 0: all recorded; 1: some quarantined or failed; 2: usage error.",
    )
    files.add_argument("files", nargs="+", metavar="FILE")
    _store_options(files)
    files.set_defaults(run=_ingest_mail)
    mail = sub.add_parser("mail", help="mail intake daemons: IMAP poller, SMTP/LMTP listener")
    mail_sub = mail.add_subparsers(dest="action", required=True)
    poll = mail_sub.add_parser(
        "poll", help="poll the [email.imap] mailboxes (interval and batch from the config)"
    )
    _store_options(poll)
    poll.add_argument(
        "--once",
        action="store_true",
        help="poll once, print one line per message and exit (0 ok, 1 storage down, 2 error)",
    )
    poll.set_defaults(run=_mail)
    listen = mail_sub.add_parser("listen", help="a local SMTP/LMTP server for the host's MTA")
    _store_options(listen)
    listen.add_argument("--host", default="127.0.0.1", help="address (default: 127.0.0.1)")
    listen.add_argument("--port", type=int, default=8025, help="TCP port (default: 8025)")
    listen.add_argument("--lmtp", action="store_true", help="speak LMTP instead of SMTP")
    listen.add_argument(
        "--max-bytes",
        type=int,
        default=25_000_000,
        help="largest message accepted, in bytes (default: 25000000); larger ones get 552",
    )
    listen.set_defaults(run=_mail)
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    try:
        code: int = args.run(args)
    except (HelpdeskError, UsageError) as exc:
        print(f"helpdesk: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
