"""Ticket search speed on PostgreSQL among N tickets: the store's query p50/p95, with peers.

Loads N tickets straight into a scratch schema (not through the facade): one ticket made by the
store is copied N times with ``INSERT ... SELECT`` over ``generate_series``, and the search rows
(``hd_search_docs``: the core's normalised terms per field, their tsvector of impact-tiered
lexemes, ``topk.tsvector_sql``) are generated in SQL from a vocabulary of latin words,
identifiers and CJK characters with a skewed (Zipf-like) word distribution, then the
statistics and word tables the ranking reads. Then it times ``uow.search_tickets`` (the top-k
search over impact tiers, exact BM25F by the core's code, top 20) for queries mixing common
and rare words, typos, prefixes, identifiers and Chinese bigrams, and, from the same run on
the same rows, two peers: PostgreSQL's own ``ts_rank_cd`` top 20 over the GIN index (every
tier of each term), and a plain ``ILIKE`` scan of subject and description. It also prints
figures the machine's load does not change: index rows the store read and the client's CPU
time per query (p50/p95).

    python benchmarks/bench_search_pg.py [N] [--url postgresql+psycopg://...] [--queries 200]
        [--schema NAME]  (load once into a kept schema; reruns reuse it)
        [--check 40]     (first assert top-k == the full ranking for 40 queries)

N defaults to 1,000,000; the URL to $HELPDESK_TEST_POSTGRES_URL.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable
from contextlib import ExitStack

import sqlalchemy as sa

from helpdesk_core.ports import TextQuery
from helpdesk_core.search.index import near_keys
from helpdesk_core.search.text import query_terms
from helpdesk_core.search.tickets import PUBLIC_FIELDS
from helpdesk_core.testing.storage_contract import new_ticket
from helpdesk_plugins.storage_sql import open_storage
from helpdesk_plugins.storage_sql.scratch import schema_url, scratch_schema
from helpdesk_plugins.storage_sql.search import DOCS, SHARDS, search_all
from helpdesk_plugins.storage_sql.topk import prefix_query, tsvector_sql

CJK = "退款订单物流快递发票质量售后维修更换密码登录支付优惠账户地址电话配送包裹破损"
SYLLABLES = ["re", "fun", "de", "li", "ver", "pa", "ck", "ord", "in", "vo", "ice", "war", "ran"]


def vocabulary(rng: random.Random, size: int) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        kind = rng.random()
        if kind < 0.8:
            words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
        elif kind < 0.9:
            words.add(rng.choice(CJK) + rng.choice(CJK))
        else:
            words.add(f"so-{rng.randint(2020, 2026)}-{rng.randint(0, 9999):04d}")
    return sorted(words)


def load(url: str, n: int, rng: random.Random, *, reuse: bool) -> tuple[list[str], float]:
    words = vocabulary(rng, 20_000)
    started = time.perf_counter()
    if reuse:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            try:
                count = conn.exec_driver_sql("SELECT count(*) FROM hd_search_docs").scalar()
            except sa.exc.ProgrammingError:
                count = None
        engine.dispose()
        if count == n:
            return words, 0.0
    with open_storage(url) as store, store.transaction() as uow:
        template, events = new_ticket("tmpl-0", 1, subject="x", description="y")
        uow.save_ticket(template, events)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("SET synchronous_commit = off")
        conn.exec_driver_sql("DELETE FROM hd_search_docs")
        conn.exec_driver_sql("DELETE FROM hd_search_stats")
        columns = [
            r[0]
            for r in conn.exec_driver_sql(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'hd_tickets' AND table_schema = current_schema() "
                "ORDER BY ordinal_position"
            )
        ]
        copied = {
            "id": "'t' || g",
            "number": "'T' || lpad(g::text, 12, '0')",
            "doc": "replace(replace(doc, 'tmpl-0', 't' || g), number, "
            "'T' || lpad(g::text, 12, '0'))",
        }
        select = ", ".join(copied.get(c, c) for c in columns)
        conn.exec_driver_sql(
            f"INSERT INTO hd_tickets ({', '.join(columns)}) "
            f"SELECT {select} FROM hd_tickets, generate_series(1, {n}) g WHERE id = 'tmpl-0'"
        )
        conn.exec_driver_sql("DELETE FROM hd_tickets WHERE id = 'tmpl-0'")
        # a word's rank r is drawn with probability ~ 1/r (random()^3 skews to the front)
        # (``+ 0 * x`` ties the aggregate to the inner series, so it aggregates per ticket)
        pick = "w[1 + floor(power(random(), 3) * array_length(w, 1))::int + 0 * x]"
        conn.execute(
            sa.text(
                "INSERT INTO hd_search_docs (ticket_id, shard, digest, number, subject, "
                "description, messages, notes, len_number, len_subject, len_description, "
                "len_messages, len_notes, terms) "
                "SELECT 't' || g, g % 16, 'bench', lower('T' || lpad(g::text, 12, '0')), "
                "s, d, '', '', 1, 4, 24, 0, 0, "
                + tsvector_sql(
                    {
                        "number": ("lower('T' || lpad(g::text, 12, '0'))", "1"),
                        "subject": ("s", "4"),
                        "description": ("d", "24"),
                    }
                )
                + " FROM (SELECT g, "
                f"(SELECT string_agg({pick}, ' ') FROM generate_series(1, 4) x WHERE g > 0) s, "
                f"(SELECT string_agg({pick}, ' ') FROM generate_series(1, 24) x WHERE g > 0) d "
                "FROM generate_series(1, :n) g, (SELECT CAST(:words AS text[]) w) v) t"
            ).bindparams(n=n, words=words)
        )
        per_shard = n // SHARDS
        stats = []
        for shard in range(SHARDS):
            count = per_shard + (1 if shard < n % SHARDS else 0)
            stats += [
                {"shard": shard, "field": DOCS, "total": count},
                {"shard": shard, "field": "number", "total": count},
                {"shard": shard, "field": "subject", "total": 4 * count},
                {"shard": shard, "field": "description", "total": 24 * count},
            ]
        conn.execute(sa.text("INSERT INTO hd_search_stats VALUES (:shard, :field, :total)"), stats)
        latin = [w for w in words if w.isascii() and w.isalpha()]
        conn.execute(
            sa.text("INSERT INTO hd_search_words SELECT unnest(CAST(:t AS text[]))"),
            {"t": latin},
        )
        near = sorted({(k, w) for w in latin for k in near_keys(w)})
        conn.execute(
            sa.text(
                "INSERT INTO hd_search_near "
                "SELECT unnest(CAST(:k AS text[])), unnest(CAST(:t AS text[]))"
            ),
            {"k": [k for k, _ in near], "t": [w for _, w in near]},
        )
    # what autovacuum does to a live table: statistics, and the visibility map that lets
    # counting a term's tickets skip the table
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    return words, time.perf_counter() - started


def queries(rng: random.Random, words: list[str], count: int) -> list[str]:
    found: list[str] = []
    while len(found) < count:
        kind = rng.random()
        chosen = [words[int(rng.random() ** 3 * len(words))] for _ in range(rng.randint(1, 3))]
        if kind < 0.15:  # a typo: one character dropped from a longer word
            word = max(chosen, key=len)
            at = rng.randrange(len(word))
            chosen = [word[:at] + word[at + 1 :]]
        elif kind < 0.25:  # a partial word
            chosen = [chosen[0][:4]]
        elif kind < 0.35:  # a rare word (the long tail)
            chosen = [rng.choice(words)]
        found.append(" ".join(chosen))
    return found


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[-1] * 1000


def timed(run: Callable[[str], object], texts: list[str]) -> list[float]:
    times = []
    for text in texts:
        start = time.perf_counter()
        run(text)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--url", default=os.environ.get("HELPDESK_TEST_POSTGRES_URL"))
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--schema", help="load into this schema once and keep it (reruns reuse it)")
    parser.add_argument(
        "--check", type=int, default=0, help="compare this many queries with the full ranking"
    )
    args = parser.parse_args()
    if not args.url:
        raise SystemExit("give --url or set HELPDESK_TEST_POSTGRES_URL")
    rng = random.Random(21)
    with ExitStack() as stack:
        if args.schema:  # a kept schema: loaded once, reused by later runs
            url = schema_url(args.url, args.schema)
            engine = sa.create_engine(args.url)
            with engine.begin() as conn:
                conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {args.schema}")
            engine.dispose()
        else:
            url = stack.enter_context(scratch_schema(args.url, "hd_bench_search"))
        words, loaded = load(url, args.n, rng, reuse=bool(args.schema))
        print(f"{args.n:,} tickets bulk-loaded in {loaded:.1f} s")
        texts = queries(rng, words, args.queries)
        store = stack.enter_context(open_storage(url))

        work: list[tuple[int, float]] = []

        def ours(text: str) -> object:
            rows, cpu = store.search_rows_read, time.process_time()
            with store.transaction() as uow:
                found = uow.search_tickets(
                    TextQuery(tuple(query_terms(text)), PUBLIC_FIELDS, limit=20)
                )
            work.append((store.search_rows_read - rows, time.process_time() - cpu))
            return found

        def native(text: str) -> object:
            # every impact tier of each term (the lexemes are ``term<US>tier``)
            query = " | ".join(prefix_query(t) for t in query_terms(text))
            with store.transaction() as uow:
                return uow.execute_read(
                    sa.text(
                        "SELECT ticket_id FROM hd_search_docs, CAST(:q AS tsquery) q "
                        "WHERE terms @@ q ORDER BY ts_rank_cd(terms, q) DESC LIMIT 20"
                    ),
                    {"q": query},
                ).all()

        def ilike(text: str) -> object:
            word = f"%{text.split()[0]}%"
            with store.transaction() as uow:
                return uow.execute_read(
                    sa.text(
                        "SELECT ticket_id FROM hd_search_docs "
                        "WHERE subject ILIKE :w OR description ILIKE :w LIMIT 20"
                    ),
                    {"w": word},
                ).all()

        for text in texts[: args.check]:
            with store.transaction() as uow:
                query = TextQuery(tuple(query_terms(text)), PUBLIC_FIELDS, limit=20)
                top = [(t.id, m.score) for t, m in uow.search_tickets(query)]
                full = [(t.id, m.score) for t, m in search_all(uow, store, query)]
            if top != full:
                raise SystemExit(f"top-k differs from the full ranking for {text!r}")
        if args.check:
            print(f"top-k = full ranking for {min(args.check, len(texts))} queries")
        ours(texts[0])  # warm the connection pool and caches alike for every runner
        results = {
            name: timed(run, texts)
            for name, run in (
                ("helpdesk (tiers, top-k)", ours),
                ("peer: ts_rank_cd top 20", native),
                ("peer: ILIKE scan", ilike),
            )
        }
    work = work[1:]  # the warm-up
    rows = sorted(r for r, _ in work)
    cpu = sorted(c * 1000 for _, c in work)
    print(
        f"helpdesk, load-independent: index rows read p50 {rows[len(rows) // 2]:,} "
        f"p95 {rows[int(len(rows) * 0.95)]:,}; client CPU p50 {cpu[len(cpu) // 2]:.1f} ms "
        f"p95 {cpu[int(len(cpu) * 0.95)]:.1f} ms"
    )
    for name, times in results.items():
        print(
            f"{name:28} p50 {statistics.median(times) * 1000:8.1f} ms   "
            f"p95 {p95(times):8.1f} ms   ({len(times)} queries, {args.n:,} tickets)"
        )


if __name__ == "__main__":
    main()
