"""The worker: ticks escalations and the outbox; SIGTERM finishes the tick and exits 0."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from helpdesk_core import Actor, Helpdesk, hookimpl
from helpdesk_core.testing import FixedClock, RecordingNotifier
from helpdesk_plugins.cli import Worker

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=SH)


class _Notify:
    def __init__(self, notifier: RecordingNotifier) -> None:
        self.notifier = notifier

    @hookimpl
    def helpdesk_register_notifiers(self, config: object) -> list[RecordingNotifier]:
        return [self.notifier]


def test_worker_tick_fires_and_delivers() -> None:
    clock = FixedClock(T0)
    notifier = RecordingNotifier()
    desk = Helpdesk(
        config={
            "sla": {"policies": [{"name": "p", "targets": {"normal": {"first_response": "1h"}}}]},
            "escalation": {
                "policies": [
                    {
                        "name": "e",
                        "levels": [
                            {
                                "trigger": {"sla": "first_response", "breached": True},
                                "notify": ["agent:duty"],
                            },
                        ],
                    }
                ]
            },
        },
        clock=clock,
        plugins=[_Notify(notifier)],
        load_entrypoints=False,
    )
    desk.open_ticket(Actor(id="C1", roles={"customer"}), subject="x", channel="email")
    worker = Worker(desk, "w1", interval=0, clock=clock)
    clock.advance(timedelta(minutes=61))
    result = worker.tick()
    assert (result.claimed, result.fired) == (1, 1)
    assert result.delivered >= 1
    assert [n.recipient for n in notifier.sent if n.event_kind == "escalation"] == ["duty"]
    assert worker.tick().fired == 0
    worker.run(max_ticks=4)  # runs until 4 ticks in all
    assert worker.ticks == 4


def test_sigterm_stops_the_worker_gracefully() -> None:
    proc = subprocess.Popen(
        # INFO: the worker logs its start and its signal (quiet by default)
        [sys.executable, "-m", "helpdesk_plugins.cli", "--log-level", "INFO", "worker",
         "--url", "memory://",
         "--interval", "0.05", "--id", "w-test"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        assert proc.stdout is not None
        started = ""
        while "started" not in started and time.monotonic() < deadline:
            started += proc.stdout.readline()
        assert "worker w-test started" in started
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert "finishing the current tick" in out
