"""Ticket full-text search on the database's own index, ranked by the core's code (issue 21).

Each indexed ticket has one ``hd_search_docs`` row: its search fields as the core's normalised
terms (:func:`helpdesk_core.search.text.analyse`: case, width and accent folding, traditional
to simplified, CJK unigrams and bigrams, identifiers whole) joined by spaces, the fields'
lengths, and a digest of the raw text. The database indexes those terms as they are:

- SQLite: an FTS5 table with that row as external content, tokenised on white space only, and
  two fts5vocab tables over it: ``row`` gives a term's document frequency, ``instance`` its
  (document, field) occurrences, i.e. the term frequencies ranking needs.
- PostgreSQL: ``terms``, a tsvector of the ticket's distinct terms with a GIN index; a term's
  documents are found through the index and its frequencies counted in the matching rows.

Both are written in the command's transaction, just before COMMIT, and only when the ticket's
searchable text changed (the digest): a status change or an assignment writes nothing here.
The word tables behind the prefix and fuzzy paths get rows only for words never seen before,
and the sharded statistics (ticket count, summed field lengths) one upsert.

Queries read the index through :class:`SqlTermSource`, a
:class:`~helpdesk_core.search.index.TermSource`, and rank with
:func:`helpdesk_core.search.index.rank`: the same code and arithmetic as the memory store,
hence the same hits, scores and order on the memory, SQLite and PostgreSQL stores.

``helpdesk db reindex`` (:func:`reindex`) rebuilds it all from the stored tickets.
"""

from __future__ import annotations

import hashlib
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
from helpdesk_plugins.storage_sql import topk
from helpdesk_plugins.storage_sql.translate import translate

if TYPE_CHECKING:
    from helpdesk_plugins.storage_sql.store import SqlStorage, SqlUnitOfWork

SHARDS: Final = 16
DOCS: Final = "#docs"
"""The statistics row holding the number of indexed tickets."""
WRITES: Final = "#writes"
"""The statistics row counting index writes (tickets whose text was (re-)indexed): how stale a
cached document frequency is (:class:`~helpdesk_plugins.storage_sql.topk.DfCache`)."""
FIELDS: Final = s.SEARCH_FIELDS
_BATCH: Final = 500
_TOP: Final = "\U0010ffff"


def shard_of(ticket_id: str) -> int:
    return zlib.crc32(ticket_id.encode()) % SHARDS


WORDS_AT_ONCE: Final = 16
"""Words looked up per statement when a ticket is indexed (a shorter list repeats its first):
one round trip for a ticket's new words, not one per word."""


def text_digest(ticket: Ticket) -> str:
    """A digest of the ticket's searchable text: equal digests, equal indexed terms."""
    fields = ticket_fields(ticket)
    joined = "\x1f".join(f"{name}\x1e{fields[name]}" for name in sorted(fields))
    return hashlib.blake2b(joined.encode(), digest_size=16).hexdigest()


def field_terms(ticket: Ticket) -> dict[str, list[str]]:
    """A ticket's terms per search field, in text order (as the memory index counts them)."""
    return {name: [t.term for t in analyse(text)] for name, text in ticket_fields(ticket).items()}


def joined(terms: list[str]) -> str:
    """Terms as the text the database indexes: white space inside a term (NFKC can expand
    one character into words) would split it, so it is folded into the term."""
    return " ".join("".join(term.split()) for term in terms)


def tsquery_literal(term: str) -> str:
    """The PostgreSQL tsquery of a term: any of its impact tiers (see
    :mod:`~helpdesk_plugins.storage_sql.topk`), quoted, so no character is an operator."""
    return topk.prefix_query(term)


def write_index(uow: SqlUnitOfWork, tickets: Iterable[Ticket]) -> None:
    """(Re-)index ``tickets`` inside the unit's write transaction (called just before COMMIT),
    in id order so that concurrent writers take row locks in one order."""
    for ticket in sorted(tickets, key=lambda t: t.id):
        _write_one(uow, ticket)


