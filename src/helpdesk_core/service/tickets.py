"""Ticket commands: open, reply, note, assign, claim, route, transfer, status, priority, edit,
merge, split and link. Each is one function run by the one command path
(:class:`~helpdesk_core.service.runner.Runner`); the rules they apply live in the domain modules
that own their vocabulary (the workflow, routing, the model's events)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any, Final

import attrs

from helpdesk_core import validation as check
from helpdesk_core.customer_commands import requester_profile
from helpdesk_core.duplicates import duplicates_config, find_duplicates_in
from helpdesk_core.errors import (
    AlreadyClaimed,
    ConcurrencyConflict,
    InvalidTransition,
    PluginError,
    ValidationError,
)
from helpdesk_core.lifecycle import Transition
from helpdesk_core.model.customers import customer_subject, preferred_channel
from helpdesk_core.model.events import (
    TICKET_EDITABLE_FIELDS,
    Assigned,
    CustomerMessaged,
    Event,
    FieldsChanged,
    Linked,
    Merged,
    MergeReceived,
    NoteAdded,
    PriorityChanged,
    PriorityConfirmed,
    Replied,
    SplitOff,
    StatusChanged,
    TicketCreated,
    TransferDecided,
    Transferred,
    TransferRequested,
    WorkaroundSent,
    to_utc,
)
from helpdesk_core.model.people import SYSTEM, Actor, Agent
from helpdesk_core.model.tickets import Ticket, ticket_subject
from helpdesk_core.ports import TicketQuery
from helpdesk_core.problems import problem_records_config
from helpdesk_core.routing import RoutingDecision, RoutingPolicy, ShiftCalendar
from helpdesk_core.service.runner import Call, Change, Runner

INVERSE_RELATIONS: Final = {
    "related": "related",
    "duplicate_of": "has_duplicate",
    "has_duplicate": "duplicate_of",
    "parent_of": "child_of",
    "child_of": "parent_of",
    "caused_by": "causes",
    "causes": "caused_by",
    "follow_up_of": "has_follow_up",
    "has_follow_up": "follow_up_of",
}

UNSET: Any = object()
"""``assign(team=UNSET)`` keeps the ticket's team (``None`` clears it)."""

RouteHook = Callable[[Ticket, list[Agent]], str | None]
"""The ``helpdesk_route_ticket`` hook: a host plugin's choice among eligible agents."""


@attrs.frozen
class TicketRules:
    """What ticket commands read besides the storage: the desk's config and routing."""

    routing: RoutingPolicy | None
    calendars: Mapping[str, ShiftCalendar]
    route_hook: RouteHook


# -- shared steps ---------------------------------------------------------------------------
def _on_ticket(
    runner: Runner,
    actor: Actor,
    ticket_id: str,
    action: str,
    now: datetime | None,
    decide: Callable[[Change, Call], None],
    expected_version: int | None = None,
) -> Ticket:
    """Load one visible ticket, check ``action`` and the expected version, decide, present."""
    check.ident(ticket_id, "ticket_id")
    check.optional_version(expected_version)

    def body(call: Call) -> Ticket:
        ticket = call.load_visible(ticket_id, action)
        if expected_version is not None and ticket.version != expected_version:
            raise ConcurrencyConflict(ticket_id, expected_version, ticket.version)
        change = call.track(ticket)
        decide(change, call)
        return call.view.present(change.ticket)

    return runner.run(actor, action, ticket_id, now, body)


def _renumbered(event: Event, seq: int) -> Event:
    return attrs.evolve(event, seq=seq)


def _declared_teams(runner: Runner) -> Sequence[str] | None:
    """The teams ``[permissions] teams`` declares, or ``None`` when it declares none."""
    teams = getattr(runner.policy, "teams", None)
    return sorted(teams) if teams else None


