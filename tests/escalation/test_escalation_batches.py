"""A tick escalates its claimed tickets in batches, one transaction each; a batch that cannot
commit as a whole (a ticket changed under it) is rolled back and its tickets are escalated one
transaction at a time, so every due ticket still fires exactly once (issue "Routing, transfer,
escalation": exactly once; the batches are how a tick commits less often)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from helpdesk_core import Actor, Helpdesk
from helpdesk_core.service import workers
from helpdesk_core.testing import FixedClock

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=SH)
CONFIG: dict[str, Any] = {
    "sla": {"policies": [{"name": "p", "targets": {"normal": {"first_response": "1h"}}}]},
    "escalation": {
        "policies": [
            {
                "name": "e",
                "levels": [
                    {
                        "trigger": {"sla": "first_response", "breached": True},
                        "notify": ["agent:duty"],
                    }
                ],
            }
        ]
    },
}
SUPERVISOR = Actor(id="s1", roles={"supervisor"}, team="after-sales")


class _ChangedUnderTheBatch:
    """The real store; while a tick reads ``victim``'s firings, another desk's real command
    assigns that ticket in its own transaction (once), as a concurrent agent would."""

    def __init__(self, store: Any, other: Helpdesk, victim: str) -> None:
        self.store, self.other, self.victim = store, other, victim
        self.interfered = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self.store.transaction() as uow:
            yield _Unit(uow, self)


class _Unit:
    def __init__(self, uow: Any, outer: _ChangedUnderTheBatch) -> None:
        self.uow, self.outer = uow, outer

    def __getattr__(self, name: str) -> Any:
        return getattr(self.uow, name)

    def firings(self, ticket_id: str | None = None) -> Any:
        outer = self.outer
        if ticket_id == outer.victim and not outer.interfered:
            outer.interfered += 1
            outer.other.assign(SUPERVISOR, outer.victim, "a-9")
        return self.uow.firings(ticket_id)


def _desk(clock: FixedClock) -> Helpdesk:
    return Helpdesk(config=CONFIG, storage_url="memory://", clock=clock, load_entrypoints=False)


def test_a_batch_with_a_ticket_changed_under_it_still_fires_each_ticket_once() -> None:
    clock = FixedClock(T0)
    desk = _desk(clock)
    customer = Actor(id="C1", roles={"customer"})
    ids = [desk.open_ticket(customer, subject=f"x{i}", channel="email").id for i in range(7)]
    other = _desk(clock)
    other.storage = desk.storage
    spy = _ChangedUnderTheBatch(desk.storage, other, ids[3])
    desk.storage = spy  # type: ignore[assignment]
    clock.advance(timedelta(hours=2))
    run = desk.run_escalations(worker="w1", limit=50)
    assert spy.interfered == 1
    assert (run.claimed, run.fired, run.lost_leases) == (7, 7, 0)
    with spy.store.transaction() as uow:
        firings = uow.firings()
    assert sorted(f.ticket_id for f in firings) == sorted(ids)  # each once, none twice
    assert desk.get_ticket(SUPERVISOR, ids[3]).assignee == "a-9"  # the other command stands
    assert desk.run_escalations(worker="w1", limit=50).fired == 0


def test_a_tick_larger_than_a_batch_commits_batch_by_batch(monkeypatch: Any) -> None:
    monkeypatch.setattr(workers, "BATCH", 3)
    clock = FixedClock(T0)
    desk = _desk(clock)
    customer = Actor(id="C1", roles={"customer"})
    ids = [desk.open_ticket(customer, subject=f"x{i}", channel="email").id for i in range(8)]
    clock.advance(timedelta(hours=2))
    run = desk.run_escalations(worker="w1", limit=50)
    assert (run.claimed, run.fired) == (8, 8)
    with desk.storage.transaction() as uow:
        assert sorted(f.ticket_id for f in uow.firings()) == sorted(ids)