def _write_one(uow: SqlUnitOfWork, ticket: Ticket) -> None:
    """Index one ticket through the store's prepared statements (a command pays for the
    driver's work only, not for building and compiling statements)."""
    digest = text_digest(ticket)
    # a ticket this unit inserted has no index entry yet: nothing to read
    stored = [] if ticket.id in uow.created else uow.prepared_read("search_doc", {"id": ticket.id})
    if stored and stored[0][3] == digest:
        return  # the searchable text did not change (assign, status...)
    sqlite = uow.dialect == "sqlite"
    stats: Counter[tuple[int, str]] = Counter()
    terms = field_terms(ticket)
    shard = shard_of(ticket.id)
    row: dict[str, Any] = {"ticket_id": ticket.id, "shard": shard, "digest": digest}
    for name in FIELDS:
        row[name] = joined(terms[name])
        row[f"len_{name}"] = len(terms[name])
        stats[(shard, name)] += len(terms[name])
    if not sqlite:
        row["terms"] = topk.lexemes(terms)
    if stored:
        old = stored[0]
        old_shard, doc_no = int(old[2]), int(old[0])
        stats[(old_shard, DOCS)] -= 1
        for i, name in enumerate(FIELDS):
            stats[(old_shard, name)] -= int(old[4 + len(FIELDS) + i])
        if sqlite:
            uow.prepared_write(
                "search_fts_drop",
                [{"doc_no": doc_no, **{name: old[4 + i] for i, name in enumerate(FIELDS)}}],
            )
        uow.prepared_write("search_update_doc", [{"doc_no": doc_no, **row}])
    else:
        doc_no = int(uow.prepared_write_returning("search_add_doc", row))
    if sqlite:
        uow.prepared_write(
            "search_fts_add", [{"doc_no": doc_no, **{name: row[name] for name in FIELDS}}]
        )
    stats[(shard, DOCS)] += 1
    stats[(shard, WRITES)] += 1
    words = sorted({t for name in FIELDS for t in terms[name] if is_word(t)})
    known: set[str] = set()
    for start in range(0, len(words), WORDS_AT_ONCE):
        batch = words[start : start + WORDS_AT_ONCE]
        batch += batch[:1] * (WORDS_AT_ONCE - len(batch))
        values = {f"t{i}": word for i, word in enumerate(batch)}
        known.update(str(row[0]) for row in uow.prepared_read("search_words_in", values))
    new = [w for w in words if w not in known]
    if new:
        _learn_words(uow, new)
    deltas = [
        {"shard": shard_, "field": name, "total": delta}
        for (shard_, name), delta in sorted(stats.items())
        if delta
    ]
    uow.prepared_write("search_add_stat", deltas)


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
    """The :class:`~helpdesk_core.search.index.TermSource` of one query: reads the database's
    full-text index through a unit of work, caching what one ranking asks twice."""

    def __init__(self, uow: SqlUnitOfWork, cache: topk.DfCache | None = None) -> None:
        self._uow = uow
        self._run: Callable[..., Any] = uow.execute_read
        self._sqlite = uow.dialect == "sqlite"
        self._cache = cache
        self._totals: dict[str, int] | None = None
        self._df: dict[str, int] = {}
        self._postings: dict[str, dict[str, dict[str, tuple[int, int]]]] = {}
        self._prefixed: dict[str, list[str]] = {}
        self._near: dict[tuple[str, ...], list[str]] = {}

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

    def _term_postings(self, term: str) -> dict[str, dict[str, tuple[int, int]]]:
        """``field -> ticket id -> (tf, field length)`` for ``term``, from one query."""
        found = self._postings.get(term)
        if found is not None:
            return found
        found = {name: {} for name in FIELDS}
        key = "".join(term.split())
        if self._sqlite:
            # FTS5 reports each occurrence (document, column, offset): count them per field
            for ticket_id, col, tf, *lengths in self._uow.prepared_read(
                "search_fts_hits", {"term": key}
            ):
                found[col][ticket_id] = (int(tf), int(lengths[FIELDS.index(col)]))
        else:
            # the GIN index finds the documents; the term is counted in their field texts
            for ticket_id, *texts in self._uow.prepared_read(
                "search_tsv_hits", {"query": tsquery_literal(key)}
            ):
                for i, name in enumerate(FIELDS):
                    tf = texts[i].split(" ").count(key) if texts[i] else 0
                    if tf:
                        found[name][ticket_id] = (tf, int(texts[len(FIELDS) + i]))
        self._df[term] = len({t for docs in found.values() for t in docs})
        self._postings[term] = found
        return found

    def postings(self, field: str, term: str) -> dict[str, tuple[int, int]]:
        return self._term_postings(term)[field]

    def document_frequency(self, terms: Iterable[str]) -> dict[str, int]:
        terms = list(terms)
        wanted = [t for t in dict.fromkeys(terms) if t not in self._df]
        if wanted and self._cache is not None:
            writes = self._stats().get(WRITES, 0)
            for term in wanted:
                cached = self._cache.get("".join(term.split()), writes)
                if cached is not None:
                    self._df[term] = cached
            wanted = [t for t in wanted if t not in self._df]
        if self._sqlite:  # in-process: one fts5vocab look-up per term costs microseconds
            for term in wanted:
                rows = self._uow.prepared_read("search_fts_df", {"term": "".join(term.split())})
                self._df[term] = int(rows[0][0]) if rows and rows[0][0] else 0
        else:  # one round trip for all of them (the partial path asks for dozens of words)
            for start in range(0, len(wanted), _BATCH):
                batch = wanted[start : start + _BATCH]
                queries = [tsquery_literal("".join(t.split())) for t in batch]
                counts = dict(self._uow.prepared_read("search_tsv_dfs", {"queries": queries}))
                for i, term in enumerate(batch, start=1):
                    self._df[term] = int(counts.get(i, 0))
            if self._cache is not None and wanted:
                writes = self._stats().get(WRITES, 0)
                self._cache.put({"".join(t.split()): self._df[t] for t in wanted}, writes)
        return {t: self._df[t] for t in terms if self._df.get(t)}

    def words_with_prefix(self, prefix: str) -> list[str]:
        found = self._prefixed.get(prefix)
        if found is None:
            c = s.search_words.c
            rows = self._run(sa.select(c.term).where(c.term >= prefix, c.term < prefix + _TOP))
            found = self._prefixed[prefix] = [t for t in rows.scalars() if t.startswith(prefix)]
        return found

    def words_near(self, keys: Iterable[str]) -> list[str]:
        wanted = tuple(sorted(set(keys)))
        if not wanted:
            return []
        found = self._near.get(wanted)
        if found is None:
            c = s.search_near.c
            rows = self._run(sa.select(c.term).where(c.key.in_(wanted)).distinct())
            found = self._near[wanted] = sorted(rows.scalars())
        return found


