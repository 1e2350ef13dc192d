"""Customer commands and queries (R-CUS-1..5), through the one command path.

Scope: an actor sees the customers who are requesters of tickets it may view (both its
``customer.view`` and ``ticket.view`` scopes over the ticket); a hidden customer reads exactly
like a missing one. Contacts are masked (R-CUS-2) unless the actor may see contact data on every
ticket (``customer.view_contact`` without a scope). The profile rules are
:mod:`helpdesk_core.customers`; the loads and saves :mod:`helpdesk_core.customer_commands`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from helpdesk_core import validation as check
from helpdesk_core.conditions import Condition
from helpdesk_core.customer_commands import (
    create_customer_in,
    customer_history_in,
    customer_visible,
    find_customer_in,
    get_customer_in,
    list_customers_in,
    merge_customers_in,
    record_customer_fact_in,
    requester_condition,
    update_customer_in,
)
from helpdesk_core.customer_summary import TicketStats
from helpdesk_core.customer_summary import customer_summary as summary_text
from helpdesk_core.customers import customers_config, present_customer, present_customer_event
from helpdesk_core.errors import ValidationError
from helpdesk_core.model.customers import Customer, CustomerEvent
from helpdesk_core.model.people import Actor
from helpdesk_core.model.tickets import Ticket
from helpdesk_core.service.runner import ActorView, Call, Runner


def requester_scope(view: ActorView) -> Condition | None:
    """The tickets whose requesters the actor may see as customers; ``None`` for everyone."""
    return requester_condition(view.scope("customer.view"), view.scope("ticket.view"))


def _contacts(view: ActorView) -> bool:
    return view.may("customer.view_contact")


def _visible(call: Call, customer_id: str) -> Customer:
    """The customer if the actor may see it; NotFound for hidden and missing alike."""
    check.ident(customer_id, "customer_id")
    return get_customer_in(call.uow, customer_id, requester_scope(call.view))


def create_customer(
    runner: Runner,
    actor: Actor,
    *,
    name: str,
    kind: str,
    emails: Iterable[str],
    phones: Iterable[str],
    organisation: str | None,
    industry: str | None,
    tier: str,
    tags: Iterable[str],
    now: datetime | None,
) -> Customer:
    def body(call: Call) -> Customer:
        call.authorise("customer.edit")
        created = create_customer_in(
            call.uow,
            actor=actor.id,
            now=call.at,
            settings=customers_config(runner.config),
            timezone=runner.config.desk.timezone,
            name=name,
            kind=kind,
            emails=emails,
            phones=phones,
            organisation=organisation,
            industry=industry,
            tier=tier,
            tags=tags,
        )
        return present_customer(created, _contacts(call.view))

    return runner.run(actor, "customer.edit", None, now, body)


def get_customer(
    runner: Runner, actor: Actor, customer_id: str, *, now: datetime | None
) -> Customer:
    def body(call: Call) -> Customer:
        call.authorise("customer.view", target=f"customer:{customer_id}")
        return present_customer(_visible(call, customer_id), _contacts(call.view))

    return runner.run(actor, "customer.view", customer_id, now, body)


def find_customer(
    runner: Runner,
    actor: Actor,
    *,
    email: str | None,
    phone: str | None,
    now: datetime | None,
) -> Customer | None:
    """The visible customer with this email and/or phone, or ``None`` (also when hidden)."""
    if email is not None:
        check.text(email, "email", limit=check.MAX_NAME * 3)
    if phone is not None:
        check.text(phone, "phone", limit=check.MAX_NAME)

    def body(call: Call) -> Customer | None:
        call.authorise("customer.view")
        found = find_customer_in(call.uow, email=email, phone=phone)
        if found is None or not customer_visible(call.uow, found.id, requester_scope(call.view)):
            return None
        return present_customer(found, _contacts(call.view))

    return runner.run(actor, "customer.view", None, now, body)


def customers(
    runner: Runner,
    actor: Actor,
    *,
    tier: str | None,
    tag: str | None,
    organisation: str | None,
    after: str | None,
    limit: int,
    now: datetime | None,
) -> list[Customer]:
    def body(call: Call) -> list[Customer]:
        call.authorise("customer.view")
        found = list_customers_in(
            call.uow,
            requester_of=requester_scope(call.view),
            settings=customers_config(runner.config),
            tier=tier,
            tag=tag,
            organisation=organisation,
            after=after,
            limit=limit,
        )
        contacts = _contacts(call.view)
        return [present_customer(c, contacts) for c in found]

    return runner.run(actor, "customer.view", None, now, body)


def update_customer(
    runner: Runner,
    actor: Actor,
    customer_id: str,
    changes: Mapping[str, Any],
    *,
    expected_version: int | None,
    now: datetime | None,
) -> Customer:
    check.optional_version(expected_version)
    if not changes:
        raise ValidationError("changes", "name at least one field to change")

    def body(call: Call) -> Customer:
        call.authorise("customer.edit", target=f"customer:{customer_id}")
        _visible(call, customer_id)
        changed = update_customer_in(
            call.uow,
            customer_id,
            changes,
            actor=actor.id,
            now=call.at,
            settings=customers_config(runner.config),
            expected_version=expected_version,
        )
        return present_customer(changed, _contacts(call.view))

    return runner.run(actor, "customer.edit", customer_id, now, body)


def record_customer_fact(
    runner: Runner,
    actor: Actor,
    customer_id: str,
    name: str,
    value: Any,
    *,
    now: datetime | None,
) -> Customer:
    check.label(name, "name")

    def body(call: Call) -> Customer:
        call.authorise("customer.edit", target=f"customer:{customer_id}")
        _visible(call, customer_id)
        changed = record_customer_fact_in(
            call.uow,
            customer_id,
            name,
            value,
            actor=actor.id,
            now=call.at,
            settings=customers_config(runner.config),
        )
        return present_customer(changed, _contacts(call.view))

    return runner.run(actor, "customer.edit", customer_id, now, body)


def merge_customers(
    runner: Runner, actor: Actor, source_id: str, into_id: str, *, now: datetime | None
) -> Customer:
    """Tickets follow the survivor (a ``requester_changed`` event on each); both profiles keep
    their histories."""

    def body(call: Call) -> Customer:
        call.authorise("customer.edit", target=f"customer:{source_id}")
        _visible(call, source_id)
        _visible(call, into_id)
        merged = merge_customers_in(
            call.uow, source_id, into_id, actor=actor.id, now=call.at, track=call.track
        )
        return present_customer(merged, _contacts(call.view))

    return runner.run(actor, "customer.edit", into_id, now, body)


def customer_history(
    runner: Runner, actor: Actor, customer_id: str, *, now: datetime | None
) -> tuple[list[CustomerEvent], list[Ticket]]:
    """Profile events (the merged customers' too, oldest first) and the customer's tickets the
    actor may view, newest first, each as the actor may see it."""

    def body(call: Call) -> tuple[list[CustomerEvent], list[Ticket]]:
        call.authorise("customer.view", target=f"customer:{customer_id}")
        _visible(call, customer_id)
        found = customer_history_in(call.uow, customer_id, call.view.scope("ticket.view"))
        contacts = _contacts(call.view)
        merged = [e for events in found.merged.values() for e in events]
        events = sorted([*merged, *found.events], key=lambda e: (e.at, e.customer_id, e.seq))
        return (
            [present_customer_event(e, contacts) for e in events],
            [call.view.present(t) for t in found.tickets],
        )

    return runner.run(actor, "customer.view", customer_id, now, body)


def customer_summary(
    runner: Runner, actor: Actor, customer_id: str, *, locale: str, now: datetime | None
) -> str:
    if locale not in ("en", "zh-CN"):
        raise ValidationError("locale", f"must be 'en' or 'zh-CN', got {locale!r}")

    def body(call: Call) -> str:
        call.authorise("customer.view", target=f"customer:{customer_id}")
        _visible(call, customer_id)
        found = customer_history_in(call.uow, customer_id, call.view.scope("ticket.view"))
        return summary_text(
            found.customer,
            TicketStats.of(found.tickets),
            locale=locale,
            timezone=runner.config.desk.timezone,
        )

    return runner.run(actor, "customer.view", customer_id, now, body)
