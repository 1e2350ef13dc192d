"""The SQL Storage: SQLite (embedded default) and PostgreSQL, through SQLAlchemy 2 Core.

One unit of work is one database connection and at most one write transaction:

- Everything a command writes (ticket row, events, outbox, audit, firings, schedule) is written
  in that transaction and commits together or not at all (DESIGN principle 7).
- A ticket UPDATE always carries ``WHERE id = :id AND version = :expected``; no row updated
  means someone else won: :class:`~helpdesk_core.errors.ConcurrencyConflict` with the version
  the store holds.
- SQLite (one writer at a time): reads before the first write run outside a transaction; the
  first write opens ``BEGIN IMMEDIATE``, which waits (``busy_timeout``) for the write lock, so
  the version predicate then sees every committed change. WAL mode lets readers run meanwhile.
- PostgreSQL (READ COMMITTED): the UPDATE's row lock serialises writers of one ticket; the
  loser's predicate re-checks the committed row and fails cleanly.
- Work claims (``claim_due``, ``claim_outbox``) and ``next_number`` take effect at once: on
  PostgreSQL in their own autocommit statement with ``FOR UPDATE SKIP LOCKED``; on SQLite in
  a short write transaction of their own (or inside the unit's, once it writes).
"""

from __future__ import annotations

import atexit
import json
import shutil
import sqlite3
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import attrs
import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine

from helpdesk_core.conditions import (
    PYTHON_RE,
    CompiledPattern,
    Condition,
    RegexEngine,
    all_of,
    field_is,
)
from helpdesk_core.config import HelpdeskConfig, load_config
from helpdesk_core.errors import ConcurrencyConflict, StorageError, ValidationError
from helpdesk_core.model.customers import (
    Customer,
    CustomerEvent,
    contact_keys,
    customer_base_version,
    customer_event_from_dict,
    customer_event_to_dict,
    customer_from_dict,
    customer_subject,
    customer_to_dict,
)
from helpdesk_core.model.events import Event, event_from_dict, event_to_dict
from helpdesk_core.model.grants import Grant
from helpdesk_core.model.intake import Attachment, IntakeRecord
from helpdesk_core.model.knowledge import Article, ArticleUse, KbGap
from helpdesk_core.model.people import Agent
from helpdesk_core.model.records import AuditRecord, Firing, OutboxMessage, delivery_state
from helpdesk_core.model.reviews import Review
from helpdesk_core.model.surveys import Survey
from helpdesk_core.model.tickets import (
    Ticket,
    base_version,
    ticket_from_dict,
    ticket_subject,
    ticket_to_dict,
)
from helpdesk_core.ports import CustomerQuery, StoredFacts, TextQuery, TicketQuery, facts_text
from helpdesk_core.search.index import Match
from helpdesk_plugins.regex_re2 import re2_engine
from helpdesk_plugins.storage_sql import schema as s
from helpdesk_plugins.storage_sql import search as text_search
from helpdesk_plugins.storage_sql import topk
from helpdesk_plugins.storage_sql.cipher import SEALED, FieldCipher, PlainCodec, cipher_for
from helpdesk_plugins.storage_sql.hosted import (
    HostCommit,
    HostConnections,
    Joined,
    host_engine,
    require_open,
)
from helpdesk_plugins.storage_sql.schema import from_micros, to_micros
from helpdesk_plugins.storage_sql.settings import StorageSettings, storage_settings
from helpdesk_plugins.storage_sql.translate import Dialect, translate

_SCAN_BATCH = 500
_SEALED_KEY = f'"{SEALED}"'
"""How a sealed value's key appears in a stored document's JSON text."""
_STREAM_BATCH = 2000
"""Event rows fetched at a time by :meth:`SqlUnitOfWork.events_by_creation`."""


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def regexp_function(engine: RegexEngine) -> Callable[[str, str | None], int]:
    """SQLite's ``hd_regexp(pattern, value)`` on ``engine`` (RE2 with the ``re2`` extra), with
    the store's own cache of compiled patterns."""

    @lru_cache(maxsize=256)
    def pattern(text: str) -> CompiledPattern:
        return engine.compile(text)

    def hd_regexp(text: str, value: str | None) -> int:
        return int(value is not None and pattern(text).search(value) is not None)

    return hd_regexp


def shown(url: str) -> str:
    """``url`` safe for messages and logs: any password replaced by ``***``."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def _opt_micros(value: datetime | None) -> int | None:
    return None if value is None else to_micros(value)


def _opt_time(value: int | None) -> datetime | None:
    return None if value is None else from_micros(value)


def agent_to_dict(agent: Agent) -> dict[str, Any]:
    data = attrs.asdict(agent)
    data["roles"] = sorted(agent.roles)
    data["skills"] = sorted(agent.skills)
    return data


_INTAKE_DOC_FIELDS = (
    "id",
    "channel",
    "outcome",
    "dedupe_key",
    "message_id",
    "sender",
    "subject",
    "ticket_id",
    "customer_id",
    "reason",
    "detail",
)


def _intake_doc(record: IntakeRecord) -> str:
    return _dumps({name: getattr(record, name) for name in _INTAKE_DOC_FIELDS})


def _intake(row: Any) -> IntakeRecord:
    """A record from a row of (at, promoted_to, doc, raw): a Core row or a driver tuple."""
    at, promoted_to, doc, raw = row
    data = json.loads(doc)
    return IntakeRecord(
        **{name: data[name] for name in _INTAKE_DOC_FIELDS},
        at=from_micros(at),
        raw=None if raw is None else bytes(raw),
        promoted_to=promoted_to,
    )


DECODED_TICKETS: Final = 512
"""Ticket documents a store keeps decoded (:class:`DecodedTickets`)."""
DECODED_CHARS: Final = 8_000_000
"""... and at most this many characters of them."""


class DecodedTickets:
    """The tickets decoded from the documents read last, keyed by the document's text: a
    ticket is immutable and its document is its whole state, so a text read again (the
    requester's open tickets every new ticket of theirs is compared with, the ticket a reply
    threads to) is not parsed again. A hit returns exactly what decoding would. One per store,
    bounded by :data:`DECODED_TICKETS` documents and :data:`DECODED_CHARS` characters, the
    oldest forgotten first; safe across threads."""

    def __init__(self, size: int = DECODED_TICKETS, chars: int = DECODED_CHARS) -> None:
        self.size, self.chars = size, chars
        self._memo: OrderedDict[str, Ticket] = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()

    def get(self, doc: str, decode: Callable[[str], Ticket]) -> Ticket:
        with self._lock:
            found = self._memo.get(doc)
            if found is not None:
                self._memo.move_to_end(doc)
                return found
        ticket = decode(doc)
        if len(doc) <= self.chars:
            with self._lock:
                if doc not in self._memo:
                    self._memo[doc] = ticket
                    self._held += len(doc)
                    while len(self._memo) > self.size or self._held > self.chars:
                        dropped, _ = self._memo.popitem(last=False)
                        self._held -= len(dropped)
        return ticket


MESSAGE_IDS_AT_ONCE: Final = 16
"""Message-IDs looked up per statement when a mail is threaded (a shorter list repeats its
first): a mail's In-Reply-To and References in one round trip."""


