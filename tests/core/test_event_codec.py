"""The event codec's fast paths (issue 24: reports decode millions of stored events) keep its
contract: UTC instants, exact round trips, unknown fields refused, folds equal attrs.evolve."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk_core.errors import ValidationError
from helpdesk_core.model.events import Replied, _evolve, event_from_dict, event_to_dict, to_utc
from helpdesk_core.testing.storage_contract import assign_event, new_ticket

ZONES = st.sampled_from([UTC, timezone(timedelta(hours=8)), ZoneInfo("Europe/Berlin")])


@given(
    at=st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=ZONES)
)
def test_to_utc_gives_the_same_instant_in_utc(at: datetime) -> None:
    """R-DATA: every stored instant is UTC; the fast path changes nothing but speed."""
    converted = to_utc(at)
    # timestamps: PEP 495 makes an ambiguous local time unequal to every other zone's
    assert converted.timestamp() == at.timestamp() and converted.microsecond == at.microsecond
    assert converted.tzinfo is UTC and not converted.fold
    assert to_utc(converted) is converted  # already UTC: kept as it is
    assert to_utc(converted.isoformat()) == converted


def test_naive_instants_and_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        to_utc(datetime(2026, 11, 2, 9))
    event = Replied(
        ticket_id="t1", seq=2, at="2026-11-02T09:00:00+08:00", actor="a1", message_id="m1",
        body="b", channel="email",
    )  # fmt: skip
    data = event_to_dict(event)
    assert event_from_dict(data) == event
    assert event_to_dict(event_from_dict(data)) == data
    with pytest.raises(ValidationError) as info:
        event_from_dict({**data, "colour": "red"})
    assert info.value.field == "event" and "colour" in str(info.value)
    with pytest.raises(ValidationError) as unknown:
        event_from_dict({**data, "kind": "nosuch"})
    assert unknown.value.field == "kind"


@given(
    assignee=st.one_of(st.none(), st.text(max_size=5)),
    status=st.text(max_size=5),
    version=st.integers(1, 10**6),
)
def test_the_fast_evolve_equals_attrs_evolve(
    assignee: str | None, status: str, version: int
) -> None:
    """Every ticket event folds through ``_evolve``: it must build what attrs.evolve builds,
    and refuse an unknown field the same way."""
    ticket, _ = new_ticket("t1", 1)
    changes = {"assignee": assignee, "status": status, "version": version}
    assert _evolve(ticket, dict(changes)) == attrs.evolve(ticket, **changes)
    assert ticket.version == 1 and ticket.assignee is None
    with pytest.raises(TypeError):
        _evolve(ticket, {"colour": "red"})
    event = assign_event(ticket, "agent-7")
    folded = ticket.apply(event)
    assert (folded.assignee, folded.version, folded.updated_at) == ("agent-7", 2, event.at)
