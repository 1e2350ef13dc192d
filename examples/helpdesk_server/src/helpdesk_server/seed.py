"""Seed a desk with demo data: named customers and their tickets, a simulated busy day (the
seeded simulator of :mod:`helpdesk_core.simulate`), this morning's queue in every state (some
breached), and knowledge-base articles in every state. Every write is a facade command with
``now`` given, so the data is what a real desk would hold."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import attrs

from helpdesk_core import Actor, Helpdesk
from helpdesk_core.model.people import Agent
from helpdesk_core.simulate import DayProfile, simulate
from helpdesk_server.settings import DemoSettings, ServerSettings

ADMIN = Actor(id="demo-seeder", roles={"admin"}, name="demo seeder")

CUSTOMERS = (
    ("Lin Wei", "lin.wei@example.com", "+8613800000001"),
    ("Maria Rossi", "maria.rossi@example.com", "+390600000002"),
    ("Kenji Sato", "kenji.sato@example.com", "+81300000003"),
    ("Amara Okafor", "amara.okafor@example.com", "+234100000004"),
    ("Jonas Berg", "jonas.berg@example.com", "+46800000005"),
    ("Chen Jie", "chen.jie@example.com", "+8613800000006"),
)

SUBJECTS = (
    ("Parcel arrived broken", "after_sales", "high"),
    ("Invoice needs a tax number", "consultation", "normal"),
    ("App crashes on login", "technical_support", "urgent"),
    ("Refund not received after 10 days", "complaint", "high"),
    ("How do I change my delivery address?", "consultation", "low"),
    ("Wrong size delivered", "after_sales", "normal"),
    ("Password reset email never arrives", "technical_support", "high"),
    ("Courier was rude on the phone", "complaint", "normal"),
)

ARTICLES = (
    ("faq", "How to change the delivery address", "The order is not shipped yet.",
     ["Open the order", "Choose 'change address'", "Confirm with the SMS code"], "published"),
    ("product_guide", "Resetting your password", "The password reset email does not arrive.",
     ["Check the spam folder", "Add noreply@example.com to contacts", "Request a new link"],
     "published"),
    ("complaint_script", "Answering a damaged parcel complaint", "A parcel arrived broken.",
     ["Apologise", "Ask for photos of the parcel", "Offer a replacement or a refund"],
     "published"),
    ("faq", "When does a refund arrive?", "The customer waits for a refund.",
     ["Refunds take 3-5 business days", "Bank transfers can take 10 days"], "published"),
    ("incident", "Login crash on app version 5.2", "The app crashes right after login.",
     ["Update to 5.2.1", "Clear the app cache"], "in_review"),
    ("faq", "Invoices with a tax number", "Business customers need a tax number on invoices.",
     ["Add the tax number in the account settings", "Ask support to reissue the invoice"],
     "draft"),
)  # fmt: skip


@attrs.frozen
class SeedSummary:
    customers: int
    simulated_tickets: int
    queue_tickets: int
    articles: int


def seed_demo(
    desk: Helpdesk,
    settings: ServerSettings,
    *,
    now: datetime,
    progress: Callable[[str], None] = lambda message: None,
) -> SeedSummary:
    """Fill an empty desk with demo data as of ``now`` (see the module doc)."""
    demo: DemoSettings = settings.demo
    rng = random.Random(demo.seed)
    zone = ZoneInfo(desk.config.desk.timezone)
    staff = [u for u in settings.users if not u.actor().is_customer]
    progress("customers")
    start = now - timedelta(days=3)
    customers = []
    for name, email, phone in CUSTOMERS[: demo.customers]:
        customers.append(
            desk.create_customer(
                ADMIN, name=name, emails=[email], phones=[phone], tier="normal", now=start
            )
        )
    progress("a simulated day (the seeded simulator)")
    yesterday = (now.astimezone(zone) - timedelta(days=1)).date()
    day = simulate(
        # simulate's protocol spells the facade's keyword arguments as **kwargs
        cast(Any, desk),
        seed=demo.seed,
        day=yesterday,
        profile=DayProfile(
            peak_per_hour=demo.peak_per_hour, team="service", hours=tuple(range(8, 22))
        ),
    )
    # the directory, once the simulation's agents (agent-000...) are known: assignees must be
    # in it from now on
    simulated = {t.assignee for t in desk.tickets(ADMIN, limit=None) if t.assignee}
    named = {u.id: u for u in staff if u.team is not None}
    for agent_id in sorted(simulated | set(named)):
        user = named.get(agent_id)
        agent = Agent(
            id=agent_id,
            name=user.name if user else f"Agent {agent_id.removeprefix('agent-')}",
            team=user.team if user else "service",
            department=user.department if user else "customer-care",
            roles=frozenset(user.roles if user else ("agent",)),
            online=True,
        )
        desk.save_agent(ADMIN, agent, now=now)
    progress("this morning's queue")
    agents = [u.actor() for u in staff if "agent" in u.roles] or [ADMIN]
    queue = 0
    for i, customer in enumerate(customers):
        actor = Actor(id=customer.id, roles={"customer"}, name=customer.name)
        for j in range(3):
            subject, kind, priority = SUBJECTS[(i * 3 + j) % len(SUBJECTS)]
            opened = now - timedelta(minutes=rng.randint(10, 300))
            ticket = desk.open_ticket(
                actor, subject=subject, channel=rng.choice(["email", "web_form", "web_chat"]),
                type=kind, priority=priority, description=f"{subject}. Order 2026-{1000 + i}.",
                now=opened,
            )  # fmt: skip
            queue += 1
            _advance(desk, ticket.id, actor, agents[(i + j) % len(agents)], (i + j) % 6, opened)
    for k in range(6):  # a few more waiting in the team queue, half of them breached by now
        subject, kind, priority = SUBJECTS[k % len(SUBJECTS)]
        requester = Actor(id=f"walk-in-{k + 1:03d}", roles={"customer"})
        # a day back, a whole day of business hours has passed (breached at any hour the demo
        # starts, also at night when the support calendar is closed); the others are recent
        waited = timedelta(minutes=20 + 40 * k) + (
            timedelta(days=1) if k % 2 == 0 else timedelta(0)
        )
        desk.open_ticket(
            requester, subject=subject, channel="phone", type=kind, priority=priority,
            now=now - waited,
        )  # fmt: skip
        queue += 1
    progress("knowledge base")
    for category, title, problem, steps, state in ARTICLES:
        article = desk.create_article(
            ADMIN, category=category, title=title, problem=problem, steps=steps, now=start
        )
        if state in ("in_review", "published"):
            desk.submit_article(ADMIN, article.id, now=start)
        if state == "published":
            desk.publish_article(ADMIN, article.id, now=start)
    return SeedSummary(len(customers), len(day.ticket_ids), queue, len(ARTICLES))


def _advance(
    desk: Helpdesk, ticket_id: str, customer: Actor, agent: Actor, stage: int, opened: datetime
) -> None:
    """Move a ticket along: 0 new, 1 assigned, 2 in progress (answered), 3 waiting on the
    customer, 4 resolved, 5 closed."""
    if stage == 0:
        return
    at = opened + timedelta(minutes=5)
    desk.assign(ADMIN, ticket_id, agent.id, team="service", now=at)
    if stage == 1:
        return
    at += timedelta(minutes=3)
    desk.reply(agent, ticket_id, "Thank you, we are looking into it.", status="in_progress", now=at)
    if stage == 2:
        return
    at += timedelta(minutes=3)
    if stage == 3:
        desk.reply(agent, ticket_id, "Could you send a photo?", status="pending_customer", now=at)
        return
    desk.reply(agent, ticket_id, "Solved: a replacement is on its way.", status="resolved", now=at)
    if stage == 5:
        desk.set_status(customer, ticket_id, "closed", now=at + timedelta(minutes=1))
