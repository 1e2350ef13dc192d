"""Ticket search quality and speed: helpdesk_core's engine vs a plain BM25 baseline, same run.

Quality on the labelled set (benchmarks/search_data/labelled_set.json, built by
make_labelled_set.py: 260 tickets, 85 queries in English and Chinese with typos, partial words,
traditional characters, order numbers and mixed-language queries): nDCG@10 (graded gains
2^grade - 1), P@10 and MRR (a ticket is relevant with grade >= 1), overall and per query kind.

The baseline is BM25 (k1=1.2, b=0.75) over one field (subject + description + public
messages), whitespace tokens, no normalisation at all. When ``jieba`` is importable, a third
line shows the engine with jieba's search-mode words instead of character bigrams for Chinese
(the measurement behind choosing bigrams, docs/search.md).

Speed: query latency p50/p95 of the pure index over a generated corpus (default 100,000
tickets built from the same topics with random extra vocabulary), 300 queries.

    python benchmarks/bench_search.py [--docs 100000] [--queries 300]
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from helpdesk_core.search.index import SearchIndex
from helpdesk_core.search.text import analyse, query_terms
from helpdesk_core.search.tickets import PUBLIC_FIELDS, TICKET_FIELDS, TICKET_WEIGHTS

DATA = Path(__file__).with_name("search_data") / "labelled_set.json"
Ranker = Callable[[str], list[str]]


class PlainBM25:
    """The baseline: whitespace tokens, no normalisation, one field."""

    def __init__(self, docs: dict[str, str], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.tf = {d: Counter(text.split()) for d, text in docs.items()}
        self.length = {d: sum(c.values()) for d, c in self.tf.items()}
        self.average = sum(self.length.values()) / len(docs)
        self.df: Counter[str] = Counter()
        for counts in self.tf.values():
            self.df.update(counts.keys())
        self.n = len(docs)

    def rank(self, query: str) -> list[str]:
        scores: dict[str, float] = {}
        for term in set(query.split()):
            df = self.df.get(term, 0)
            if not df:
                continue
            idf = math.log(1 + (self.n - df + 0.5) / (df + 0.5))
            for doc, counts in self.tf.items():
                tf = counts.get(term, 0)
                if tf:
                    norm = 1 - self.b + self.b * self.length[doc] / self.average
                    scores[doc] = scores.get(doc, 0.0) + idf * tf * (self.k1 + 1) / (
                        tf + self.k1 * norm
                    )
        return sorted(scores, key=lambda d: (-scores[d], d))


def ticket_texts(ticket: dict[str, Any]) -> dict[str, str]:
    return {
        "number": ticket["number"],
        "subject": ticket["subject"],
        "description": ticket["description"],
        "messages": "\n".join(ticket["messages"]),
    }


def engine_ranker(tickets: Sequence[dict[str, Any]]) -> Ranker:
    index = SearchIndex(TICKET_FIELDS, weights=TICKET_WEIGHTS)
    for ticket in tickets:
        index.add(ticket["id"], ticket_texts(ticket))
    return lambda q: [m.doc_id for m in index.search(q, fields=PUBLIC_FIELDS, limit=10)]


def jieba_ranker(tickets: Sequence[dict[str, Any]]) -> Ranker | None:
    try:
        import jieba  # type: ignore[import-untyped]
    except ImportError:
        return None
    jieba.setLogLevel(60)

    def terms(text: str, *, query: bool) -> list[str]:
        out: list[str] = []
        for token in analyse(text) if not query else []:
            if token.kind in ("word", "ident"):
                out.append(token.term)
        if query:
            out.extend(t for t in query_terms(text) if not ("\u3400" <= t[0] <= "\u9fff"))
        cjk = "".join(t.term for t in analyse(text) if t.kind == "cjk1")
        cut = jieba.cut(cjk) if query else jieba.cut_for_search(cjk)
        out.extend(w for w in cut if w.strip())
        return out

    index = SearchIndex(TICKET_FIELDS, weights=TICKET_WEIGHTS)
    for ticket in tickets:
        vectors = {n: Counter(terms(t, query=False)) for n, t in ticket_texts(ticket).items()}
        index.add_vectors(ticket["id"], vectors)
    return lambda q: [m.doc_id for m in index.rank(terms(q, query=True), PUBLIC_FIELDS, 10)]


def metrics(ranked: list[str], relevant: dict[str, int]) -> tuple[float, float, float]:
    top = ranked[:10]
    dcg = sum((2 ** relevant.get(d, 0) - 1) / math.log2(i + 2) for i, d in enumerate(top))
    ideal = sorted(relevant.values(), reverse=True)[:10]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    precision = sum(1 for d in top if relevant.get(d, 0) >= 1) / 10
    rr = next((1 / (i + 1) for i, d in enumerate(ranked) if relevant.get(d, 0) >= 1), 0.0)
    return dcg / idcg if idcg else 0.0, precision, rr


def evaluate(name: str, ranker: Ranker, queries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    per_kind: dict[str, list[tuple[float, float, float]]] = {}
    for q in queries:
        per_kind.setdefault(q["kind"], []).append(metrics(ranker(q["query"]), q["relevant"]))
    rows = [m for ms in per_kind.values() for m in ms]
    overall = tuple(statistics.fmean(m[i] for m in rows) for i in range(3))
    print(f"  {name:<26} nDCG@10 {overall[0]:.3f}   P@10 {overall[1]:.3f}   MRR {overall[2]:.3f}")
    kinds = "  ".join(
        f"{k}:{statistics.fmean(m[0] for m in ms):.2f}" for k, ms in sorted(per_kind.items())
    )
    print(f"  {'':<26} nDCG@10 by kind  {kinds}")
    return {"overall": overall}


def quality() -> None:
    data = json.loads(DATA.read_text(encoding="utf-8"))
    tickets, queries = data["tickets"], data["queries"]
    print(f"quality: {len(tickets)} tickets, {len(queries)} queries ({DATA.name})")
    baseline_docs = {t["id"]: " ".join(ticket_texts(t).values()) for t in tickets}
    ours = evaluate("helpdesk_core engine", engine_ranker(tickets), queries)
    base = evaluate("plain BM25 baseline", PlainBM25(baseline_docs).rank, queries)
    jieba_rank = jieba_ranker(tickets)
    if jieba_rank is not None:
        evaluate("engine, jieba for Chinese", jieba_rank, queries)
    ratio = ours["overall"][0] / base["overall"][0] if base["overall"][0] else math.inf
    print(f"  nDCG@10 engine / baseline: {ratio:.2f}x")


def corpus(n: int, seed: int = 7) -> tuple[list[tuple[str, dict[str, str]]], list[str]]:
    data = json.loads(DATA.read_text(encoding="utf-8"))
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocabulary = ["".join(rng.choices(letters, k=rng.randint(4, 10))) for _ in range(20000)]
    hanzi = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
    docs: list[tuple[str, dict[str, str]]] = []
    templates = data["tickets"]
    for i in range(n):
        base = templates[rng.randrange(len(templates))]
        extra = " ".join(rng.choices(vocabulary, k=8))
        if base["language"] == "zh":
            extra = "".join(rng.choices(hanzi, k=12)) + extra
        docs.append(
            (
                f"d{i}",
                {
                    "number": f"T{i:014d}",
                    "subject": base["subject"],
                    "description": f"{base['description']} {extra} SO-{i:08d}",
                    "messages": " ".join(base["messages"]),
                },
            )
        )
    queries = [q["query"] for q in data["queries"]] + [f"SO-{i:08d}" for i in range(0, n, n // 20)]
    return docs, queries


def speed(n_docs: int, n_queries: int) -> None:
    docs, queries = corpus(n_docs)
    index = SearchIndex(TICKET_FIELDS, weights=TICKET_WEIGHTS)
    start = time.perf_counter()
    for doc_id, fields in docs:
        index.add(doc_id, fields)
    built = time.perf_counter() - start
    print(f"speed: {n_docs:,} generated tickets indexed in {built:.1f} s")
    rng = random.Random(3)
    chosen = [rng.choice(queries) for _ in range(n_queries)]
    latency("as built", index, chosen)
    # A long-lived server freezes its start-up heap so the cyclic GC stops re-walking the
    # index's millions of objects during queries (gc.freeze, Python >= 3.7).
    gc.collect()
    gc.freeze()
    latency("after gc.freeze()", index, chosen)
    gc.unfreeze()


def latency(label: str, index: SearchIndex, queries: Sequence[str]) -> None:
    timings: list[float] = []
    for query in queries:
        start = time.perf_counter()
        index.search(query, fields=PUBLIC_FIELDS, limit=20)
        timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    p50 = timings[len(timings) // 2]
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(f"  {len(queries)} queries, {label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    quality()
    speed(args.docs, args.queries)


if __name__ == "__main__":
    main()
