"""Ticket full-text search in SQL tables, ranked by the core's own code (issue 21).

The inverted index lives in ``hd_search_*`` tables (see :mod:`.schema`) and is written in the
same transaction as the tickets it describes, just before COMMIT: a ticket's postings, its term
vector, new words and their fuzzy keys, then the sharded statistics, each in sorted key order
so concurrent writers never wait on each other in a cycle. Queries read it through
:class:`SqlTermSource`, a :class:`~helpdesk_core.search.index.TermSource`, and rank with
:func:`helpdesk_core.search.index.rank`: the same code and arithmetic as the memory store, hence
the same scores and order on both (and on SQLite and PostgreSQL alike).

``helpdesk db reindex`` (:func:`reindex`) rebuilds every table from the stored tickets.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa

from helpdesk_core.model.tickets import Ticket, ticket_subject
from helpdesk_core.ports import TextQuery
from helpdesk_core.search.index import Match, is_word, near_keys, rank
from helpdesk_core.search.text import analyse
from helpdesk_core.search.tickets import TICKET_WEIGHTS, ticket_fields
from helpdesk_plugins.storage_sql import schema as s
from helpdesk_plugins.storage_sql.translate import translate

if TYPE_CHECKING:
    from helpdesk_plugins.storage_sql.store import SqlStorage, SqlUnitOfWork

SHARDS: Final = 16
DOCS: Final = "#docs"
"""The statistics row holding the number of indexed tickets."""
_BATCH: Final = 500
_TOP: Final = "\U0010ffff"


def shard_of(ticket_id: str) -> int:
    return zlib.crc32(ticket_id.encode()) % SHARDS


def text_digest(ticket: Ticket) -> str:
    """A digest of the ticket's searchable text: equal digests, equal term vectors."""
    fields = ticket_fields(ticket)
    joined = "\x1f".join(f"{name}\x1e{fields[name]}" for name in sorted(fields))
    return hashlib.blake2b(joined.encode(), digest_size=16).hexdigest()


def term_vectors(ticket: Ticket) -> dict[str, dict[str, int]]:
    """A ticket's term counts per search field (empty fields left out), as the memory index
    computes them."""
    vectors: dict[str, dict[str, int]] = {}
    for name, text in ticket_fields(ticket).items():
        counts = Counter(t.term for t in analyse(text))
        if counts:
            vectors[name] = dict(counts)
    return vectors


def write_index(uow: SqlUnitOfWork, tickets: Iterable[Ticket]) -> None:
    """(Re-)index ``tickets`` inside the unit's write transaction (called just before COMMIT).

    A handful of statements whatever the number of tickets: old vectors read in one query,
    their postings deleted in one, new postings and vectors written with executemany, then new
    words, their fuzzy keys and the statistics deltas, each in sorted order.
    """
    chosen = sorted(tickets, key=lambda t: t.id)
    if len(chosen) <= _FEW:  # a command's tickets: the store's prepared statements
        for ticket in chosen:
            _write_one(uow, ticket)
        return
    for start in range(0, len(chosen), _BATCH):
        _write_batch(uow, chosen[start : start + _BATCH])


_FEW: Final = 4
"""Up to this many tickets (what one command changes) are indexed one by one with prepared
statements; more (a reindex) in batches of Core statements."""


