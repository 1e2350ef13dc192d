"""The problem record (R-TKT-6): record_workaround on P1/P2 tickets, sent to the customer on
their preferred channel, with an SLA metric of its own ("workaround", due within one business
day here: 8 h on a 09:00-12:00 + 13:00-18:00 calendar), on the memory, SQLite and PostgreSQL
stores; and the ``[surveys]`` / ``[problem_records]`` configuration errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from helpdesk_core import Actor, Agent, ConfigError, Helpdesk, PermissionDenied, ValidationError
from helpdesk_core.config import load_config
from helpdesk_core.testing import FixedClock

CONFIG: dict[str, Any] = {
    "desk": {"default_team": "after-sales", "timezone": "Asia/Shanghai"},
    "calendars": {
        "support": {
            "tz": "Asia/Shanghai",
            "week": {"mon-fri": ["09:00-12:00", "13:00-18:00"]},
        }
    },
    "sla": {
        "policies": [
            {
                "name": "standard",
                "calendar": "support",
                "targets": {
                    "*": {"first_response": "1h"},
                    "urgent": {"workaround": "8h"},
                    "high": {"workaround": "8h"},
                },
            }
        ]
    },
    "storage": {"encryption": "off"},
}
ADMIN = Actor(id="root", roles={"admin"})
AGENT = Actor(id="a-1", roles={"agent"}, team="after-sales")
CUSTOMER = Actor(id="C1", roles={"customer"})
MONDAY = datetime.fromisoformat("2026-11-02T10:00:00+08:00")


@pytest.fixture
def desk(store_url: str) -> Iterator[Helpdesk]:
    with Helpdesk(
        config=CONFIG,
        storage_url=store_url,
        clock=FixedClock(MONDAY),
        load_entrypoints=False,
    ) as d:
        d.save_agent(ADMIN, Agent(id="a-1", name="Ann", team="after-sales"))
        yield d


def urgent(desk: Helpdesk, customer_id: str = "C1") -> str:
    return desk.open_ticket(
        AGENT, subject="Site down", channel="email", customer_id=customer_id, priority="urgent"
    ).id


def clock_of(desk: Helpdesk, ticket_id: str, now: datetime) -> Any:
    return next(c for c in desk.sla_status(AGENT, ticket_id, now=now) if c.metric == "workaround")


def test_r_tkt_6_workaround_is_recorded_sent_and_meets_its_clock(desk: Helpdesk) -> None:
    """R-TKT-6: the workaround and expected resolution are ticket events, the text reaches the
    customer as a public reply, and the workaround clock (one business day) is met by it."""
    ticket_id = urgent(desk)
    running = clock_of(desk, ticket_id, MONDAY + timedelta(hours=1))
    # 8 business hours from Monday 10:00 with a lunch break: Tuesday 10:00
    assert running.state == "running"
    assert running.due_at == datetime.fromisoformat("2026-11-03T10:00:00+08:00")
    expected = datetime.fromisoformat("2026-11-05T18:00:00+08:00")
    at = MONDAY + timedelta(hours=3)
    ticket = desk.record_workaround(
        AGENT, ticket_id, "Use the backup portal meanwhile.", expected_resolution=expected, now=at
    )
    assert ticket.workaround == "Use the backup portal meanwhile."
    assert ticket.expected_resolution_at == expected
    [message] = desk.get_ticket(CUSTOMER, ticket_id).messages  # public: the customer sees it
    assert (message.kind, message.body, message.channel) == (
        "reply",
        "Use the backup portal meanwhile.",
        "email",
    )
    assert desk.history(AGENT, ticket_id)[-1].kind == "workaround_sent"
    met = clock_of(desk, ticket_id, at + timedelta(days=2))
    assert met.state == "met" and met.met_at == at
    first = next(
        c for c in desk.sla_status(AGENT, ticket_id, now=at) if c.metric == "first_response"
    )
    assert first.met_at == at  # the workaround is a public reply to the customer (late here)
    # the requester hears of it through the outbox
    with desk.storage.transaction() as uow:
        kinds = [m.payload.get("kind") for m in uow.outbox() if m.topic == "event"]
    assert "workaround_sent" in kinds


def test_r_tkt_6_a_late_workaround_breaches(desk: Helpdesk) -> None:
    ticket_id = urgent(desk)
    late = datetime.fromisoformat("2026-11-03T11:00:00+08:00")
    desk.record_workaround(AGENT, ticket_id, "Restart the service nightly.", now=late)
    clock = clock_of(desk, ticket_id, late)
    assert clock.state == "breached" and clock.met_at == late


def test_r_tkt_6_preferred_channel_carries_the_workaround(desk: Helpdesk) -> None:
    record = desk.create_customer(ADMIN, name="Wei", phones=["13812345678"])
    desk.update_customer(ADMIN, record.id, preferred_channel="phone")
    ticket_id = urgent(desk, record.id)
    ticket = desk.record_workaround(AGENT, ticket_id, "Call us to switch lines.")
    assert ticket.messages[-1].channel == "phone"


def test_r_tkt_6_only_where_a_problem_record_applies(desk: Helpdesk) -> None:
    """R-TKT-6: P1/P2 (urgent, high) by default; a normal ticket has no workaround clock and
    refuses a problem record; customers may not record one."""
    normal = desk.open_ticket(AGENT, subject="Question", channel="email", customer_id="C1")
    assert all(c.metric != "workaround" for c in desk.sla_status(AGENT, normal.id))
    with pytest.raises(ValidationError) as refused:
        desk.record_workaround(AGENT, normal.id, "Try again later.")
    assert refused.value.field == "ticket_id"
    assert desk.get_ticket(AGENT, normal.id).version == normal.version
    ticket_id = urgent(desk)
    with pytest.raises(PermissionDenied):
        desk.record_workaround(CUSTOMER, ticket_id, "I found a way myself.")
    for bad, field in (("", "text"), ("\x00", "text")):
        with pytest.raises(ValidationError) as caught:
            desk.record_workaround(AGENT, ticket_id, bad)
        assert caught.value.field == field
    with pytest.raises(ValidationError) as naive:
        desk.record_workaround(
            AGENT, ticket_id, "ok", expected_resolution=datetime(2026, 11, 5, 18, 0)
        )
    assert naive.value.field == "expected_resolution"


def test_r_tkt_6_problem_records_opt_in_by_config() -> None:
    config = {**CONFIG, "problem_records": {"priorities": ["normal"]}}
    with Helpdesk(config=config, clock=FixedClock(MONDAY), load_entrypoints=False) as desk:
        desk.save_agent(ADMIN, Agent(id="a-1", name="Ann", team="after-sales"))
        normal = desk.open_ticket(AGENT, subject="Q", channel="email", customer_id="C1")
        assert desk.record_workaround(AGENT, normal.id, "Meanwhile, use the app.").workaround
        with pytest.raises(ValidationError):
            desk.record_workaround(AGENT, urgent(desk), "Not in the list now.")


@pytest.mark.parametrize(
    ("section", "path"),
    [
        ({"surveys": {"answer_window": "soon"}}, "surveys.answer_window"),
        ({"surveys": {"answer_window": "-1h"}}, "surveys.answer_window"),
        ({"surveys": {"unsatisfied_at_most": 6}}, "surveys.unsatisfied_at_most"),
        ({"surveys": {"unsatisfied_at_most": True}}, "surveys.unsatisfied_at_most"),
        ({"surveys": {"on_unsatisfied": "refund"}}, "surveys.on_unsatisfied"),
        ({"surveys": {"enabled": "yes"}}, "surveys.enabled"),
        ({"surveys": {"window": "1h"}}, "surveys.window"),
        ({"problem_records": {"priorities": ["p9"]}}, "problem_records.priorities[0]"),
        ({"problem_records": {"priorities": "urgent"}}, "problem_records.priorities"),
        (
            {"sla": {"metrics": [{"name": "workaround", "start_on": "x", "stop_on": "y"}]}},
            "sla.metrics[0].name",
        ),
    ],
)
def test_configuration_errors_name_their_key_path(section: dict[str, Any], path: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(section)
    assert caught.value.path == path


def test_r_csat_1_answer_window_is_a_duration_like_any_other() -> None:
    """R-CSAT-1: the window defaults to 24 h and reads durations as config does elsewhere."""
    assert load_config({}).sections.get("surveys") is None
    parsed = load_config({"surveys": {"answer_window": "2d", "on_unsatisfied": "follow_up"}})
    settings = parsed.sections["surveys"]
    assert settings.answer_window == timedelta(days=2)
    assert settings.on_unsatisfied == "follow_up" and settings.unsatisfied_at_most == 2
    iso = load_config({"surveys": {"answer_window": "PT36H"}}).sections["surveys"]
    assert iso.answer_window == timedelta(hours=36)
