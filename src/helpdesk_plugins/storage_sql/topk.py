"""Top-k ticket search on PostgreSQL: impact tiers in the tsvector and a threshold stop (issue 21).

Ranking every ticket that holds a common word does not fit in 50 ms among 1,000,000 tickets
(a common word is in half of them). So each lexeme of ``hd_search_docs.terms`` carries an
*impact tier*: the term ``refund`` of a ticket is indexed as ``refund<US>17``, where 17 is

    tier(q) = clamp(floor(log_1.25(q)) + 20, 0, 59)
    q = sum over the ticket's fields f of  weight_f * tf_f / (1 - b + b * length_f / R_f)

i.e. the term's BM25F pseudo frequency over all fields, normalised with fixed reference lengths
``R_f`` (:data:`REFERENCE`) instead of the corpus averages. It is computed at write time from
the ticket alone: no statistics are read, no other row is touched, and a ticket still writes
one row with one lexeme per distinct term (the write costs what it cost before).

Reading (:func:`search`): the query's terms, and the words a rare term expands to (prefix and
fuzzy, :func:`helpdesk_core.search.index.expansions`), are *lists*; a list's tier ``t`` is read
with one GIN look-up of lexeme ``term<US>t``. Whatever the corpus averages ``A_f`` are, a
ticket in tier ``t`` has, over any subset of the fields, the pseudo frequency

    p <= ceiling(t) * D,    D = max over the query's fields of max(1, A_f / R_f)

(lowering ``A_f`` below ``R_f`` only lowers p; raising it scales each field's term by at most
``A_f / R_f``), so its score for that list is at most ``idf * factor * g(ceiling(t) * D)`` with
``g(p) = p / (k1 + p)``. Rounds read, in one statement, every not yet read tier of every list
whose bound reaches a threshold, score the tickets read exactly (the core's own
:func:`~helpdesk_core.search.index.rank` over those tickets only, with the corpus' statistics),
and stop once the k-th ticket in scope beats anything unread could reach: unread tickets have
at most as many exact matches as there are query terms with unread exact tiers, and a score at
most the sum over the terms of their lists' bounds. Otherwise the threshold drops and the next
round reads deeper. With every tier read this is the full ranking, so the result is exactly
the memory store's: same tickets, order and scores.

Document frequencies (for the IDF) are counted with a prefix look-up ``'term<US>':*`` and kept
in the desk's :class:`DfCache`.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import attrs
import sqlalchemy as sa

from helpdesk_core.model.tickets import Ticket, ticket_subject
from helpdesk_core.ports import TextQuery
from helpdesk_core.search.index import K1, B, Match, expands, expansions, idf, rank
from helpdesk_core.search.tickets import TICKET_WEIGHTS
from helpdesk_plugins.storage_sql import schema as s
from helpdesk_plugins.storage_sql.translate import translate

if TYPE_CHECKING:
    from helpdesk_plugins.storage_sql.search import SqlTermSource
    from helpdesk_plugins.storage_sql.store import SqlStorage, SqlUnitOfWork

SEP: Final = "\x1f"
"""Between a term and its tier in a lexeme (no term holds a control character)."""
BASE: Final = 1.25
OFFSET: Final = 20
TOP: Final = 59
REFERENCE: Final = {
    "number": 1.0,
    "subject": 6.0,
    "description": 40.0,
    "messages": 80.0,
    "notes": 30.0,
}
"""Reference field lengths (terms) the tiers are normalised with: typical tickets, not the
corpus' averages, so a tier never depends on other tickets; reading corrects with ``D``."""
MARGIN: Final = 1e-9
"""Relative slack on every bound: float rounding (and SQL summing fields in another order than
Python) may put a ticket one tier low at a tier's very edge."""
READ_WHOLE: Final = 200
"""A query term's list of at most this many tickets is read whole in the first round, and so
are the smallest expansions' lists while they hold this many tickets in all."""
FIRST: Final = 32
"""The first round reads down to the bound of this tier of the heaviest list (q >= 14.5)."""
STEP: Final = 3
"""Each further round goes down at most this many tiers of the heaviest list (q / 1.95)."""
DF_SHARE: Final = 100
"""A cached document frequency is used while fewer than df / DF_SHARE index writes happened
since it was counted (so it is exact, or within 1 %)."""
DF_ENTRIES: Final = 200_000
PROBE: Final = 200
"""A level (tickets holding exactly j query terms) this small is read whole, without tiers."""
MAX_GROUPS: Final = 20
COMMON: Final = 20_000
"""A term in more tickets than this is matched by its tier lexemes, not a prefix match."""