def _write_one(uow: SqlUnitOfWork, ticket: Ticket) -> None:
    """:func:`_write_batch` for one ticket, through the store's prepared statements (a command
    pays for the driver's work only, not for building and compiling statements)."""
    digest = text_digest(ticket)
    stored = uow.prepared_read("search_vector", {"id": ticket.id})
    if stored and stored[0][1] == digest:
        return  # the searchable text did not change (assign, status...)
    stats: Counter[tuple[int, str]] = Counter()
    if stored:
        old_shard, _, old_doc = stored[0]
        stats[(int(old_shard), DOCS)] -= 1
        for name, counts in json.loads(old_doc).items():
            stats[(int(old_shard), name)] -= sum(counts.values())
        uow.prepared_write("search_drop_postings", [{"id": ticket.id}])
        uow.prepared_write("search_drop_vector", [{"id": ticket.id}])
    shard = shard_of(ticket.id)
    vectors = term_vectors(ticket)
    stats[(shard, DOCS)] += 1
    postings: list[dict[str, Any]] = []
    words: set[str] = set()
    for name, counts in vectors.items():
        length = sum(counts.values())
        stats[(shard, name)] += length
        for term, tf in counts.items():
            postings.append(
                {"term": term, "field": name, "ticket_id": ticket.id, "tf": tf, "length": length}
            )
            if is_word(term):
                words.add(term)
    postings.sort(key=lambda row: (row["term"], row["field"]))
    uow.prepared_write("search_add_posting", postings)
    doc = json.dumps(vectors, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    uow.prepared_write(
        "search_add_vector",
        [{"ticket_id": ticket.id, "shard": shard, "digest": digest, "doc": doc}],
    )
    new = sorted(w for w in words if not uow.prepared_read("search_word", {"term": w}))
    if new:
        _learn_words(uow, new)
    deltas = [
        {"shard": shard_, "field": name, "total": delta}
        for (shard_, name), delta in sorted(stats.items())
        if delta
    ]
    uow.prepared_write("search_add_stat", deltas)


def _write_batch(uow: SqlUnitOfWork, tickets: list[Ticket]) -> None:
    execute = uow.execute_write
    insert = uow.dialect_insert
    postings, v = s.search_postings, s.search_vectors.c
    digests = {t.id: text_digest(t) for t in tickets}
    rows: Any = execute(
        sa.select(v.ticket_id, v.shard, v.digest, v.doc).where(v.ticket_id.in_(list(digests)))
    )
    stored = {row[0]: (int(row[1]), row[2], row[3]) for row in rows}
    # a change that leaves the searchable text alone (assign, status...) writes nothing here
    tickets = [t for t in tickets if t.id not in stored or stored[t.id][1] != digests[t.id]]
    if not tickets:
        return
    old = {t.id: (stored[t.id][0], stored[t.id][2]) for t in tickets if t.id in stored}
    stats: Counter[tuple[int, str]] = Counter()
    for shard, doc in old.values():
        stats[(shard, DOCS)] -= 1
        for name, counts in json.loads(doc).items():
            stats[(shard, name)] -= sum(counts.values())
    if old:
        execute(sa.delete(postings).where(postings.c.ticket_id.in_(sorted(old))))
    words: set[str] = set()
    posting_rows: list[dict[str, Any]] = []
    vector_rows: list[dict[str, Any]] = []
    for ticket in tickets:
        shard = shard_of(ticket.id)
        vectors = term_vectors(ticket)
        stats[(shard, DOCS)] += 1
        for name, counts in vectors.items():
            length = sum(counts.values())
            stats[(shard, name)] += length
            for term, tf in counts.items():
                posting_rows.append(
                    {
                        "term": term,
                        "field": name,
                        "ticket_id": ticket.id,
                        "tf": tf,
                        "length": length,
                    }
                )
                if is_word(term):
                    words.add(term)
        doc = json.dumps(vectors, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        vector_rows.append(
            {"ticket_id": ticket.id, "shard": shard, "digest": digests[ticket.id], "doc": doc}
        )
    if posting_rows:
        execute(sa.insert(postings), posting_rows)
    if old:
        execute(sa.delete(s.search_vectors).where(v.ticket_id.in_(sorted(old))))
    execute(sa.insert(s.search_vectors), vector_rows)
    if words:
        _learn_words(uow, sorted(words))
    deltas = [
        {"shard": shard, "field": name, "total": delta}
        for (shard, name), delta in sorted(stats.items())
        if delta
    ]
    if deltas:
        statement = insert(s.search_stats).values(deltas)
        execute(
            statement.on_conflict_do_update(
                index_elements=[s.search_stats.c.shard, s.search_stats.c.field],
                set_={"total": s.search_stats.c.total + statement.excluded.total},
            )
        )


def _learn_words(uow: SqlUnitOfWork, words: list[str]) -> None:
    execute = uow.execute_write
    known: set[str] = set()
    w = s.search_words.c
    for start in range(0, len(words), _BATCH):
        batch = words[start : start + _BATCH]
        known.update(execute(sa.select(w.term).where(w.term.in_(batch))).scalars())
    new = [word for word in words if word not in known]
    if not new:
        return
    execute(uow.dialect_insert(s.search_words).on_conflict_do_nothing(), [{"term": t} for t in new])
    near = sorted({(key, word) for word in new for key in near_keys(word)})
    if near:
        execute(
            uow.dialect_insert(s.search_near).on_conflict_do_nothing(),
            [{"key": k, "term": t} for k, t in near],
        )


class SqlTermSource:
    """The :class:`~helpdesk_core.search.index.TermSource` of one query: reads the search
    tables through a unit of work, caching what one ranking asks twice."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._run: Callable[..., Any] = uow.execute_read
        self._totals: dict[str, int] | None = None
        self._df: dict[str, int] = {}

    def _stats(self) -> dict[str, int]:
        if self._totals is None:
            c = s.search_stats.c
            rows = self._run(sa.select(c.field, sa.func.sum(c.total)).group_by(c.field))
            self._totals = {row[0]: int(row[1] or 0) for row in rows}
        return self._totals

    def document_count(self) -> int:
        return self._stats().get(DOCS, 0)

    def total_length(self, field: str) -> int:
        return self._stats().get(field, 0)

    def postings(self, field: str, term: str) -> dict[str, tuple[int, int]]:
        c = s.search_postings.c
        rows = self._run(
            sa.select(c.ticket_id, c.tf, c.length).where(c.term == term, c.field == field)
        )
        return {row[0]: (int(row[1]), int(row[2])) for row in rows}

    def document_frequency(self, terms: Iterable[str]) -> dict[str, int]:
        wanted = [t for t in dict.fromkeys(terms) if t not in self._df]
        c = s.search_postings.c
        for start in range(0, len(wanted), _BATCH):
            batch = wanted[start : start + _BATCH]
            rows = self._run(
                sa.select(c.term, sa.func.count(sa.distinct(c.ticket_id)))
                .where(c.term.in_(batch))
                .group_by(c.term)
            )
            found: dict[str, int] = {row[0]: int(row[1]) for row in rows}
            for term in batch:
                self._df[term] = int(found.get(term, 0))
        return {t: self._df[t] for t in terms if self._df.get(t)}

    def words_with_prefix(self, prefix: str) -> list[str]:
        c = s.search_words.c
        rows = self._run(sa.select(c.term).where(c.term >= prefix, c.term < prefix + _TOP))
        return [term for term in rows.scalars() if term.startswith(prefix)]

    def words_near(self, keys: Iterable[str]) -> list[str]:
        wanted = sorted(set(keys))
        if not wanted:
            return []
        c = s.search_near.c
        rows = self._run(sa.select(c.term).where(c.key.in_(wanted)).distinct())
        return sorted(rows.scalars())


def search(uow: SqlUnitOfWork, store: SqlStorage, query: TextQuery) -> list[tuple[Ticket, Match]]:
    """Committed tickets matching ``query``, best first, inside ``query.where`` (the scope is
    translated to SQL; what SQL cannot decide is checked on the loaded candidates)."""
    matches = rank(SqlTermSource(uow), query.terms, query.fields, None, weights=TICKET_WEIGHTS)
    clause, exact = translate(query.where, store.dialect)
    t = s.tickets.c
    found: list[tuple[Ticket, Match]] = []
    for start in range(0, len(matches), _BATCH):
        batch = matches[start : start + _BATCH]
        statement = sa.select(t.id, t.doc).where(t.id.in_([m.doc_id for m in batch]))
        if clause is not None:
            statement = statement.where(clause)
        rows: Any = uow.execute_read(statement)
        docs: Mapping[str, str] = {row[0]: row[1] for row in rows}
        for match in batch:
            doc = docs.get(match.doc_id)
            if doc is None:
                continue
            ticket = uow.ticket_from_doc(doc)
            if not exact and not query.where.matches(ticket_subject(ticket)):
                continue
            found.append((ticket, match))
            if len(found) >= query.limit:
                return found
    return found


def reindex(store: SqlStorage) -> int:
    """Rebuild every search table from the stored tickets (``helpdesk db reindex``); returns
    how many tickets were indexed."""
    with store.transaction() as uow:
        for table in (
            s.search_postings,
            s.search_vectors,
            s.search_near,
            s.search_words,
            s.search_stats,
        ):
            uow.execute_write(sa.delete(table))
        ids = list(uow.execute_read(sa.select(s.tickets.c.id).order_by(s.tickets.c.id)).scalars())
        for start in range(0, len(ids), _BATCH):
            tickets = [uow.get_ticket(i) for i in ids[start : start + _BATCH]]
            write_index(uow, [t for t in tickets if t is not None])
    return len(ids)
