"""A short tour of helpdesk_core on SQLite: open, answer, pause, resolve, and the SLA clocks on
a business calendar. The demo data stays in ``helpdesk-demo.db`` (give another database with
``--url``, e.g. ``--url memory://`` or a PostgreSQL URL).

Run: python examples/demo.py [--url sqlite:///helpdesk-demo.db]
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from zoneinfo import ZoneInfo

from helpdesk_core import Actor, Helpdesk
from helpdesk_core.testing import FixedClock

SHANGHAI = ZoneInfo("Asia/Shanghai")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="sqlite:///helpdesk-demo.db")
    url = parser.parse_args().url
    clock = FixedClock("2026-11-02T09:00:00+08:00")  # a Monday morning in Shanghai
    desk = Helpdesk(
        storage_url=url,
        config={
            "desk": {"name": "demo", "timezone": "Asia/Shanghai"},
            "calendars": {
                "support": {
                    "tz": "Asia/Shanghai",
                    "week": {"mon-fri": ["09:00-12:00", "13:00-18:00"]},
                    "preset": "CN-2026",
                }
            },
            "sla": {
                "preset": "per-service",
                "policies": [
                    {
                        "name": "default",
                        "calendar": "support",
                        "targets": {"*": {"first_response": "1h", "resolution": "8h"}},
                        "warnings": {"fractions": [0.75]},
                    },
                ],
            },
        },
        clock=clock,
        load_entrypoints=False,
    )
    agent = Actor(id="a-17", roles={"agent"}, team="after-sales", department="service")
    customers = [Actor(id=f"C2026110200{i}", roles={"customer"}) for i in range(1, 4)]
    subjects = ["Parcel arrived broken", "Invoice needs a tax number", "App crashes on login"]
    types = ["complaint", "consultation", "technical_support"]

    opened = []
    for customer, subject, kind in zip(customers, subjects, types, strict=True):
        opened.append(desk.open_ticket(customer, subject=subject, channel="email", type=kind))
        clock.advance(minutes=3)

    for ticket in opened:
        desk.assign(agent, ticket.id, agent.id, team="after-sales")
        clock.advance(minutes=4)
        desk.reply(agent, ticket.id, "We are on it.", status="pending_customer")
    clock.advance(hours=1)
    desk.reply(customers[0], opened[0].id, "Photos attached.")  # resumes the ticket
    clock.advance(minutes=20)
    desk.set_status(agent, opened[0].id, "resolved")
    desk.set_status(agent, opened[1].id, "resolved")

    print(f"{'number':<18} {'status':<18} {'type':<18} {'age':>8}  subject")
    for ticket in desk.tickets(agent, limit=None):
        age = clock.now() - ticket.created_at
        print(
            f"{ticket.number:<18} {ticket.status:<18} {ticket.type:<18} "
            f"{age // timedelta(minutes=1):>5} min  {ticket.subject}"
        )
    print()
    print(f"history of {opened[0].number}:")
    for event in desk.history(agent, opened[0].id):
        print(
            f"  #{event.seq} {event.at.astimezone(SHANGHAI):%H:%M} {event.actor:<14} {event.kind}"
        )
    print()
    print(f"SLA clocks at {clock.now().astimezone(SHANGHAI):%Y-%m-%d %H:%M} (Shanghai):")
    for ticket in opened:
        for c in desk.sla_status(agent, ticket.id):
            due = f"{c.due_at.astimezone(SHANGHAI):%m-%d %H:%M}" if c.due_at else "(paused)"
            print(
                f"  {ticket.number} {c.metric:<15} {c.policy:<13} {c.state:<9} due {due:<11} "
                f"remaining {c.remaining}"
            )
    desk.dispatch_outbox()
    desk.close()
    print(f"\nkept in {url}; run again to add more tickets to it")


if __name__ == "__main__":
    main()
