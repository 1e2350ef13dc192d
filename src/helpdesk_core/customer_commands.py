"""Customer commands on one unit of work: load, decide (:mod:`helpdesk_core.customers`), save.

The facade's customer commands are one call each to these, inside the command runner's
transaction after it has authorised the actor (the runner owns permissions and ``now``). Each
function takes the unit of work first and the acting actor's id; none reads a clock.

Scope (R-CUS-5): :func:`customer_scope` turns the permission matrix into the ticket condition
``requester_of`` of :class:`~helpdesk_core.ports.CustomerQuery`: an actor sees the customers
who are requesters of tickets the actor may view (an agent: the team's and own tickets; a
supervisor: the department's), or every customer when both ``customer.view`` and
``ticket.view`` are unrestricted. :func:`customer_visible` is the single-object check with
the same condition, so a list and a check cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from helpdesk_core.conditions import FALSE, TRUE, Condition, all_of, field_is
from helpdesk_core.customer_numbers import allocate_customer_number
from helpdesk_core.customers import (
    CustomersConfig,
    change_customer,
    new_customer,
    record_fact,
)
from helpdesk_core.errors import ConcurrencyConflict, NotFound, ValidationError
from helpdesk_core.model.customers import (
    Customer,
    CustomerEvent,
    CustomerMerged,
    CustomerMergeReceived,
    email_key,
    phone_key,
)
from helpdesk_core.model.events import Event, RequesterChanged, to_utc
from helpdesk_core.model.people import Actor
from helpdesk_core.model.tickets import Ticket
from helpdesk_core.permissions import Grant, PermissionMatrix, reusable
from helpdesk_core.ports import CustomerQuery, TicketQuery, UnitOfWork


def load_customer(uow: UnitOfWork, customer_id: str) -> Customer:
    """The stored profile, or NotFound."""
    if not isinstance(customer_id, str) or not customer_id:
        raise ValidationError("customer_id", f"must be a customer number, got {customer_id!r}")
    customer = uow.get_customer(customer_id)
    if customer is None:
        raise NotFound("customer", customer_id)
    return customer


def create_customer_in(
    uow: UnitOfWork,
    *,
    actor: str,
    now: datetime,
    settings: CustomersConfig,
    timezone: str = "UTC",
    **fields: Any,
) -> Customer:
    """Validate the profile, allocate its number (``[customers] number_pattern`` at the desk's
    local date) and save it. ``fields`` are :func:`~helpdesk_core.customers.new_customer`'s."""
    new_customer("C", actor=actor, now=now, settings=settings, **fields)  # validate first
    number = allocate_customer_number(uow, settings.number_pattern, now, timezone)
    customer, events = new_customer(number, actor=actor, now=now, settings=settings, **fields)
    uow.save_customer(customer, events)
    return customer


def _save(uow: UnitOfWork, customer: Customer, events: list[CustomerEvent]) -> Customer:
    if events:
        uow.save_customer(customer, events)
    return customer


def update_customer_in(
    uow: UnitOfWork,
    customer_id: str,
    changes: Mapping[str, Any],
    *,
    actor: str,
    now: datetime,
    settings: CustomersConfig,
    expected_version: int | None = None,
    reason: str | None = None,
) -> Customer:
    """Change profile fields (and the tier); ``expected_version`` guards against lost updates
    (ConcurrencyConflict with the stored version)."""
    customer = load_customer(uow, customer_id)
    if expected_version is not None and expected_version != customer.version:
        raise ConcurrencyConflict(customer_id, expected_version, customer.version)
    changed, events = change_customer(
        customer, changes, actor=actor, now=now, settings=settings, reason=reason
    )
    return _save(uow, changed, events)


def record_customer_fact_in(
    uow: UnitOfWork,
    customer_id: str,
    name: str,
    value: Any,
    *,
    actor: str,
    now: datetime,
    settings: CustomersConfig,
) -> Customer:
    """Record a fact and let the tier rules raise the tier (a TierChanged with its reason)."""
    customer = load_customer(uow, customer_id)
    changed, events = record_fact(customer, name, value, actor=actor, now=now, settings=settings)
    return _save(uow, changed, events)