def search(uow: SqlUnitOfWork, store: SqlStorage, query: TextQuery) -> list[tuple[Ticket, Match]]:
    """Committed tickets matching ``query``, best first, inside ``query.where`` (the scope is
    translated to SQL; what SQL cannot decide is checked on the loaded candidates). PostgreSQL
    reads only the impact tiers the top ``query.limit`` need (:func:`topk.search`)."""
    if uow.dialect != "sqlite":
        return topk.search(uow, store, query, SqlTermSource(uow, store.search_df))
    return search_all(uow, store, query)


def search_all(
    uow: SqlUnitOfWork, store: SqlStorage, query: TextQuery, source: SqlTermSource | None = None
) -> list[tuple[Ticket, Match]]:
    """:func:`search` ranking every ticket holding a query term (SQLite's way; on PostgreSQL
    the reference the top-k search is tested against)."""
    source = source if source is not None else SqlTermSource(uow)
    matches = rank(source, query.terms, query.fields, None, weights=TICKET_WEIGHTS)
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
    """Rebuild the search index (documents, FTS5 or tsvector, words, statistics) from the
    stored tickets (``helpdesk db reindex``); returns how many tickets were indexed."""
    with store.transaction() as uow:
        if uow.dialect == "sqlite":
            uow.execute_write(
                sa.text(f"INSERT INTO {s.SEARCH_FTS}({s.SEARCH_FTS}) VALUES ('delete-all')")
            )
        for table in (s.search_docs, s.search_near, s.search_words, s.search_stats):
            uow.execute_write(sa.delete(table))
        ids = list(uow.execute_read(sa.select(s.tickets.c.id).order_by(s.tickets.c.id)).scalars())
        for start in range(0, len(ids), _BATCH):
            tickets = [uow.get_ticket(i) for i in ids[start : start + _BATCH]]
            write_index(uow, [t for t in tickets if t is not None])
    store.search_df = topk.DfCache()  # the statistics (and their write count) started again
    return len(ids)
