"""An incremental, pure-Python inverted index ranked by BM25F (issue 21, R-KB-3).

Ranking semantics, cited by tests and docs/search.md:

1. Documents have named fields (a ticket: subject, description, messages, notes). A query names
   the fields it may search; other fields neither match nor contribute, so a caller excludes
   internal notes by leaving ``notes`` out.
2. A query term's exact score in a document is BM25F: field term frequencies are length
   normalised per field (``b``), weighted (``weights``), summed, then saturated (``k1``) and
   multiplied by the term's IDF (``ln(1 + (N - df + 0.5) / (df + 0.5))``).
3. A query term that is rare (see :func:`expands`) takes the partial path: a word term of 3+
   characters also matches, at a discount, the indexed words it begins
   (``prefix``, x0.6) and, at 4+ characters, the words one edit away (``fuzzy``: one insertion,
   deletion, substitution or swap of neighbours, found with a deletion neighbourhood, x0.5); a
   CJK bigram also matches its two characters (x0.3). Identifiers never expand: an order number
   matches whole or not at all. A document takes, per query term, the best of its exact and
   expanded scores.
4. Results are ordered by (number of query terms matched exactly, score, id): a document that
   matches a term only through the partial path always ranks below one matching it exactly.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, Final, Protocol

import attrs

from helpdesk_core.errors import ValidationError
from helpdesk_core.search.text import analyse, is_cjk_term, query_terms

PREFIX_FACTOR: Final = 0.6
FUZZY_FACTOR: Final = 0.5
CJK_CHAR_FACTOR: Final = 0.3
MAX_EXPANSIONS: Final = 32
"""At most this many indexed words (the most frequent first) stand in for one partial term."""
K1: Final = 1.2
"""BM25F's term frequency saturation."""
B: Final = 0.75
"""BM25F's length normalisation."""
MIN_PREFIX: Final = 3
MIN_FUZZY: Final = 4
EXPAND_SHARE: Final = 0.01
EXPAND_MIN: Final = 20


def expands(df: int, n: int) -> bool:
    """Whether a term found in ``df`` of ``n`` documents takes the partial path: only when it
    is rare (under 1% of the documents, or under 20). A common word needs no help, and its
    expansions would cost most of the query's time (benchmarks/bench_search.py)."""
    return df < max(EXPAND_MIN, n * EXPAND_SHARE)


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def near_keys(term: str) -> set[str]:
    """The keys under which ``term`` is found by the fuzzy path (itself and its one-character
    deletions); empty for terms that take no part in it (CJK, shorter than 3)."""
    if is_cjk_term(term) or len(term) < MIN_FUZZY - 1:
        return set()
    return {term, *_deletions(term)}


def is_word(term: str) -> bool:
    """Words (not CJK, no digit) are the terms prefix and fuzzy matching may expand to."""
    return not is_cjk_term(term) and not any(c.isdigit() for c in term)


@attrs.frozen
class Match:
    """One ranked document: ``terms`` are the indexed terms that matched it (exactly or not),
    for highlighting."""

    doc_id: str
    score: float
    exact: int
    terms: frozenset[str]


@attrs.frozen
class Expansion:
    term: str
    factor: float


class TermSource(Protocol):
    """What ranking reads from an index; the memory index and SQL stores both provide it, so
    they rank with the same code and give the same scores."""

    def document_count(self) -> int:
        """How many documents are indexed."""

    def total_length(self, field: str) -> int:
        """The summed length (in terms) of ``field`` over all documents."""

    def postings(self, field: str, term: str) -> dict[str, tuple[int, int]]:
        """``doc_id -> (term frequency, field length)`` for documents with ``term`` in
        ``field``."""

    def document_frequency(self, terms: Iterable[str]) -> dict[str, int]:
        """How many documents contain each term (in any field); absent terms may be left out."""

    def words_with_prefix(self, prefix: str) -> list[str]:
        """Indexed words starting with ``prefix`` (not necessarily sorted)."""

    def words_near(self, keys: Iterable[str]) -> list[str]:
        """Indexed words filed under any of the fuzzy ``keys`` (see :func:`near_keys`)."""


def idf(n: int, df: int) -> float:
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


def expansions(source: TermSource, term: str) -> list[Expansion]:
    """The indexed words (with their discount) standing in for ``term`` on the partial path
    (semantics 3), the most frequent first."""
    if is_cjk_term(term):
        if len(term) == 2:
            return [Expansion(c, CJK_CHAR_FACTOR) for c in dict.fromkeys(term)]
        return []
    if not is_word(term):
        return []
    found: dict[str, float] = {}
    if len(term) >= MIN_PREFIX:
        for word in source.words_with_prefix(term):
            if word != term and is_word(word):
                found[word] = PREFIX_FACTOR
    if len(term) >= MIN_FUZZY:
        for near in source.words_near(near_keys(term)):
            if near != term and abs(len(near) - len(term)) <= 1 and is_word(near):
                found.setdefault(near, FUZZY_FACTOR)
    if not found:
        return []
    df = source.document_frequency(found)
    ranked = sorted(found, key=lambda t: (-df.get(t, 0), t))[:MAX_EXPANSIONS]
    return [Expansion(t, found[t]) for t in ranked]


