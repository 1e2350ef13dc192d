"""Ingest: per-message time of ``desk.ingest_email`` (parse, classify, resolve the sender,
thread, file the ticket or record, acknowledge) for the realistic mix of ``bench_email.py``
(plain replies, HTML, alternative, GBK, Big5, attachments), on the memory store, SQLite and
(with ``--postgres URL``) a scratch schema on PostgreSQL, against the stdlib parse alone in
the same run (the peer).

Every message gets its own Message-ID, so each is a new delivery (no dedupe short cut).

    python benchmarks/bench_ingest.py [--rounds 20] [--postgres postgresql+psycopg://...]

Times are CPU time of this process (``time.process_time``): on PostgreSQL the server's own work
is not counted, so compare its wall figures too.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench_email import ordinary_mix, percentile, stdlib_parse

from helpdesk_core import Helpdesk
from helpdesk_core.testing import FixedClock

CONFIG = {"email": {"from": "Example Support <support@example.com>"}}


def deliveries(rounds: int) -> list[bytes]:
    mix = ordinary_mix()
    return [
        raw.replace(b"<m-1@mail.customer.cn>", f"<m-{n}-{i}@mail.customer.cn>".encode())
        for n in range(rounds)
        for i, raw in enumerate(mix)
    ]


def measure(url: str, messages: list[bytes]) -> tuple[list[float], list[float]]:
    cpu: list[float] = []
    wall: list[float] = []
    clock = FixedClock(datetime(2026, 11, 2, 1, 0, tzinfo=UTC))
    with Helpdesk(CONFIG, url, clock=clock, load_entrypoints=False) as desk:
        for raw in messages:
            start, begun = time.process_time(), time.perf_counter()
            desk.ingest_email(raw)
            cpu.append(time.process_time() - start)
            wall.append(time.perf_counter() - begun)
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()
    messages = deliveries(args.rounds)
    peer = []
    for raw in messages:
        start = time.process_time()
        stdlib_parse(raw)
        peer.append(time.process_time() - start)
    q50, q95 = percentile(peer, 0.5) * 1e3, percentile(peer, 0.95) * 1e3
    print(f"{len(messages)} deliveries ({len(ordinary_mix())} kinds x {args.rounds} rounds)")
    print(f"  stdlib parse alone (peer)  p50 {q50:7.3f} ms  p95 {q95:7.3f} ms")
    with tempfile.TemporaryDirectory() as folder:
        stores = {"memory": "memory://", "sqlite": f"sqlite:///{Path(folder) / 'desk.db'}"}
        for name, url in stores.items():
            report(name, url, messages, q95)
        if args.postgres:
            from helpdesk_plugins.storage_sql.scratch import scratch_schema

            with scratch_schema(args.postgres, "bench_ingest") as url:
                report("postgres", url, messages, q95)


def report(name: str, url: str, messages: list[bytes], q95: float) -> None:
    cpu, wall = measure(url, messages)
    p50, p95 = percentile(cpu, 0.5) * 1e3, percentile(cpu, 0.95) * 1e3
    w95 = percentile(wall, 0.95) * 1e3
    rate = len(messages) / sum(wall)
    print(
        f"  ingest_email {name:8}      p50 {p50:7.3f} ms  p95 {p95:7.3f} ms"
        f"  (x{p95 / q95:5.1f} peer p95; wall p95 {w95:7.3f} ms, {rate:6.0f}/s)"
    )


if __name__ == "__main__":
    main()