def survivor(uow: UnitOfWork, customer: Customer) -> Customer:
    """Follow ``merged_into`` to the customer that absorbed this one."""
    seen = {customer.id}
    while customer.merged_into is not None:
        target = uow.get_customer(customer.merged_into)
        if target is None or target.id in seen:
            break
        seen.add(target.id)
        customer = target
    return customer


def find_customer_in(
    uow: UnitOfWork, *, email: str | None = None, phone: str | None = None
) -> Customer | None:
    """The customer with this email and/or phone (normalised: case, width, +86), following a
    merge to the survivor; None when nobody matches. With both, both must match."""
    if email is None and phone is None:
        raise ValidationError("email", "give an email or a phone number to look up")
    found: set[str] | None = None
    by_id: dict[str, Customer] = {}
    for key in (
        None if email is None else f"email:{email_key(email)}",
        None if phone is None else f"phone:{phone_key(phone)}",
    ):
        if key is None:
            continue
        matches = uow.find_customers(key)
        by_id.update((c.id, c) for c in matches)
        ids = {c.id for c in matches}
        found = ids if found is None else found & ids
    if not found:
        return None
    live = {c.id: c for c in (survivor(uow, by_id[i]) for i in sorted(found))}
    return live[min(live)]  # as read in this transaction: not read again


def merge_customers_in(
    uow: UnitOfWork,
    source_id: str,
    into_id: str,
    *,
    actor: str,
    now: datetime,
    track: Callable[[Ticket, Sequence[Event]], object] | None = None,
) -> Customer:
    """Merge ``source_id`` into ``into_id``: the source's tickets get ``into_id`` as requester
    (a RequesterChanged on each), the source is marked merged (CustomerMerged) and the survivor
    takes over its contacts, tags and missing facts (CustomerMergeReceived). Both histories are
    kept. Returns the survivor.

    ``track`` receives each moved ticket with its new event instead of the ticket being saved
    here: the command path passes :meth:`~helpdesk_core.service.runner.Call.track`, so the
    events get their outbox rows, escalation schedule and observers like any other."""
    if source_id == into_id:
        raise ValidationError("into_id", "a customer cannot be merged into itself")
    source = load_customer(uow, source_id)
    into = load_customer(uow, into_id)
    for customer, field in ((source, "source_id"), (into, "into_id")):
        if customer.merged_into is not None:
            raise ValidationError(
                field, f"{customer.id} was already merged into {customer.merged_into}"
            )
    at = to_utc(now)
    tickets = uow.query_tickets(
        TicketQuery(where=field_is("requester", "eq", source_id), limit=None)
    )
    for ticket in tickets:
        moved = RequesterChanged(
            ticket_id=ticket.id,
            seq=ticket.version + 1,
            at=at,
            actor=actor,
            from_requester=source_id,
            to_requester=into_id,
            organisation=into.organisation,
            reason=f"customer {source_id} merged into {into_id}",
        )
        if track is None:
            uow.save_ticket(ticket.apply(moved), [moved])
        else:
            track(ticket.apply(moved), [moved])
    moved_ids = tuple(t.id for t in tickets)
    merged = CustomerMerged(
        customer_id=source.id,
        seq=source.version + 1,
        at=at,
        actor=actor,
        into=into_id,
        tickets=moved_ids,
    )
    uow.save_customer(source.apply(merged), [merged])
    received = CustomerMergeReceived(
        customer_id=into.id,
        seq=into.version + 1,
        at=at,
        actor=actor,
        source=source_id,
        emails=source.emails,
        phones=source.phones,
        tags=source.tags,
        facts=dict(source.facts),
        tickets=moved_ids,
    )
    result = into.apply(received)
    uow.save_customer(result, [received])
    return result


# -- scope --------------------------------------------------------------------------------------
def customer_scope(
    matrix: PermissionMatrix, actor: Actor, grants: Iterable[Grant] = ()
) -> Condition | None:
    """``requester_of`` for the actor's customer list and checks: the customers the actor may
    ``customer.view`` are the requesters of the tickets it may ``ticket.view`` (both scopes over
    the ticket); None means every customer, FALSE none."""
    grants = reusable(grants)
    return requester_condition(
        matrix.scope(actor, "customer.view", grants), matrix.scope(actor, "ticket.view", grants)
    )