def _term_scores(
    source: TermSource,
    term: str,
    fields: Sequence[str],
    stats: Mapping[str, float],
    k1: float,
    b: float,
    weights: Mapping[str, float],
    n: int,
) -> dict[str, float]:
    """BM25F score of ``term`` per document, over ``fields`` (semantics 2)."""
    pseudo: dict[str, float] = {}
    for name in fields:
        docs = source.postings(name, term)
        if not docs:
            continue
        average, weight = stats[name], weights.get(name, 1.0)
        for doc_id, (tf, length) in docs.items():
            norm = 1.0 - b + b * length / average
            pseudo[doc_id] = pseudo.get(doc_id, 0.0) + weight * tf / norm
    if not pseudo:
        return {}
    df = source.document_frequency([term]).get(term, len(pseudo))
    weight_idf = idf(n, df)
    return {doc_id: weight_idf * tf / (k1 + tf) for doc_id, tf in pseudo.items()}


def rank(
    source: TermSource,
    terms: Sequence[str],
    fields: Sequence[str],
    limit: int | None,
    *,
    weights: Mapping[str, float],
    k1: float = K1,
    b: float = B,
    keep: Callable[[str], bool] | None = None,
) -> list[Match]:
    """Rank ``source``'s documents for analysed query ``terms`` (semantics 2-4).

    ``keep`` (a reader's scope, say) is asked in rank order and only until ``limit`` documents
    were kept; documents it refuses are left out.
    """
    n = source.document_count()
    if n == 0:
        return []
    stats = {name: (source.total_length(name) / n) or 1.0 for name in fields}
    scores: dict[str, float] = {}
    exact: Counter[str] = Counter()
    # (term, documents it matched, documents the query term matched exactly): which terms
    # matched a document is only worked out for the documents returned.
    found_by: list[tuple[str, Collection[str], Collection[str]]] = []
    for term in terms:
        best = _term_scores(source, term, fields, stats, k1, b, weights, n)
        exact_docs = set(best)
        exact.update(exact_docs)
        found_by.append((term, exact_docs, ()))
        df = source.document_frequency([term]).get(term, 0)
        for expansion in expansions(source, term) if expands(df, n) else ():
            found = _term_scores(source, expansion.term, fields, stats, k1, b, weights, n)
            found_by.append((expansion.term, found, exact_docs))
            factor = expansion.factor
            for doc_id, score in found.items():
                if score * factor > best.get(doc_id, 0.0):
                    best[doc_id] = score * factor
        for doc_id, score in best.items():
            scores[doc_id] = scores.get(doc_id, 0.0) + score
    order = sorted(scores, key=lambda d: (-exact[d], -scores[d], d))
    matches: list[Match] = []
    for doc_id in order:
        if limit is not None and len(matches) >= limit:
            break
        if keep is not None and not keep(doc_id):
            continue
        matched = frozenset(
            t for t, docs, skip in found_by if doc_id in docs and doc_id not in skip
        )
        matches.append(Match(doc_id, scores[doc_id], exact[doc_id], matched))
    return matches


