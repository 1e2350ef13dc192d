"""Outbox dispatch: notifications delivered per second by 1 and 4 worker processes
(``desk.dispatch_outbox`` with the SMTP notifier) to a local aiosmtpd peer, against the peer
figure from the same run: raw ``smtplib`` sends per second to the same server, one connection
per message as the notifier does (issue 23).

Each worker process claims batches from one SQLite file (the store's claim shares the work),
renders and sends each mail, and records the delivery. The script checks that every row was
delivered and that the peer received each Message-ID exactly once.

    python benchmarks/bench_outbox.py [--messages 2000] [--workers 1 4] [--batch 50]

Times are wall-clock (several processes); run it on an otherwise quiet machine.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import smtplib
import socket
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from helpdesk_core import Helpdesk
from helpdesk_core.model.records import OutboxMessage
from helpdesk_plugins.storage_sql import open_storage

FORK = mp.get_context("fork")
NOW = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


class Peer:
    """Counts every accepted message by Message-ID."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content)
        self.received[str(message["Message-ID"])] += 1
        return "250 2.0.0 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def config(port: int) -> dict[str, Any]:
    return {
        "email": {
            "from": "Example Support <support@example.com>",
            "domains": ["example.com"],
            "smtp": {"host": "127.0.0.1", "port": port, "security": "none"},
        }
    }


def fill(url: str, n: int) -> None:
    """n escalation notices, each to one address (no ticket read needed to deliver them)."""
    with open_storage(url) as store, store.transaction() as uow:
        for i in range(n):
            uow.add_outbox(
                OutboxMessage(
                    id=f"o{i:07d}",
                    topic="escalation",
                    key=f"escalation:t{i}|breach|1|first_response|0",
                    payload={
                        "ticket_id": f"t{i}",
                        "number": f"T20261102{i:06d}",
                        "subject": f"Parcel arrived broken {i}",
                        "policy": "breach",
                        "level": 1,
                        "metric": "first_response",
                        "cycle": 0,
                        "reason": "first response overdue by 10 minutes",
                        "recipients": [f"duty{i % 7}@example.com"],
                        "on_call": False,
                        "due_at": NOW.isoformat(),
                    },
                    created_at=NOW,
                    available_at=NOW,
                )
            )


def work(url: str, port: int, name: str, batch: int) -> None:
    with Helpdesk(config(port), url, load_entrypoints=False) as desk:
        while desk.dispatch_outbox(now=NOW, worker=name, limit=batch):
            pass


def dispatch_rate(port: int, peer: Peer, n: int, workers: int, batch: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'desk.db'}"
        fill(url, n)
        peer.received.clear()
        processes = [
            FORK.Process(target=work, args=(url, port, f"w{i}", batch)) for i in range(workers)
        ]
        start = time.perf_counter()
        for process in processes:
            process.start()
        for process in processes:
            process.join()
        elapsed = time.perf_counter() - start
        with open_storage(url) as store, store.transaction() as uow:
            states = Counter(m.state for m in uow.outbox())
    assert states == {"delivered": n}, states
    assert len(peer.received) == n and set(peer.received.values()) == {1}, "duplicates"
    return n / elapsed


def peer_rate(port: int, n: int) -> float:
    """Raw smtplib: one connection and one small message per send."""
    start = time.perf_counter()
    for i in range(n):
        message = EmailMessage()
        message["From"] = "support@example.com"
        message["To"] = f"duty{i % 7}@example.com"
        message["Subject"] = f"[#T20261102{i:06d}] Escalation: Parcel arrived broken {i}"
        message["Message-ID"] = f"<peer-{i}@example.com>"
        message.set_content("first response overdue by 10 minutes")
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.send_message(message)
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages per run")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--batch", type=int, default=50, help="messages per claim")
    args = parser.parse_args()
    peer, port = Peer(), free_port()
    controller = Controller(peer, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        raw = peer_rate(port, args.messages)
        print(f"peer: raw smtplib sends to the same aiosmtpd: {raw:,.0f}/s")
        for workers in args.workers:
            rate = dispatch_rate(port, peer, args.messages, workers, args.batch)
            print(
                f"outbox, {workers} worker process(es), {args.messages} messages: "
                f"{rate:,.0f}/s = {rate / raw:.2f}x the peer"
            )
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
