"""The helpdesk command: run, check and operate a desk from a shell.

Commands: db (migrations, backups, search index, encryption keys), worker (escalations, queue
alarms and outbox delivery, forever), config check (validate a desk's TOML file), sla explain
(why a ticket's SLA clocks read what they do), report and whatif (KPIs over a period, and the
same period replayed under another configuration), dead-letters (outbox messages that failed
every attempt), ingest-mail (.eml, mbox and Maildir files), mail poll and mail listen (IMAP
poller, SMTP/LMTP listener). "helpdesk COMMAND --help" describes each; docs/operations.md has
the exit codes and environment variables, which the --help epilog repeats.

Other distributions add commands through the helpdesk.cli entry-point group: each entry
point names a CommandRegistrar, a callable that adds its subcommands to the parser (the
reference server adds serve and demo this way).

This text is the --help description, so it is plain text, not reStructuredText.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import socket
import sys
import textwrap
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from importlib.metadata import entry_points
from pathlib import Path
from types import FrameType
from typing import Final, Protocol, cast

import attrs

from helpdesk_core.clock import Clock, SystemClock
from helpdesk_core.desk import Helpdesk
from helpdesk_core.errors import HelpdeskError
from helpdesk_core.model.people import Actor
from helpdesk_plugins.mail_intake import Ingest

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
        from helpdesk_core.service.reporting import rebuild_facts

        desk = Helpdesk(config=_config(args), storage_url=url)
        try:
            count = rebuild_facts(desk.storage, desk.sla)
        finally:
            desk.close()
        print(f"{url}: report facts rebuilt for {count} tickets")
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


def _actor(args: argparse.Namespace, desk: Helpdesk) -> Actor:
    """The user a command acts for (``--as``, ``--role``); a role the desk's permission matrix
    does not know (built-in, a plugin's or the config's ``[permissions]``) is a usage error."""
    from helpdesk_core.permissions import PermissionMatrix

    policy = desk.policy
    if isinstance(policy, PermissionMatrix) and args.role not in policy.roles:
        known = ", ".join(sorted(policy.roles - {"system"}))
        raise UsageError(f"--role {args.role!r}: this desk has no such role; known: {known}")
    if not args.as_id.strip():
        raise UsageError("--as: give the acting user's id (a non-empty name)")
    return Actor(id=args.as_id, roles={args.role})


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int], None]]:
    """A live count of the tickets done, on a terminal only (scripts and pipes see nothing):
    a rich progress display with the elapsed time when rich is installed (the ``cli``
    extra), else a plain count rewritten in place."""
    if not sys.stderr.isatty():
        yield lambda count: None
        return
    try:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    except ImportError:

        def tell(count: int) -> None:
            print(f"\r{label}: {count:,} tickets", end="", file=sys.stderr, flush=True)

        yield tell
        print(file=sys.stderr)
        return
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,.0f} tickets"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as display:
        task = display.add_task(label, total=None)
        yield lambda count: display.update(task, completed=count)


def _report(args: argparse.Namespace) -> int:
    from helpdesk_core.reports import KB_USAGE, REPORTS

    known = sorted([*REPORTS, KB_USAGE])
    if args.name not in known:
        raise UsageError(f"report: unknown report {args.name!r}; known: {known}")
    start, end = _period(args.period)
    groups = [g.strip() for g in args.group_by.split(",") if g.strip()] if args.group_by else []
    with _desk(args) as desk:
        report = desk.report(_actor(args, desk), args.name, start=start, end=end, group_by=groups)
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
    with _desk(args) as desk, _progress("replayed") as progress:
        result = desk.whatif(
            _actor(args, desk), args.against, start=start, end=end, progress=progress
        )
    print(result.text())
    return 0


def _add_reader_options(parser: argparse.ArgumentParser) -> None:
    _store_options(parser)
    parser.add_argument(
        "--period", required=True,
        help="YYYY-MM (a month), YYYY-MM-DD (a day) or FIRST..LAST (local days, inclusive)",
    )  # fmt: skip
    _actor_options(parser)


def _dead_letters(args: argparse.Namespace) -> int:
    if args.action == "retry" and not args.id:
        raise UsageError("dead-letters retry: give the message ID")
    with _desk(args) as desk:
        actor = _actor(args, desk)
        if args.action == "retry":
            message = desk.retry_dead_letter(actor, args.id)
            print(f"{message.id}\tpending again ({message.key}); the next worker tick sends it")
            return 0
        dead = desk.dead_letters(actor, limit=args.limit)
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


ENVIRONMENT_HELP: Final = {
    "HELPDESK_DATABASE_URL": "the database URL if no --url",
    "HELPDESK_CONFIG": "the TOML configuration if no --config",
    "HELPDESK_FIELD_KEY": "keys for encrypted fields (helpdesk db keygen)",
    "HELPDESK_DISABLE_PLUGIN_AUTOLOAD": "set: load no plugins from entry points",
}

EPILOG: Final = (
    "environment variables:\n"
    + "".join(f"  {name:33} {meaning}\n" for name, meaning in ENVIRONMENT_HELP.items())
    + "\nexit codes:\n"
    + f"  {EXIT_OK}  done, nothing wrong\n"
    + f"  {EXIT_PROBLEMS}  the command ran and a check found problems (config check, ingest-mail)\n"
    + f"  {EXIT_USAGE}  usage or library error; the message is on stderr\n"
)


def _config_check(args: argparse.Namespace) -> int:
    from helpdesk_core.config import check_config
    from helpdesk_core.plugins import PluginManager

    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"config check: no such file: {path}")
    errors = check_config(path, PluginManager().config_registry())
    for error in errors:
        print(f"{path}: {error}")
    if errors:
        print(f"{path}: {len(errors)} problem(s)")
        return EXIT_PROBLEMS
    print(f"{path}: ok")
    return EXIT_OK


_TICKET_ID: Final = re.compile(r"[0-9a-f]{32}")


def _sla_explain(args: argparse.Namespace) -> int:
    with _desk(args) as desk:
        actor = _actor(args, desk)
        ticket_id = args.ticket
        if not _TICKET_ID.fullmatch(ticket_id):  # a number such as T20261102000001
            ticket_id = desk.get_ticket_by_number(actor, ticket_id).id
        explanation = desk.sla_explain(actor, ticket_id)
    print(explanation.text(args.lang))
    return EXIT_OK


ACTOR_HELP: Final = (
    "Commands that act for someone (sla explain, report, whatif, dead-letters) take --as "
    "ACTOR_ID --role ROLE; without them they act as a system administrator named cli. The "
    "desk's permission matrix decides what that user may do, as in the library, and the audit "
    "log records the --as name."
)


def _indented(text: str) -> str:
    return textwrap.fill(text, 79, initial_indent="  ", subsequent_indent="  ")


def _actor_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--as",
        dest="as_id",
        default="cli",
        metavar="ACTOR_ID",
        help="the acting user's id, as the audit log records it (default: cli)",
    )
    parser.add_argument(
        "--role",
        default="admin",
        metavar="ROLE",
        help="the acting user's role, one the desk's permission matrix knows (admin, "
        "supervisor, agent, customer... or a role of the config's [permissions]); permissions "
        "apply as for that role (default: admin, a system administrator)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``helpdesk`` argument parser with every built-in command."""
    parser = argparse.ArgumentParser(
        prog="helpdesk",
        description=(__doc__ or "").split("\n\n")[0].replace("\n", " "),
        epilog=f"{EPILOG}\nacting user:\n{_indented(ACTOR_HELP)}\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        type=str.upper,
        help="what to log on stderr (default: WARNING: quiet; INFO shows worker ticks and "
        "migrations)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, description: str | None = None) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=help,
            description=textwrap.fill(description or help[0].upper() + help[1:] + ".", 79),
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    db = command(
        "db",
        "database migrations, backups, search index and encryption keys",
        "upgrade: apply the shipped migrations (SQLite or PostgreSQL). backup: write a "
        "consistent snapshot (SQLite online backup, pg_dump for PostgreSQL) to a new file. "
        "restore: replace the database's contents by a snapshot (stop the desk's processes "
        "first). reindex: rebuild the full-text search tables and the report facts (under the "
        "SLA configuration of --config) from the stored tickets. keygen: "
        "print a new key for encrypted fields (HELPDESK_FIELD_KEY).",
    )
    db.add_argument(
        "action", choices=["upgrade", "reindex", "backup", "restore", "keygen"], help="what to do"
    )
    _store_options(db)
    db.add_argument("--to", help="backup: the snapshot file to create (must not exist)")
    db.add_argument("--from", dest="source", help="restore: the snapshot file to restore")
    db.set_defaults(run=_db)
    work = command(
        "worker",
        "escalation ticks, queue alarms and outbox delivery, until SIGTERM or SIGINT",
        "Tick forever: claim tickets whose escalation check is due (leases; FOR UPDATE SKIP "
        "LOCKED on PostgreSQL), fire due escalation levels exactly once, check the queue "
        "alarms, deliver the outbox. SIGTERM or SIGINT finishes the current tick and exits 0; "
        "a killed worker's leases expire and another worker takes its tickets over.",
    )
    _store_options(work)
    work.add_argument("--id", help="this worker's name in leases and logs (default: HOSTNAME:PID)")
    work.add_argument(
        "--interval",
        type=float,
        metavar="SECONDS",
        default=5.0,
        help="seconds an idle tick waits before the next (default: 5)",
    )
    work.add_argument(
        "--batch",
        type=int,
        default=500,
        metavar="N",
        help="most tickets one tick claims (default: 500)",
    )
    work.add_argument(
        "--lease",
        type=float,
        metavar="SECONDS",
        default=300.0,
        help="seconds a claim holds before another worker may take it over (default: 300)",
    )
    work.add_argument(
        "--max-ticks",
        type=int,
        metavar="N",
        default=None,
        help="stop after this many ticks (default: none, run until stopped)",
    )
    work.set_defaults(run=_worker)
    config = command(
        "config",
        "check a desk's configuration file",
        "check FILE: validate a TOML configuration with the installed plugins' sections and "
        "operators; prints every error found with its key path, one per line. Exit code 0: "
        "valid; 1: errors found; 2: no such file.",
    )
    config.add_argument("action", choices=["check"], help="check: validate FILE")
    config.add_argument("file", metavar="FILE", help="the TOML configuration to check")
    config.set_defaults(run=_config_check)
    sla_cmd = command(
        "sla",
        "explain a ticket's SLA clocks",
        "explain TICKET: the policy and why it matched, each running or paused segment with "
        "its business time, and how each due instant was reached (desk.sla_explain).",
    )
    sla_cmd.add_argument("action", choices=["explain"], help="explain: print the explanation")
    sla_cmd.add_argument(
        "ticket", metavar="TICKET", help="the ticket's number (T20261102000001) or id"
    )
    _store_options(sla_cmd)
    _actor_options(sla_cmd)
    sla_cmd.add_argument(
        "--lang", choices=["en", "zh-CN"], default="en", help="language (default: en)"
    )
    sla_cmd.set_defaults(run=_sla_explain)
    rep = command("report", "a KPI report over a period, as a table, CSV or JSON")
    from helpdesk_core.reports import REPORTS

    rep.add_argument("name", help="the report: " + ", ".join(sorted(REPORTS)))
    _add_reader_options(rep)
    rep.add_argument(
        "--group-by", help="comma-separated dimensions, e.g. type,priority (default: none)"
    )
    rep.add_argument(
        "--format",
        choices=["table", "csv", "json"],
        default="table",
        help="output format (default: table)",
    )
    rep.add_argument(
        "--chart",
        metavar="FILE.svg",
        help="also draw the report as an SVG chart (default: no chart)",
    )
    rep.set_defaults(run=_report)
    what = command(
        "whatif",
        "replay a period's tickets under another configuration and compare",
        "Replay the period's tickets under another configuration (the desk's own is "
        "'before') and print the difference: breaches per metric and priority, escalations, "
        "workload, due instants that moved most.",
    )
    what.add_argument("--against", required=True, metavar="NEW.toml", help="the changed config")
    _add_reader_options(what)
    what.set_defaults(run=_whatif)
    dead = command(
        "dead-letters",
        "list or retry outbox messages that failed every attempt",
        "list: the dead letters with their last error. retry ID: put one back to pending (the "
        "next worker tick delivers it). Acts as --as/--role (default: an administrator named "
        "cli); the audit log records who retried.",
    )
    dead.add_argument("action", choices=["list", "retry"], help="list them, or retry one")
    dead.add_argument("id", nargs="?", help="retry: the message ID (first column of list)")
    _store_options(dead)
    _actor_options(dead)
    dead.add_argument(
        "--limit", type=int, default=100, help="list: at most this many, 1-1000 (default: 100)"
    )
    dead.set_defaults(run=_dead_letters)
    files = command(
        "ingest-mail",
        "ingest .eml files, mbox files and Maildir folders",
        "Ingest every message of each FILE (an .eml file, an mbox file or a "
        "Maildir folder). Prints one line per message (where, outcome, ticket, reason) and a "
        "summary. Exit code 0: all recorded; 1: some quarantined or failed; 2: usage error.",
    )
    files.add_argument("files", nargs="+", metavar="FILE", help="an .eml, mbox or Maildir path")
    _store_options(files)
    files.set_defaults(run=_ingest_mail)
    mail = command("mail", "mail intake daemons: IMAP poller, SMTP/LMTP listener")
    mail_sub = mail.add_subparsers(dest="action", required=True, metavar="ACTION")
    poll = mail_sub.add_parser(
        "poll",
        help="poll the [email.imap] mailboxes (interval and batch from the config)",
        description=textwrap.fill(
            "Poll the [email.imap] mailboxes every interval seconds (docs/email.md).", 79
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _store_options(poll)
    poll.add_argument(
        "--once",
        action="store_true",
        help="poll once, print one line per message and exit (0 ok, 1 storage down, 2 error)",
    )
    poll.set_defaults(run=_mail)
    listen = mail_sub.add_parser(
        "listen",
        help="a local SMTP/LMTP server for the host's MTA",
        description=textwrap.fill(
            "A local SMTP (or LMTP) server for the host's mail server: 250 only after the "
            "ingest committed, 451 when the store is down so the mail server retries.",
            79,
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
    add_extension_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(name)s %(message)s")
    try:
        code: int = args.run(args)
    except (HelpdeskError, UsageError) as exc:
        print(f"helpdesk: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