def _weight(name: str) -> float:
    return TICKET_WEIGHTS.get(name, 1.0)


def impact(counts: Mapping[str, tuple[int, int]]) -> float:
    """``q`` of a term from its ``field -> (tf, field length)`` (fields in schema order)."""
    q = 0.0
    for name in s.SEARCH_FIELDS:
        found = counts.get(name)
        if found is not None and found[0]:
            tf, length = found
            q += _weight(name) * tf / (1.0 - B + B * length / REFERENCE[name])
    return q


def tier(q: float) -> int:
    return min(TOP, max(0, math.floor(math.log(q) / math.log(BASE)) + OFFSET))


def ceiling(t: int) -> float:
    """An upper bound of ``q`` in tier ``t`` (infinite for the top tier)."""
    if t >= TOP:
        return math.inf
    return float(BASE ** (t + 1 - OFFSET)) * (1.0 + MARGIN)


def lexeme(key: str, t: int) -> str:
    return f"{key}{SEP}{t:02d}"


def lexemes(terms: Mapping[str, Sequence[str]]) -> list[str]:
    """The tsvector lexemes of a ticket from its terms per field (white space folded out of
    each term, as the field texts hold them)."""
    lengths = {name: len(found) for name, found in terms.items()}
    counts: dict[str, dict[str, tuple[int, int]]] = {}
    for name, found in terms.items():
        for key, tf in Counter("".join(t.split()) for t in found).items():
            if key:
                counts.setdefault(key, {})[name] = (tf, lengths[name])
    return sorted(lexeme(key, tier(impact(per_field))) for key, per_field in counts.items())


def tsvector_sql(columns: Mapping[str, tuple[str, str]]) -> str:
    """A SQL expression giving the tiered tsvector of a row, from ``field -> (text expression,
    length expression)`` of the space-joined terms: what :func:`lexemes` gives, computed by
    the database (the benchmark's bulk load and migration 0008 use it)."""
    parts = " UNION ALL ".join(
        f"SELECT unnest(string_to_array({text}, ' ')) k, {i} f, "
        f"CAST({_weight(name)!r} AS float8) w, CAST({length} AS float8) l, "
        f"CAST({REFERENCE[name]!r} AS float8) r"
        for i, (name, (text, length)) in enumerate(columns.items())
    )
    return (
        "(SELECT coalesce(array_to_tsvector(array_agg("
        f"x.k || chr(31) || lpad(CAST(x.t AS text), 2, '0'))), CAST('' AS tsvector)) FROM ("
        f"SELECT y.k, least({TOP}, greatest(0, CAST(floor(ln(sum("
        f"y.w * y.tf / ({1.0 - B!r} + {B!r} * y.l / y.r))) / ln({BASE!r})) AS int) + {OFFSET})) t "
        "FROM (SELECT z.k, z.f, z.w, z.l, z.r, count(*) tf "
        f"FROM ({parts}) z WHERE z.k <> '' GROUP BY z.k, z.f, z.w, z.l, z.r) y "
        "GROUP BY y.k) x)"
    )


def prefix_query(key: str) -> str:
    """The tsquery of every tier of ``key``: a ticket holding the term at all."""
    return f"{_literal(key + SEP)}:*"


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


class DfCache:
    """Document frequencies counted by one desk (the store holds it; never process-wide):
    ``key -> (df, index writes counted so far)``. An entry serves while fewer than
    ``df / DF_SHARE`` tickets had their text indexed since (statistics row ``#writes``), so a
    frequency is exact when nothing was written since, and within 1 % otherwise. Safe across
    threads; bounded (emptied when it reaches :data:`DF_ENTRIES` entries)."""

    def __init__(self) -> None:
        self._found: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, writes: int) -> int | None:
        found = self._found.get(key)
        if found is None:
            return None
        df, then = found
        return df if 0 <= writes - then <= df // DF_SHARE else None

    def put(self, found: Mapping[str, int], writes: int) -> None:
        with self._lock:
            if len(self._found) + len(found) > DF_ENTRIES:
                self._found.clear()
            for key, df in found.items():
                self._found[key] = (df, writes)


