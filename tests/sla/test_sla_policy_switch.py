"""A field a policy condition reads changes mid-history: the walk picks the policy again, from
the ticket's original start (and only then: an event that changes nothing the conditions read
keeps the policy without matching again)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from helpdesk_core.config import load_config
from helpdesk_core.model.events import Assigned, Event, FieldsChanged, TicketCreated
from helpdesk_core.sla import SlaConfig, evaluate

T0 = datetime.fromisoformat("2026-11-02T10:00:00+08:00")


def _sla() -> SlaConfig:
    section = load_config(
        {
            "desk": {"timezone": "Asia/Shanghai"},
            "sla": {
                "policies": [
                    {"name": "complaints", "when": {"type": "complaint"},
                     "targets": {"*": {"first_response": "5m"}}},
                    {"name": "north", "when": {"custom.region": "north"},
                     "targets": {"*": {"first_response": "30m"}}},
                    {"name": "standard", "targets": {"*": {"first_response": "2h"}}},
                ]
            },
        }
    ).sections["sla"]  # fmt: skip
    assert isinstance(section, SlaConfig)
    return section


def _history(*changes: dict[str, Any]) -> list[Event]:
    events: list[Event] = [
        TicketCreated(
            ticket_id="t1", seq=1, at=T0, actor="c", number="T1", subject="s",
            type="consultation", priority="normal", channel="email", status="new",
            status_category="new",
        )
    ]  # fmt: skip
    for n, change in enumerate(changes, start=2):
        at = T0 + timedelta(minutes=10 * (n - 1))
        if change:
            events.append(FieldsChanged(ticket_id="t1", seq=n, at=at, actor="a", **change))
        else:
            events.append(Assigned(ticket_id="t1", seq=n, at=at, actor="a", assignee="a-1",
                                   team=None))  # fmt: skip
    return events


@pytest.mark.parametrize(
    ("changes", "policy", "due_minutes", "breached"),
    [
        ((), "standard", 120, False),
        (({},), "standard", 120, False),  # an assignment: nothing the conditions read
        (({"changes": {"type": "complaint"}},), "complaints", 5, True),
        (({}, {"changes": {"type": "complaint"}}), "complaints", 5, True),
        (({"custom": {"region": "north"}},), "north", 30, False),
        (({"custom": {"region": "north"}}, {}, {}, {}), "north", 30, True),
        (({"changes": {"type": "complaint"}}, {"changes": {"type": "consultation"}}),
         "standard", 120, True),  # the complaint's 5 minutes had passed: breached for good
    ],
)  # fmt: skip
def test_a_changed_field_picks_the_policy_again(
    changes: tuple[dict[str, Any], ...], policy: str, due_minutes: int, breached: bool
) -> None:
    events = _history(*changes)
    (clock,) = evaluate(_sla(), events, events[-1].at)
    assert clock.policy == policy
    assert clock.due_at == T0 + timedelta(minutes=due_minutes)
    assert (clock.breached_at is not None) is breached