class Prepared:
    """A Core statement compiled once for a dialect and run through the driver directly.

    The hot paths of a command (ticket row, events, outbox, counters) skip SQLAlchemy's
    per-execution statement building and cache-key generation; every column type they touch
    (text, integers, booleans) needs no bind or result processing.
    """

    def __init__(self, statement: Any, dialect: sa.engine.Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql: str = compiled.string
        self.names: list[str] | None = (
            list(compiled.positiontup or ()) if compiled.positional else None
        )
        self.defaults: dict[str, Any] = {
            name: bind.value for name, bind in compiled.binds.items() if not bind.required
        }
        """Literal values the statement itself carries (``value + 1``)."""

    def params(self, values: dict[str, Any]) -> Any:
        merged = {**self.defaults, **values} if self.defaults else values
        if self.names is None:
            return merged
        return tuple(merged[name] for name in self.names)


class Statements:
    """Every fixed statement of the store, prepared for one dialect."""

    def __init__(self, dialect: sa.engine.Dialect) -> None:
        t, o = s.tickets, s.outbox
        module: Any = sqlite_dialect if dialect.name == "sqlite" else pg_dialect
        self.insert: Callable[[sa.Table], Any] = module.insert
        """The dialect's INSERT (with ``on_conflict_do_*``)."""
        by_id = t.c.id == sa.bindparam("id")

        def p(statement: Any) -> Prepared:
            return Prepared(statement, dialect)

        self.ticket_doc = p(sa.select(t.c.doc).where(by_id))
        self.ticket_doc_by_number = p(
            sa.select(t.c.doc).where(t.c.number == sa.bindparam("number"))
        )
        self.ticket_version = p(sa.select(t.c.version).where(by_id))
        columns = [c.name for c in t.c]
        self.insert_ticket = p(
            module.insert(t)
            .values({c: sa.bindparam(c) for c in columns})
            .on_conflict_do_nothing()
            .returning(t.c.id)
        )
        self.update_ticket = p(
            sa.update(t)
            .where(by_id, t.c.version == sa.bindparam("expected"))
            .values({c: sa.bindparam(c) for c in columns if c != "id"})
        )
        self.delete_tags = p(
            sa.delete(s.ticket_tags).where(s.ticket_tags.c.ticket_id == sa.bindparam("id"))
        )
        self.insert_tag = p(
            sa.insert(s.ticket_tags).values(
                ticket_id=sa.bindparam("ticket_id"), tag=sa.bindparam("tag")
            )
        )
        event_columns = [c.name for c in s.events.c]
        self.insert_event = p(
            sa.insert(s.events).values({c: sa.bindparam(c) for c in event_columns})
        )
        self.events = p(
            sa.select(s.events.c.data)
            .where(
                s.events.c.ticket_id == sa.bindparam("id"), s.events.c.seq > sa.bindparam("after")
            )
            .order_by(s.events.c.seq)
        )
        outbox_columns = [c.name for c in o.c if c.name != "pos"]
        self.insert_outbox = p(
            module.insert(o)
            .values({c: sa.bindparam(c) for c in outbox_columns})
            .on_conflict_do_nothing()
        )
        self.next_number = p(
            module.insert(s.counters)
            .values(name=sa.bindparam("name"), value=1)
            .on_conflict_do_update(
                index_elements=[s.counters.c.name], set_={"value": s.counters.c.value + 1}
            )
            .returning(s.counters.c.value)
        )
        grants = sa.select(s.grants.c.doc).order_by(s.grants.c.pos)
        self.grants_all = p(grants)
        self.grants_in_state = p(grants.where(s.grants.c.state == sa.bindparam("state")))
        # the search index of one ticket, kept in step on every command that changes its text
        ss, sw, d = s.search_stats, s.search_words, s.search_docs
        fields = s.SEARCH_FIELDS
        lengths = [f"len_{name}" for name in fields]
        self.search_doc = p(sa.select(*d.c).where(d.c.ticket_id == sa.bindparam("id")))
        doc_columns = ["ticket_id", "shard", "digest", *fields, *lengths]
        set_columns = [c for c in doc_columns if c != "ticket_id"]
        if dialect.name == "sqlite":
            terms_column, terms_value, terms_set = "", "", ""
        else:
            terms_column = f", {s.SEARCH_TERMS}"
            terms_value = ", array_to_tsvector(CAST(:terms AS text[]))"
            terms_set = f", {s.SEARCH_TERMS} = array_to_tsvector(CAST(:terms AS text[]))"
        self.search_add_doc = p(
            sa.text(
                f"INSERT INTO hd_search_docs ({', '.join(doc_columns)}{terms_column}) "
                f"VALUES ({', '.join(':' + c for c in doc_columns)}{terms_value}) "
                "RETURNING doc_no"
            )
        )
        self.search_update_doc = p(
            sa.text(
                "UPDATE hd_search_docs SET "
                f"{', '.join(f'{c} = :{c}' for c in set_columns)}{terms_set} "
                "WHERE doc_no = :doc_no"
            )
        )
        fts, names = s.SEARCH_FTS, ", ".join(fields)
        values = ", ".join(":" + name for name in fields)
        # FTS5 external content: a row is removed by handing back the values it indexed
        self.search_fts_drop = p(
            sa.text(
                f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', :doc_no, {values})"
            )
        )
        self.search_fts_add = p(
            sa.text(f"INSERT INTO {fts}(rowid, {names}) VALUES (:doc_no, {values})")
        )
        self.search_fts_hits = p(
            sa.text(
                f"SELECT d.ticket_id, h.col, count(*), {', '.join('d.' + c for c in lengths)} "
                f"FROM {s.SEARCH_FTS_HITS} h JOIN hd_search_docs d ON d.doc_no = h.doc "
                "WHERE h.term = :term GROUP BY h.doc, h.col"
            )
        )
        self.search_fts_df = p(sa.text(f"SELECT doc FROM {s.SEARCH_FTS_ROWS} WHERE term = :term"))
        matches = f"{s.SEARCH_TERMS} @@ CAST(:query AS tsquery)"
        self.search_tsv_hits = p(
            sa.text(
                f"SELECT ticket_id, {names}, {', '.join(lengths)} "
                f"FROM hd_search_docs WHERE {matches}"
            )
        )
        self.search_tsv_dfs = p(
            sa.text(
                "SELECT i, (SELECT count(*) FROM hd_search_docs "
                f"WHERE {s.SEARCH_TERMS} @@ CAST(q AS tsquery)) "
                "FROM unnest(CAST(:queries AS text[])) WITH ORDINALITY AS u(q, i)"
            )
        )
        known: list[Any] = [sa.bindparam(f"t{i}") for i in range(text_search.WORDS_AT_ONCE)]
        self.search_words_in = p(sa.select(sw.c.term).where(sw.c.term.in_(known)))
        """Which of up to ``WORDS_AT_ONCE`` words are known: one round trip for a ticket's
        words, not one per word."""
        stat = module.insert(ss).values(
            shard=sa.bindparam("shard"), field=sa.bindparam("field"), total=sa.bindparam("total")
        )
        self.search_add_stat = p(
            stat.on_conflict_do_update(
                index_elements=[ss.c.shard, ss.c.field],
                set_={"total": ss.c.total + stat.excluded.total},
            )
        )
        unsolved = sa.or_(*(t.c.status_category == c for c in ("new", "open", "pending")))
        self.requester_tickets = p(
            sa.select(t.c.doc)
            .where(
                t.c.requester == sa.bindparam("requester"),
                unsolved,
                t.c.created_at >= sa.bindparam("since"),
            )
            .order_by(t.c.created_at.desc(), t.c.id.desc())
            .limit(sa.bindparam("limit", type_=sa.Integer))
        )
        # read on every open_ticket (is the requester a customer with a record?)
        self.customer_doc = p(
            sa.select(s.customers.c.doc).where(s.customers.c.id == sa.bindparam("id"))
        )
        schedule = module.insert(s.schedule).values(
            ticket_id=sa.bindparam("id"), next_check_at=sa.bindparam("at")
        )
        self.schedule = p(
            schedule.on_conflict_do_update(
                index_elements=[s.schedule.c.ticket_id],
                set_={"next_check_at": schedule.excluded.next_check_at},
            )
        )
        facts = module.insert(s.report_facts).values(
            ticket_id=sa.bindparam("id"), version=sa.bindparam("version"), doc=sa.bindparam("doc")
        )
        self.save_facts = p(
            facts.on_conflict_do_update(
                index_elements=[s.report_facts.c.ticket_id],
                set_={"version": facts.excluded.version, "doc": facts.excluded.doc},
            )
        )
        f = s.firings.c
        firing_columns = [c.name for c in s.firings.c if c.name != "pos"]
        self.insert_firing = p(
            module.insert(s.firings)
            .values({c: sa.bindparam(c) for c in firing_columns})
            .on_conflict_do_nothing(index_elements=[f.key])
            .returning(f.pos)
        )
        firings = sa.select(*[f[c] for c in firing_columns]).order_by(f.pos)
        self.firings_all = p(firings)
        self.firings_of = p(firings.where(f.ticket_id == sa.bindparam("id")))
        self.release = p(
            sa.update(s.schedule)
            .where(
                s.schedule.c.ticket_id == sa.bindparam("id"),
                s.schedule.c.lease_owner == sa.bindparam("worker"),
            )
            .values(lease_owner=None, lease_until=None, next_check_at=sa.bindparam("at"))
        )
        self.agents = p(sa.select(s.agents.c.doc).order_by(s.agents.c.id))
        # ingest_email (issue 23): every delivery looks its key up, threads by Message-ID,
        # finds its sender, counts acknowledgements and records itself
        i, m, k = s.intake.c, s.message_index.c, s.acknowledgements.c
        intake_columns = ["id", "dedupe_key", "at", "outcome", "promoted_to", "doc", "raw"]
        self.insert_intake = p(
            module.insert(s.intake)
            .values({c: sa.bindparam(c) for c in intake_columns})
            .on_conflict_do_nothing(index_elements=[i.dedupe_key])
            .returning(i.pos)
        )
        intake_row = sa.select(i.at, i.promoted_to, i.doc, i.raw)
        self.intake_by_key = p(intake_row.where(i.dedupe_key == sa.bindparam("key")))
        self.intake_by_id = p(intake_row.where(i.id == sa.bindparam("id")))
        self.index_message_id = p(
            module.insert(s.message_index)
            .values(message_id=sa.bindparam("message_id"), ticket_id=sa.bindparam("ticket_id"))
            .on_conflict_do_nothing(index_elements=[m.message_id])
        )
        self.ticket_of_message_id = p(
            sa.select(m.ticket_id).where(m.message_id == sa.bindparam("message_id"))
        )
        self.tickets_of_message_ids = p(
            sa.select(m.message_id, m.ticket_id).where(
                m.message_id.in_([sa.bindparam(f"m{n}") for n in range(MESSAGE_IDS_AT_ONCE)])
            )
        )
        self.add_acknowledgement = p(
            sa.insert(s.acknowledgements).values(
                address=sa.bindparam("address"), at=sa.bindparam("at")
            )
        )
        self.acknowledgements_since = p(
            sa.select(sa.func.count())
            .select_from(s.acknowledgements)
            .where(k.address == sa.bindparam("address"), k.at > sa.bindparam("since"))
        )
        attachment_columns = [c.name for c in s.attachments.c if c.name != "pos"]
        self.insert_attachment = p(
            sa.insert(s.attachments).values({c: sa.bindparam(c) for c in attachment_columns})
        )
        contacts = s.customer_contacts.c
        self.customers_by_contact = p(
            sa.select(s.customers.c.doc)
            .where(
                s.customers.c.id.in_(
                    sa.select(contacts.customer_id).where(contacts.key == sa.bindparam("key"))
                )
            )
            .order_by(s.customers.c.id)
        )
        """The customers of one contact key (no field key configured: one lookup key)."""
        audit_columns = [c.name for c in s.audit.c if c.name != "pos"]
        self.insert_audit = p(
            sa.insert(s.audit).values({c: sa.bindparam(c) for c in audit_columns})
        )


def sqlite_functions(conn: Connection, regex: RegexEngine) -> None:
    """Give a host's SQLite connection the store's SQL functions, once per driver connection
    (the store's own engine does it when it connects)."""
    if "hd_regexp" not in conn.info:
        raw: Any = conn.connection.dbapi_connection
        raw.create_function("hd_regexp", 2, regexp_function(regex), deterministic=True)
        conn.info["hd_regexp"] = True


def make_engine(
    url: str, settings: StorageSettings, regex: RegexEngine = PYTHON_RE
) -> tuple[Engine, str | None]:
    """A configured engine for ``url`` and the temporary directory it lives in (``sqlite://``).

    SQLite connections get WAL mode, foreign keys, a busy timeout, ``synchronous = NORMAL``
    (durable against process crashes; a power loss may drop the last commits, never corrupt)
    and the ``hd_regexp`` function the condition translator uses (on ``regex``).
    """
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StorageError(f"not a database URL: {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        tempdir: str | None = None
        database = parsed.database
        if not database or database == ":memory:":
            tempdir = tempfile.mkdtemp(prefix="helpdesk-sqlite-")
            atexit.register(shutil.rmtree, tempdir, True)
            database = str(Path(tempdir) / "helpdesk.db")
        else:
            parent = Path(database).expanduser().resolve().parent
            if not parent.is_dir():
                raise StorageError(f"{shown(url)}: directory {parent} does not exist")
        engine = sa.create_engine(
            parsed.set(database=database),
            connect_args={"check_same_thread": False, "timeout": 0},
            pool_size=settings.pool_size,
            max_overflow=20,
        )
        busy = settings.busy_timeout_ms
        hd_regexp = regexp_function(regex)

        @sa_event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi: sqlite3.Connection, record: Any) -> None:
            dbapi.isolation_level = None  # BEGIN IMMEDIATE is issued explicitly
            dbapi.execute(f"PRAGMA busy_timeout = {int(busy)}")
            dbapi.execute("PRAGMA journal_mode = WAL")
            dbapi.execute("PRAGMA synchronous = NORMAL")
            dbapi.execute("PRAGMA foreign_keys = ON")
            dbapi.create_function("hd_regexp", 2, hd_regexp, deterministic=True)

        return engine, tempdir
    if backend == "postgresql":
        try:
            engine = sa.create_engine(parsed, pool_size=settings.pool_size, max_overflow=20)
        except ImportError as exc:
            raise StorageError(
                f"{shown(url)}: the PostgreSQL driver is missing; install helpdesk-core[postgres]"
            ) from exc
        return engine, None
    raise StorageError(f"{shown(url)}: unsupported database {backend!r}; use sqlite or postgresql")


def pool_exhausted(url: str) -> str:
    """The message of a unit of work that waited the pool's whole timeout for a connection."""
    return (
        f"{shown(url)}: every pooled connection stayed in use for the pool's timeout; more "
        "threads run commands at once than the pool has connections (raise [storage] "
        "pool_size, or run fewer threads per process)"
    )


class SqlStorage:
    """A :class:`~helpdesk_core.ports.Storage` on SQLite or PostgreSQL.

    :param url: ``sqlite:///path.db`` (created on first use), ``sqlite://`` (a private
        temporary database deleted at :meth:`close`, for tests), or
        ``postgresql+psycopg://user@host/db``. For a dedicated PostgreSQL schema add
        ``?options=-csearch_path%3Dmyschema``. Or the host application's ``Engine``
        (:mod:`~helpdesk_plugins.storage_sql.hosted`): used as the host configured it, never
        disposed by the store.
    :param config: the desk configuration (``[storage]`` settings, sensitive fields).
    """

    before_commit: Callable[[], None] | None = None
    """Test seam: called after a unit of work's last write, just before COMMIT."""

    def __init__(self, url: str | Engine, config: HelpdeskConfig | None = None) -> None:
        self.config = config if config is not None else load_config(None)
        self.settings: StorageSettings = storage_settings(self.config)
        self.codec: FieldCipher | PlainCodec = cipher_for(self.config)
        self._plain = isinstance(self.codec, PlainCodec)
        self._closed = False
        self.regex: RegexEngine = re2_engine() or PYTHON_RE
        """The engine of SQLite's ``hd_regexp``: RE2 when installed."""
        self.hosted = isinstance(url, Engine)
        """The engine is the host application's: configured and disposed by the host."""
        if isinstance(url, Engine):
            self.engine, self._tempdir = host_engine(url) or url, None
            self.url: str = self.engine.url.render_as_string(hide_password=True)
        else:
            self.url = url
            self.engine, self._tempdir = make_engine(url, self.settings, self.regex)
        self.hosts = HostConnections()
        """The host connections commands run on inside :func:`~.hosted.joined` blocks."""
        self.dialect = self.engine.dialect.name
        self.translation = Dialect(self.dialect, self.codec.fields, self.regex.name)
        self.tickets_loaded = 0
        """Ticket documents read and decoded so far (the storage port's counter for tests)."""
        self.decoded = DecodedTickets()
        self.sql = Statements(self.engine.dialect)
        self.dbapi: Any = self.engine.dialect.loaded_dbapi
        self.trace: Callable[[str], None] | None = None
        """Called with every prepared statement before it runs (diagnostics, tests)."""
        self._ac_lock = threading.Lock()
        self._ac_conns: dict[bool, Connection] = {}
        self._ac_engine: Engine = self.engine
        """Where the autocommit connections come from. For an engine the store made, an engine
        with a pool of its own: were they taken from the units' pool, threads whose units hold
        every pooled connection would each wait for a ticket number while the thread opening
        the number's connection waited for one of theirs (found by benchmarks/bench_scaleout.py:
        every request of both servers stalled until the pool timeout). A host's engine is used
        as the host configured it."""
        if not self.hosted:
            own = self.engine.url.render_as_string(hide_password=False)
            side = attrs.evolve(self.settings, pool_size=2)
            self._ac_engine, _ = make_engine(own, side, self.regex)
        self.search_df = topk.DfCache()
        """Ticket search's document frequencies, counted once per desk (PostgreSQL)."""
        self.search_rows_read = 0
        """Index rows ticket search read so far on PostgreSQL (a counter for tests)."""
        try:
            if self.settings.migrate:
                from helpdesk_plugins.storage_sql.migrate import upgrade_engine

                upgrade_engine(self.engine)
            else:
                from helpdesk_plugins.storage_sql.migrate import check_current

                check_current(self.engine)
        except sa.exc.OperationalError as exc:
            self.close()
            raise StorageError(f"cannot open {shown(self.url)}: {exc.orig}") from exc
        except BaseException:
            self.close()
            raise

    # -- port -------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[SqlUnitOfWork]:
        if self._closed:
            raise StorageError(f"storage {shown(self.url)} is closed")
        joined = self.hosts.current.get()
        if joined is not None:
            with self._joined_transaction(joined) as uow:
                yield uow
            return
        try:
            conn = self.engine.connect()
        except sa.exc.OperationalError as exc:
            raise StorageError(f"cannot connect to {shown(self.url)}: {exc.orig}") from exc
        except sa.exc.TimeoutError as exc:
            raise StorageError(pool_exhausted(self.url)) from exc
        try:
            uow = SqlUnitOfWork(self, conn)
            try:
                yield uow
                uow.flush_search()
            except BaseException:
                conn.rollback()
                raise
            if uow.writing and self.before_commit is not None:
                self.before_commit()
            try:
                conn.commit()
            except sa.exc.IntegrityError as exc:
                raise ConcurrencyConflict("transaction", 0, 1) from exc
            except sa.exc.OperationalError as exc:
                raise StorageError(f"commit failed on {shown(self.url)}: {exc.orig}") from exc
        finally:
            conn.close()

    @contextmanager
    def _joined_transaction(self, joined: Joined) -> Iterator[SqlUnitOfWork]:
        """A unit in a SAVEPOINT of the host's transaction (see :mod:`.hosted`): released on
        success (the host commits), rolled back on any error; never committed here."""
        conn = joined.connection
        require_open(conn, shown(self.url))
        try:
            if not conn.in_transaction():
                conn.begin()
            if self.dialect == "sqlite":
                raw: Any = conn.connection.dbapi_connection
                if not raw.in_transaction:
                    # the write lock now, else an outermost SAVEPOINT's RELEASE would commit
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
            savepoint = conn.begin_nested()
        except sa.exc.OperationalError as exc:
            raise StorageError(f"{shown(self.url)}: {exc.orig}") from exc
        uow = SqlUnitOfWork(self, conn, host=joined.host)
        try:
            yield uow
            uow.flush_search()
        except BaseException:
            if savepoint.is_active:
                savepoint.rollback()
            raise
        try:
            savepoint.commit()
        except sa.exc.IntegrityError as exc:
            savepoint.rollback()
            raise ConcurrencyConflict("transaction", 0, 1) from exc

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._ac_lock:
            for flush, conn in self._ac_conns.items():
                if self.hosted and not flush:
                    conn.invalidate()  # its session settings must not reach the host's pool
                conn.close()
            self._ac_conns.clear()
        if not self.hosted:
            self.engine.dispose()
            self._ac_engine.dispose()
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir, ignore_errors=True)

    def __enter__(self) -> SqlStorage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def autocommit(self, *, flush: bool = True) -> Iterator[Connection]:
        """The store's own autocommit connection (one per store, used under a lock), for
        statements that must take effect at once whatever the caller's transaction does.

        ``flush=False`` (PostgreSQL) gives a second connection with ``synchronous_commit =
        off``: its commits do not wait for the WAL flush. Ticket numbers use it: a number is
        only ever seen through the ticket transaction that used it, which commits later and
        flushes the WAL up to and past the counter's update, so a crash can only lose
        counter steps that no committed row uses."""
        flush = flush or self.dialect == "sqlite"
        with self._ac_lock:
            conn = self._ac_conns.get(flush)
            if conn is None or conn.invalidated or conn.closed:
                try:
                    conn = self._ac_engine.connect()
                except sa.exc.OperationalError as exc:
                    raise StorageError(f"cannot connect to {shown(self.url)}: {exc.orig}") from exc
                except sa.exc.TimeoutError as exc:
                    raise StorageError(pool_exhausted(self.url)) from exc
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                if not flush:
                    conn.exec_driver_sql("SET synchronous_commit = off")
                self._ac_conns[flush] = conn
            try:
                yield conn
            except sa.exc.DBAPIError as exc:
                if exc.connection_invalidated:
                    self._ac_conns.pop(flush, None)
                raise

    # -- documents --------------------------------------------------------------------------
    def seal(self, doc: dict[str, Any]) -> str:
        return _dumps(self.codec.seal(doc))

    def open_doc(self, text: str) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(text)
        if self._plain and _SEALED_KEY not in text:
            return doc  # nothing sealed in it: the plain codec's check cannot fail
        return self.codec.open(doc)