@attrs.define
class _List:
    term_at: int
    term: str
    key: str
    exact: bool
    weight: float
    df: int
    next: int = TOP
    """The highest tier not read yet (-1: all read)."""
    whole: bool = False
    """Read whole in the first round (a small list)."""

    def bound(self, d: float, t: int | None = None) -> float:
        at = self.next if t is None else t
        if at < 0:
            return 0.0
        p = ceiling(at) * d
        return self.weight * (1.0 if math.isinf(p) else p / (K1 + p))


class _Candidates:
    """A :class:`~helpdesk_core.search.index.TermSource` over the tickets read so far: their
    own term frequencies, the corpus' statistics and document frequencies."""

    def __init__(self, source: SqlTermSource, fields: Sequence[str], keys: Iterable[str]) -> None:
        self._source = source
        self._fields = list(fields)
        self._keys = set(keys)
        self._postings: dict[str, dict[str, dict[str, tuple[int, int]]]] = {
            name: {} for name in fields
        }
        self.ids: set[str] = set()

    def add(self, rows: Iterable[Sequence[Any]]) -> int:
        """Add ``(ticket_id, text per field..., length per field...)`` rows; returns how many
        were new."""
        added = 0
        width = len(self._fields)
        for row in rows:
            ticket_id = row[0]
            if ticket_id in self.ids:
                continue
            self.ids.add(ticket_id)
            added += 1
            for i, name in enumerate(self._fields):
                text = row[1 + i]
                if not text:
                    continue
                counts = Counter(text.split(" "))
                length = int(row[1 + width + i])
                postings = self._postings[name]
                for key in self._keys.intersection(counts):
                    postings.setdefault(key, {})[ticket_id] = (counts[key], length)
        return added

    def document_count(self) -> int:
        return self._source.document_count()

    def total_length(self, field: str) -> int:
        return self._source.total_length(field)

    def postings(self, field: str, term: str) -> dict[str, tuple[int, int]]:
        return self._postings.get(field, {}).get("".join(term.split())) or {}

    def document_frequency(self, terms: Iterable[str]) -> dict[str, int]:
        return self._source.document_frequency(terms)

    def words_with_prefix(self, prefix: str) -> list[str]:
        return self._source.words_with_prefix(prefix)

    def words_near(self, keys: Iterable[str]) -> list[str]:
        return self._source.words_near(keys)


def _lists(source: SqlTermSource, terms: Sequence[str], n: int) -> list[_List]:
    found: list[_List] = []
    for at, term in enumerate(terms):
        df = source.document_frequency([term]).get(term, 0)
        found.append(_List(at, term, "".join(term.split()), True, idf(n, df), df))
        for expansion in expansions(source, term) if expands(df, n) else ():
            edf = source.document_frequency([expansion.term]).get(expansion.term, 0)
            weight = expansion.factor * idf(n, edf)
            found.append(
                _List(at, expansion.term, "".join(expansion.term.split()), False, weight, edf)
            )
    for item in found:
        if item.df == 0:
            item.next = -1
    return found


def tier_range(key: str, low: int, high: int) -> list[str]:
    """tsquery items for tiers ``low..high`` of ``key``: a prefix match per whole decade
    (``key<US>3``: tiers 30-39), single lexemes for the rest."""
    items: list[str] = []
    t = high
    while t >= low:
        decade = t - t % 10
        if decade >= low and (t == TOP or t % 10 == 9):
            items.append(f"{_literal(f'{key}{SEP}{decade // 10}')}:*")
            t = decade - 1
        else:
            items.append(_literal(lexeme(key, t)))
            t -= 1
    return items


def any_tier(key: str, df: int) -> str:
    """The tsquery of tickets holding ``key`` at all. A rare term: a prefix match (one cheap
    bitmap of its few tickets). A common one: its tiers as plain lexemes, which GIN skips
    through when they are ANDed with a rarer part, where a prefix match would first build a
    bitmap of its whole posting list."""
    if df <= COMMON:
        return prefix_query(key)
    return "(" + " | ".join(_literal(lexeme(key, t)) for t in range(TOP + 1)) + ")"


def at_least(keys: Mapping[str, int], j: int) -> str:
    """The tsquery of tickets holding at least ``j`` of ``keys`` (key -> df), any tier."""
    if j <= 1:
        return "(" + " | ".join(any_tier(key, df) for key, df in keys.items()) + ")"
    groups = list(itertools.combinations(keys, j))
    if len(groups) > MAX_GROUPS:
        return at_least(keys, 1)  # a superset: slower, as exact
    return (
        "("
        + " | ".join("(" + " & ".join(any_tier(k, keys[k]) for k in g) + ")" for g in groups)
        + ")"
    )


