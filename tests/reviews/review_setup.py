"""Shared set-up of the review tests: a desk with a business calendar, an SLA, a P1 breach
escalation that opens a review, a service director (``manager``) in the directory, on each
store kind."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from helpdesk_core import Actor, Agent, Helpdesk, Review, Ticket, hookimpl
from helpdesk_core.testing import FixedClock, RecordingNotifier

SH = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=SH)

CONFIG: dict[str, Any] = {
    "desk": {"default_team": "after-sales", "timezone": "Asia/Shanghai"},
    "calendars": {
        "office": {"tz": "Asia/Shanghai", "week": {"mon-fri": ["09:00-12:00", "13:00-18:00"]}}
    },
    "sla": {
        "calendar": "office",
        "policies": [
            {
                "name": "standard",
                "targets": {
                    "urgent": {"first_response": "30m", "resolution": "4h"},
                    "high": {"first_response": "1h", "resolution": "8h"},
                    "normal": {"first_response": "4h", "resolution": "3d"},
                },
            }
        ],
    },
    "escalation": {
        "policies": [
            {
                "name": "p1",
                "levels": [
                    {
                        "trigger": {"sla": "resolution", "breached": True},
                        "notify": ["manager"],
                        "review": True,
                    }
                ],
            }
        ]
    },
}

ADMIN = Actor(id="root", roles={"admin"})
AGENT = Actor(id="a-17", roles={"agent"}, team="after-sales", department="service")
TEAMMATE = Actor(id="a-18", roles={"agent"}, team="after-sales", department="service")
OUTSIDER = Actor(id="a-99", roles={"agent"}, team="tech", department="engineering")
DIRECTOR = Actor(id="m-1", roles={"manager"})
CUSTOMER = Actor(id="C1", roles={"customer"})


class Observer:
    """Records the ``helpdesk_open_review`` calls and delivered notifications."""

    def __init__(self) -> None:
        self.opened: list[tuple[str, str, str | None]] = []
        self.notifier = RecordingNotifier()

    @hookimpl
    def helpdesk_open_review(self, ticket: Ticket, key: str, review: Review | None) -> None:
        self.opened.append((ticket.id, key, None if review is None else review.id))

    @hookimpl
    def helpdesk_register_notifiers(self, config: object) -> list[RecordingNotifier]:
        return [self.notifier]


@pytest.fixture
def observer() -> Observer:
    return Observer()


@pytest.fixture
def review_desk(store_url: str, observer: Observer) -> Iterator[Helpdesk]:
    with Helpdesk(
        config=CONFIG,
        storage_url=store_url,
        clock=FixedClock(MONDAY),
        plugins=[observer],
        load_entrypoints=False,
    ) as desk:
        desk.save_agent(ADMIN, Agent(id="a-17", name="Ann", team="after-sales"))
        desk.save_agent(ADMIN, Agent(id="m-1", name="Director", roles={"manager"}))
        yield desk


def p1_ticket(desk: Helpdesk, priority: str = "urgent") -> Ticket:
    """A P1 ticket of the after-sales team, assigned to AGENT, answered after 10 minutes."""
    ticket = desk.open_ticket(
        AGENT, customer_id="C1", subject="Checkout down", channel="phone", priority=priority,
        now=MONDAY,
    )  # fmt: skip
    desk.assign(AGENT, ticket.id, AGENT.id, now=MONDAY)
    desk.reply(AGENT, ticket.id, "We are on it", now=MONDAY.replace(minute=10))
    return ticket
