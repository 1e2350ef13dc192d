"""Scale-out on one machine (issue 25): 2 ``helpdesk serve`` processes on two ports and 2
``helpdesk worker`` processes on one PostgreSQL database, under a bounded load of simulated users,
with every notification mail counted at an aiosmtpd peer on loopback.

What runs:

* a fresh database (``--url``, default: the database ``hd_scaleout`` on the local server, dropped
  and created again), migrated by ``helpdesk db upgrade``;
* a config TOML written for the run: one ``[[server.users]]`` entry (id and bearer token) per
  simulated user, ids that are mail addresses so the SMTP notifier's default address book mails
  every recipient, and ``[email.smtp]`` pointing at the peer;
* ``--servers`` ``helpdesk serve`` processes on free ports and ``--workers`` ``helpdesk worker``
  processes (OS processes, started as a shell would start them);
* ``--users`` simulated users for ``--seconds`` seconds (asyncio + httpx), each request going to
  the servers in turn: a quarter of them agents (inbox, claim, reply and ask the customer,
  resolve after the customer's answer), the rest customers (open a ticket, follow it, answer
  the agent once, open the next ticket when it is resolved), each with a random think time.

At the end the harness waits for the workers to drain the outbox, stops every process with
SIGTERM (each must exit 0) and compares what the store says was delivered (every hd_outbox row,
turned into one notification per recipient by :mod:`helpdesk_core.notifications`, each with its
own Message-ID) with what the peer received: 0 lost, 0 duplicated, 0 unexpected, and 0 HTTP 5xx,
connection errors or unexpected 4xx answers. It prints p50/p95/p99 latency per kind of request,
throughput, tickets created, notifications delivered, and the CPU seconds the servers and
workers used (wall-clock figures depend on how loaded the machine is; say how loaded it was).

    python benchmarks/bench_scaleout.py [--users 200] [--seconds 60] [--url POSTGRES_URL]

tests/server/test_scaleout.py runs the same harness small (10 users, 10 s) and asserts the
property (0 errors, 0 lost, 0 duplicated), never the timings.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
DEFAULT_DATABASE = "hd_scaleout"
DOMAIN = "desk.example"
EXPECTED_4XX = {("claim", 409)}
"""Answers that are part of the load, not errors: two agents claiming one ticket (one wins)."""


# ------------------------------------------------------------------------------ the peer
class Peer:
    """An SMTP server's handler that counts every accepted mail by its Message-ID."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content)
        self.received[str(message["Message-ID"]).strip()] += 1
        return "250 2.0.0 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ------------------------------------------------------------------------------ the desk
@dataclass(frozen=True)
class User:
    id: str
    token: str
    role: str