def check_choice(field: str, value: object, allowed: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValidationError(field, f"must be one of {list(allowed)}, got {value!r}")
    return value


def _custom(runner: Runner, values: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    if not isinstance(values, Mapping):
        raise ValidationError("custom", "must be a table of custom field = value")
    specs = runner.config.custom_fields
    for name in values:
        if name not in specs:
            raise ValidationError(
                f"custom.{name}", f"unknown custom field; declared: {sorted(specs)}"
            )
    result = {name: specs[name].normalise(value) for name, value in values.items()}
    if creating:
        for name, spec in specs.items():
            if spec.required and result.get(name) is None:
                raise ValidationError(f"custom.{name}", "is required")
    return {k: v for k, v in result.items() if v is not None or not creating}


def _status_event(
    runner: Runner,
    change: Change,
    actor: Actor,
    target: str,
    at: datetime,
    reason: str | None,
    transition: Transition | None = None,
) -> None:
    """A status change along ``transition`` (default: the workflow's first transition to
    ``target``), its guards checked."""
    workflow = runner.config.workflow
    if transition is None:
        transition = workflow.check(change.ticket, target, actor)
    else:
        workflow.check_transition(change.ticket, transition, actor)
    source = change.ticket.status
    change.add(
        lambda seq: StatusChanged(
            ticket_id=change.ticket.id,
            seq=seq,
            at=at,
            actor=actor.id,
            from_status=source,
            to_status=target,
            to_category=workflow.category(target),
            reason=reason,
            reopen=transition.reopen,
        )
    )


def _assign_events(
    runner: Runner,
    change: Change,
    actor_id: str,
    assignee: str | None,
    team: str | None,
    reason: str | None,
    at: datetime,
) -> None:
    """Assigned (if anything changes), then new -> assigned when the workflow has it."""
    before = change.ticket
    if before.assignee == assignee and before.team == team:
        return
    change.add(
        lambda seq: Assigned(
            ticket_id=before.id,
            seq=seq,
            at=at,
            actor=actor_id,
            assignee=assignee,
            team=team,
            previous_assignee=before.assignee,
            previous_team=before.team,
            reason=reason,
        )
    )
    workflow = runner.config.workflow
    ticket = change.ticket
    if (
        assignee is not None
        and workflow.category(ticket.status) == "new"
        and workflow.transition(ticket.status, "assigned") is not None
    ):
        _status_event(runner, change, SYSTEM, "assigned", at, "assigned")


def _route(
    runner: Runner,
    rules: TicketRules,
    call: Call,
    change: Change,
    customer: Mapping[str, Any] | None = None,
) -> None:
    """Apply the routing policy to the ticket in ``change`` (in the same transaction); rules
    may read the requester's ``customer.*`` fields (``customer``: read here when not given)."""
    policy = rules.routing
    if policy is None:
        return
    ticket = change.ticket
    if customer is None and ticket.requester:
        customer = customer_subject(call.uow.get_customer(ticket.requester))
    rule = policy.match(ticket, customer)
    directory = call.uow.agents()
    query = TicketQuery(where=policy.load_condition(directory), limit=None)
    assigned = call.uow.query_tickets(query) if directory else []
    loads = policy.loads(directory, assigned)
    candidates = policy.eligible(rule, ticket, loads, call.at, rules.calendars)
    key = f"routing:rr:{rule.id}"
    state = call.uow.load_state(key) or {}
    chosen = rules.route_hook(ticket, [c.agent for c in candidates])
    if chosen is not None:
        if chosen not in {a.id for a in directory}:
            raise PluginError(f"helpdesk_route_ticket chose unknown agent {chosen!r}")
        team = rule.team if rule.team is not None else ticket.team
        decision = RoutingDecision(rule.id, "plugin", team, chosen, "chosen by a host plugin")
    else:
        decision = policy.choose(ticket, rule, candidates, state.get("cursor"))
    if decision.cursor is not None:
        call.uow.save_state(key, {"cursor": decision.cursor})
    _assign_events(
        runner, change, SYSTEM.id, decision.assignee, decision.team, decision.reason, call.at
    )


def add_transfer(
    change: Change,
    actor_id: str,
    at: datetime,
    team: str,
    tier: int | None,
    summary: str,
    steps_tried: Sequence[str],
    request_id: str | None = None,
) -> None:
    before = change.ticket
    change.add(
        lambda seq: Transferred(
            ticket_id=before.id,
            seq=seq,
            at=at,
            actor=actor_id,
            from_team=before.team,
            to_team=team,
            to_tier=tier,
            summary=summary,
            steps_tried=tuple(steps_tried),
            previous_assignee=before.assignee,
            request_id=request_id,
        )
    )


def created_event(
    runner: Runner,
    call: Call,
    ticket_id: str,
    *,
    subject: str,
    ticket_type: str,
    priority: str,
    channel: str,
    requester: str | None,
    organisation: str | None,
    team: str | None,
    department: str | None,
    description: str = "",
    sub_category: str | None = None,
    urgency: str | None = None,
    tags: frozenset[str] = frozenset(),
    custom: Mapping[str, Any] | None = None,
    expected_resolution_at: datetime | None = None,
    split_from: str | None = None,
    messages: tuple[Any, ...] = (),
) -> TicketCreated:
    """The first event of a new ticket, numbered by the store."""
    workflow = runner.config.workflow
    return TicketCreated(
        ticket_id=ticket_id,
        seq=1,
        at=call.at,
        actor=call.actor.id,
        number=runner.ticket_number(call.uow, call.at),
        subject=subject,
        description=description,
        type=ticket_type,
        sub_category=sub_category,
        priority=priority,
        urgency=urgency,
        channel=channel,
        status=workflow.initial,
        status_category=workflow.category(workflow.initial),
        requester=requester,
        organisation=organisation,
        team=team,
        department=department,
        tags=tags,
        custom=dict(custom or {}),
        expected_resolution_at=expected_resolution_at,
        split_from=split_from,
        messages=messages,
    )


# -- commands -------------------------------------------------------------------------------
def open_ticket(
    runner: Runner,
    rules: TicketRules,
    actor: Actor,
    *,
    subject: str,
    channel: str,
    customer_id: str | None,
    type: str | None,
    priority: str | None,
    description: str,
    sub_category: str | None,
    urgency: str | None,
    team: str | None,
    department: str | None,
    organisation: str | None,
    tags: Iterable[str],
    custom: Mapping[str, Any] | None,
    expected_resolution_at: datetime | None,
    now: datetime | None,
) -> Ticket:
    cfg = runner.config
    Runner.check_actor(actor)
    check.text(subject, "subject", limit=check.MAX_LINE)
    check.text(description, "description", required=False)
    ticket_type = check_choice(
        "type", cfg.desk.default_type if type is None else type, cfg.ticket_types
    )
    if priority is not None:
        check_choice("priority", priority, cfg.priorities)
    check_choice("channel", channel, cfg.channels)
    tag_set = check.labels(tags, "tags")
    check.optional_ident(customer_id, "customer_id")
    check.optional_label(team, "team", _declared_teams(runner))
    for name, value in (
        ("department", department),
        ("organisation", organisation),
        ("sub_category", sub_category),
        ("urgency", urgency),
    ):
        check.optional_label(value, name)
    if expected_resolution_at is not None and not isinstance(expected_resolution_at, datetime):
        raise ValidationError("expected_resolution_at", "must be an aware datetime")
    custom_values = _custom(runner, custom or {}, creating=True)
    if actor.is_customer:
        if customer_id not in (None, actor.id):
            raise ValidationError("customer_id", "a customer opens tickets only for themself")
        if organisation not in (None, actor.organisation):
            raise ValidationError(
                "organisation", "a customer's ticket belongs to the customer's own organisation"
            )
        requester: str | None = actor.id
        org = actor.organisation
    else:
        requester, org = customer_id, organisation
    ticket_id = runner.new_id()

    def body(call: Call) -> Ticket:
        call.authorise("ticket.create")
        # a requester with a record: the ticket carries the customer's organisation
        profile = requester_profile(call.uow, requester)
        organisation = org
        if organisation is None and profile is not None:
            organisation = profile.organisation
        created = created_event(
            runner,
            call,
            ticket_id,
            subject=subject.strip(),
            ticket_type=ticket_type,
            priority=priority or cfg.desk.default_priority,
            channel=channel,
            requester=profile.id if profile is not None else requester,
            organisation=organisation,
            team=team if team is not None else cfg.desk.default_team,
            department=department,
            description=description,
            sub_category=sub_category,
            urgency=urgency,
            tags=tag_set,
            custom=custom_values,
            expected_resolution_at=expected_resolution_at,
        )
        if priority is None and rules.routing is not None:
            guess = rules.routing.auto_priority(ticket_subject(Ticket.created(created)))
            if guess is not None:
                created = attrs.evolve(created, priority=guess, priority_auto=True)
        ticket = Ticket.created(created)
        call.authorise("ticket.create", ticket)
        change = call.track(ticket, [created])
        # R-TKT-5: the requester's open tickets that read the same (never merged by itself)
        duplicates = duplicates_config(cfg)
        found = find_duplicates_in(call.uow, ticket, duplicates, actor.id, runner.text_features)
        for suspected in found:
            change.add(partial(_renumbered, suspected))
        if rules.routing is not None and rules.routing.auto and team is None:
            _route(runner, rules, call, change, customer_subject(profile))
        return call.view.present(change.ticket)

    return runner.run(actor, "ticket.create", None, now, body)


def reply(
    runner: Runner,
    actor: Actor,
    ticket_id: str,
    body: str,
    *,
    public: bool,
    channel: str | None,
    status: str | None,
    now: datetime | None,
    expected_version: int | None,
) -> Ticket:
    Runner.check_actor(actor)
    check.text(body, "body")
    check.flag(public, "public")
    if actor.is_customer and not public:
        raise ValidationError("public", "customers cannot write internal notes")
    if not public:
        return add_note(runner, actor, ticket_id, body, now=now, expected_version=expected_version)
    if channel is not None:
        check_choice("channel", channel, runner.config.channels)
    if status is not None:
        check_choice("status", status, list(runner.config.workflow.statuses))
    workflow = runner.config.workflow

    def decide(change: Change, call: Call) -> None:
        ticket = change.ticket
        use_channel = channel or ticket.channel
        message_id = call.new_id()
        kind = CustomerMessaged if actor.is_customer else Replied
        change.add(
            lambda seq: kind(
                ticket_id=ticket.id,
                seq=seq,
                at=call.at,
                actor=actor.id,
                message_id=message_id,
                body=body,
                channel=use_channel,
            )
        )
        if actor.is_customer and change.ticket.status in workflow.pause_statuses:
            resume = workflow.resume_status()
            if resume is not None:
                _status_event(runner, change, SYSTEM, resume, call.at, "customer replied")
        if status is not None and status != change.ticket.status:
            call.authorise("ticket.set_status", change.ticket)
            _status_event(runner, change, actor, status, call.at, None)

    return _on_ticket(runner, actor, ticket_id, "ticket.reply", now, decide, expected_version)


def add_note(
    runner: Runner,
    actor: Actor,
    ticket_id: str,
    body: str,
    *,
    now: datetime | None,
    expected_version: int | None,
) -> Ticket:
    Runner.check_actor(actor)
    check.text(body, "body")
    if actor.is_customer:
        raise ValidationError("actor", "customers cannot write internal notes")

    def decide(change: Change, call: Call) -> None:
        message_id = call.new_id()
        change.add(
            lambda seq: NoteAdded(
                ticket_id=change.ticket.id,
                seq=seq,
                at=call.at,
                actor=actor.id,
                message_id=message_id,
                body=body,
                channel="internal",
            )
        )

    return _on_ticket(runner, actor, ticket_id, "ticket.note", now, decide, expected_version)


def assign(
    runner: Runner,
    actor: Actor,
    ticket_id: str,
    assignee: str | None,
    *,
    team: str | None,
    reason: str | None,
    now: datetime | None,
    expected_version: int | None,
) -> Ticket:
    check.optional_ident(assignee, "assignee")
    if team is not UNSET:
        check.optional_label(team, "team", _declared_teams(runner))
    check.optional_text(reason, "reason")

    def decide(change: Change, call: Call) -> None:
        if assignee is not None and assignee != change.ticket.assignee:
            directory = call.uow.agents()
            if directory and assignee not in {a.id for a in directory}:
                # the directory declares the agents: an unknown id is a typo, not a person
                raise ValidationError("assignee", f"{assignee!r} is not an agent of the directory")
        new_team = change.ticket.team if team is UNSET else team
        _assign_events(runner, change, actor.id, assignee, new_team, reason, call.at)

    return _on_ticket(runner, actor, ticket_id, "ticket.assign", now, decide, expected_version)


def claim(runner: Runner, actor: Actor, ticket_id: str, *, now: datetime | None) -> Ticket:
    def decide(change: Change, call: Call) -> None:
        ticket = change.ticket
        if ticket.assignee is not None:
            raise AlreadyClaimed(ticket.id, ticket.assignee)
        _assign_events(runner, change, actor.id, actor.id, ticket.team, "claimed", call.at)

    return _on_ticket(runner, actor, ticket_id, "ticket.assign", now, decide)


def route_ticket(
    runner: Runner, rules: TicketRules, actor: Actor, ticket_id: str, *, now: datetime | None
) -> Ticket:
    if rules.routing is None:
        raise ValidationError("routing", "the desk has no [routing] configuration")

    def decide(change: Change, call: Call) -> None:
        _route(runner, rules, call, change)

    return _on_ticket(runner, actor, ticket_id, "ticket.assign", now, decide)


def confirm_priority(
    runner: Runner, actor: Actor, ticket_id: str, priority: str | None, *, now: datetime | None
) -> Ticket:
    if priority is not None:
        check_choice("priority", priority, runner.config.priorities)

    def decide(change: Change, call: Call) -> None:
        ticket = change.ticket
        if priority is None or priority == ticket.priority:
            change.add(
                lambda seq: PriorityConfirmed(
                    ticket_id=ticket.id,
                    seq=seq,
                    at=call.at,
                    actor=actor.id,
                    priority=ticket.priority,
                )
            )
        else:
            change.add(
                lambda seq: PriorityChanged(
                    ticket_id=ticket.id,
                    seq=seq,
                    at=call.at,
                    actor=actor.id,
                    from_priority=ticket.priority,
                    to_priority=priority,
                    reason="intake priority corrected",
                )
            )

    return _on_ticket(runner, actor, ticket_id, "ticket.set_priority", now, decide)


def transfer(
    runner: Runner,
    rules: TicketRules,
    actor: Actor,
    ticket_id: str,
    *,
    team: str,
    summary: str,
    steps_tried: Sequence[str],
    tier: int | None,
    now: datetime | None,
) -> Ticket:
    check.text(summary, "summary")
    steps = check.lines(steps_tried, "steps_tried")
    check.label(team, "team", _declared_teams(runner))
    if tier is not None and (isinstance(tier, bool) or not isinstance(tier, int) or tier < 1):
        raise ValidationError("tier", f"must be a support tier 1, 2, 3..., got {tier!r}")

    def decide(change: Change, call: Call) -> None:
        ticket = change.ticket
        if ticket.pending_transfer is not None:
            raise ValidationError("ticket", "a transfer of this ticket awaits approval")
        if rules.routing is not None and rules.routing.needs_approval(ticket, team, tier):
            request_id = call.new_id()
            change.add(
                lambda seq: TransferRequested(
                    ticket_id=ticket.id,
                    seq=seq,
                    at=call.at,
                    actor=actor.id,
                    request_id=request_id,
                    to_team=team,
                    to_tier=tier,
                    summary=summary,
                    steps_tried=steps,
                )
            )
        else:
            add_transfer(change, actor.id, call.at, team, tier, summary, steps)

    return _on_ticket(runner, actor, ticket_id, "ticket.transfer", now, decide)


def decide_transfer(
    runner: Runner,
    actor: Actor,
    ticket_id: str,
    *,
    approve: bool,
    note: str | None,
    now: datetime | None,
) -> Ticket:
    check.flag(approve, "approve")
    check.optional_text(note, "note")

    def decide(change: Change, call: Call) -> None:
        ticket = change.ticket
        if ticket.pending_transfer is None:
            raise ValidationError("ticket", "no transfer of this ticket awaits approval")
        request = next(
            e
            for e in reversed(call.uow.ticket_events(ticket.id))
            if isinstance(e, TransferRequested) and e.request_id == ticket.pending_transfer
        )
        change.add(
            lambda seq: TransferDecided(
                ticket_id=ticket.id,
                seq=seq,
                at=call.at,
                actor=actor.id,
                request_id=request.request_id,
                approved=approve,
                note=note,
            )
        )
        if approve:
            add_transfer(
                change,
                actor.id,
                call.at,
                request.to_team,
                request.to_tier,
                request.summary,
                request.steps_tried,
                request.request_id,
            )

    return _on_ticket(runner, actor, ticket_id, "ticket.approve_transfer", now, decide)


def set_status(
    runner: Runner,
    actor: Actor,
    ticket_id: str,
    status: str,
    *,
    reason: str | None,
    now: datetime | None,
    expected_version: int | None,
) -> Ticket:
    """Move along the workflow; the status the ticket already has is a no-op (after the same
    permission check; nothing recorded)."""
    check.label(status, "status")
    check.optional_text(reason, "reason")

    def decide(change: Change, call: Call) -> None:
        if change.ticket.status != status:
            _status_event(runner, change, actor, status, call.at, reason)

    return _on_ticket(runner, actor, ticket_id, "ticket.set_status", now, decide, expected_version)


def reopen(
    runner: Runner,
    actor: Actor,
    ticket_id: str,
    *,
    reason: str | None,
    now: datetime | None,
    expected_version: int | None,
) -> Ticket:
    """Take the workflow's reopen transition from the current status (the first declared if
    several); :class:`InvalidTransition` where it has none. Authorised as ticket.set_status."""
    check.optional_text(reason, "reason")

    def decide(change: Change, call: Call) -> None:
        reopen_events(runner, change, actor, call.at, reason)

    return _on_ticket(runner, actor, ticket_id, "ticket.set_status", now, decide, expected_version)


def reopen_events(
    runner: Runner, change: Change, actor: Actor, at: datetime, reason: str | None
) -> None:
    """The reopen step of :func:`reopen` (also taken by an unsatisfied survey answer):
    :class:`InvalidTransition` where the workflow has no reopen transition from the status."""
    workflow = runner.config.workflow
    current = change.ticket.status
    transition = workflow.reopen_transition(current)
    if transition is None:
        raise InvalidTransition(
            current,
            "(reopen)",
            workflow.allowed_targets(change.ticket, actor),
            "the workflow has no reopen transition from this status",
        )
    _status_event(runner, change, actor, transition.target, at, reason, transition)


def record_workaround(
    runner: Runner,
    actor: Actor,
    ticket_id: str,
    text: str,
    *,
    expected_resolution: datetime | None,
    now: datetime | None,
) -> Ticket:
    """The problem record's workaround and expected resolution, sent to the customer as a
    public reply (:mod:`helpdesk_core.problems`); ``ticket.edit`` and ``ticket.reply``."""
    check.text(text, "text")
    if expected_resolution is not None and (
        not isinstance(expected_resolution, datetime) or expected_resolution.utcoffset() is None
    ):
        raise ValidationError("expected_resolution", "must be an aware datetime")
    cfg = runner.config
    records = problem_records_config(cfg)

    def decide(change: Change, call: Call) -> None:
        ticket = change.ticket
        if not records.applies(ticket, cfg.priorities):
            raise ValidationError(
                "ticket_id",
                f"no problem record applies to a {ticket.priority!r} ticket "
                "([problem_records] priorities)",
            )
        call.authorise("ticket.reply", ticket)
        customer = call.uow.get_customer(ticket.requester) if ticket.requester else None
        channel = preferred_channel(ticket, customer, cfg.channels)
        message_id = call.new_id()
        change.add(
            lambda seq: WorkaroundSent(
                ticket_id=ticket.id,
                seq=seq,
                at=call.at,
                actor=actor.id,
                message_id=message_id,
                body=text,
                channel=channel,
                expected_resolution_at=expected_resolution,
            )
        )

    return _on_ticket(runner, actor, ticket_id, "ticket.edit", now, decide)


def set_priority(
    runner: Runner,
    actor: Actor,
    ticket_id: str,
    priority: str,
    *,
    reason: str | None,
    now: datetime | None,
    expected_version: int | None,
) -> Ticket:
    check_choice("priority", priority, runner.config.priorities)
    check.optional_text(reason, "reason")

    def decide(change: Change, call: Call) -> None:
        before = change.ticket.priority
        if before == priority:
            return
        change.add(
            lambda seq: PriorityChanged(
                ticket_id=change.ticket.id,
                seq=seq,
                at=call.at,
                actor=actor.id,
                from_priority=before,
                to_priority=priority,
                reason=reason,
            )
        )

    return _on_ticket(
        runner, actor, ticket_id, "ticket.set_priority", now, decide, expected_version
    )


def update_ticket(
    runner: Runner,
    actor: Actor,
    ticket_id: str,
    *,
    fields: Mapping[str, Any] | None,
    custom: Mapping[str, Any] | None,
    add_tags: Iterable[str],
    remove_tags: Iterable[str],
    now: datetime | None,
    expected_version: int | None,
) -> Ticket:
    if fields is not None and not isinstance(fields, Mapping):
        raise ValidationError("fields", "must be a table of field = value")
    changes = dict(fields or {})
    for name in changes:
        if name not in TICKET_EDITABLE_FIELDS:
            raise ValidationError(
                f"fields.{name}", f"not editable here; editable: {list(TICKET_EDITABLE_FIELDS)}"
            )
    if "type" in changes:
        check_choice("fields.type", changes["type"], runner.config.ticket_types)
    for name, value in changes.items():
        if name == "subject":
            check.text(value, "fields.subject", limit=check.MAX_LINE)
        elif name in ("workaround", "description"):
            check.optional_text(value, f"fields.{name}", limit=check.MAX_TEXT)
        elif name in ("sub_category", "urgency"):
            check.optional_label(value, f"fields.{name}")
    if changes.get("expected_resolution_at") is not None:
        changes["expected_resolution_at"] = to_utc(changes["expected_resolution_at"]).isoformat()
    custom_values = _custom(runner, custom or {}, creating=False)
    added, removed = check.labels(add_tags, "add_tags"), check.labels(remove_tags, "remove_tags")
    written = {*changes, *(f"custom.{k}" for k in custom_values)}
    if added or removed:
        written.add("tags")

    def decide(change: Change, call: Call) -> None:
        # writing a field one may not read would confirm a guess (the version moves only when
        # the value differs), so it is refused whatever the value
        refused = sorted(written & call.view.unreadable_on(change.ticket))
        if refused:
            name = refused[0]
            param = name if name.startswith("custom.") or name == "tags" else f"fields.{name}"
            raise ValidationError(param, "is not a field this actor may edit")
        t = change.ticket
        plain = {k: v for k, v in changes.items() if _stored(getattr(t, k)) != v}
        new_custom = {k: v for k, v in custom_values.items() if t.custom.get(k) != v}
        add, drop = added - t.tags, removed & t.tags
        if not (plain or new_custom or add or drop):
            return
        change.add(
            lambda seq: FieldsChanged(
                ticket_id=t.id,
                seq=seq,
                at=call.at,
                actor=actor.id,
                changes=plain,
                custom=new_custom,
                tags_added=add,
                tags_removed=drop,
            )
        )

    return _on_ticket(runner, actor, ticket_id, "ticket.edit", now, decide, expected_version)


def _stored(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def merge(
    runner: Runner, actor: Actor, source_id: str, into_id: str, *, now: datetime | None
) -> Ticket:
    check.ident(source_id, "source_id")
    check.ident(into_id, "into_id")
    if source_id == into_id:
        raise ValidationError("into_id", "cannot merge a ticket into itself")
    workflow = runner.config.workflow
    merged_status = workflow.merged_status()
    if merged_status is None:
        raise ValidationError("into_id", "the workflow has no closed status for merged tickets")

    def body(call: Call) -> Ticket:
        source = call.load_visible(source_id, "ticket.merge")
        target = call.load_visible(into_id, "ticket.merge")
        for ticket, name in ((source, "source_id"), (target, "into_id")):
            if ticket.merged_into is not None:
                raise ValidationError(name, f"{ticket.number} was already merged")
        dst, src = call.track(target), call.track(source)
        src.add(
            lambda seq: Merged(
                ticket_id=source.id,
                seq=seq,
                at=call.at,
                actor=actor.id,
                into=target.id,
                from_status=source.status,
                to_status=merged_status,
                to_category=workflow.category(merged_status),
            )
        )
        dst.add(
            lambda seq: MergeReceived(
                ticket_id=target.id,
                seq=seq,
                at=call.at,
                actor=actor.id,
                source=source.id,
                source_number=source.number,
                messages=source.messages,
            )
        )
        return call.view.present(dst.ticket)

    return runner.run(actor, "ticket.merge", into_id, now, body)


def split(
    runner: Runner,
    actor: Actor,
    ticket_id: str,
    message_ids: Sequence[str],
    *,
    subject: str,
    now: datetime | None,
) -> Ticket:
    check.ident(ticket_id, "ticket_id")
    if isinstance(message_ids, str) or not isinstance(message_ids, Sequence) or not message_ids:
        raise ValidationError("message_ids", "name at least one message to split off")
    for i, mid in enumerate(message_ids):
        check.ident(mid, f"message_ids[{i}]")
    check.text(subject, "subject", limit=check.MAX_LINE)
    new_id = runner.new_id()

    def body(call: Call) -> Ticket:
        source = call.load_visible(ticket_id, "ticket.split")
        picked = []
        for mid in message_ids:
            message = source.message(mid)
            if message is None:
                raise ValidationError("message_ids", f"{mid!r} is not a message of {source.number}")
            picked.append(message)
        created = created_event(
            runner,
            call,
            new_id,
            subject=subject.strip(),
            ticket_type=source.type,
            priority=source.priority,
            channel=source.channel,
            requester=source.requester,
            organisation=source.organisation,
            team=source.team,
            department=source.department,
            sub_category=source.sub_category,
            urgency=source.urgency,
            split_from=source.id,
            messages=tuple(picked),
        )
        new = call.track(Ticket.created(created), [created])
        old = call.track(source)
        old.add(
            lambda seq: SplitOff(
                ticket_id=source.id,
                seq=seq,
                at=call.at,
                actor=actor.id,
                new_ticket=new_id,
                message_ids=tuple(message_ids),
            )
        )
        return call.view.present(new.ticket)

    return runner.run(actor, "ticket.split", ticket_id, now, body)


def link(
    runner: Runner,
    actor: Actor,
    ticket_id: str,
    other_id: str,
    *,
    relation: str,
    now: datetime | None,
) -> Ticket:
    check.ident(ticket_id, "ticket_id")
    check.ident(other_id, "other_id")
    if not isinstance(relation, str) or relation not in INVERSE_RELATIONS:
        raise ValidationError("relation", f"must be one of {sorted(INVERSE_RELATIONS)}")
    if ticket_id == other_id:
        raise ValidationError("other_id", "cannot link a ticket to itself")

    def body(call: Call) -> Ticket:
        one = call.load_visible(ticket_id, "ticket.link")
        two = call.load_visible(other_id, "ticket.link")
        first: Change | None = None
        for ticket, other, rel in (
            (one, two, relation),
            (two, one, INVERSE_RELATIONS[relation]),
        ):
            change = call.track(ticket)
            first = first or change
            if (rel, other.id) not in ticket.links:
                change.add(linked_event(ticket.id, other.id, rel, call.at, actor.id))
        assert first is not None
        return call.view.present(first.ticket)

    return runner.run(actor, "ticket.link", ticket_id, now, body)


def linked_event(
    ticket_id: str, other_id: str, relation: str, at: datetime, actor_id: str
) -> Callable[[int], Event]:
    def make(seq: int) -> Event:
        return Linked(
            ticket_id=ticket_id, seq=seq, at=at, actor=actor_id, other=other_id, relation=relation
        )

    return make


# -- the steps other services build tickets with (intake: mail and web forms) ----------------
# (``created_event``, the first event of a new ticket, is public above)
route = _route
"""Apply the routing policy to a new ticket in the same transaction."""
status_event = _status_event
"""A status change along the workflow, its guards checked."""
renumbered = _renumbered
"""An event given the next sequence number of the change it joins."""
