"""The seeded load simulator (R-OPS-1): reproducible, realistic, through the real desk."""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from helpdesk_core import Actor, Helpdesk
from helpdesk_core.errors import ValidationError
from helpdesk_core.model.events import event_to_dict
from helpdesk_core.reports import volumes
from helpdesk_core.simulate import DayProfile, day_events, simulate
from helpdesk_core.testing import FixedClock

DAY = date(2026, 11, 11)
CONFIG: dict[str, Any] = {
    "desk": {"timezone": "Asia/Shanghai"},
    "sla": {
        "policies": [
            {"name": "std", "targets": {"*": {"first_response": "5m", "resolution": "2h"}}}
        ]
    },
}
ADMIN = Actor(id="admin", roles={"admin"})
SMALL = DayProfile(peak_per_hour=40, hours=(9, 10, 11), pending_share=0.3, reopen_share=0.2)


def make_desk(url: str = "memory://") -> Helpdesk:
    ids = itertools.count()
    return Helpdesk(
        CONFIG,
        url,
        clock=FixedClock("2026-11-01T00:00:00+08:00"),
        load_entrypoints=False,
        id_factory=lambda: f"id{next(ids):07d}",
    )


def all_events(desk: Helpdesk, ids: tuple[str, ...]) -> list[dict[str, Any]]:
    return [event_to_dict(e) for e in day_events(desk, ids)]


def test_r_ops_1_same_seed_same_events_other_seed_other_events() -> None:
    first, second, other = make_desk(), make_desk(), make_desk()
    a = simulate(first, seed=11, day=DAY, profile=SMALL)
    b = simulate(second, seed=11, day=DAY, profile=SMALL)
    c = simulate(other, seed=12, day=DAY, profile=SMALL)
    assert a == b
    assert all_events(first, a.ticket_ids) == all_events(second, b.ticket_ids)
    assert all_events(first, a.ticket_ids) != all_events(other, c.ticket_ids)


def test_r_ops_1_a_day_has_the_curve_the_mix_pauses_and_reopens() -> None:
    desk = make_desk()
    result = simulate(desk, seed=3, day=DAY, profile=SMALL)
    assert sum(h.arrivals for h in result.hours) == len(result.ticket_ids) > 60
    assert [h.hour for h in result.hours if h.arrivals] == ["09:00", "10:00", "11:00"]
    events = list(day_events(desk, result.ticket_ids))
    kinds = {e.kind for e in events}
    assert {"ticket_created", "assigned", "replied", "customer_messaged", "note_added"} <= kinds
    reopens = [e for e in events if getattr(e, "reopen", False)]
    assert reopens, "some customers reopen"
    pauses = [e for e in events if getattr(e, "to_status", None) == "pending_customer"]
    assert pauses, "some tickets wait on the customer"
    created = [e for e in events if e.kind == "ticket_created"]
    assert len({getattr(e, "channel", None) for e in created}) >= 3
    assert len({getattr(e, "type", None) for e in created}) >= 3
    # work still in hand at the end of the day is finished: everything ends resolved
    for ticket_id in result.ticket_ids:
        assert desk.get_ticket(ADMIN, ticket_id).status == "resolved"
    # the SLA outcome and the Erlang C estimate per hour
    assert result.sla is not None
    metrics = {r["metric"]: r for r in result.sla.rows}
    assert set(metrics) == {"first_response", "resolution"}
    assert 0 <= metrics["first_response"]["compliance"] <= 1
    busy = [h for h in result.hours if h.arrivals]
    assert all(h.erlang_c_agents >= 1 and h.agents_on_shift == h.erlang_c_agents for h in busy)
    assert volumes(events, start=DAY, end=DAY, tz="Asia/Shanghai").rows[0]["tickets"] == len(
        result.ticket_ids
    )


def test_understaffing_shows_as_pressure() -> None:
    staffed = simulate(make_desk(), seed=5, day=DAY, profile=SMALL)
    short = simulate(
        make_desk(),
        seed=5,
        day=DAY,
        profile=DayProfile(
            peak_per_hour=40, hours=(9, 10, 11), pending_share=0.3, reopen_share=0.2,
            staffing_factor=0.5,
        ),
    )  # fmt: skip

    def waited(result: Any) -> float:
        return sum(h.mean_wait_seconds * h.picked_up for h in result.hours if h.picked_up)

    assert waited(short) > 2 * waited(staffed)


def test_simulates_on_sqlite(tmp_path: Path) -> None:
    desk = make_desk(f"sqlite:///{tmp_path / 'sim.db'}")
    profile = DayProfile(peak_per_hour=20, hours=(10,))
    result = simulate(desk, seed=1, day=DAY, profile=profile)
    assert result.ticket_ids
    assert result.commands >= 3 * len(result.ticket_ids)
    desk.close()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"seed": "x"}, "seed"),
        ({"day": "2026-11-11"}, "day"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {"seed": 1, "day": DAY, **kwargs}
    with pytest.raises(ValidationError) as info:
        simulate(make_desk(), **args)
    assert info.value.field == field
    with pytest.raises(ValidationError) as bad:
        DayProfile(pending_share=1.5)
    assert bad.value.field == "pending_share"