class _Search:
    """One query's state: the lists, the tickets read and scored, and the statement."""

    def __init__(
        self, uow: SqlUnitOfWork, store: SqlStorage, query: TextQuery, source: SqlTermSource
    ) -> None:
        self.uow, self.store, self.query = uow, store, query
        n = source.document_count()
        self.fields = list(query.fields)
        self.d = max(
            1.0, *(((source.total_length(f) / n) or 1.0) / REFERENCE[f] for f in self.fields)
        )
        self.lists = _lists(source, query.terms, n)
        self.candidates = _Candidates(source, self.fields, {item.key for item in self.lists})
        clause, exact_scope = translate(query.where, store.dialect)
        self.scope_query = None if exact_scope else query
        docs, t = s.search_docs.c, s.tickets.c
        columns = [
            docs.ticket_id,
            *(docs[f] for f in self.fields),
            *(docs[f"len_{f}"] for f in self.fields),
        ]
        statement = sa.select(*columns).select_from(s.search_docs)
        if clause is not None:
            statement = statement.join(s.tickets, t.id == docs.ticket_id).where(clause)
        self.statement = statement.where(
            sa.text(f"hd_search_docs.{s.SEARCH_TERMS} @@ CAST(:q AS tsquery)")
        )
        self.loaded: dict[str, Ticket | None] = {}
        self.kept: list[Match] = []

    def read(self, tsquery: str, limit: int | None = None) -> int:
        statement = self.statement if limit is None else self.statement.limit(limit)
        rows = self.uow.execute_read(statement, {"q": tsquery}).all()
        self.store.search_rows_read += len(rows)
        self.candidates.add(rows)
        return len(rows)

    def rank(self) -> None:
        k = self.query.limit
        ranked = rank(
            self.candidates,
            self.query.terms,
            self.fields,
            k if self.scope_query is None else None,
            weights=TICKET_WEIGHTS,
        )
        self.kept = _in_scope(self.uow, ranked, k, self.loaded, self.scope_query)

    def level(self, j: int, present: Mapping[str, int]) -> bool:
        """Read the tickets holding exactly ``j`` of the ``present`` query terms (every ticket
        holding more was read): True once the top ``limit`` are known."""
        k = self.query.limit
        if j >= 1:
            restrict = at_least(present, j)
            if j < len(present):
                restrict = f"{restrict} & !{at_least(present, j + 1)}"
            lists = self.lists
            known = [i.df for i in lists if i.exact and i.df] if len(present) == 1 else []
            if (not known or known[0] < PROBE) and self.read(restrict, PROBE) < PROBE:
                self.rank()  # the whole level was read: no tiers needed
                return len(self.kept) >= k
        else:
            lists = [item for item in self.lists if not item.exact]
            restrict = f"!{at_least(present, 1)}" if present else ""
        budget = READ_WHOLE
        for item in sorted(lists, key=lambda i: (not i.exact, i.df)):
            item.next = TOP if item.df else -1
            item.whole = item.df <= READ_WHOLE and (item.exact or item.df <= budget)
            if item.whole and not item.exact:
                budget -= item.df
        heaviest = max(lists, key=lambda i: (i.weight, i.df), default=None)
        cursor = FIRST

        def at(tier: int) -> float:
            return 0.0 if heaviest is None or tier < 0 else heaviest.bound(self.d, tier)

        threshold = at(cursor)
        suffix = f" & {restrict}" if restrict else ""
        # a lone query term's own tiers imply the level: no restriction to evaluate for them
        free = j == 1 and len(present) == 1
        while True:
            wanted: list[str] = []
            unrestricted: list[str] = []
            for item in lists:
                if item.next < 0:
                    continue
                into = unrestricted if free and item.exact else wanted
                if item.whole:
                    into.append(prefix_query(item.key))
                    item.next = -1
                    continue
                high = item.next
                while item.next >= 0 and item.bound(self.d) >= threshold:
                    item.next -= 1
                if item.next < high:
                    into.extend(tier_range(item.key, item.next + 1, high))
            parts = [f"({' | '.join(wanted)}){suffix}"] if wanted else []
            if unrestricted:
                parts.append(f"({' | '.join(unrestricted)})")
            if parts:
                self.read(" | ".join(parts))
            self.rank()
            if all(item.next < 0 for item in lists):
                return len(self.kept) >= k
            unread = self.unread(lists, j) * (1.0 + MARGIN)
            if unread < 0.0:  # no unread ticket can hold j terms: the level is read
                return len(self.kept) >= k
            if len(self.kept) >= k:
                kth = self.kept[k - 1]
                if kth.exact > j or kth.score > unread:
                    return True
                # what is unread stays below the k-th score once every list's bound is
                # under score / (terms that can add to it); fall at most by STEP a round
                adding = j + len({i.term_at for i in lists if not i.exact})
                target = kth.score / max(1, adding)
            else:
                target = 0.0
            cursor -= STEP
            while cursor >= 0 and at(cursor) >= threshold:
                cursor -= STEP
            threshold = max(target, at(cursor)) if target < threshold else at(cursor)

    def unread(self, lists: Sequence[_List], j: int) -> float:
        """The highest score an unread ticket holding exactly ``j`` query terms may reach: its
        ``j`` exact terms at their lists' bounds, the others at their expansions' bounds
        (-1 when no such ticket can be unread: fewer than ``j`` exact lists have tiers left)."""
        exact: dict[int, float] = {}
        expanded: dict[int, float] = {}
        for item in lists:
            if item.exact:
                if item.next >= 0:
                    exact[item.term_at] = max(exact.get(item.term_at, 0.0), item.bound(self.d))
            else:
                bound = item.bound(self.d)
                expanded[item.term_at] = max(expanded.get(item.term_at, 0.0), bound)
        if len(exact) < j:
            return -1.0
        gains = sorted(
            (
                max(bound, expanded.get(at, 0.0)) - expanded.get(at, 0.0)
                for at, bound in exact.items()
            ),
            reverse=True,
        )
        return sum(expanded.values()) + sum(gains[:j])