def make_users(count: int) -> list[User]:
    """A quarter agents (at least one), the rest customers (at least one)."""
    agents = max(1, count // 4)
    customers = max(1, count - agents)
    return [User(f"agent-{i:03d}@{DOMAIN}", f"agent-{i:03d}", "agent") for i in range(agents)] + [
        User(f"customer-{i:03d}@customers.example", f"customer-{i:03d}", "customer")
        for i in range(customers)
    ]


def config_text(users: Sequence[User], smtp_port: int) -> str:
    lines = [
        "[desk]",
        'name = "Scale-out benchmark"',
        'timezone = "Asia/Shanghai"',
        'default_team = "service"',
        "",
        "[permissions.teams]",
        'service = "customer-care"',
        "",
        "[email]",
        f'from = "Bench Desk <support@{DOMAIN}>"',
        f'domains = ["{DOMAIN}"]',
        "",
        "[email.smtp]",
        'host = "127.0.0.1"',
        f"port = {smtp_port}",
        'security = "none"',
        "",
        "[server]",
        'title = "Scale-out benchmark"',
    ]
    for user in users:
        lines += ["", "[[server.users]]", f'id = "{user.id}"', f'roles = ["{user.role}"]']
        lines.append(f'token = "{user.token}"')
        if user.role == "agent":
            lines += ['team = "service"', 'department = "customer-care"']
    return "\n".join(lines) + "\n"


def helpdesk(*args: str) -> list[str]:
    """The ``helpdesk`` command line, run by this interpreter (so PYTHONPATH applies)."""
    return [sys.executable, "-m", "helpdesk_plugins.cli", *args]


def fresh_database(server: str, name: str) -> str:
    import sqlalchemy as sa

    engine = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    engine.dispose()
    return f"{server}/{name}"


# ------------------------------------------------------------------------------ the load
@dataclass
class Sample:
    kind: str
    status: int  # 0: no answer (connection error or timeout)
    seconds: float
    server: int  # which of the servers answered (or did not)
    error: str = ""


@dataclass
class Load:
    servers: list[str]
    deadline: float
    think: float
    rng: random.Random
    samples: list[Sample] = field(default_factory=list)
    tickets_created: int = 0
    resolved: int = 0

    async def call(
        self,
        client: httpx.AsyncClient,
        turn: list[int],
        user: User,
        kind: str,
        method: str,
        path: str,
        **kwargs: Any,
    ) -> httpx.Response | None:
        server = turn[0] % len(self.servers)
        base = self.servers[server]
        turn[0] += 1
        headers = {"Authorization": f"Bearer {user.token}"}
        start = time.perf_counter()
        try:
            response = await client.request(
                method, base + "/api/v1" + path, headers=headers, **kwargs
            )
        except httpx.HTTPError as exc:
            self.samples.append(
                Sample(kind, 0, time.perf_counter() - start, server, f"{type(exc).__name__}: {exc}")
            )
            return None
        elapsed = time.perf_counter() - start
        error = ""
        if response.status_code >= 500 or (
            response.status_code >= 400 and (kind, response.status_code) not in EXPECTED_4XX
        ):
            error = response.text[:300]
        self.samples.append(Sample(kind, response.status_code, elapsed, server, error))
        return response

    async def pause(self) -> bool:
        """Think; False once the run is over."""
        await asyncio.sleep(self.rng.uniform(0.5, 1.5) * self.think)
        return time.monotonic() < self.deadline

    async def customer(self, client: httpx.AsyncClient, user: User, number: int) -> None:
        turn = [number]
        ticket: str | None = None
        answered = False
        while await self.pause():
            if ticket is None:
                opened = await self.call(
                    client, turn, user, "open_ticket", "POST", "/tickets",
                    json={"subject": f"Order {self.rng.randrange(10**6)} arrived broken",
                          "description": "The parcel was crushed; please send a new one."},
                )  # fmt: skip
                if opened is not None and opened.status_code == 201:
                    ticket, answered = opened.json()["id"], False
                    self.tickets_created += 1
                continue
            seen = await self.call(client, turn, user, "follow_ticket", "GET", f"/tickets/{ticket}")
            if seen is None or seen.status_code != 200:
                continue
            status = seen.json()["status"]
            if status == "pending_customer" and not answered:
                answer = await self.call(
                    client, turn, user, "customer_reply", "POST", f"/tickets/{ticket}/replies",
                    json={"body": "It is order 4711; the box was wet too."},
                )  # fmt: skip
                answered = answer is not None and answer.status_code == 200
            elif status == "resolved":
                ticket = None

    async def agent(self, client: httpx.AsyncClient, user: User, number: int) -> None:
        turn = [number]
        while await self.pause():
            mine = await self.call(
                client, turn, user, "agent_inbox", "GET", "/tickets",
                params={"assignee": user.id, "status": ["assigned", "in_progress"], "limit": 20},
            )  # fmt: skip
            work = mine.json()["items"] if mine is not None and mine.status_code == 200 else []
            if work:
                item = work[0]
                if item["status"] == "assigned":
                    body = {"body": "Sorry about that. Which order is it?",
                            "status": "pending_customer"}  # fmt: skip
                    await self.call(
                        client, turn, user, "agent_reply", "POST",
                        f"/tickets/{item['id']}/replies", json=body,
                    )  # fmt: skip
                else:
                    done = await self.call(
                        client, turn, user, "agent_resolve", "POST",
                        f"/tickets/{item['id']}/replies",
                        json={"body": "A new one is on its way.", "status": "resolved"},
                    )  # fmt: skip
                    if done is not None and done.status_code == 200:
                        self.resolved += 1
                continue
            queue = await self.call(
                client, turn, user, "team_queue", "GET", "/tickets",
                params={"status": "new", "limit": 20},
            )  # fmt: skip
            new = queue.json()["items"] if queue is not None and queue.status_code == 200 else []
            if new:
                pick = self.rng.choice(new)
                await self.call(client, turn, user, "claim", "POST", f"/tickets/{pick['id']}/claim")


async def drive(servers: list[str], users: Sequence[User], seconds: float, think: float) -> Load:
    load = Load(servers, time.monotonic() + seconds, think, random.Random(7))
    limits = httpx.Limits(max_connections=len(users) * 2, max_keepalive_connections=len(users))
    async with httpx.AsyncClient(timeout=120.0, limits=limits) as client:
        tasks = [
            load.agent(client, user, i) if user.role == "agent" else load.customer(client, user, i)
            for i, user in enumerate(users)
        ]
        await asyncio.gather(*tasks)
    return load


# ------------------------------------------------------------------------------ processes
def wait_until_serving(base: str, token: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{base}: the server exited with {process.returncode}")
        try:
            answer = httpx.get(
                base + "/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=5
            )
            if answer.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{base}: not serving after 120 s")


def stop(processes: Sequence[subprocess.Popen[bytes]]) -> list[int]:
    """SIGTERM each, wait for all; their exit codes (a process that would not stop is killed
    and reported as -9)."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    codes = []
    for process in processes:
        try:
            codes.append(process.wait(timeout=60))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            codes.append(-9)
    return codes


def pending_outbox(url: str) -> Counter[str]:
    from helpdesk_plugins.storage_sql import open_storage

    with open_storage(url) as store, store.transaction() as uow:
        return Counter(message.state for message in uow.outbox())


def expected_mails(url: str, config: Path) -> tuple[Counter[str], dict[str, str]]:
    """The outbox rows' states, and the Message-ID of every notification the store says was
    delivered (row key and recipient).

    An event's recipients are worked out as the worker did, from the ticket's state; here it is
    the final state. The load keeps the two equal: a ticket's requester never changes, its
    assignee is set once (by the claim) and a customer writes only after the assignee's reply.
    """
    from helpdesk_core.notifications import needs_ticket, notifications
    from helpdesk_plugins.channel_email.message_ids import make_message_id
    from helpdesk_plugins.storage_sql import open_storage

    states: Counter[str] = Counter()
    expected: dict[str, str] = {}
    with open_storage(url) as store, store.transaction() as uow:
        for message in uow.outbox():
            states[message.state] += 1
            if message.state != "delivered":
                continue
            ticket_id = needs_ticket(message)
            ticket = uow.get_ticket(ticket_id) if ticket_id is not None else None
            for notification in notifications(message, ticket):
                mail_id = make_message_id(notification.key, DOMAIN, notification.ticket_id)
                expected[f"<{mail_id}>"] = notification.key
    return states, expected


# ------------------------------------------------------------------------------ the run
@dataclass
class Result:
    users: int
    seconds: float
    samples: list[Sample]
    tickets_created: int
    resolved: int
    outbox_states: Counter[str]
    expected: int
    received: int
    lost: list[str]
    duplicated: dict[str, int]
    unexpected: list[str]
    exit_codes: list[int]
    drain_seconds: float
    child_cpu: float
    load_cpu: float

    @property
    def errors(self) -> list[Sample]:
        return [s for s in self.samples if s.error]

    @property
    def ok(self) -> bool:
        return (
            not self.errors
            and not self.lost
            and not self.duplicated
            and not self.unexpected
            and set(self.outbox_states) <= {"delivered"}
            and set(self.exit_codes) == {0}
        )

    def report(self) -> str:
        lines = [
            f"{self.users} users, {self.seconds:.0f} s, 2 servers + 2 workers on PostgreSQL:",
            f"  {'request':16} {'count':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}",
        ]
        by_kind: dict[str, list[float]] = defaultdict(list)
        for sample in self.samples:
            by_kind[sample.kind].append(sample.seconds)
        by_kind["all"] = [s.seconds for s in self.samples]
        for kind in sorted(by_kind, key=lambda k: (k == "all", k)):
            values = sorted(by_kind[kind])
            p50, p95, p99 = (percentile(values, q) * 1000 for q in (50, 95, 99))
            lines.append(f"  {kind:16} {len(values):7} {p50:8.0f} {p95:8.0f} {p99:8.0f}")
        statuses = Counter(s.status for s in self.samples)
        lines += [
            f"  throughput: {len(self.samples) / self.seconds:.1f} requests/s "
            f"({len(self.samples)} requests; statuses {dict(sorted(statuses.items()))})",
            f"  tickets created: {self.tickets_created}, resolved: {self.resolved}",
            f"  outbox rows: {dict(self.outbox_states)}; drained {self.drain_seconds:.1f} s "
            "after the load stopped",
            f"  notifications: {self.expected} delivered by the store, {self.received} "
            f"received by the peer; lost {len(self.lost)}, duplicated "
            f"{sum(n - 1 for n in self.duplicated.values())}, unexpected {len(self.unexpected)}",
            f"  errors (5xx, no answer, unexpected 4xx): {len(self.errors)}",
            f"  exit codes after SIGTERM: {self.exit_codes}",
            f"  CPU: servers and workers {self.child_cpu:.1f} s "
            f"({1000 * self.child_cpu / max(1, len(self.samples)):.1f} ms per request), load "
            f"generator {self.load_cpu:.1f} s (PostgreSQL not counted)",
        ]
        for sample in self.errors[:5]:
            lines.append(f"  error: {sample.kind} {sample.status} {sample.error}")
        for key in self.lost[:5]:
            lines.append(f"  lost: {key}")
        lines.append("  OK" if self.ok else "  FAILED")
        return "\n".join(lines)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of sorted ``values`` (0 for none)."""
    if not values:
        return 0.0
    rank = max(1, -(-len(values) * q // 100))
    return values[int(rank) - 1]


def run(
    url: str,
    *,
    users: int,
    seconds: float,
    servers: int = 2,
    workers: int = 2,
    think: float = 1.0,
    folder: Path,
    say: Callable[[str], None] = lambda text: print(text, flush=True),
) -> Result:
    """Everything the module docstring says, on the (empty) database at ``url``."""
    peer = Peer()
    smtp_port = free_port()
    controller = Controller(peer, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    people = make_users(users)
    config = folder / "scaleout.toml"
    config.write_text(config_text(people, smtp_port), encoding="utf-8")
    logs = [open(folder / f"process-{i}.log", "wb") for i in range(servers + workers)]  # noqa: SIM115
    processes: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run(helpdesk("db", "upgrade", "--url", url), check=True, capture_output=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        ports = [free_port() for _ in range(servers)]
        for i, port in enumerate(ports):
            command = helpdesk("serve", "--config", str(config), "--url", url, "--port", str(port))
            processes.append(subprocess.Popen(command, stdout=logs[i], stderr=subprocess.STDOUT))
        for i in range(workers):
            command = helpdesk(
                "worker", "--config", str(config), "--url", url, "--id", f"worker-{i}",
                "--interval", "0.5",
            )  # fmt: skip
            processes.append(
                subprocess.Popen(command, stdout=logs[servers + i], stderr=subprocess.STDOUT)
            )
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for base, process in zip(bases, processes, strict=False):
            wait_until_serving(base, people[0].token, process)
        say(f"serving on {', '.join(bases)}; {len(people)} users for {seconds:.0f} s ...")
        cpu = time.process_time()
        load = asyncio.run(drive(bases, people, seconds, think))
        load_cpu = time.process_time() - cpu
        stopped = time.monotonic()
        while pending_outbox(url).get("pending") and time.monotonic() - stopped < 300:
            time.sleep(0.5)
        drain = time.monotonic() - stopped
        codes = stop(processes)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        stop(processes)
        for log in logs:
            log.close()
        controller.stop()
    states, expected = expected_mails(url, config)
    received = peer.received
    return Result(
        users=len(people),
        seconds=seconds,
        samples=load.samples,
        tickets_created=load.tickets_created,
        resolved=load.resolved,
        outbox_states=states,
        expected=len(expected),
        received=sum(received.values()),
        lost=sorted(expected[mail] for mail in expected.keys() - received.keys()),
        duplicated={mail: n for mail, n in received.items() if n > 1},
        unexpected=sorted(received.keys() - expected.keys()),
        exit_codes=codes,
        drain_seconds=drain,
        child_cpu=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        load_cpu=load_cpu,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--users", type=int, default=200, help="simulated users (default: 200)")
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of load (default: 60)")
    parser.add_argument(
        "--url",
        help="PostgreSQL URL of an empty database to use (default: drop and create "
        f"{DEFAULT_DATABASE} on {DEFAULT_SERVER})",
    )
    parser.add_argument(
        "--think", type=float, default=1.0, help="mean think time per user step, s (default: 1)"
    )
    parser.add_argument("--keep", help="keep the config and process logs in this folder")
    args = parser.parse_args()
    url = args.url or fresh_database(DEFAULT_SERVER, DEFAULT_DATABASE)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.keep or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        result = run(url, users=args.users, seconds=args.seconds, think=args.think, folder=folder)
    print(result.report())
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    raise SystemExit(0 if result.ok else 1)


if __name__ == "__main__":
    main()
