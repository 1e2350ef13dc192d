"""At least once, and once is enough (issue 23, DESIGN 7): a real worker process claims the
outbox and is SIGKILLed while it is handing a mail to a real aiosmtpd peer; after its lease
expires another worker delivers every claimed message, and the peer sees each notification
(its Message-ID, derived from the idempotency key) exactly once. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest

from conftest import free_port
from helpdesk_core import Actor, Helpdesk
from helpdesk_core.testing.postgres import POSTGRES_SKIP_REASON, postgres_url

SRC = Path(__file__).resolve().parents[2] / "src"
TICKETS = 5
LEASE = timedelta(minutes=5)


class Peer:
    """An aiosmtpd handler counting deliveries by Message-ID. The first DATA it sees blocks
    (the worker is then killed mid-send) and is refused afterwards, never counted."""

    def __init__(self) -> None:
        self.deliveries: Counter[str] = Counter()
        self.subjects: list[str] = []
        self.stuck = threading.Event()
        self.release = threading.Event()
        self.block_first = True

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.block_first:
            self.block_first = False
            self.stuck.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait)
            return "451 4.3.0 the sender went away"
        message = message_from_bytes(envelope.original_content)
        self.deliveries[str(message["Message-ID"])] += 1
        self.subjects.append(str(message["Subject"]))
        return "250 2.0.0 OK"


@pytest.fixture
def peer() -> Iterator[tuple[Peer, int]]:
    from aiosmtpd.controller import Controller

    handler, port = Peer(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    handler.release.set()
    controller.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'desk.db'}"
        return
    base = postgres_url()
    if base is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    from helpdesk_plugins.storage_sql.scratch import scratch_schema

    with scratch_schema(base, "hd_outbox_kill") as scratch:
        yield scratch


def config(port: int) -> dict[str, Any]:
    return {
        "email": {
            "from": "Example Support <support@example.com>",
            "smtp": {"host": "127.0.0.1", "port": port, "security": "none", "timeout": 60},
        }
    }


WORKER = """
import sys
from datetime import timedelta
from helpdesk_core import Helpdesk
desk = Helpdesk(config={config!r}, storage_url=sys.argv[1], load_entrypoints=False)
desk.dispatch_outbox(worker="doomed", limit=1000, lease=timedelta(seconds={lease}))
"""


def test_a_killed_workers_claimed_mail_is_delivered_once_by_another(
    peer: tuple[Peer, int], url: str
) -> None:
    handler, port = peer
    customer_ids = [f"c{i}@customer.cn" for i in range(TICKETS)]
    agent = Actor(id="a-1", roles={"agent"}, team="after-sales")
    with Helpdesk(config(port), url, load_entrypoints=False) as desk:
        for customer_id in customer_ids:
            customer = Actor(id=customer_id, roles={"customer"})
            ticket = desk.open_ticket(customer, subject=f"Cup {customer_id}", channel="email")
            desk.assign(Actor(id="admin", roles={"admin"}), ticket.id, agent.id)
            desk.reply(agent, ticket.id, "A new cup is on its way.")
        with desk.storage.transaction() as uow:
            pending = {m.key for m in uow.outbox("pending")}
    script = WORKER.format(config=config(port), lease=LEASE.total_seconds())
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    worker = subprocess.Popen([sys.executable, "-c", script, url], env=env)
    try:
        assert handler.stuck.wait(60), "the worker never reached the SMTP peer"
        with (
            Helpdesk(storage_url=url, load_entrypoints=False) as desk,
            desk.storage.transaction() as uow,
        ):
            claimed = {m.key for m in uow.outbox("pending") if m.claimed_by == "doomed"}
        # rows it finished before the stuck mail (nothing to mail) are done; the rest it holds
        assert claimed and claimed <= pending and len(claimed) >= TICKETS
        os.kill(worker.pid, signal.SIGKILL)
        assert worker.wait(30) == -signal.SIGKILL
    finally:
        if worker.poll() is None:  # pragma: no cover - the assertions above failed
            worker.kill()
            worker.wait()
        handler.release.set()
    assert handler.deliveries == Counter()
    after_lease = datetime.now(UTC) + LEASE + timedelta(seconds=1)
    with Helpdesk(config(port), url, load_entrypoints=False) as desk:
        assert desk.dispatch_outbox(now=after_lease - timedelta(minutes=1), worker="w2") == 0
        assert desk.dispatch_outbox(now=after_lease, worker="w2", limit=1000) == len(claimed)
        assert desk.dispatch_outbox(now=after_lease + LEASE * 2, worker="w2") == 0
        with desk.storage.transaction() as uow:
            assert {m.state for m in uow.outbox()} == {"delivered"}
    assert handler.deliveries and set(handler.deliveries.values()) == {1}
    replies = [s for s in handler.subjects if s.startswith("Re:")]
    assert len(replies) == TICKETS
