"""End-to-end commands through the facade (R-TKT-1..4)."""

from __future__ import annotations

from helpdesk_core import Actor, Helpdesk


def test_open_reply_pause_resolve(desk: Helpdesk, agent: Actor, customer: Actor) -> None:
    t = desk.open_ticket(
        customer, subject="Parcel arrived broken", channel="email", type="complaint"
    )
    assert t.status == "new" and t.requester == customer.id and t.version == 1
    t = desk.assign(agent, t.id, agent.id, team="after-sales")
    assert (t.assignee, t.status) == (agent.id, "assigned")
    t = desk.reply(agent, t.id, "Sending a replacement", status="pending_customer")
    assert t.status == "pending_customer"
    t = desk.reply(customer, t.id, "Thanks, address unchanged")
    assert t.status == "in_progress"
    t = desk.set_status(agent, t.id, "resolved")
    assert t.status_category == "solved"
    history = desk.history(agent, t.id)
    assert [e.seq for e in history] == list(range(1, t.version + 1))
