"""desk.report through the one door: ``report.view`` scopes in the default matrix (R-RPT-3)."""

from __future__ import annotations

from datetime import date

import pytest

from helpdesk_core import Actor, Helpdesk, PermissionDenied, ValidationError
from helpdesk_core.testing import FixedClock

CONFIG = {
    "desk": {"timezone": "Asia/Shanghai"},
    "permissions": {"teams": {"after-sales": "service", "tech": "engineering"}},
}
AGENT = Actor(id="a-1", roles={"agent"}, team="after-sales", department="service")
SUPERVISOR = Actor(id="s-1", roles={"supervisor"}, team="after-sales", department="service")
MANAGER = Actor(id="m-1", roles={"manager"})
CUSTOMER = Actor(id="C1", roles={"customer"})
ADMIN = Actor(id="root", roles={"admin"})
DAY = date(2026, 11, 2)


def _total(desk: Helpdesk, actor: Actor) -> int:
    report = desk.report(actor, "volumes", start=DAY, end=DAY)
    return sum(int(row["tickets"]) for row in report.rows)


def test_each_role_reads_the_figures_of_its_scope() -> None:
    with Helpdesk(
        config=CONFIG, clock=FixedClock("2026-11-02T10:00:00+08:00"), load_entrypoints=False
    ) as desk:
        mine = desk.open_ticket(ADMIN, subject="a", channel="email", team="after-sales")
        desk.assign(ADMIN, mine.id, AGENT.id)
        desk.open_ticket(ADMIN, subject="b", channel="email", team="after-sales")
        desk.open_ticket(ADMIN, subject="c", channel="email", team="tech")
        assert _total(desk, AGENT) == 1  # their own
        assert _total(desk, SUPERVISOR) == 2  # their department
        assert _total(desk, MANAGER) == 3 == _total(desk, ADMIN)  # the whole desk
        with pytest.raises(PermissionDenied):
            desk.report(CUSTOMER, "volumes", start=DAY, end=DAY)
        with pytest.raises(ValidationError, match="name"):
            desk.report(ADMIN, "nosuch", start=DAY, end=DAY)
        assert (
            "tickets" in desk.report(ADMIN, "volumes", start=DAY, end=DAY).to_csv().splitlines()[0]
        )