def search(
    uow: SqlUnitOfWork, store: SqlStorage, query: TextQuery, source: SqlTermSource
) -> list[tuple[Ticket, Match]]:
    """Committed tickets matching ``query``, best first, inside ``query.where`` (see the module
    docstring): the store's full ranking, reading only what the top ``limit`` need."""
    if source.document_count() == 0:
        return []
    run = _Search(uow, store, query, source)
    present = {item.key: item.df for item in run.lists if item.exact and item.df}
    # A tsquery ORing dozens of tier lexemes looks unselective to the planner, which then
    # scans the whole table; the GIN index is always the right plan here (this transaction
    # only, and put back afterwards).
    setting = "SELECT current_setting('enable_seqscan'), set_config('enable_seqscan', :v, true)"
    before = uow.execute_read(sa.text(setting), {"v": "off"}).one()[0]
    try:
        for j in range(len(present), -1, -1):
            if run.level(j, present):
                break
    finally:
        uow.execute_read(sa.text(setting), {"v": before})
    kept = run.kept[: query.limit]
    run.loaded.update(_load(uow, [m.doc_id for m in kept if m.doc_id not in run.loaded]))
    found: list[tuple[Ticket, Match]] = []
    for match in kept:
        ticket = run.loaded.get(match.doc_id)
        if ticket is not None:
            found.append((ticket, match))
    return found


def _load(uow: SqlUnitOfWork, ids: Sequence[str]) -> dict[str, Ticket | None]:
    t = s.tickets.c
    found: dict[str, Ticket | None] = dict.fromkeys(ids)
    for start in range(0, len(ids), 500):
        batch = list(ids[start : start + 500])
        rows: Any = uow.execute_read(sa.select(t.id, t.doc).where(t.id.in_(batch)))
        for ticket_id, doc in rows:
            found[ticket_id] = uow.ticket_from_doc(doc)
    return found


def _in_scope(
    uow: SqlUnitOfWork,
    ranked: list[Match],
    k: int,
    loaded: dict[str, Ticket | None],
    query: TextQuery | None,
) -> list[Match]:
    """The ranked matches in scope, up to ``k``: the SQL clause already decided unless it was
    only a superset (``query`` given), then the loaded tickets are checked in rank order."""
    if query is None:
        return ranked[:k]
    kept: list[Match] = []
    at = 0
    while len(kept) < k and at < len(ranked):
        batch = ranked[at : at + max(k - len(kept), 20)]
        at += len(batch)
        loaded.update(_load(uow, [m.doc_id for m in batch if m.doc_id not in loaded]))
        for match in batch:
            ticket = loaded.get(match.doc_id)
            if ticket is not None and query.where.matches(ticket_subject(ticket)):
                kept.append(match)
                if len(kept) >= k:
                    break
    return kept
