"""The read side: single tickets, lists and counts inside the actor's scope, CSV export,
history, permission explanations, the audit log and SLA views. Every query runs through the one
command path, so a hidden ticket reads exactly as a missing one and every read the actor may not
make is refused and audited like a command."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, get_args

from helpdesk_core import sla
from helpdesk_core import validation as check
from helpdesk_core.conditions import (
    FALSE,
    Condition,
    ConditionRegistry,
    all_of,
    compile_filter,
    field_is,
)
from helpdesk_core.errors import ConditionError, NotFound, ValidationError
from helpdesk_core.export import EXPORTABLE, to_csv
from helpdesk_core.model.customers import ProfileTimeline
from helpdesk_core.model.events import Event
from helpdesk_core.model.people import Actor
from helpdesk_core.model.records import AuditRecord
from helpdesk_core.model.tickets import Ticket
from helpdesk_core.ports import SortKey, TicketQuery
from helpdesk_core.service.runner import ActorView, Call, Runner
from helpdesk_core.service.workers import requester_timeline

FILTERS: Final = (
    "status",
    "status_category",
    "assignee",
    "team",
    "requester",
    "priority",
    "type",
    "tag",
)
"""The keyword filters of :func:`tickets` and :func:`count_tickets` (``tag`` reads ``tags``)."""

SORT_KEYS: Final[tuple[str, ...]] = get_args(SortKey)

MAX_LIMIT: Final = 1000
"""The largest page a list returns (``limit=None`` streams every match for internal use)."""


# -- the door for filters ---------------------------------------------------------------------
def check_limit(limit: object, *, allow_none: bool = True) -> int | None:
    if limit is None and allow_none:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError("limit", f"must be None or 1..{MAX_LIMIT}, got {limit!r}")
    return limit


def _check_page(order_by: object, descending: object, after: object) -> None:
    if order_by not in SORT_KEYS:
        raise ValidationError("order_by", f"must be one of {list(SORT_KEYS)}, got {order_by!r}")
    if not isinstance(descending, bool):
        raise ValidationError("descending", f"must be true or false, got {descending!r}")
    if after is None:
        return
    if not isinstance(after, tuple | list) or len(after) != 2 or not isinstance(after[1], str):
        raise ValidationError("after", "must be (order value, ticket id) of the previous page")
    want = str if order_by == "number" else datetime
    if not isinstance(after[0], want):
        raise ValidationError(
            "after", f"its order value must be a {want.__name__} when ordering by {order_by}"
        )


def _unknown_field(field: str) -> ConditionError:
    """The error an unknown field raises; a field the actor may not read raises the same."""
    return ConditionError(f"where.{field}", f"unknown field {field!r}", field)


def actor_where(
    registry: ConditionRegistry,
    view: ActorView,
    action: str,
    where: Condition | Mapping[str, Any] | None,
    filters: Mapping[str, Any],
) -> Condition:
    """The actor's scope for ``action`` and their own filters, as one condition.

    A field the actor may not read in clear (hidden, masked, contact data) cannot be filtered
    on: it is refused exactly as an unknown field is, so a filter, sort or count can never be
    an oracle for a masked value."""
    parts = [view.scope(action)]
    if where is not None:
        readable = registry.without(view.unreadable)
        condition = compile_filter(where, readable, "where")
        for field in sorted(condition.fields()):
            if not readable.knows(field):  # a pre-built Condition object skips compile checks
                raise _unknown_field(field)
        parts.append(condition)
    for name, value in filters.items():
        if name not in FILTERS:
            raise ValidationError(name, f"unknown filter; use one of {list(FILTERS)}")
        if value is None:
            continue
        field = "tags" if name == "tag" else name
        if field in view.unreadable:
            raise _unknown_field(field)
        if isinstance(value, str):
            parts.append(field_is(field, "contains" if name == "tag" else "eq", value))
        elif name == "tag":
            raise ValidationError(name, f"must be one tag (a string), got {value!r}")
        elif isinstance(value, Iterable) and all(isinstance(v, str) for v in value):
            parts.append(field_is(field, "in", list(value)))
        else:
            raise ValidationError(name, f"must be a string or a list of strings, got {value!r}")
    return all_of(parts)


# -- queries --------------------------------------------------------------------------------
def get_ticket(runner: Runner, actor: Actor, ticket_id: str, *, now: datetime | None) -> Ticket:
    check.ident(ticket_id, "ticket_id")

    def body(call: Call) -> Ticket:
        return call.view.present(call.load_visible(ticket_id, "ticket.view"))

    return runner.run(actor, "ticket.view", ticket_id, now, body)


def get_ticket_by_number(
    runner: Runner, actor: Actor, number: str, *, now: datetime | None
) -> Ticket:
    """Hidden and unknown numbers both read ``NotFound`` naming the number."""
    check.ident(number, "number")

    def body(call: Call) -> Ticket:
        found = call.uow.get_ticket_by_number(number)
        if found is None:
            raise NotFound("ticket", number)
        return call.view.present(call.load_visible(found.id, "ticket.view", named=number))

    return runner.run(actor, "ticket.view", number, now, body)


def tickets(
    runner: Runner,
    registry: ConditionRegistry,
    actor: Actor,
    *,
    where: Condition | Mapping[str, Any] | None,
    filters: Mapping[str, Any],
    order_by: SortKey,
    descending: bool,
    after: tuple[Any, str] | None,
    limit: int | None,
    now: datetime | None,
) -> list[Ticket]:
    _check_page(order_by, descending, after)
    page = check_limit(limit)

    def body(call: Call) -> list[Ticket]:
        query = TicketQuery(
            where=actor_where(registry, call.view, "ticket.view", where, filters),
            order_by=order_by,
            descending=descending,
            after=(after[0], after[1]) if after is not None else None,
            limit=page,
        )
        return [call.view.present(t) for t in call.uow.query_tickets(query)]

    return runner.run(actor, "ticket.view", None, now, body)


def count_tickets(
    runner: Runner,
    registry: ConditionRegistry,
    actor: Actor,
    *,
    where: Condition | Mapping[str, Any] | None,
    filters: Mapping[str, Any],
    now: datetime | None,
) -> int:
    def body(call: Call) -> int:
        return call.uow.count_tickets(
            actor_where(registry, call.view, "ticket.view", where, filters)
        )

    return runner.run(actor, "ticket.view", None, now, body)


def export_tickets(
    runner: Runner,
    registry: ConditionRegistry,
    actor: Actor,
    *,
    where: Condition | Mapping[str, Any] | None,
    columns: Sequence[str],
    now: datetime | None,
) -> str:
    """``ticket.export`` within ``ticket.view``: a deny rule on viewing restricts export too."""
    if isinstance(columns, str) or not isinstance(columns, Sequence) or not columns:
        raise ValidationError("columns", "must be a non-empty list of column names")
    declared = {f"custom.{name}" for name in runner.config.custom_fields}
    for column in columns:
        if not isinstance(column, str) or (column not in EXPORTABLE and column not in declared):
            raise ValidationError(
                "columns", f"unknown column {column!r}; use ticket fields or custom.<name>"
            )

    def body(call: Call) -> str:
        export_scope = call.view.scope("ticket.export")
        if export_scope == FALSE:
            call.authorise("ticket.export")
        condition = all_of(
            [export_scope, actor_where(registry, call.view, "ticket.view", where, {})]
        )
        found = call.uow.query_tickets(TicketQuery(where=condition, limit=None))
        return to_csv((call.view.present(t) for t in found), columns)

    return runner.run(actor, "ticket.export", None, now, body)


def history(runner: Runner, actor: Actor, ticket_id: str, *, now: datetime | None) -> list[Event]:
    check.ident(ticket_id, "ticket_id")

    def body(call: Call) -> list[Event]:
        ticket = call.load_visible(ticket_id, "ticket.view")
        return call.view.present_history(ticket, call.uow.ticket_events(ticket_id))

    return runner.run(actor, "ticket.view", ticket_id, now, body)


def explain(
    runner: Runner,
    actor: Actor,
    action: str,
    resource_id: str | None,
    *,
    asked_by: Actor | None,
    now: datetime | None,
) -> str:
    """For the actor themself, a ticket they may not view reads as not found; an investigator
    (``asked_by``) needs ``audit.view``. Either way the text names no field its reader may not
    see."""
    Runner.check_actor(actor)
    if asked_by is not None:
        Runner.check_actor(asked_by, "asked_by")
    check.label(action, "action")
    check.optional_ident(resource_id, "resource_id")
    reader = asked_by if asked_by is not None else actor
    not_found = f"{actor.id} may NOT {action}: ticket {resource_id} not found"

    def body(call: Call) -> str:
        if asked_by is not None:
            call.authorise("audit.view", target=resource_id)
            subject = runner.view(call.uow, actor, call.at)
        else:
            subject = call.view
        ticket = call.uow.get_ticket(resource_id) if resource_id is not None else None
        if resource_id is not None and ticket is None:
            return not_found
        if asked_by is None and ticket is not None and not subject.may("ticket.view", ticket):
            return not_found
        return "\n".join(subject.explain(action, ticket, hidden=call.view.unreadable))

    return runner.run(reader, "audit.view" if asked_by else action, resource_id, now, body)


def audit_log(
    runner: Runner, actor: Actor, *, target: str | None, limit: int, now: datetime | None
) -> list[AuditRecord]:
    page = check_limit(limit, allow_none=False)
    assert page is not None
    check.optional_ident(target, "target")

    def body(call: Call) -> list[AuditRecord]:
        call.authorise("audit.view", target=target)
        return call.uow.audit_log(target=target, limit=page)

    return runner.run(actor, "audit.view", target, now, body)


def sla_status(
    runner: Runner, config: sla.SlaConfig | None, actor: Actor, ticket_id: str, now: datetime | None
) -> list[sla.SlaClock]:
    """One transaction, one check: the visible ticket's clocks from its (unmasked) events."""
    check.ident(ticket_id, "ticket_id")

    def body(call: Call) -> list[sla.SlaClock]:
        ticket = call.load_visible(ticket_id, "ticket.view")
        if config is None:
            return []
        profile = _profile(call, config, ticket)
        return sla.evaluate(config, call.uow.ticket_events(ticket_id), call.at, profile=profile)

    return runner.run(actor, "ticket.view", ticket_id, now, body)


def sla_explain(
    runner: Runner, config: sla.SlaConfig | None, actor: Actor, ticket_id: str, now: datetime | None
) -> sla.SlaExplanation:
    check.ident(ticket_id, "ticket_id")

    def body(call: Call) -> sla.SlaExplanation:
        ticket = call.load_visible(ticket_id, "ticket.view")
        config_ = config or sla.SlaConfig()
        profile = _profile(call, config_, ticket)
        return sla.explain(config_, call.uow.ticket_events(ticket_id), call.at, profile=profile)

    return runner.run(actor, "ticket.view", ticket_id, now, body)


def _profile(call: Call, config: sla.SlaConfig, ticket: Ticket) -> ProfileTimeline | None:
    """The requester's profile through time when SLA conditions read ``customer.*`` fields."""
    return requester_timeline(call.uow, ticket) if config.reads_customer else None
