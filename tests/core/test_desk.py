"""The facade's commands and queries (R-TKT-1..6, DESIGN data flow)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from helpdesk_core import (
    Actor,
    ConcurrencyConflict,
    Helpdesk,
    NotFound,
    Ticket,
    ValidationError,
    hookimpl,
)
from helpdesk_core.model.events import (
    Event,
    FieldsChanged,
    Merged,
    MergeReceived,
    event_from_dict,
    event_to_dict,
)
from helpdesk_core.testing import FixedClock, RecordingNotifier


def _open(desk: Helpdesk, customer: Actor, subject: str = "Broken parcel") -> Ticket:
    return desk.open_ticket(customer, subject=subject, channel="email", type="complaint")


def test_every_event_round_trips_through_its_dict(
    desk: Helpdesk, agent: Actor, customer: Actor, clock: FixedClock
) -> None:
    a, b = _open(desk, customer), _open(desk, customer, "Second")
    desk.assign(agent, a.id, agent.id, team="after-sales")
    desk.reply(agent, a.id, "hi", status="pending_customer")
    desk.add_note(agent, a.id, "internal")
    desk.reply(customer, a.id, "more info")
    desk.set_priority(agent, a.id, "high", reason="VIP")
    desk.update_ticket(
        agent,
        a.id,
        fields={
            "sub_category": "damage",
            "expected_resolution_at": clock.now() + timedelta(days=1),
        },
        add_tags=["refund"],
    )
    desk.link(agent, a.id, b.id, relation="duplicate_of")
    desk.split(agent, a.id, [desk.get_ticket(agent, a.id).messages[0].id], subject="Split")
    desk.merge(agent, b.id, a.id)
    events: list[Event] = desk.history(agent, a.id) + desk.history(agent, b.id)
    kinds = {e.kind for e in events}
    assert {"assigned", "replied", "note_added", "customer_messaged", "priority_changed"} <= kinds
    assert {"fields_changed", "linked", "split_off", "merged", "merge_received"} <= kinds
    for event in events:
        assert event_from_dict(event_to_dict(event)) == event
    assert Ticket.from_events(desk.history(agent, a.id)) == desk.get_ticket(agent, a.id)


def test_merge_keeps_both_histories(desk: Helpdesk, agent: Actor, customer: Actor) -> None:
    target, source = _open(desk, customer), _open(desk, customer, "Same problem again")
    desk.reply(customer, source.id, "photo attached")
    merged = desk.merge(agent, source.id, target.id)
    closed = desk.get_ticket(agent, source.id)
    assert closed.merged_into == target.id and closed.status == "merged"
    assert closed.status_category == "closed"
    assert source.id in merged.merged_from
    assert [m.body for m in merged.messages] == ["photo attached"]
    assert isinstance(desk.history(agent, source.id)[-1], Merged)
    assert isinstance(desk.history(agent, target.id)[-1], MergeReceived)
    with pytest.raises(ValidationError, match="already merged"):
        desk.merge(agent, source.id, target.id)
    with pytest.raises(ValidationError, match="itself"):
        desk.merge(agent, target.id, target.id)


def test_split_moves_messages_to_a_linked_ticket(
    desk: Helpdesk, agent: Actor, customer: Actor
) -> None:
    t = _open(desk, customer)
    t = desk.reply(customer, t.id, "also, my invoice is wrong")
    new = desk.split(agent, t.id, [t.messages[0].id], subject="Invoice is wrong")
    assert new.split_from == t.id and new.requester == customer.id
    assert [m.body for m in new.messages] == ["also, my invoice is wrong"]
    assert ("split_to", new.id) in desk.get_ticket(agent, t.id).links
    with pytest.raises(ValidationError, match="message_ids"):
        desk.split(agent, t.id, ["nope"], subject="x")


def test_link_records_inverse(desk: Helpdesk, agent: Actor, customer: Actor) -> None:
    a, b = _open(desk, customer), _open(desk, customer)
    desk.link(agent, a.id, b.id, relation="parent_of")
    assert ("parent_of", b.id) in desk.get_ticket(agent, a.id).links
    assert ("child_of", a.id) in desk.get_ticket(agent, b.id).links
    with pytest.raises(ValidationError, match="relation"):
        desk.link(agent, a.id, b.id, relation="likes")


def test_unknown_ticket_is_not_found(desk: Helpdesk, agent: Actor) -> None:
    with pytest.raises(NotFound):
        desk.get_ticket(agent, "nope")
    with pytest.raises(NotFound):
        desk.reply(agent, "nope", "hello")


def test_bad_input_names_the_field_and_stores_nothing(
    desk: Helpdesk, agent: Actor, customer: Actor
) -> None:
    for kwargs, field in [
        ({"subject": " ", "channel": "email"}, "subject"),
        ({"subject": "s", "channel": "pigeon"}, "channel"),
        ({"subject": "s", "channel": "email", "priority": "p0"}, "priority"),
        ({"subject": "s", "channel": "email", "type": "praise"}, "type"),
        ({"subject": "s", "channel": "email", "tags": "vip"}, "tags"),
    ]:
        with pytest.raises(ValidationError) as info:
            desk.open_ticket(agent, customer_id="C1", **kwargs)  # type: ignore[arg-type]
        assert info.value.field == field
    assert desk.tickets(agent) == []
    t = desk.get_ticket(agent, _open(desk, customer).id)
    with pytest.raises(ValidationError, match="body"):
        desk.reply(agent, t.id, "")
    with pytest.raises(ValidationError, match=r"fields\.status"):
        desk.update_ticket(agent, t.id, fields={"status": "closed"})
    assert desk.get_ticket(agent, t.id) == t


def test_expected_version_detects_a_stale_client(
    desk: Helpdesk, agent: Actor, customer: Actor
) -> None:
    t = _open(desk, customer)
    desk.reply(agent, t.id, "first")
    with pytest.raises(ConcurrencyConflict) as info:
        desk.reply(agent, t.id, "second", expected_version=t.version)
    assert info.value.current_version == t.version + 1


def test_tickets_filters_and_pages(desk: Helpdesk, agent: Actor, clock: FixedClock) -> None:
    made = []
    for i in range(12):
        made.append(
            desk.open_ticket(
                agent,
                customer_id=f"C{i % 3}",
                subject=f"t{i}",
                channel="email",
                priority=["high", "normal"][i % 2],
                tags=["vip"] if i % 4 == 0 else [],
            )
        )
        clock.advance(minutes=1)
    assert [t.id for t in desk.tickets(agent, priority="high")] == [t.id for t in made[::2]]
    assert len(desk.tickets(agent, requester="C1")) == 4
    assert len(desk.tickets(agent, tag="vip")) == 3
    assert desk.count_tickets(agent, priority=["high", "normal"]) == 12
    pages, after = [], None
    while page := desk.tickets(agent, limit=5, after=after, descending=True):
        pages.append([t.id for t in page])
        after = (page[-1].created_at, page[-1].id)
    assert [len(p) for p in pages] == [5, 5, 2]
    assert [i for p in pages for i in p] == [t.id for t in reversed(made)]


def test_observer_hook_sees_committed_events_in_order(
    clock: FixedClock, agent: Actor, customer: Actor
) -> None:
    seen: list[tuple[str, int]] = []

    class Observer:
        @hookimpl
        def helpdesk_event_committed(self, event: Event, ticket: Ticket) -> None:
            seen.append((event.kind, ticket.version))
            raise RuntimeError("observers cannot break commands")

    desk = Helpdesk(clock=clock, plugins=[Observer()], load_entrypoints=False)
    t = desk.open_ticket(customer, subject="s", channel="email")
    desk.assign(agent, t.id, agent.id)
    assert seen == [("ticket_created", 1), ("assigned", 3), ("status_changed", 3)]


def test_outbox_delivers_at_least_once_with_retries(
    desk: Helpdesk,
    notifier: RecordingNotifier,
    agent: Actor,
    supervisor: Actor,
    customer: Actor,
    clock: FixedClock,
) -> None:
    t = _open(desk, customer)
    desk.assign(supervisor, t.id, agent.id)
    desk.reply(agent, t.id, "We are on it")
    notifier.fail_times = 1
    handled = desk.dispatch_outbox()
    assert handled == 4
    pending = [m for m in _outbox(desk) if m.state == "pending" and m.attempts == 1]
    assert len(pending) == 1 and "ConnectionError" in (pending[0].last_error or "")
    assert desk.dispatch_outbox() == 0  # back-off: not yet
    clock.advance(minutes=1)
    assert desk.dispatch_outbox() == 1
    assert {m.state for m in _outbox(desk)} == {"delivered"}
    recipients = sorted((n.event_kind, n.recipient) for n in notifier.sent)
    assert ("replied", customer.id) in recipients and ("assigned", agent.id) in recipients
    assert len(set(notifier.keys)) == len(notifier.keys)


def _outbox(desk: Helpdesk) -> list:  # type: ignore[type-arg]
    with desk.storage.transaction() as uow:
        return uow.outbox()


def test_fields_changed_only_records_real_changes(
    desk: Helpdesk, agent: Actor, customer: Actor
) -> None:
    t = _open(desk, customer)
    same = desk.update_ticket(agent, t.id, fields={"subject": t.subject})
    assert same.version == t.version
    t2 = desk.update_ticket(agent, t.id, fields={"subject": "New"}, add_tags=["x"])
    event = desk.history(agent, t.id)[-1]
    assert isinstance(event, FieldsChanged) and event.changes == {"subject": "New"}
    assert t2.tags == {"x"}