class SqlUnitOfWork:
    """One connection; see the module docstring for the transaction rules."""

    def __init__(self, store: SqlStorage, conn: Connection, host: HostCommit | None = None) -> None:
        self._store = store
        self._conn = conn
        self._sqlite = store.dialect == "sqlite"
        self._host = host
        self.writing = host is not None
        """In a host's transaction the write transaction is already the host's."""
        self._search_dirty: dict[str, Ticket] = {}
        self._saved: set[str] = set()
        """The tickets this unit saved."""
        self._histories: dict[str, list[Event]] = {}
        """Whole histories of the tickets this unit saved, kept in step with the events it
        writes: after a command saves a ticket, its escalation schedule and its report facts
        both need the history, and the second read costs nothing. Only saved tickets: a scan
        reading every history (reports, reindex) keeps none of them."""
        """Tickets saved by this unit, indexed for search just before COMMIT."""
        self._outbox_rows: list[dict[str, Any]] = []
        """Outbox rows queued by :meth:`add_outbox`, written by :meth:`flush_outbox`."""
        self.created: set[str] = set()
        """Tickets this unit inserted: nothing of them is in the search index yet."""
        if host is None:
            conn.begin()  # so that conn.commit() commits what the driver cursor wrote
        raw = conn.connection.dbapi_connection
        assert raw is not None
        self._raw: Any = raw
        if store.hosted and self._sqlite:
            sqlite_functions(conn, store.regex)

    def host_transaction(self) -> HostCommit | None:
        return self._host

    # -- plumbing ---------------------------------------------------------------------------
    def _begin_write(self) -> None:
        if not self.writing:
            if self._sqlite:
                self._end_read_transaction()
                self._exec_driver("BEGIN IMMEDIATE")
            self.writing = True

    def _end_read_transaction(self) -> None:
        """A host's SQLite engine may begin a (deferred) transaction on the driver itself
        (SQLAlchemy's pysqlite recipe emits BEGIN): this unit has only read in it, so end it and
        take the write lock as on the store's own engine (deferred writers deadlock)."""
        if self._raw.in_transaction:
            self._exec_driver("ROLLBACK")

    def _exec_driver(self, sql: str) -> None:
        try:
            self._conn.exec_driver_sql(sql)
        except sa.exc.OperationalError as exc:
            raise StorageError(f"{shown(self._store.url)}: {exc.orig}") from exc

    def _x(self, statement: Any, params: Any = None) -> sa.CursorResult[Any]:
        try:
            return self._conn.execute(statement, params)
        except sa.exc.OperationalError as exc:
            raise StorageError(f"{shown(self._store.url)}: {exc.orig}") from exc

    def _w(self, statement: Any, params: Any = None) -> sa.CursorResult[Any]:
        self._begin_write()
        return self._x(statement, params)

    def _q(self, prepared: Prepared, values: dict[str, Any] | None = None) -> Any:
        """Run a prepared statement on the driver's cursor (a read, or part of the write
        already begun); returns the DB-API cursor."""
        trace = self._store.trace
        if trace is not None:
            trace(prepared.sql)
        cursor = self._raw.cursor()
        try:
            cursor.execute(prepared.sql, prepared.params(values or {}))
        except self._store.dbapi.OperationalError as exc:
            raise StorageError(f"{shown(self._store.url)}: {exc}") from exc
        return cursor

    def _qw(self, prepared: Prepared, values: dict[str, Any]) -> Any:
        self._begin_write()
        return self._q(prepared, values)

    def _value(self, prepared: Prepared, values: dict[str, Any]) -> Any:
        """The first column of the first row, or None."""
        row = self._q(prepared, values).fetchone()
        return None if row is None else row[0]

    def _many(self, prepared: Prepared, rows: list[dict[str, Any]]) -> None:
        self._begin_write()
        trace = self._store.trace
        if trace is not None:
            trace(prepared.sql)
        try:
            self._raw.cursor().executemany(prepared.sql, [prepared.params(r) for r in rows])
        except self._store.dbapi.OperationalError as exc:
            raise StorageError(f"{shown(self._store.url)}: {exc}") from exc

    @contextmanager
    def _at_once(self) -> Iterator[Callable[..., sa.CursorResult[Any]]]:
        """Run statements that must take effect immediately (claims, counters)."""
        if not self._sqlite:
            with self._store.autocommit() as conn:
                yield conn.execute
            return
        if self.writing:  # already hold SQLite's only write lock: part of this unit
            yield self._x
            return
        self._end_read_transaction()
        self._exec_driver("BEGIN IMMEDIATE")
        try:
            yield self._x
        except BaseException:
            self._exec_driver("ROLLBACK")
            raise
        self._exec_driver("COMMIT")

    def execute_read(self, statement: Any, params: Any = None) -> sa.CursorResult[Any]:
        """Run a Core statement in this unit (a read)."""
        return self._x(statement, params)

    def prepared_write(self, name: str, rows: list[dict[str, Any]]) -> None:
        """Run the store's prepared statement ``name`` for ``rows`` in this unit's write
        transaction (one row: execute; more: executemany)."""
        prepared = getattr(self._store.sql, name)
        if len(rows) == 1:
            self._qw(prepared, rows[0])
        elif rows:
            self._many(prepared, rows)

    def prepared_write_returning(self, name: str, values: dict[str, Any]) -> Any:
        """Run the store's prepared write ``name`` (with RETURNING) for one row; the first
        column it returns."""
        return self._qw(getattr(self._store.sql, name), values).fetchone()[0]

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._store.dialect

    def prepared_read(self, name: str, values: dict[str, Any]) -> list[Any]:
        """The rows of the store's prepared query ``name``."""
        return list(self._q(getattr(self._store.sql, name), values).fetchall())

    def execute_write(self, statement: Any, params: Any = None) -> sa.CursorResult[Any]:
        """Run a Core statement in this unit's write transaction."""
        return self._w(statement, params)

    @property
    def dialect_insert(self) -> Callable[[sa.Table], Any]:
        """The dialect's INSERT (with ``on_conflict_do_*``)."""
        return self._store.sql.insert

    def ticket_from_doc(self, doc: str) -> Ticket:
        return self._ticket(doc)

    # -- tickets --------------------------------------------------------------------------
    def _ticket(self, doc: str) -> Ticket:
        self._store.tickets_loaded += 1
        return self._store.decoded.get(doc, self._decode)

    def _decode(self, doc: str) -> Ticket:
        return ticket_from_dict(self._store.open_doc(doc))

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        doc = self._value(self._store.sql.ticket_doc, {"id": ticket_id})
        return None if doc is None else self._ticket(doc)

    def get_ticket_by_number(self, number: str) -> Ticket | None:
        doc = self._value(self._store.sql.ticket_doc_by_number, {"number": number})
        return None if doc is None else self._ticket(doc)

    def ticket_events(self, ticket_id: str, after_seq: int = 0) -> list[Event]:
        known = self._histories.get(ticket_id)
        if known is not None:
            return [e for e in known if e.seq > after_seq]
        rows = self._q(self._store.sql.events, {"id": ticket_id, "after": after_seq})
        events = [event_from_dict(self._store.open_doc(data)) for (data,) in rows]
        if after_seq == 0 and ticket_id in self._saved:
            self._histories[ticket_id] = list(events)
        return events

    def _row(self, ticket: Ticket) -> dict[str, Any]:
        row: dict[str, Any] = {name: getattr(ticket, name) for name in s.PLAIN_COLUMNS}
        for name in s.TIME_COLUMNS:
            row[name] = to_micros(getattr(ticket, name))
        row["doc"] = self._store.seal(ticket_to_dict(ticket))
        return row

    def _stored_version(self, ticket_id: str) -> int:
        version = self._value(self._store.sql.ticket_version, {"id": ticket_id})
        return 0 if version is None else int(version)

    def save_ticket(self, ticket: Ticket, new_events: Sequence[Event]) -> None:
        expected = base_version(ticket, new_events)
        row = self._row(ticket)
        sql = self._store.sql
        self._search_dirty[ticket.id] = ticket
        self._saved.add(ticket.id)
        if expected == 0:
            self._begin_write()
            inserted = self._value(sql.insert_ticket, row)
            if inserted is None:  # the id or the number exists (committed, or ours)
                current = self._stored_version(ticket.id)
                if current:
                    raise ConcurrencyConflict(ticket.id, 0, current)
                raise ValidationError("number", f"ticket number {ticket.number} is taken")
            self.created.add(ticket.id)
        else:
            updated = self._qw(sql.update_ticket, {**row, "expected": expected})
            if updated.rowcount != 1:
                raise ConcurrencyConflict(ticket.id, expected, self._stored_version(ticket.id))
            self._q(sql.delete_tags, {"id": ticket.id})
        if ticket.tags:
            self._many(
                sql.insert_tag,
                [{"ticket_id": ticket.id, "tag": tag} for tag in sorted(ticket.tags)],
            )
        rows = [
            {
                "ticket_id": e.ticket_id,
                "seq": e.seq,
                "kind": e.kind,
                "at": to_micros(e.at),
                "actor": e.actor,
                "data": self._store.seal(event_to_dict(e)),
            }
            for e in new_events
        ]
        try:
            if len(rows) == 1:
                self._q(sql.insert_event, rows[0])
            else:
                self._many(sql.insert_event, rows)
        except self._store.dbapi.IntegrityError as exc:
            raise ConcurrencyConflict(ticket.id, expected, expected + 1) from exc
        if expected == 0:
            self._histories[ticket.id] = list(new_events)
        elif ticket.id in self._histories:
            self._histories[ticket.id].extend(new_events)

    # -- queries ----------------------------------------------------------------------------
    def _select(self, query: TicketQuery, where: Any) -> sa.Select[Any]:
        order = s.tickets.c[query.order_by]
        ident = s.tickets.c.id
        statement = sa.select(s.tickets.c.doc)
        if where is not None:
            statement = statement.where(where)
        if query.after is not None:
            value, after_id = query.after
            if isinstance(value, datetime):
                value = to_micros(value)
            cursor = sa.tuple_(order, ident)
            statement = statement.where(
                cursor < (value, after_id) if query.descending else cursor > (value, after_id)
            )
        if query.descending:
            return statement.order_by(order.desc(), ident.desc())
        return statement.order_by(order, ident)

    def _subject(self, where: Condition, ticket: Ticket) -> dict[str, Any]:
        """The ticket's condition subject, with its requester's profile when ``where`` reads
        ``customer.*`` fields."""
        reads_customer = any(f.startswith("customer.") for f in where.fields())
        if not reads_customer or ticket.requester is None:
            return ticket_subject(ticket)
        return ticket_subject(ticket, customer_subject(self.get_customer(ticket.requester)))

    def query_tickets(self, query: TicketQuery) -> list[Ticket]:
        where, exact = translate(query.where, self._store.translation)
        if exact:
            statement = self._select(query, where)
            if query.limit is not None:
                statement = statement.limit(query.limit)
            return [self._ticket(doc) for doc in self._x(statement).scalars()]
        found: list[Ticket] = []
        after = query.after
        while query.limit is None or len(found) < query.limit:
            batch_query = attrs.evolve(query, after=after)
            batch = [
                self._ticket(doc)
                for doc in self._x(self._select(batch_query, where).limit(_SCAN_BATCH)).scalars()
            ]
            found.extend(t for t in batch if query.where.matches(self._subject(query.where, t)))
            if len(batch) < _SCAN_BATCH:
                break
            last = batch[-1]
            after = (getattr(last, query.order_by), last.id)
        return found if query.limit is None else found[: query.limit]

    def requester_tickets(self, requester: str, since: datetime, limit: int) -> list[Ticket]:
        rows = self._q(
            self._store.sql.requester_tickets,
            {"requester": requester, "since": to_micros(since), "limit": limit},
        ).fetchall()
        return [self._ticket(doc) for (doc,) in rows]

    def count_tickets(self, where: Condition) -> int:
        clause, exact = translate(where, self._store.translation)
        if exact:
            statement = sa.select(sa.func.count()).select_from(s.tickets)
            if clause is not None:
                statement = statement.where(clause)
            return int(self._x(statement).scalar_one())
        return len(self.query_tickets(TicketQuery(where=where, limit=None)))

    def _stream_by_creation(
        self,
        statement: sa.Select[Any],
        clause: Any,
        created_before: datetime,
        created_from: datetime | None,
    ) -> Iterator[Any]:
        """The rows of ``statement`` (over ``hd_tickets``, in creation order) for the tickets
        matching ``clause`` created in ``[created_from, created_before)``, streamed in batches
        through a server-side cursor; driver errors become :class:`StorageError`."""
        t = s.tickets
        statement = statement.where(t.c.created_at < to_micros(created_before))
        if created_from is not None:
            statement = statement.where(t.c.created_at >= to_micros(created_from))
        if clause is not None:
            statement = statement.where(clause)
        try:
            # streaming options on the statement, not the connection: Connection.
            # execution_options changes the connection itself, and the unit's later
            # statements (an INSERT at commit) would then be declared as cursors
            result = self._conn.execute(
                statement.execution_options(stream_results=True, yield_per=_STREAM_BATCH)
            )
        except sa.exc.OperationalError as exc:
            raise StorageError(f"{shown(self._store.url)}: {exc.orig}") from exc
        try:
            for batch in result.partitions():
                yield from batch
        except sa.exc.OperationalError as exc:
            raise StorageError(f"{shown(self._store.url)}: {exc.orig}") from exc
        finally:  # also when the reader stops early: the server-side cursor is closed
            result.close()

    def events_by_creation(
        self,
        where: Condition,
        *,
        created_before: datetime,
        created_from: datetime | None = None,
    ) -> Iterator[Event]:
        clause, exact = translate(where, self._store.translation)
        if not exact:  # a condition SQL cannot decide alone: page the tickets, then each history
            yield from self._events_by_creation_scan(where, created_before, created_from)
            return
        t, e = s.tickets, s.events
        statement = (
            sa.select(e.c.data)
            .select_from(t.join(e, e.c.ticket_id == t.c.id))
            .order_by(t.c.created_at, t.c.id, e.c.seq)
        )
        open_doc = self._store.open_doc
        for (data,) in self._stream_by_creation(statement, clause, created_before, created_from):
            yield event_from_dict(open_doc(data))

    def save_report_facts(self, ticket_id: str, version: int, doc: Sequence[Any]) -> None:
        self._qw(
            self._store.sql.save_facts,
            {"id": ticket_id, "version": version, "doc": facts_text(doc)},
        )

    def report_facts(
        self,
        where: Condition,
        *,
        created_before: datetime,
        created_from: datetime | None = None,
    ) -> Iterator[StoredFacts]:
        clause, exact = translate(where, self._store.translation)
        if not exact:  # a condition SQL cannot decide alone: page the tickets, then each row
            yield from self._report_facts_scan(where, created_before, created_from)
            return
        t, f = s.tickets, s.report_facts
        statement = (
            sa.select(t.c.id, f.c.doc)
            .select_from(
                t.outerjoin(f, sa.and_(f.c.ticket_id == t.c.id, f.c.version == t.c.version))
            )
            .order_by(t.c.created_at, t.c.id)
        )
        loads = json.loads
        rows = self._stream_by_creation(statement, clause, created_before, created_from)
        for ticket_id, doc in rows:
            yield StoredFacts(ticket_id, None if doc is None else loads(doc))

    def _report_facts_scan(
        self, where: Condition, created_before: datetime, created_from: datetime | None
    ) -> Iterator[StoredFacts]:
        f = s.report_facts.c
        for page in self._pages_by_creation(where, created_before, created_from):
            versions = {ticket.id: ticket.version for ticket in page}
            kept = {
                row.ticket_id: row.doc
                for row in self._x(
                    sa.select(f.ticket_id, f.version, f.doc).where(f.ticket_id.in_(versions))
                )
                if row.version == versions[row.ticket_id]
            }
            for ticket in page:
                doc = kept.get(ticket.id)
                yield StoredFacts(ticket.id, None if doc is None else json.loads(doc))

    def _events_by_creation_scan(
        self, where: Condition, created_before: datetime, created_from: datetime | None
    ) -> Iterator[Event]:
        for page in self._pages_by_creation(where, created_before, created_from):
            for ticket in page:
                yield from self.ticket_events(ticket.id)

    def _pages_by_creation(
        self, where: Condition, created_before: datetime, created_from: datetime | None
    ) -> Iterator[list[Ticket]]:
        """The tickets matching ``where`` created in ``[created_from, created_before)``, in
        creation order, a page of :data:`_SCAN_BATCH` at a time (a condition SQL cannot decide
        alone is checked on the loaded tickets by ``query_tickets``)."""
        bounds = [where, field_is("created_at", "lt", created_before)]
        if created_from is not None:
            bounds.append(field_is("created_at", "gte", created_from))
        condition = all_of(bounds)
        after: tuple[Any, str] | None = None
        while True:
            page = self.query_tickets(
                TicketQuery(where=condition, order_by="created_at", after=after, limit=_SCAN_BATCH)
            )
            yield page
            if len(page) < _SCAN_BATCH:
                return
            after = (page[-1].created_at, page[-1].id)

    def next_number(self, sequence: str) -> int:
        prepared = self._store.sql.next_number
        if self._sqlite:  # inside this unit's write transaction: serialised, never duplicated
            self._begin_write()
            return int(self._value(prepared, {"name": sequence}))
        # like a sequence: not rolled back, never duplicated
        with self._store.autocommit(flush=False) as conn:
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            cursor.execute(prepared.sql, prepared.params({"name": sequence}))
            return int(cursor.fetchone()[0])  # type: ignore[index]

    # -- customers ----------------------------------------------------------------------------
    def _customer(self, doc: str) -> Customer:
        return customer_from_dict(self._store.open_doc(doc))

    def get_customer(self, customer_id: str) -> Customer | None:
        row = self._q(self._store.sql.customer_doc, {"id": customer_id}).fetchone()
        if row is None:
            return None
        return customer_from_dict(self._store.codec.open(json.loads(row[0])))

    def customer_events(self, customer_id: str, after_seq: int = 0) -> list[CustomerEvent]:
        e = s.customer_events.c
        statement = (
            sa.select(e.data).where(e.customer_id == customer_id, e.seq > after_seq).order_by(e.seq)
        )
        return [
            customer_event_from_dict(self._store.open_doc(data))
            for data in self._x(statement).scalars()
        ]

    def save_customer(self, customer: Customer, new_events: Sequence[CustomerEvent]) -> None:
        expected = customer_base_version(customer, new_events)
        c = s.customers.c
        row: dict[str, Any] = {name: getattr(customer, name) for name in s.CUSTOMER_COLUMNS}
        row.update(
            version=customer.version,
            created_at=to_micros(customer.created_at),
            updated_at=to_micros(customer.updated_at),
            doc=self._store.seal(customer_to_dict(customer)),
        )
        if expected == 0:
            inserted = self._w(
                self._store.sql.insert(s.customers)
                .values(**row)
                .on_conflict_do_nothing()
                .returning(c.id)
            ).scalar_one_or_none()
            if inserted is None:
                stored = self._x(sa.select(c.version).where(c.id == customer.id)).scalar()
                raise ConcurrencyConflict(customer.id, 0, int(stored or 0))
        else:
            done = self._w(
                sa.update(s.customers)
                .where(c.id == customer.id, c.version == expected)
                .values(**{k: v for k, v in row.items() if k != "id"})
            )
            if done.rowcount != 1:
                stored = self._x(sa.select(c.version).where(c.id == customer.id)).scalar()
                raise ConcurrencyConflict(customer.id, expected, int(stored or 0))
            for table in (s.customer_tags, s.customer_contacts):
                self._x(sa.delete(table).where(table.c.customer_id == customer.id))
        if customer.tags:
            self._x(
                sa.insert(s.customer_tags),
                [{"customer_id": customer.id, "tag": tag} for tag in sorted(customer.tags)],
            )
        keys = contact_keys(customer)
        if keys:
            self._x(
                sa.insert(s.customer_contacts),
                [
                    {"customer_id": customer.id, "key": key}
                    for key in sorted({self._store.codec.index_key(k) for k in keys})
                ],
            )
        rows = [
            {
                "customer_id": e.customer_id,
                "seq": e.seq,
                "kind": e.kind,
                "at": to_micros(e.at),
                "actor": e.actor,
                "data": self._store.seal(customer_event_to_dict(e)),
            }
            for e in new_events
        ]
        try:
            self._x(sa.insert(s.customer_events), rows)
        except sa.exc.IntegrityError as exc:
            raise ConcurrencyConflict(customer.id, expected, expected + 1) from exc

    def find_customers(self, contact_key: str) -> list[Customer]:
        keys = self._store.codec.lookup_keys(contact_key)
        if len(keys) == 1:  # the clear key only (no field key): the prepared lookup
            rows = self._q(self._store.sql.customers_by_contact, {"key": keys[0]}).fetchall()
            return [self._customer(doc) for (doc,) in rows]
        k = s.customer_contacts.c
        statement = (
            sa.select(s.customers.c.doc)
            .where(s.customers.c.id.in_(sa.select(k.customer_id).where(k.key.in_(keys))))
            .order_by(s.customers.c.id)
        )
        return [self._customer(doc) for doc in self._x(statement).scalars()]

    def query_customers(self, query: CustomerQuery) -> list[Customer]:
        c = s.customers.c
        statement = sa.select(c.doc).order_by(c.id)
        if query.tier is not None:
            statement = statement.where(c.tier == query.tier)
        if query.organisation is not None:
            statement = statement.where(c.organisation == query.organisation)
        if query.tag is not None:
            t = s.customer_tags.c
            statement = statement.where(
                sa.exists().where(t.customer_id == c.id, t.tag == query.tag)
            )
        if not query.include_merged:
            statement = statement.where(c.merged_into.is_(None))
        if query.after is not None:
            statement = statement.where(c.id > query.after)
        if query.requester_of is None:
            if query.limit is not None:
                statement = statement.limit(query.limit)
            return [self._customer(doc) for doc in self._x(statement).scalars()]
        where, exact = translate(query.requester_of, self._store.dialect)
        ticket_ids = sa.select(s.tickets.c.requester).where(s.tickets.c.requester.is_not(None))
        if where is not None:
            ticket_ids = ticket_ids.where(where)
        statement = statement.where(c.id.in_(ticket_ids))
        if exact:
            if query.limit is not None:
                statement = statement.limit(query.limit)
            return [self._customer(doc) for doc in self._x(statement).scalars()]
        # the scope has a part SQL cannot say: check the candidates' tickets in Python
        found: list[Customer] = []
        for doc in self._x(statement).scalars():
            customer = self._customer(doc)
            tickets = self.query_tickets(
                TicketQuery(
                    where=query.requester_of & field_is("requester", "eq", customer.id),
                    limit=1,
                )
            )
            if tickets:
                found.append(customer)
                if query.limit is not None and len(found) >= query.limit:
                    break
        return found

    # -- outbox -------------------------------------------------------------------------------
    def _message(self, row: Any) -> OutboxMessage:
        return OutboxMessage(
            id=row.id,
            topic=row.topic,
            key=row.key,
            payload=self._store.open_doc(row.payload),
            created_at=from_micros(row.created_at),
            available_at=from_micros(row.available_at),
            state=row.state,
            attempts=row.attempts,
            last_error=row.last_error,
            claimed_by=row.claimed_by,
            lease_until=_opt_time(row.lease_until),
        )

    def add_outbox(self, message: OutboxMessage) -> None:
        """Queued in the unit and written with its other rows in one batch (one round trip)
        before anything reads the outbox and before COMMIT; the write transaction begins now,
        as for any write."""
        self._begin_write()
        self._outbox_rows.append(
            {
                "id": message.id,
                "key": message.key,
                "topic": message.topic,
                "payload": self._store.seal(message.payload),
                "created_at": to_micros(message.created_at),
                "available_at": to_micros(message.available_at),
                "state": message.state,
                "attempts": message.attempts,
                "last_error": message.last_error,
                "claimed_by": message.claimed_by,
                "lease_until": _opt_micros(message.lease_until),
            }
        )

    def flush_outbox(self) -> None:
        """Write the outbox rows this unit queued, in order, in one batch."""
        if self._outbox_rows:
            rows, self._outbox_rows = self._outbox_rows, []
            self._many(self._store.sql.insert_outbox, rows)

    def claim_outbox(
        self, now: datetime, limit: int, worker: str, lease: timedelta
    ) -> list[OutboxMessage]:
        self.flush_outbox()
        at = to_micros(now)
        o = s.outbox.c
        rows = self._claim(
            key=o.pos,
            due=[o.state == "pending", o.available_at <= at],
            order=[o.pos],
            at=at,
            limit=limit,
            claimed={"claimed_by": worker, "lease_until": to_micros(now + lease)},
            returning=list(s.outbox.c),
        )
        return [self._message(row) for row in rows]

    def _claim(
        self,
        *,
        key: sa.Column[Any],
        due: list[Any],
        order: list[sa.Column[Any]],
        at: int,
        limit: int,
        claimed: dict[str, Any],
        returning: list[sa.Column[Any]],
    ) -> list[Any]:
        """Lease up to ``limit`` due rows of ``key``'s table whose lease is free or expired,
        at once (``_at_once``); rows locked by another worker are skipped on PostgreSQL.
        Returns the claimed rows in ``order``."""
        table = key.table
        lease_until = table.c.lease_until
        candidates = (
            sa.select(key)
            .where(*due, sa.or_(lease_until.is_(None), lease_until <= at))
            .order_by(*order)
            .limit(limit)
        )
        if not self._sqlite:
            candidates = candidates.with_for_update(skip_locked=True)
        claim = (
            sa.update(table)
            .where(key.in_(candidates.scalar_subquery()))
            .values(**claimed)
            .returning(*returning)
        )
        with self._at_once() as run:
            rows = run(claim).all()
        return sorted(rows, key=lambda r: tuple(getattr(r, c.name) for c in order))

    def finish_outbox(
        self,
        message_id: str,
        *,
        delivered: bool,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        self.flush_outbox()
        o = s.outbox.c
        values: dict[str, Any] = {
            "state": delivery_state(delivered, retry_at),
            "attempts": o.attempts + 1,
            "last_error": error,
            "claimed_by": None,
            "lease_until": None,
        }
        if not delivered and retry_at is not None:
            values["available_at"] = to_micros(retry_at)
        done = self._w(sa.update(s.outbox).where(o.id == message_id).values(**values))
        if done.rowcount != 1:
            raise ValidationError("message_id", f"no outbox message {message_id!r}")

    def outbox(self, state: str | None = None) -> list[OutboxMessage]:
        self.flush_outbox()
        statement = sa.select(*s.outbox.c).order_by(s.outbox.c.pos)
        if state is not None:
            statement = statement.where(s.outbox.c.state == state)
        return [self._message(row) for row in self._x(statement)]

    def revive_outbox(self, message_id: str, *, available_at: datetime) -> OutboxMessage | None:
        self.flush_outbox()
        o = s.outbox.c
        done = self._w(
            sa.update(s.outbox)
            .where(o.id == message_id, o.state == "dead")
            .values(
                state="pending",
                attempts=0,
                available_at=to_micros(available_at),
                claimed_by=None,
                lease_until=None,
            )
        )
        if done.rowcount != 1:
            return None
        row = self._x(sa.select(*s.outbox.c).where(o.id == message_id)).one()
        return self._message(row)

    # -- documents: grants, agents, state -------------------------------------------------------
    def _upsert(self, table: sa.Table, key: str, values: dict[str, Any]) -> None:
        statement = self._store.sql.insert(table).values(**values)
        self._w(
            statement.on_conflict_do_update(
                index_elements=[table.c[key]],
                set_={k: statement.excluded[k] for k in values if k != key},
            )
        )

    def save_grant(self, grant: Grant) -> None:
        self._upsert(
            s.grants, "id", {"id": grant.id, "state": grant.state, "doc": _dumps(grant.to_dict())}
        )

    def _doc(self, key: sa.Column[Any], value: str) -> Any:
        """The parsed ``doc`` of the row whose ``key`` column is ``value``; None if none."""
        doc = self._x(sa.select(key.table.c.doc).where(key == value)).scalar_one_or_none()
        return None if doc is None else json.loads(doc)

    def get_grant(self, grant_id: str) -> Grant | None:
        data = self._doc(s.grants.c.id, grant_id)
        return None if data is None else Grant.from_dict(data)

    def grants(self, state: str | None = None) -> list[Grant]:
        sql = self._store.sql
        rows = (
            self._q(sql.grants_all)
            if state is None
            else self._q(sql.grants_in_state, {"state": state})
        )
        return [Grant.from_dict(json.loads(doc)) for (doc,) in rows]

    def save_agent(self, agent: Agent) -> None:
        self._upsert(s.agents, "id", {"id": agent.id, "doc": _dumps(agent_to_dict(agent))})

    def agents(self) -> list[Agent]:
        return [Agent(**json.loads(doc)) for (doc,) in self._q(self._store.sql.agents)]

    def load_state(self, key: str) -> dict[str, Any] | None:
        value: dict[str, Any] | None = self._doc(s.state_docs.c.key, key)
        return value

    def save_state(self, key: str, value: dict[str, Any]) -> None:
        self._upsert(s.state_docs, "key", {"key": key, "doc": _dumps(value)})

    # -- escalation schedule and firings -------------------------------------------------------
    def schedule_check(self, ticket_id: str, at: datetime | None) -> None:
        self._qw(self._store.sql.schedule, {"id": ticket_id, "at": _opt_micros(at)})

    def claim_due(
        self, now: datetime, limit: int, worker: str, lease: timedelta
    ) -> list[tuple[str, datetime]]:
        at = to_micros(now)
        c = s.schedule.c
        rows = self._claim(
            key=c.ticket_id,
            due=[c.next_check_at.is_not(None), c.next_check_at <= at],
            order=[c.next_check_at, c.ticket_id],
            at=at,
            limit=limit,
            claimed={"lease_owner": worker, "lease_until": to_micros(now + lease)},
            returning=[c.ticket_id, c.next_check_at],
        )
        return [(row.ticket_id, from_micros(row.next_check_at)) for row in rows]

    def release_check(self, ticket_id: str, worker: str, next_check_at: datetime | None) -> bool:
        done = self._qw(
            self._store.sql.release,
            {"id": ticket_id, "worker": worker, "at": _opt_micros(next_check_at)},
        )
        return bool(done.rowcount == 1)

    def add_firing(self, firing: Firing) -> bool:
        self._begin_write()
        inserted = self._value(
            self._store.sql.insert_firing,
            {
                "key": firing.key,
                "ticket_id": firing.ticket_id,
                "policy": firing.policy,
                "level": firing.level,
                "metric": firing.metric,
                "cycle": firing.cycle,
                "at": to_micros(firing.at),
                "worker": firing.worker,
            },
        )
        return inserted is not None

    def firings(self, ticket_id: str | None = None) -> list[Firing]:
        sql = self._store.sql
        rows = (
            self._q(sql.firings_all)
            if ticket_id is None
            else self._q(sql.firings_of, {"id": ticket_id})
        )
        return [
            Firing(key, ticket, policy, level, metric, cycle, from_micros(at), worker)
            for key, ticket, policy, level, metric, cycle, at, worker in rows
        ]

    # -- full-text search -------------------------------------------------------------------------
    def flush_search(self) -> None:
        """The unit's queued outbox rows, then the search index of the tickets it saved (the
        last writes before COMMIT)."""
        self.flush_outbox()
        if self._search_dirty:
            dirty, self._search_dirty = self._search_dirty, {}
            text_search.write_index(self, dirty.values())

    def search_tickets(self, query: TextQuery) -> list[tuple[Ticket, Match]]:
        return text_search.search(self, self._store, query)

    # -- knowledge base -------------------------------------------------------------------------
    def save_article(self, article: Article) -> None:
        a = s.articles.c
        self._begin_write()
        current = self._x(sa.select(sa.func.max(a.version)).where(a.id == article.id)).scalar()
        current = int(current or 0)
        if article.version != current + 1:
            raise ConcurrencyConflict(f"article {article.id}", article.version - 1, current)
        statement = self._store.sql.insert(s.articles).values(
            id=article.id,
            version=article.version,
            state=article.state,
            updated_at=to_micros(article.updated_at),
            doc=_dumps(article.to_dict()),
        )
        inserted = self._x(statement.on_conflict_do_nothing().returning(a.version)).first()
        if inserted is None:  # a concurrent writer took this version first
            raise ConcurrencyConflict(f"article {article.id}", current, article.version)

    def get_article(self, article_id: str, version: int | None = None) -> Article | None:
        a = s.articles.c
        statement = sa.select(a.doc).where(a.id == article_id)
        if version is None:
            statement = statement.order_by(a.version.desc()).limit(1)
        else:
            statement = statement.where(a.version == version)
        doc = self._x(statement).scalar_one_or_none()
        return None if doc is None else Article.from_dict(json.loads(doc))

    def article_versions(self, article_id: str) -> list[Article]:
        a = s.articles.c
        rows = self._x(sa.select(a.doc).where(a.id == article_id).order_by(a.version))
        return [Article.from_dict(json.loads(doc)) for doc in rows.scalars()]

    def articles(self, state: str | None = None) -> list[Article]:
        a = s.articles.c
        latest = sa.select(a.id, sa.func.max(a.version).label("version")).group_by(a.id).subquery()
        statement = (
            sa.select(a.doc)
            .join(latest, sa.and_(a.id == latest.c.id, a.version == latest.c.version))
            .order_by(a.id)
        )
        if state is not None:
            statement = statement.where(a.state == state)
        return [Article.from_dict(json.loads(doc)) for doc in self._x(statement).scalars()]

    def save_gap(self, gap: KbGap) -> None:
        self._upsert(
            s.kb_gaps, "id", {"id": gap.id, "state": gap.state, "doc": _dumps(gap.to_dict())}
        )

    def get_gap(self, gap_id: str) -> KbGap | None:
        data = self._doc(s.kb_gaps.c.id, gap_id)
        return None if data is None else KbGap.from_dict(data)

    def gaps(self, state: str | None = None) -> list[KbGap]:
        g = s.kb_gaps.c
        statement = sa.select(g.doc).order_by(g.pos)
        if state is not None:
            statement = statement.where(g.state == state)
        return [KbGap.from_dict(json.loads(doc)) for doc in self._x(statement).scalars()]

    def add_article_use(self, use: ArticleUse) -> None:
        self._w(
            sa.insert(s.article_uses).values(
                article_id=use.article_id,
                kind=use.kind,
                actor=use.actor,
                at=to_micros(use.at),
                ticket_id=use.ticket_id,
                solved=use.solved,
            )
        )

    def article_uses(self, article_id: str | None = None) -> list[ArticleUse]:
        u = s.article_uses.c
        statement = sa.select(u.article_id, u.kind, u.actor, u.at, u.ticket_id, u.solved)
        if article_id is not None:
            statement = statement.where(u.article_id == article_id)
        return [
            ArticleUse(
                row.article_id,
                row.kind,
                row.actor,
                from_micros(row.at),
                row.ticket_id,
                bool(row.solved),
            )
            for row in self._x(statement.order_by(u.pos))
        ]

    # -- satisfaction surveys ---------------------------------------------------------------------
    def _survey_row(self, survey: Survey) -> dict[str, Any]:
        return {
            "id": survey.id,
            "ticket_id": survey.ticket_id,
            "token_hash": survey.token_hash,
            "created_at": to_micros(survey.created_at),
            "answered_at": _opt_micros(survey.answered_at),
            "doc": _dumps(survey.to_dict()),
        }

    def save_survey(self, survey: Survey) -> None:
        self._upsert(s.surveys, "id", self._survey_row(survey))

    def _surveys_where(self, *where: Any) -> list[Survey]:
        c = s.surveys.c
        statement = sa.select(c.doc).where(*where).order_by(c.created_at, c.id)
        return [Survey.from_dict(json.loads(doc)) for doc in self._x(statement).scalars()]

    def get_survey(self, survey_id: str) -> Survey | None:
        found = self._surveys_where(s.surveys.c.id == survey_id)
        return found[0] if found else None

    def get_survey_by_token_hash(self, token_hash: str) -> Survey | None:
        found = self._surveys_where(s.surveys.c.token_hash == token_hash)
        return found[0] if found else None

    def answer_survey(
        self, survey_id: str, *, stars: int, comment: str | None, answered_at: datetime
    ) -> Survey | None:
        # the write lock first (SQLite: BEGIN IMMEDIATE), so the read below and the
        # conditional update see every committed answer; on PostgreSQL the UPDATE's row lock
        # makes a concurrent answer wait, then its predicate fails on the committed row
        self._begin_write()
        survey = self.get_survey(survey_id)
        if survey is None or survey.answered_at is not None:
            return None
        answered = attrs.evolve(survey, stars=stars, comment=comment, answered_at=answered_at)
        c = s.surveys.c
        done = self._w(
            sa.update(s.surveys)
            .where(c.id == survey_id, c.answered_at.is_(None))
            .values(answered_at=to_micros(answered_at), doc=_dumps(answered.to_dict()))
        )
        return answered if done.rowcount == 1 else None

    def surveys(self, ticket_id: str | None = None) -> list[Survey]:
        if ticket_id is None:
            return self._surveys_where()
        return self._surveys_where(s.surveys.c.ticket_id == ticket_id)

    # -- intake (issue 23) -------------------------------------------------------------------------
    def add_intake(self, record: IntakeRecord) -> bool:
        row = {
            "id": record.id,
            "dedupe_key": record.dedupe_key,
            "at": to_micros(record.at),
            "outcome": record.outcome,
            "promoted_to": record.promoted_to,
            "doc": _intake_doc(record),
            "raw": record.raw,
        }
        return self._qw(self._store.sql.insert_intake, row).fetchone() is not None

    def intake_by_key(self, dedupe_key: str) -> IntakeRecord | None:
        row = self._q(self._store.sql.intake_by_key, {"key": dedupe_key}).fetchone()
        return None if row is None else _intake(row)

    def get_intake(self, record_id: str) -> IntakeRecord | None:
        row = self._q(self._store.sql.intake_by_id, {"id": record_id}).fetchone()
        return None if row is None else _intake(row)

    def intake_records(
        self, outcomes: Sequence[str] | None = None, limit: int = 100
    ) -> list[IntakeRecord]:
        i = s.intake.c
        statement = sa.select(i.at, i.promoted_to, i.doc, i.raw)
        if outcomes is not None:
            statement = statement.where(i.outcome.in_(list(outcomes)))
        statement = statement.order_by(i.at.desc(), i.pos.desc()).limit(limit)
        return [_intake(row) for row in self._x(statement)]

    def promote_intake(self, record_id: str, ticket_id: str) -> bool:
        i = s.intake.c
        done = self._w(
            sa.update(s.intake)
            .where(i.id == record_id, i.promoted_to.is_(None))
            .values(promoted_to=ticket_id)
        )
        return bool(done.rowcount == 1)

    def index_message_id(self, message_id: str, ticket_id: str) -> None:
        values = {"message_id": message_id, "ticket_id": ticket_id}
        self._qw(self._store.sql.index_message_id, values)

    def ticket_of_message_id(self, message_id: str) -> str | None:
        found = self._value(self._store.sql.ticket_of_message_id, {"message_id": message_id})
        return None if found is None else str(found)

    def tickets_of_message_ids(self, message_ids: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        wanted = list(dict.fromkeys(message_ids))
        for start in range(0, len(wanted), MESSAGE_IDS_AT_ONCE):
            batch = wanted[start : start + MESSAGE_IDS_AT_ONCE]
            batch += batch[:1] * (MESSAGE_IDS_AT_ONCE - len(batch))  # a fixed statement
            values = {f"m{n}": message_id for n, message_id in enumerate(batch)}
            found.update(
                (str(mid), str(tid))
                for mid, tid in self._q(self._store.sql.tickets_of_message_ids, values)
            )
        return found

    def add_attachment(self, attachment: Attachment) -> None:
        row = {
            "id": attachment.id,
            "ticket_id": attachment.ticket_id,
            "message_id": attachment.message_id,
            "filename": attachment.filename,
            "content_type": attachment.content_type,
            "at": to_micros(attachment.at),
            "content": attachment.content,
        }
        self._qw(self._store.sql.insert_attachment, row)

    def _attachments(self, *where: Any) -> list[Attachment]:
        a = s.attachments.c
        statement = sa.select(
            a.id, a.ticket_id, a.message_id, a.filename, a.content_type, a.at, a.content
        )
        return [
            Attachment(
                id=row.id,
                ticket_id=row.ticket_id,
                filename=row.filename,
                content_type=row.content_type,
                content=bytes(row.content),
                at=from_micros(row.at),
                message_id=row.message_id,
            )
            for row in self._x(statement.where(*where).order_by(a.pos))
        ]

    def get_attachment(self, ticket_id: str, attachment_id: str) -> Attachment | None:
        a = s.attachments.c
        found = self._attachments(a.id == attachment_id, a.ticket_id == ticket_id)
        return found[0] if found else None

    def attachments(self, ticket_id: str) -> list[Attachment]:
        return self._attachments(s.attachments.c.ticket_id == ticket_id)

    def add_acknowledgement(self, address: str, at: datetime) -> None:
        values = {"address": address, "at": to_micros(at)}
        self._qw(self._store.sql.add_acknowledgement, values)

    def acknowledgements_since(self, address: str, since: datetime) -> int:
        values = {"address": address, "since": to_micros(since)}
        return int(self._value(self._store.sql.acknowledgements_since, values) or 0)

    # -- post-incident reviews ------------------------------------------------------------------
    def save_review(self, review: Review) -> None:
        r = s.reviews.c
        values = {
            "ticket_id": review.ticket_id,
            "state": review.state,
            "live_ticket": review.ticket_id if review.live else None,
            "version": review.version,
            "opened_at": to_micros(review.opened_at),
            "doc": self._store.seal(review.to_dict()),
        }
        self._begin_write()
        if review.version == 1:
            # any unique clash (the id, or a live review of the same ticket) inserts nothing
            statement = self._store.sql.insert(s.reviews).values(id=review.id, **values)
            inserted = self._x(statement.on_conflict_do_nothing().returning(r.id)).first()
            if inserted is None:
                raise ConcurrencyConflict(f"review {review.id}", 0, 1)
            return
        try:
            done = self._x(
                sa.update(s.reviews)
                .where(r.id == review.id, r.version == review.version - 1)
                .values(**values)
            )
        except sa.exc.IntegrityError as exc:  # a closed review revived beside a live one
            raise ConcurrencyConflict(f"live review of {review.ticket_id}", 0, 1) from exc
        if done.rowcount != 1:
            current = self._x(sa.select(r.version).where(r.id == review.id)).scalar()
            raise ConcurrencyConflict(f"review {review.id}", review.version - 1, int(current or 0))

    def get_review(self, review_id: str) -> Review | None:
        r = s.reviews.c
        doc = self._x(sa.select(r.doc).where(r.id == review_id)).scalar_one_or_none()
        return None if doc is None else Review.from_dict(self._store.open_doc(doc))

    def reviews(self, *, state: str | None = None, ticket_id: str | None = None) -> list[Review]:
        r = s.reviews.c
        statement = sa.select(r.doc).order_by(r.opened_at, r.id)
        if state is not None:
            statement = statement.where(r.state == state)
        if ticket_id is not None:
            statement = statement.where(r.ticket_id == ticket_id)
        return [Review.from_dict(self._store.open_doc(doc)) for doc in self._x(statement).scalars()]

    # -- audit ----------------------------------------------------------------------------------
    def add_audit(self, record: AuditRecord) -> None:
        self._qw(
            self._store.sql.insert_audit,
            {
                "id": record.id,
                "at": to_micros(record.at),
                "actor": record.actor,
                "action": record.action,
                "target": record.target,
                "allowed": record.allowed,
                "rule": record.rule,
                "detail": record.detail,
            },
        )

    def audit_log(
        self, *, actor: str | None = None, target: str | None = None, limit: int = 1000
    ) -> list[AuditRecord]:
        a = s.audit.c
        statement = sa.select(*s.audit.c).order_by(a.pos).limit(limit)
        if actor is not None:
            statement = statement.where(a.actor == actor)
        if target is not None:
            statement = statement.where(a.target == target)
        return [
            AuditRecord(
                id=row.id,
                at=from_micros(row.at),
                actor=row.actor,
                action=row.action,
                target=row.target,
                allowed=bool(row.allowed),
                rule=row.rule,
                detail=row.detail,
            )
            for row in self._x(statement)
        ]