def requester_condition(customer_view: Condition, ticket_view: Condition) -> Condition | None:
    """The one rule of customer scope: the requesters of the tickets within both the actor's
    ``customer.view`` and ``ticket.view`` scopes; None for every customer."""
    allowed = all_of([customer_view, ticket_view])
    return None if allowed == TRUE else allowed


def customer_visible(uow: UnitOfWork, customer_id: str, requester_of: Condition | None) -> bool:
    """The single-object check of :func:`customer_scope`'s condition (list == check)."""
    if uow.get_customer(customer_id) is None:
        return False
    if requester_of is None:
        return True
    if requester_of == FALSE:
        return False
    where = all_of([requester_of, field_is("requester", "eq", customer_id)])
    return bool(uow.query_tickets(TicketQuery(where=where, limit=1)))


def get_customer_in(uow: UnitOfWork, customer_id: str, requester_of: Condition | None) -> Customer:
    """The profile if the actor's scope (:func:`customer_scope`) shows it; NotFound when it is
    hidden or missing alike, so a hidden customer's existence does not leak."""
    if not customer_visible(uow, customer_id, requester_of):
        raise NotFound("customer", customer_id)
    return load_customer(uow, customer_id)


MAX_PAGE = 1000


def list_customers_in(
    uow: UnitOfWork,
    *,
    requester_of: Condition | None,
    settings: CustomersConfig,
    tier: str | None = None,
    tag: str | None = None,
    organisation: str | None = None,
    after: str | None = None,
    limit: int = 100,
) -> list[Customer]:
    """The ``customers(...)`` query validated at the door: a known tier, text filters, a
    cursor id and ``1 <= limit <= 1000``; merged-away customers are left out."""
    if tier is not None and tier not in settings.tiers:
        raise ValidationError("tier", f"must be one of {list(settings.tiers)}, got {tier!r}")
    for name, value in (("tag", tag), ("organisation", organisation), ("after", after)):
        if value is not None and (not isinstance(value, str) or not value):
            raise ValidationError(name, f"must be a non-empty string, got {value!r}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise ValidationError("limit", f"must be an integer from 1 to {MAX_PAGE}, got {limit!r}")
    return uow.query_customers(
        CustomerQuery(
            tier=tier,
            tag=tag,
            organisation=organisation,
            requester_of=requester_of,
            after=after,
            limit=limit,
        )
    )


@attrs.frozen
class CustomerHistory:
    """A customer's profile events (oldest first), those of the customers merged into it (by
    their id: both histories are kept), and the tickets the actor may view."""

    customer: Customer
    events: tuple[CustomerEvent, ...]
    tickets: tuple[Ticket, ...]
    merged: Mapping[str, tuple[CustomerEvent, ...]] = attrs.field(factory=dict)


def customer_history_in(
    uow: UnitOfWork, customer_id: str, ticket_scope: Condition
) -> CustomerHistory:
    """Profile events plus the customer's tickets within ``ticket_scope`` (the actor's
    ``ticket.view`` scope), newest ticket first (R-CUS-3, R-CUS-5)."""
    customer = load_customer(uow, customer_id)
    tickets = uow.query_tickets(
        TicketQuery(
            where=all_of([ticket_scope, field_is("requester", "eq", customer_id)]),
            descending=True,
            limit=None,
        )
    )
    merged = {source: tuple(uow.customer_events(source)) for source in sorted(customer.merged_from)}
    return CustomerHistory(
        customer, tuple(uow.customer_events(customer_id)), tuple(tickets), merged
    )


def requester_profile(uow: UnitOfWork, customer_id: str | None) -> Customer | None:
    """For ``open_ticket(customer_id=...)``: the requester's profile (the survivor of a merge),
    or None when the host keeps customers elsewhere (the ticket opens as before)."""
    if customer_id is None:
        return None
    customer = uow.get_customer(customer_id)
    return None if customer is None else survivor(uow, customer)