class SearchIndex:
    """BM25F over named fields; documents are added, replaced and removed one at a time.

    :param fields: the field names documents may have, in order.
    :param weights: a weight per field (default 1.0).
    """

    def __init__(
        self,
        fields: Sequence[str],
        *,
        weights: Mapping[str, float] | None = None,
        k1: float = K1,
        b: float = B,
    ) -> None:
        if not fields or len(set(fields)) != len(fields):
            raise ValidationError("fields", "give distinct field names")
        self.fields: tuple[str, ...] = tuple(fields)
        self.weights: dict[str, float] = {f: 1.0 for f in self.fields}
        for name, weight in (weights or {}).items():
            if name not in self.weights:
                raise ValidationError("weights", f"unknown field {name!r}")
            self.weights[name] = float(weight)
        self.k1 = k1
        self.b = b
        self._vectors: dict[str, dict[str, Counter[str]]] = {}
        self._total: dict[str, int] = dict.fromkeys(self.fields, 0)
        self._postings: dict[str, dict[str, dict[str, tuple[int, int]]]] = {
            f: {} for f in self.fields
        }
        """field -> term -> doc id -> (term frequency, field length): ranking reads these
        dicts as they are, with no copy (the hot path of a query)."""
        self._df: Counter[str] = Counter()
        self._vocabulary: list[str] = []
        self._near: dict[str, set[str]] = {}

    # -- maintenance ------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._vectors)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._vectors

    def add(self, doc_id: str, fields: Mapping[str, str]) -> None:
        """Index (or re-index) a document from its field texts."""
        self.add_vectors(
            doc_id, {name: Counter(t.term for t in analyse(text)) for name, text in fields.items()}
        )

    def add_vectors(self, doc_id: str, vectors: Mapping[str, Mapping[str, int]]) -> None:
        """Index a document from term counts per field (what :meth:`to_dict` stores)."""
        unknown = set(vectors) - set(self.fields)
        if unknown:
            raise ValidationError("fields", f"unknown fields {sorted(unknown)}")
        self.remove(doc_id)
        kept = {name: Counter(dict(counts)) for name, counts in vectors.items() if counts}
        self._vectors[doc_id] = kept
        seen: set[str] = set()
        for name, counts in kept.items():
            length = sum(counts.values())
            self._total[name] += length
            postings = self._postings[name]
            for term, tf in counts.items():
                postings.setdefault(term, {})[doc_id] = (tf, length)
                seen.add(term)
        for term in seen:
            self._df[term] += 1
            if self._df[term] == 1:
                self._learn(term)

    def remove(self, doc_id: str) -> None:
        """Forget a document; unknown ids are ignored."""
        vectors = self._vectors.pop(doc_id, None)
        if vectors is None:
            return
        seen: set[str] = set()
        for name, counts in vectors.items():
            self._total[name] -= sum(counts.values())
            postings = self._postings[name]
            for term in counts:
                docs = postings[term]
                del docs[doc_id]
                if not docs:
                    del postings[term]
                seen.add(term)
        for term in seen:
            self._df[term] -= 1
            if self._df[term] == 0:
                del self._df[term]
                self._forget(term)

    def _learn(self, term: str) -> None:
        if not is_word(term):
            return
        bisect.insort(self._vocabulary, term)
        for key in near_keys(term):
            self._near.setdefault(key, set()).add(term)

    def _forget(self, term: str) -> None:
        if not is_word(term):
            return
        at = bisect.bisect_left(self._vocabulary, term)
        if at < len(self._vocabulary) and self._vocabulary[at] == term:
            del self._vocabulary[at]
        for key in near_keys(term):
            near = self._near.get(key)
            if near is not None:
                near.discard(term)
                if not near:
                    del self._near[key]

    # -- serialisation ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form: the settings and every document's term counts per field."""
        return {
            "fields": list(self.fields),
            "weights": dict(self.weights),
            "k1": self.k1,
            "b": self.b,
            "documents": {
                doc_id: {name: dict(counts) for name, counts in vectors.items()}
                for doc_id, vectors in self._vectors.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SearchIndex:
        try:
            index = cls(data["fields"], weights=data["weights"], k1=data["k1"], b=data["b"])
            for doc_id, vectors in data["documents"].items():
                index.add_vectors(doc_id, vectors)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValidationError("index", f"not a serialised search index: {exc}") from exc
        return index

    def vectors(self, doc_id: str) -> dict[str, dict[str, int]]:
        """A document's term counts per field (empty if unknown)."""
        vectors = self._vectors.get(doc_id, {})
        return {name: dict(counts) for name, counts in vectors.items()}

    # -- the TermSource ranking reads ---------------------------------------------------------
    def document_count(self) -> int:
        return len(self._vectors)

    def total_length(self, field: str) -> int:
        return self._total[field]

    def postings(self, field: str, term: str) -> dict[str, tuple[int, int]]:
        return self._postings[field].get(term) or {}

    def document_frequency(self, terms: Iterable[str]) -> dict[str, int]:
        return {t: self._df[t] for t in terms if t in self._df}

    def words_with_prefix(self, prefix: str) -> list[str]:
        words = self._vocabulary
        at = bisect.bisect_left(words, prefix)
        found: list[str] = []
        while at < len(words) and words[at].startswith(prefix):
            found.append(words[at])
            at += 1
        return found

    def words_near(self, keys: Iterable[str]) -> list[str]:
        found: set[str] = set()
        for key in keys:
            found.update(self._near.get(key, ()))
        return sorted(found)

    # -- search -----------------------------------------------------------------------------
    def idf(self, term: str) -> float:
        return idf(len(self._vectors), self._df.get(term, 0))

    def search(
        self, query: str, *, fields: Iterable[str] | None = None, limit: int | None = 20
    ) -> list[Match]:
        """Documents matching ``query`` in ``fields`` (default all), best first (semantics 4).

        An empty query (no terms after analysis) is a ``ValidationError('query')``.
        """
        if not isinstance(query, str):
            raise ValidationError("query", f"expected text, got {type(query).__name__}")
        chosen = self.fields if fields is None else tuple(fields)
        unknown = set(chosen) - set(self.fields)
        if unknown:
            raise ValidationError("fields", f"unknown fields {sorted(unknown)}")
        terms = query_terms(query)
        if not terms:
            raise ValidationError("query", "give at least one word, number or character")
        if limit is not None and limit < 1:
            raise ValidationError("limit", f"must be at least 1, got {limit}")
        return self.rank(terms, chosen, limit)

    def rank(
        self,
        terms: Sequence[str],
        fields: Sequence[str],
        limit: int | None,
        keep: Callable[[str], bool] | None = None,
    ) -> list[Match]:
        """Rank documents for already analysed query ``terms`` (see :meth:`search` and
        :func:`rank`)."""
        return rank(
            self, terms, fields, limit, weights=self.weights, k1=self.k1, b=self.b, keep=keep
        )
