"""The :class:`Helpdesk` application service: commands and queries on behalf of an actor.

Every command follows one path (DESIGN "data flow of one command"): authorise, load the ticket in
a storage transaction, let the domain decide the events, fold them into the new state, save state,
events and outbox rows together, commit; then tell observers (``helpdesk_event_committed``).
A denied attempt is refused with :class:`~helpdesk_core.errors.PermissionDenied` and written to
the audit log; an actor who may not view a ticket gets :class:`~helpdesk_core.errors.NotFound`,
exactly as for a ticket that does not exist.
"""

from __future__ import annotations

import csv
import io
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from helpdesk_core import sla
from helpdesk_core.access import AccessPolicy, Decision
from helpdesk_core.clock import Clock, SystemClock
from helpdesk_core.conditions import (
    FALSE,
    Condition,
    all_of,
    compile_condition,
    field_is,
)
from helpdesk_core.config import HelpdeskConfig, for_desk
from helpdesk_core.errors import (
    AlreadyClaimed,
    ConcurrencyConflict,
    HelpdeskError,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    PluginError,
    ValidationError,
)
from helpdesk_core.escalation import DueFiring, EscalationConfig, EscalationPolicy
from helpdesk_core.lifecycle import Workflow
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
    event_to_dict,
    to_utc,
)
from helpdesk_core.model.people import SYSTEM, Actor, Agent
from helpdesk_core.model.records import AuditRecord, Firing, OutboxMessage
from helpdesk_core.model.tickets import Ticket, ticket_subject
from helpdesk_core.permissions import Grant, PermissionMatrix, PermissionsConfig
from helpdesk_core.plugins import PluginManager
from helpdesk_core.ports import (
    Channel,
    Notification,
    Notifier,
    SortKey,
    Storage,
    TicketQuery,
    UnitOfWork,
)
from helpdesk_core.routing import AgentLoad, RoutingDecision, RoutingPolicy, ShiftCalendar
from helpdesk_core.sla import SlaClock, SlaConfig

log = logging.getLogger("helpdesk")

INVERSE_RELATIONS = {
    "related": "related",
    "duplicate_of": "has_duplicate",
    "has_duplicate": "duplicate_of",
    "parent_of": "child_of",
    "child_of": "parent_of",
    "caused_by": "causes",
    "causes": "caused_by",
}

EXPORT_COLUMNS: tuple[str, ...] = (
    "number",
    "subject",
    "type",
    "priority",
    "status",
    "channel",
    "requester",
    "assignee",
    "team",
    "created_at",
    "updated_at",
)


_UNSET: Any = object()
MAX_RETRIES = 3
OUTBOX_MAX_ATTEMPTS = 8


@attrs.define
class _Change:
    """The events one command decided for one ticket, folded as they are added."""

    ticket: Ticket
    events: list[Event] = attrs.field(factory=list)

    def add(self, make: Callable[[int], Event]) -> Event:
        event = make(self.ticket.version + 1)
        self.ticket = self.ticket.apply(event)
        self.events.append(event)
        return event


@attrs.frozen
class _Call:
    """One command's transaction, actor, instant and the actor's active grants."""

    uow: UnitOfWork
    actor: Actor
    at: datetime
    grants: tuple[Grant, ...]


@attrs.frozen
class _Result:
    changes: list[_Change]
    grants: tuple[Grant, ...]


class Helpdesk:
    """One desk: configuration, storage, plugins, access policy and clock.

    :param config: a :class:`HelpdeskConfig`, a dict, a TOML path, or ``None`` for defaults.
    :param storage_url: opened through the ``helpdesk_storage_open`` hook.
    :param plugins: host plugins (modules or instances), registered after the built-ins and
        entry-point plugins; their ``firstresult`` hooks win over the built-ins.
    :param policy: the access policy; :class:`AllowAllPolicy` until a permission matrix is given.
    :param clock: where ``now`` comes from when a command is not given one.
    :param load_entrypoints: load plugins from the ``helpdesk`` entry-point group (default: yes,
        unless ``HELPDESK_DISABLE_PLUGIN_AUTOLOAD`` is set).
    """

    def __init__(
        self,
        config: HelpdeskConfig | Mapping[str, Any] | str | None = None,
        storage_url: str = "memory://",
        plugins: Iterable[object] = (),
        *,
        policy: AccessPolicy | None = None,
        clock: Clock | None = None,
        load_entrypoints: bool | None = None,
        id_factory: Callable[[], str] | None = None,
    ) -> None:
        self.plugins = PluginManager(plugins, load_entrypoints=load_entrypoints)
        # this desk's sections, condition fields, operators and regex engine; then the config,
        # parsed once against them
        self.registry = self.plugins.config_registry()
        self.conditions = self.registry.conditions
        self.config = for_desk(config, self.registry)
        self.clock: Clock = clock or SystemClock()
        self.policy: AccessPolicy = policy if policy is not None else self._matrix()
        if isinstance(self.policy, PermissionMatrix):
            self.policy.conditions = self.conditions
        routing = self.config.sections.get("routing")
        self.routing: RoutingPolicy | None = routing if isinstance(routing, RoutingPolicy) else None
        self.calendars: Mapping[str, ShiftCalendar] = self.config.sections.get("calendars", {})
        sla_section = self.config.sections.get("sla")
        self.sla: SlaConfig | None = sla_section if isinstance(sla_section, SlaConfig) else None
        esc = self.config.sections.get("escalation")
        self.escalation: EscalationConfig | None = (
            esc if isinstance(esc, EscalationConfig) and esc.policies else None
        )
        self._new_id = id_factory or (lambda: uuid.uuid4().hex)
        self._tz = ZoneInfo(self.config.desk.timezone)
        storage = self.plugins.hook.helpdesk_storage_open(url=storage_url, config=self.config)
        if storage is None:
            raise PluginError(
                f"no storage plugin serves {storage_url!r}; built-in schemes: memory://, "
                "sqlite:///path.db, postgresql+psycopg://... (install the 'sql' extra)"
            )
        self.storage: Storage = storage
        self.notifiers: list[Notifier] = [
            n
            for group in self.plugins.hook.helpdesk_register_notifiers(config=self.config)
            if group
            for n in group
        ]
        self.channels: dict[str, Channel] = {}
        """Intake channels from plugins (``helpdesk_register_channels``), by name."""
        for group in self.plugins.hook.helpdesk_register_channels(config=self.config):
            for channel in group or ():
                if not isinstance(channel, Channel):
                    raise PluginError(f"{channel!r} is not a Channel (name and parse)")
                if channel.name in self.channels:
                    raise PluginError(f"two plugins register the channel {channel.name!r}")
                self.channels[channel.name] = channel

    def _matrix(self) -> PermissionMatrix:
        """The default policy: the guides' matrix preset (or none), extended by plugins, then by
        the config's ``[permissions]`` (so config may name roles and actions plugins added)."""
        section = self.config.sections.get("permissions")
        settings = section if isinstance(section, PermissionsConfig) else PermissionsConfig()
        share = settings.share_organisation_tickets
        matrix = (
            PermissionMatrix.default(share_organisation_tickets=share)
            if settings.preset == "default"
            else PermissionMatrix(share_organisation_tickets=share)
        )
        self.plugins.hook.helpdesk_register_permissions(matrix=matrix)
        matrix.apply_config(settings, self.config.custom_fields)
        return matrix

    @property
    def workflow(self) -> Workflow:
        return self.config.workflow

    def close(self) -> None:
        self.storage.close()

    def __enter__(self) -> Helpdesk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ plumbing
    def _now(self, now: datetime | None) -> datetime:
        return to_utc(now if now is not None else self.clock.now())

    def _audit(
        self, actor: Actor, action: str, target: str | None, decision: Decision, at: datetime
    ) -> AuditRecord:
        return AuditRecord(
            id=self._new_id(),
            at=at,
            actor=actor.id,
            action=action,
            target=target,
            allowed=decision.allowed,
            rule=decision.rule,
            detail=decision.reason,
        )

    def _deny(
        self, actor: Actor, action: str, target: str | None, decision: Decision, at: datetime
    ) -> None:
        """Record a refused attempt in its own transaction (the command itself writes nothing)."""
        with self.storage.transaction() as uow:
            uow.add_audit(self._audit(actor, action, target, decision, at))

    def _authorise(self, call: _Call, action: str, ticket: Ticket | None) -> Decision:
        decision = self.policy.check(call.actor, action, ticket, call.grants)
        if not decision.allowed:
            raise _Refused(action, ticket.id if ticket else None, decision)
        return decision

    def _load_visible(self, call: _Call, ticket_id: str, action: str) -> Ticket:
        """The ticket if the actor may view it and take ``action``; NotFound if it may not
        view it (the same answer as for a ticket that does not exist)."""
        ticket = call.uow.get_ticket(ticket_id)
        if ticket is None:
            raise NotFound("ticket", ticket_id)
        view = self.policy.check(call.actor, "ticket.view", ticket, call.grants)
        if not view.allowed:
            raise _Refused("ticket.view", ticket_id, view, hide=True)
        if action != "ticket.view":
            self._authorise(call, action, ticket)
        return ticket

    def _active_grants(self, uow: UnitOfWork, actor: Actor, at: datetime) -> tuple[Grant, ...]:
        """Read on every call, so an approval or revocation applies to the very next call."""
        return tuple(g for g in uow.grants("approved") if g.applies_to(actor) and g.active(at))

    def _run(
        self,
        actor: Actor,
        action: str,
        target: str | None,
        now: datetime,
        body: Callable[[_Call], list[_Change]],
    ) -> _Result:
        """Run a command body in a transaction, retrying lost optimistic races."""
        for attempt in range(MAX_RETRIES + 1):
            try:
                with self.storage.transaction() as uow:
                    call = _Call(uow, actor, now, self._active_grants(uow, actor, now))
                    changes = body(call)
                    for change in changes:
                        if change.events:
                            uow.save_ticket(change.ticket, change.events)
                            for event in change.events:
                                uow.add_outbox(self._event_message(event, now))
                            self._schedule(uow, change.ticket, now, change.events)
                break
            except _Refused as refused:
                self._deny(actor, refused.action, refused.target, refused.decision, now)
                if refused.hide:
                    raise NotFound("ticket", refused.target or "") from None
                raise PermissionDenied(
                    actor.id, refused.action, refused.decision.rule, refused.decision.reason
                ) from None
            except ConcurrencyConflict:
                if attempt == MAX_RETRIES:
                    raise
        for change in changes:
            for event in change.events:
                self._committed(event, change.ticket)
        return _Result(changes, call.grants)

    def _committed(self, event: Event, ticket: Ticket) -> None:
        try:
            self.plugins.hook.helpdesk_event_committed(event=event, ticket=ticket)
        except Exception:  # an observer must not undo or fail a committed command
            log.exception("helpdesk_event_committed observer failed for %s", event.kind)

    def _event_message(self, event: Event, now: datetime) -> OutboxMessage:
        return OutboxMessage(
            id=self._new_id(),
            topic="event",
            key=f"event:{event.ticket_id}:{event.seq}",
            payload=event_to_dict(event),
            created_at=now,
            available_at=now,
        )

    def _ticket_number(self, uow: UnitOfWork, now: datetime) -> str:
        day = now.astimezone(self._tz).strftime("%Y%m%d")
        serial = uow.next_number(f"ticket:{day}")
        return f"{self.config.desk.ticket_prefix}{day}{serial:06d}"

    def _check_choice(self, field: str, value: str, allowed: Sequence[str]) -> str:
        if value not in allowed:
            raise ValidationError(field, f"must be one of {list(allowed)}, got {value!r}")
        return value

    def _custom(self, values: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
        specs = self.config.custom_fields
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

    def _single(self, actor: Actor, result: _Result) -> Ticket:
        """The first changed ticket, as the actor may see it."""
        return self.policy.present(actor, result.changes[0].ticket, result.grants)

    # ------------------------------------------------------------------ commands
    def open_ticket(
        self,
        actor: Actor,
        *,
        subject: str,
        channel: str,
        customer_id: str | None = None,
        type: str | None = None,
        priority: str | None = None,
        description: str = "",
        sub_category: str | None = None,
        urgency: str | None = None,
        team: str | None = None,
        department: str | None = None,
        organisation: str | None = None,
        tags: Iterable[str] = (),
        custom: Mapping[str, Any] | None = None,
        expected_resolution_at: datetime | None = None,
        now: datetime | None = None,
    ) -> Ticket:
        """Open a ticket (R-TKT-1, R-TKT-2). A customer opens for themself; staff name the
        ``customer_id``. Returns the new ticket with its number."""
        at = self._now(now)
        if not isinstance(subject, str) or not subject.strip():
            raise ValidationError("subject", "must be a non-empty string")
        cfg = self.config
        ticket_type = self._check_choice("type", type or cfg.desk.default_type, cfg.ticket_types)
        if priority is not None:
            self._check_choice("priority", priority, cfg.priorities)
        self._check_choice("channel", channel, cfg.channels)
        if isinstance(tags, str):
            raise ValidationError("tags", "must be a list of strings, not one string")
        custom_values = self._custom(custom or {}, creating=True)
        requester = actor.id if actor.is_customer else customer_id
        if actor.is_customer and customer_id not in (None, actor.id):
            raise ValidationError("customer_id", "a customer opens tickets only for themself")
        org = (
            organisation
            if organisation is not None
            else (actor.organisation if actor.is_customer else None)
        )
        ticket_id = self._new_id()
        workflow = self.workflow

        def body(call: _Call) -> list[_Change]:
            self._authorise(call, "ticket.create", None)
            created = TicketCreated(
                ticket_id=ticket_id,
                seq=1,
                at=at,
                actor=actor.id,
                number=self._ticket_number(call.uow, at),
                subject=subject.strip(),
                description=description,
                type=ticket_type,
                sub_category=sub_category,
                priority=priority or cfg.desk.default_priority,
                urgency=urgency,
                channel=channel,
                status=workflow.initial,
                status_category=workflow.category(workflow.initial),
                requester=requester,
                organisation=org,
                team=team if team is not None else cfg.desk.default_team,
                department=department,
                tags=frozenset(tags),
                custom=custom_values,
                expected_resolution_at=expected_resolution_at,
            )
            if priority is None and self.routing is not None:
                guess = self.routing.auto_priority(ticket_subject(Ticket.created(created)))
                if guess is not None:
                    created = attrs.evolve(created, priority=guess, priority_auto=True)
            ticket = Ticket.created(created)
            self._authorise(call, "ticket.create", ticket)
            change = _Change(ticket, [created])
            if self.routing is not None and self.routing.auto and team is None:
                self._route(call, change)
            return [change]

        return self._single(actor, self._run(actor, "ticket.create", None, at, body))

    def _command(
        self,
        actor: Actor,
        ticket_id: str,
        action: str,
        now: datetime | None,
        decide: Callable[[_Change, _Call], None],
        expected_version: int | None = None,
    ) -> Ticket:
        at = self._now(now)

        def body(call: _Call) -> list[_Change]:
            ticket = self._load_visible(call, ticket_id, action)
            if expected_version is not None and ticket.version != expected_version:
                raise ConcurrencyConflict(ticket_id, expected_version, ticket.version)
            change = _Change(ticket)
            decide(change, call)
            return [change]

        return self._single(actor, self._run(actor, action, ticket_id, at, body))

    def _status_event(
        self, change: _Change, actor: Actor, target: str, at: datetime, reason: str | None
    ) -> None:
        transition = self.workflow.check(change.ticket, target, actor)
        source = change.ticket.status
        change.add(
            lambda seq: StatusChanged(
                ticket_id=change.ticket.id,
                seq=seq,
                at=at,
                actor=actor.id,
                from_status=source,
                to_status=target,
                to_category=self.workflow.category(target),
                reason=reason,
                reopen=transition.reopen,
            )
        )

    def reply(
        self,
        actor: Actor,
        ticket_id: str,
        body: str,
        *,
        public: bool = True,
        channel: str | None = None,
        status: str | None = None,
        now: datetime | None = None,
        expected_version: int | None = None,
    ) -> Ticket:
        """Add a message. A staff member's public reply is visible to the customer; with
        ``public=False`` it is an internal note (same as :meth:`add_note`). A customer's message
        on a ticket in a pause status moves it back to ``in_progress`` (a system status change),
        which resumes the resolution clock. ``status`` changes the status in the same command
        (reply and set pending, say)."""
        if not isinstance(body, str) or not body.strip():
            raise ValidationError("body", "must be a non-empty string")
        if actor.is_customer and not public:
            raise ValidationError("public", "customers cannot write internal notes")
        if not public:
            return self.add_note(actor, ticket_id, body, now=now, expected_version=expected_version)
        action = "ticket.reply"
        via = channel

        def decide(change: _Change, call: _Call) -> None:
            at = call.at
            ticket = change.ticket
            use_channel = via or ticket.channel
            message_id = self._new_id()
            kind = CustomerMessaged if actor.is_customer else Replied
            change.add(
                lambda seq: kind(
                    ticket_id=ticket.id,
                    seq=seq,
                    at=at,
                    actor=actor.id,
                    message_id=message_id,
                    body=body,
                    channel=use_channel,
                )
            )
            if actor.is_customer and change.ticket.status in self.workflow.pause_statuses:
                resume = self._resume_status()
                if resume is not None:
                    self._status_event(change, SYSTEM, resume, at, "customer replied")
            if status is not None and status != change.ticket.status:
                self._authorise(call, "ticket.set_status", change.ticket)
                self._status_event(change, actor, status, at, None)

        return self._command(actor, ticket_id, action, now, decide, expected_version)

    def _resume_status(self) -> str | None:
        """Where a customer message moves a paused ticket: ``in_progress`` if it exists, else the
        first open-category status reachable from every pause status."""
        statuses = self.workflow.statuses
        if "in_progress" in statuses:
            return "in_progress"
        return next((s for s, st in statuses.items() if st.category == "open"), None)

    def add_note(
        self,
        actor: Actor,
        ticket_id: str,
        body: str,
        *,
        now: datetime | None = None,
        expected_version: int | None = None,
    ) -> Ticket:
        """An internal note in the processing log (R-TKT-4); never shown to the customer and
        never an SLA response."""
        if not isinstance(body, str) or not body.strip():
            raise ValidationError("body", "must be a non-empty string")
        if actor.is_customer:
            raise ValidationError("actor", "customers cannot write internal notes")

        def decide(change: _Change, call: _Call) -> None:
            at = call.at
            message_id = self._new_id()
            change.add(
                lambda seq: NoteAdded(
                    ticket_id=change.ticket.id,
                    seq=seq,
                    at=at,
                    actor=actor.id,
                    message_id=message_id,
                    body=body,
                    channel="internal",
                )
            )

        return self._command(actor, ticket_id, "ticket.note", now, decide, expected_version)

    def assign(
        self,
        actor: Actor,
        ticket_id: str,
        assignee: str | None,
        *,
        team: str | None = _UNSET,
        reason: str | None = None,
        now: datetime | None = None,
        expected_version: int | None = None,
    ) -> Ticket:
        """Assign to an agent (and optionally a team; ``None`` unassigns). A ``new`` ticket moves
        to ``assigned`` in the same command when the workflow has that transition."""

        def decide(change: _Change, call: _Call) -> None:
            new_team = change.ticket.team if team is _UNSET else team
            self._assign_events(change, actor.id, assignee, new_team, reason, call.at)

        return self._command(actor, ticket_id, "ticket.assign", now, decide, expected_version)

    def claim(
        self,
        actor: Actor,
        ticket_id: str,
        *,
        now: datetime | None = None,
    ) -> Ticket:
        """Take an unassigned ticket from a queue for oneself (``ticket.assign``).

        A compare-and-set on the ticket's version: of many agents claiming at once exactly one
        becomes the assignee and the others get :class:`~helpdesk_core.errors.AlreadyClaimed`.
        """

        def decide(change: _Change, call: _Call) -> None:
            ticket = change.ticket
            if ticket.assignee is not None:
                raise AlreadyClaimed(ticket.id, ticket.assignee)
            self._assign_events(change, actor.id, actor.id, ticket.team, "claimed", call.at)

        return self._command(actor, ticket_id, "ticket.assign", now, decide)

    def _assign_events(
        self,
        change: _Change,
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
        ticket = change.ticket
        if (
            assignee is not None
            and self.workflow.category(ticket.status) == "new"
            and self.workflow.transition(ticket.status, "assigned") is not None
        ):
            self._status_event(change, SYSTEM, "assigned", at, "assigned")

    # ------------------------------------------------------------------ routing (R-RTE-1..3)
    def _route(self, call: _Call, change: _Change) -> RoutingDecision | None:
        """Apply the routing policy to the ticket in ``change`` (in the same transaction)."""
        policy = self.routing
        if policy is None:
            return None
        ticket = change.ticket
        rule = policy.match(ticket)
        directory = call.uow.agents()
        loads = self._loads(call.uow, directory, policy)
        candidates = policy.eligible(rule, ticket, loads, call.at, self.calendars)
        key = f"routing:rr:{rule.id}"
        state = call.uow.load_state(key) or {}
        chosen = self.plugins.hook.helpdesk_route_ticket(
            ticket=ticket, candidates=[c.agent for c in candidates]
        )
        if chosen is not None:
            if chosen not in {a.id for a in directory}:
                raise PluginError(f"helpdesk_route_ticket chose unknown agent {chosen!r}")
            team = rule.team if rule.team is not None else ticket.team
            decision = RoutingDecision(rule.id, "plugin", team, chosen, "chosen by a host plugin")
        else:
            decision = policy.choose(ticket, rule, candidates, state.get("cursor"))
        if decision.cursor is not None:
            call.uow.save_state(key, {"cursor": decision.cursor})
        self._assign_events(
            change, SYSTEM.id, decision.assignee, decision.team, decision.reason, call.at
        )
        return decision

    def _loads(
        self, uow: UnitOfWork, agents: Sequence[Agent], policy: RoutingPolicy
    ) -> list[AgentLoad]:
        if not agents:
            return []
        where = all_of(
            [
                field_is("assignee", "in", [a.id for a in agents]),
                field_is("status_category", "in", ["new", "open", "pending"]),
            ]
        )
        counts: dict[str, int] = {}
        weights: dict[str, float] = {}
        for ticket in uow.query_tickets(TicketQuery(where=where, limit=None)):
            assert ticket.assignee is not None
            counts[ticket.assignee] = counts.get(ticket.assignee, 0) + 1
            weights[ticket.assignee] = weights.get(ticket.assignee, 0.0) + policy.weight(
                ticket.priority
            )
        return [AgentLoad(a, counts.get(a.id, 0), weights.get(a.id, 0.0)) for a in agents]

    def route_ticket(self, actor: Actor, ticket_id: str, *, now: datetime | None = None) -> Ticket:
        """Assign by the routing rules now (e.g. after a shift starts); ``ticket.assign``."""
        if self.routing is None:
            raise ValidationError("routing", "the desk has no [routing] configuration")

        def decide(change: _Change, call: _Call) -> None:
            self._route(call, change)

        return self._command(actor, ticket_id, "ticket.assign", now, decide)

    def confirm_priority(
        self,
        actor: Actor,
        ticket_id: str,
        priority: str | None = None,
        *,
        now: datetime | None = None,
    ) -> Ticket:
        """Confirm the automatic intake priority, or change it (R-SLA-5); both are kept."""
        if priority is not None:
            self._check_choice("priority", priority, self.config.priorities)

        def decide(change: _Change, call: _Call) -> None:
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

        return self._command(actor, ticket_id, "ticket.set_priority", now, decide)

    def transfer(
        self,
        actor: Actor,
        ticket_id: str,
        *,
        team: str,
        summary: str,
        steps_tried: Sequence[str] = (),
        tier: int | None = None,
        now: datetime | None = None,
    ) -> Ticket:
        """Hand the ticket to another team or tier with a summary and the steps already tried
        (R-RTE-3). When ``[routing] transfer_approval`` matches, this only requests the transfer
        and a supervisor approves it with :meth:`decide_transfer`."""
        if not summary.strip():
            raise ValidationError("summary", "a transfer needs a hand-over summary")
        if isinstance(steps_tried, str):
            raise ValidationError("steps_tried", "must be a list of steps")
        if not team.strip():
            raise ValidationError("team", "name the team to transfer to")

        def decide(change: _Change, call: _Call) -> None:
            ticket = change.ticket
            if ticket.pending_transfer is not None:
                raise ValidationError("ticket", "a transfer of this ticket awaits approval")
            needs = self.routing is not None and self.routing.needs_approval(ticket, team, tier)
            if needs:
                request_id = self._new_id()
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
                        steps_tried=tuple(steps_tried),
                    )
                )
            else:
                self._transferred(change, actor.id, call.at, team, tier, summary, steps_tried)

        return self._command(actor, ticket_id, "ticket.transfer", now, decide)

    def decide_transfer(
        self,
        actor: Actor,
        ticket_id: str,
        *,
        approve: bool,
        note: str | None = None,
        now: datetime | None = None,
    ) -> Ticket:
        """Approve or reject the pending transfer (``ticket.approve_transfer``)."""

        def decide(change: _Change, call: _Call) -> None:
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
                self._transferred(
                    change,
                    actor.id,
                    call.at,
                    request.to_team,
                    request.to_tier,
                    request.summary,
                    request.steps_tried,
                    request.request_id,
                )

        return self._command(actor, ticket_id, "ticket.approve_transfer", now, decide)

    def _transferred(
        self,
        change: _Change,
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

    # ------------------------------------------------------------------ SLA (R-SLA-1..5)
    def sla_status(
        self, actor: Actor, ticket_id: str, now: datetime | None = None
    ) -> list[SlaClock]:
        """The ticket's SLA clocks as of ``now`` (``ticket.view``): metric, cycle, state, due,
        remaining or overdue, met/breached instants. Empty without an ``[sla]`` section."""
        at = self._now(now)
        self.history(actor, ticket_id, now=at)  # the actor's view check (NotFound if hidden)
        if self.sla is None:
            return []
        with self.storage.transaction() as uow:
            raw = uow.ticket_events(ticket_id)  # clocks read the unmasked events
        return sla.evaluate(self.sla, raw, at)

    def sla_explain(
        self, actor: Actor, ticket_id: str, now: datetime | None = None
    ) -> sla.SlaExplanation:
        """Why the clocks are what they are: the policy and why it matched, each running or
        paused segment with its business time and calendar intervals, how due was reached.
        ``.text("en")`` or ``.text("zh-CN")`` renders it."""
        at = self._now(now)
        self.history(actor, ticket_id, now=at)
        with self.storage.transaction() as uow:
            raw = uow.ticket_events(ticket_id)
        return sla.explain(self.sla or sla.SlaConfig(), raw, at)

    # ------------------------------------------------------------------ escalation (R-RTE-4)
    def _sla_clocks(
        self,
        uow: UnitOfWork,
        ticket_id: str,
        now: datetime,
        history: Sequence[Event] | None = None,
    ) -> list[SlaClock]:
        """The ticket's clocks; ``history`` when the caller holds all its events already."""
        if self.sla is None:
            return []
        return sla.evaluate(
            self.sla, uow.ticket_events(ticket_id) if history is None else history, now
        )

    def _schedule(
        self, uow: UnitOfWork, ticket: Ticket, now: datetime, new_events: Sequence[Event]
    ) -> None:
        """Keep the ticket's next escalation check current (same transaction). A ticket created
        by this command has no firings yet and ``new_events`` is its whole history, so nothing
        is read back from the store."""
        if self.escalation is None:
            return
        created = bool(new_events) and new_events[0].seq == 1
        fired = set() if created else {f.key for f in uow.firings(ticket.id)}
        clocks = self._sla_clocks(uow, ticket.id, now, new_events if created else None)
        uow.schedule_check(ticket.id, self.escalation.next_check_at(ticket, clocks, now, fired))

    def run_escalations(
        self,
        *,
        now: datetime | None = None,
        worker: str = "desk",
        limit: int = 500,
        lease: timedelta = timedelta(minutes=5),
    ) -> EscalationRun:
        """One worker tick: claim tickets whose check is due, fire every due escalation level
        exactly once (the firing is recorded in the same transaction as its actions and notices)
        and schedule each ticket's next check. Safe to run from many workers at once and to
        repeat: a level that fired never fires again for the same cycle."""
        at = self._now(now)
        if self.escalation is None:
            return EscalationRun(0, 0, ())
        with self.storage.transaction() as uow:
            claimed = uow.claim_due(at, limit, worker, lease)
        fired: list[str] = []
        lost = 0
        for ticket_id, _ in claimed:
            for attempt in range(MAX_RETRIES + 1):
                try:
                    done, reviews = self._escalate(ticket_id, at, worker)
                except ConcurrencyConflict:
                    if attempt == MAX_RETRIES:
                        raise
                    continue
                except _LeaseLost:
                    lost += 1
                    done, reviews = [], []
                break
            fired += [d.key for d in done]
            for ticket, firing in reviews:
                try:
                    self.plugins.hook.helpdesk_open_review(
                        ticket=ticket, reason=firing.reason, key=firing.key
                    )
                except Exception:
                    log.exception("helpdesk_open_review failed for %s", firing.key)
        return EscalationRun(len(claimed), len(fired), tuple(fired), lost)

    def _escalate(
        self, ticket_id: str, at: datetime, worker: str
    ) -> tuple[list[DueFiring], list[tuple[Ticket, DueFiring]]]:
        assert self.escalation is not None
        with self.storage.transaction() as uow:
            ticket = uow.get_ticket(ticket_id)
            if ticket is None:
                uow.release_check(ticket_id, worker, None)
                return [], []
            clocks = self._sla_clocks(uow, ticket_id, at)
            fired = {f.key for f in uow.firings(ticket_id)}
            change = _Change(ticket)
            done: list[DueFiring] = []
            for policy in self.escalation.for_ticket(ticket):
                for due in policy.due_firings(change.ticket, clocks, at, fired):
                    firing = Firing(
                        due.key, ticket_id, due.policy, due.level.number, due.metric,
                        due.cycle, at, worker,
                    )  # fmt: skip
                    if not uow.add_firing(firing):
                        continue
                    fired.add(due.key)
                    done.append(due)
                    self._escalation_actions(uow, change, policy, due, at)
            if change.events:
                uow.save_ticket(change.ticket, change.events)
                for event in change.events:
                    uow.add_outbox(self._event_message(event, at))
                clocks = self._sla_clocks(uow, ticket_id, at)
            latest = uow.get_ticket(ticket_id) or change.ticket
            if latest.version != change.ticket.version:
                raise ConcurrencyConflict(ticket_id, change.ticket.version, latest.version)
            following = self.escalation.next_check_at(change.ticket, clocks, at, fired)
            if not uow.release_check(ticket_id, worker, following):
                raise _LeaseLost(ticket_id)
        for event in change.events:
            self._committed(event, change.ticket)
        reviews = [(change.ticket, d) for d in done if d.level.review]
        return done, reviews

    def _escalation_actions(
        self,
        uow: UnitOfWork,
        change: _Change,
        policy: EscalationPolicy,
        due: DueFiring,
        at: datetime,
    ) -> None:
        level = due.level
        before = change.ticket
        if level.notify:
            send_at, to_on_call = policy.notice_time(level, at)
            recipients = self._recipients(uow, before, level.notify, policy, at, to_on_call)
            uow.add_outbox(
                OutboxMessage(
                    id=self._new_id(),
                    topic="escalation",
                    key=f"escalation:{due.key}",
                    payload={
                        "ticket_id": before.id,
                        "number": before.number,
                        "subject": before.subject,
                        "policy": due.policy,
                        "level": level.number,
                        "metric": due.metric,
                        "cycle": due.cycle,
                        "reason": due.reason,
                        "recipients": recipients,
                        "on_call": to_on_call,
                        "due_at": due.due_at.isoformat(),
                    },
                    created_at=at,
                    available_at=send_at,
                )
            )
        if level.reassign_team is not None:
            self._transferred(
                change, SYSTEM.id, at, level.reassign_team, level.reassign_tier,
                f"Escalated automatically: {due.reason}", (),
            )  # fmt: skip
        new_priority = level.priority
        if level.raise_priority:
            order = list(self.config.priorities)
            current = order.index(change.ticket.priority) if change.ticket.priority in order else 0
            new_priority = order[max(current - 1, 0)]
        if new_priority is not None and new_priority != change.ticket.priority:
            old = change.ticket.priority
            change.add(
                lambda seq: PriorityChanged(
                    ticket_id=before.id, seq=seq, at=at, actor=SYSTEM.id,
                    from_priority=old, to_priority=new_priority, reason=due.reason,
                )
            )  # fmt: skip
        missing = frozenset(level.tags) - change.ticket.tags
        if missing:
            change.add(
                lambda seq: FieldsChanged(
                    ticket_id=before.id, seq=seq, at=at, actor=SYSTEM.id, tags_added=missing
                )
            )

    def _recipients(
        self,
        uow: UnitOfWork,
        ticket: Ticket,
        notify: Sequence[str],
        policy: EscalationPolicy,
        at: datetime,
        to_on_call: bool,
    ) -> list[str]:
        """Resolve handler/supervisor/manager/on_call/agent:/role:/team: to people."""
        on_call = policy.on_call.on_duty(at) if policy.on_call is not None else None
        if to_on_call:
            return [on_call] if on_call else []
        directory = uow.agents()
        found: list[str] = []
        for who in notify:
            if who == "handler":
                ids = [ticket.assignee] if ticket.assignee else []
            elif who == "supervisor":
                ids = [a.id for a in directory if "supervisor" in a.roles and a.team == ticket.team]
                if not ids:  # nobody in the team: the department's supervisors
                    ids = [
                        a.id
                        for a in directory
                        if "supervisor" in a.roles
                        and ticket.department is not None
                        and a.department == ticket.department
                    ]
            elif who == "manager":
                ids = [a.id for a in directory if "manager" in a.roles]
            elif who == "on_call":
                ids = [on_call] if on_call else []
            elif who.startswith("agent:"):
                ids = [who.removeprefix("agent:")]
            elif who.startswith("role:"):
                ids = [a.id for a in directory if who.removeprefix("role:") in a.roles]
            else:
                ids = [a.id for a in directory if a.team == who.removeprefix("team:")]
            found += [i for i in ids if i not in found]
        return found

    # ------------------------------------------------------------------ agents
    def save_agent(self, actor: Actor, agent: Agent, *, now: datetime | None = None) -> Agent:
        """Add or update an agent profile used by routing (``config.edit``)."""
        self._require(actor, "config.edit", f"agent:{agent.id}", now)
        with self.storage.transaction() as uow:
            uow.save_agent(agent)
        return agent

    def set_presence(
        self, actor: Actor, agent_id: str, online: bool, *, now: datetime | None = None
    ) -> Agent:
        """An agent goes online or offline (themself, or an administrator for them)."""
        if actor.id != agent_id:
            self._require(actor, "config.edit", f"agent:{agent_id}", now)
        with self.storage.transaction() as uow:
            agent = next((a for a in uow.agents() if a.id == agent_id), None)
            if agent is None:
                raise NotFound("agent", agent_id)
            agent = attrs.evolve(agent, online=online)
            uow.save_agent(agent)
        return agent

    def agents(self) -> list[Agent]:
        """The agent directory."""
        with self.storage.transaction() as uow:
            return uow.agents()

    def _require(self, actor: Actor, action: str, target: str | None, now: datetime | None) -> None:
        at = self._now(now)
        with self.storage.transaction() as uow:
            grants = self._active_grants(uow, actor, at)
        decision = self.policy.check(actor, action, None, grants)
        if not decision.allowed:
            self._deny(actor, action, target, decision, at)
            raise PermissionDenied(actor.id, action, decision.rule, decision.reason)

    def set_status(
        self,
        actor: Actor,
        ticket_id: str,
        status: str,
        *,
        reason: str | None = None,
        now: datetime | None = None,
        expected_version: int | None = None,
    ) -> Ticket:
        """Move the ticket along the workflow; :class:`InvalidTransition` names the legal moves.
        A transition marked ``reopen`` (customer not satisfied) starts a new resolution cycle."""

        def decide(change: _Change, call: _Call) -> None:
            at = call.at
            if change.ticket.status == status:
                raise InvalidTransition(
                    status, status, self.workflow.targets(status), "already in that status"
                )
            self._status_event(change, actor, status, at, reason)

        return self._command(actor, ticket_id, "ticket.set_status", now, decide, expected_version)

    def set_priority(
        self,
        actor: Actor,
        ticket_id: str,
        priority: str,
        *,
        reason: str | None = None,
        now: datetime | None = None,
        expected_version: int | None = None,
    ) -> Ticket:
        """Change the priority; SLA targets re-target from the original start."""
        self._check_choice("priority", priority, self.config.priorities)

        def decide(change: _Change, call: _Call) -> None:
            at = call.at
            before = change.ticket.priority
            if before == priority:
                return
            change.add(
                lambda seq: PriorityChanged(
                    ticket_id=change.ticket.id,
                    seq=seq,
                    at=at,
                    actor=actor.id,
                    from_priority=before,
                    to_priority=priority,
                    reason=reason,
                )
            )

        return self._command(actor, ticket_id, "ticket.set_priority", now, decide, expected_version)

    def update_ticket(
        self,
        actor: Actor,
        ticket_id: str,
        *,
        fields: Mapping[str, Any] | None = None,
        custom: Mapping[str, Any] | None = None,
        add_tags: Iterable[str] = (),
        remove_tags: Iterable[str] = (),
        now: datetime | None = None,
        expected_version: int | None = None,
    ) -> Ticket:
        """Edit plain fields (``subject``, ``type``, ``sub_category``, ``urgency``,
        ``expected_resolution_at``, ``workaround``...), custom fields and tags."""
        changes = dict(fields or {})
        for name in changes:
            if name not in TICKET_EDITABLE_FIELDS:
                raise ValidationError(
                    f"fields.{name}", f"not editable here; editable: {list(TICKET_EDITABLE_FIELDS)}"
                )
        if "type" in changes:
            self._check_choice("fields.type", changes["type"], self.config.ticket_types)
        if "subject" in changes and not str(changes["subject"]).strip():
            raise ValidationError("fields.subject", "must be a non-empty string")
        if changes.get("expected_resolution_at") is not None:
            changes["expected_resolution_at"] = to_utc(
                changes["expected_resolution_at"]
            ).isoformat()
        custom_values = self._custom(custom or {}, creating=False)
        added, removed = frozenset(add_tags), frozenset(remove_tags)

        def decide(change: _Change, call: _Call) -> None:
            at = call.at
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
                    at=at,
                    actor=actor.id,
                    changes=plain,
                    custom=new_custom,
                    tags_added=add,
                    tags_removed=drop,
                )
            )

        return self._command(actor, ticket_id, "ticket.edit", now, decide, expected_version)

    def merge(
        self, actor: Actor, source_id: str, into_id: str, *, now: datetime | None = None
    ) -> Ticket:
        """Merge ``source_id`` into ``into_id``: the source closes as ``merged`` (its history kept)
        and its conversation is copied into the target. Returns the target."""
        if source_id == into_id:
            raise ValidationError("into_id", "cannot merge a ticket into itself")
        at = self._now(now)
        merged_status = self._merged_status()

        def body(call: _Call) -> list[_Change]:
            source = self._load_visible(call, source_id, "ticket.merge")
            target = self._load_visible(call, into_id, "ticket.merge")
            for ticket, name in ((source, "source_id"), (target, "into_id")):
                if ticket.merged_into is not None:
                    raise ValidationError(name, f"{ticket.number} was already merged")
            src, dst = _Change(source), _Change(target)
            src.add(
                lambda seq: Merged(
                    ticket_id=source.id,
                    seq=seq,
                    at=at,
                    actor=actor.id,
                    into=target.id,
                    from_status=source.status,
                    to_status=merged_status,
                    to_category=self.workflow.category(merged_status),
                )
            )
            dst.add(
                lambda seq: MergeReceived(
                    ticket_id=target.id,
                    seq=seq,
                    at=at,
                    actor=actor.id,
                    source=source.id,
                    source_number=source.number,
                    messages=source.messages,
                )
            )
            return [dst, src]

        return self._single(actor, self._run(actor, "ticket.merge", into_id, at, body))

    def _merged_status(self) -> str:
        statuses = self.workflow.statuses
        if "merged" in statuses:
            return "merged"
        return next(s for s, st in statuses.items() if st.category == "closed")

    def split(
        self,
        actor: Actor,
        ticket_id: str,
        message_ids: Sequence[str],
        *,
        subject: str,
        now: datetime | None = None,
    ) -> Ticket:
        """Move a part of a conversation into a new ticket (same requester, type and priority);
        both tickets keep their history and are linked. Returns the new ticket."""
        if not message_ids:
            raise ValidationError("message_ids", "name at least one message to split off")
        if not subject.strip():
            raise ValidationError("subject", "must be a non-empty string")
        at = self._now(now)
        new_id = self._new_id()

        def body(call: _Call) -> list[_Change]:
            source = self._load_visible(call, ticket_id, "ticket.split")
            picked = []
            for mid in message_ids:
                message = source.message(mid)
                if message is None:
                    raise ValidationError(
                        "message_ids", f"{mid!r} is not a message of {source.number}"
                    )
                picked.append(message)
            workflow = self.workflow
            created = TicketCreated(
                ticket_id=new_id,
                seq=1,
                at=at,
                actor=actor.id,
                number=self._ticket_number(call.uow, at),
                subject=subject.strip(),
                type=source.type,
                sub_category=source.sub_category,
                priority=source.priority,
                urgency=source.urgency,
                channel=source.channel,
                status=workflow.initial,
                status_category=workflow.category(workflow.initial),
                requester=source.requester,
                organisation=source.organisation,
                team=source.team,
                department=source.department,
                split_from=source.id,
                messages=tuple(picked),
            )
            new = _Change(Ticket.created(created), [created])
            old = _Change(source)
            old.add(
                lambda seq: SplitOff(
                    ticket_id=source.id,
                    seq=seq,
                    at=at,
                    actor=actor.id,
                    new_ticket=new_id,
                    message_ids=tuple(message_ids),
                )
            )
            return [new, old]

        return self._single(actor, self._run(actor, "ticket.split", ticket_id, at, body))

    def link(
        self,
        actor: Actor,
        ticket_id: str,
        other_id: str,
        *,
        relation: str = "related",
        now: datetime | None = None,
    ) -> Ticket:
        """Link two tickets; the other side records the inverse relation."""
        if relation not in INVERSE_RELATIONS:
            raise ValidationError("relation", f"must be one of {sorted(INVERSE_RELATIONS)}")
        if ticket_id == other_id:
            raise ValidationError("other_id", "cannot link a ticket to itself")
        at = self._now(now)

        def body(call: _Call) -> list[_Change]:
            one = self._load_visible(call, ticket_id, "ticket.link")
            two = self._load_visible(call, other_id, "ticket.link")
            changes = []
            for ticket, other, rel in (
                (one, two, relation),
                (two, one, INVERSE_RELATIONS[relation]),
            ):
                change = _Change(ticket)
                if (rel, other.id) not in ticket.links:
                    change.add(_linked(ticket.id, other.id, rel, at, actor.id))
                changes.append(change)
            return changes

        return self._single(actor, self._run(actor, "ticket.link", ticket_id, at, body))

    # ------------------------------------------------------------------ queries
    def get_ticket(self, actor: Actor, ticket_id: str, *, now: datetime | None = None) -> Ticket:
        """The ticket, or :class:`NotFound` (also when the actor may not view it)."""
        at = self._now(now)

        def body(call: _Call) -> list[_Change]:
            return [_Change(self._load_visible(call, ticket_id, "ticket.view"))]

        return self._single(actor, self._run(actor, "ticket.view", ticket_id, at, body))

    def get_ticket_by_number(
        self, actor: Actor, number: str, *, now: datetime | None = None
    ) -> Ticket:
        """The ticket with this number, or :class:`NotFound` (also when not visible)."""
        with self.storage.transaction() as uow:
            ticket = uow.get_ticket_by_number(number)
        if ticket is None:
            raise NotFound("ticket", number)
        return self.get_ticket(actor, ticket.id, now=now)

    def tickets(
        self,
        actor: Actor,
        *,
        where: Condition | Mapping[str, Any] | None = None,
        status: str | Iterable[str] | None = None,
        status_category: str | Iterable[str] | None = None,
        assignee: str | None = None,
        team: str | None = None,
        requester: str | None = None,
        priority: str | Iterable[str] | None = None,
        type: str | Iterable[str] | None = None,
        tag: str | None = None,
        order_by: SortKey = "created_at",
        descending: bool = False,
        after: tuple[Any, str] | None = None,
        limit: int | None = 100,
        now: datetime | None = None,
        action: str = "ticket.view",
    ) -> list[Ticket]:
        """Tickets the actor may view that match the filters, in keyset pages, as the actor may
        see them.

        The actor's scope (rules and active grants) is pushed into the storage query, so tickets
        outside it are never loaded. ``after`` is ``(order value, id)`` of the last ticket of the
        previous page.
        """
        filters = {
            "status": status,
            "status_category": status_category,
            "assignee": assignee,
            "team": team,
            "requester": requester,
            "priority": priority,
            "type": type,
            "tag": tag,
        }
        at = self._now(now)
        with self.storage.transaction() as uow:
            grants = self._active_grants(uow, actor, at)
            query = TicketQuery(
                where=self._where(actor, action, grants, where, filters),
                order_by=order_by,
                descending=descending,
                after=after,
                limit=limit,
            )
            found = uow.query_tickets(query)
        return [self.policy.present(actor, t, grants) for t in found]

    def count_tickets(
        self,
        actor: Actor,
        *,
        where: Condition | Mapping[str, Any] | None = None,
        now: datetime | None = None,
        **filters: Any,
    ) -> int:
        """How many tickets the actor may view match the filters (same filters as tickets())."""
        at = self._now(now)
        with self.storage.transaction() as uow:
            grants = self._active_grants(uow, actor, at)
            return uow.count_tickets(self._where(actor, "ticket.view", grants, where, filters))

    def _where(
        self,
        actor: Actor,
        action: str,
        grants: Sequence[Grant],
        where: Condition | Mapping[str, Any] | None,
        filters: Mapping[str, Any],
    ) -> Condition:
        parts = [self.policy.scope(actor, action, grants)]
        if where is not None:
            parts.append(compile_condition(where, "where"))
        for name, value in filters.items():
            if value is None:
                continue
            if name == "tag":
                parts.append(field_is("tags", "contains", value))
            elif isinstance(value, str):
                parts.append(field_is(name, "eq", value))
            else:
                parts.append(field_is(name, "in", list(value)))
        return all_of(parts)

    def export_tickets(
        self,
        actor: Actor,
        *,
        where: Condition | Mapping[str, Any] | None = None,
        columns: Sequence[str] = EXPORT_COLUMNS,
        now: datetime | None = None,
    ) -> str:
        """CSV of the tickets the actor may export (``ticket.export`` scope), masked as the actor
        may see them; custom fields as ``custom.<name>`` columns."""
        at = self._now(now)
        with self.storage.transaction() as uow:
            grants = self._active_grants(uow, actor, at)
        if self.policy.scope(actor, "ticket.export", grants) == FALSE:
            decision = self.policy.check(actor, "ticket.export", None, grants)
            self._deny(actor, "ticket.export", None, decision, at)
            raise PermissionDenied(actor.id, "ticket.export", decision.rule, decision.reason)
        tickets = self.tickets(actor, where=where, limit=None, now=at, action="ticket.export")
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for ticket in tickets:
            writer.writerow([_export_value(ticket, column) for column in columns])
        return out.getvalue()

    def history(self, actor: Actor, ticket_id: str, *, now: datetime | None = None) -> list[Event]:
        """The ticket's events, oldest first, as the actor may see them (internal notes and
        contact data only for those allowed): its processing log and audit trail."""
        at = self._now(now)

        def body(call: _Call) -> list[_Change]:
            return [_Change(self._load_visible(call, ticket_id, "ticket.view"))]

        result = self._run(actor, "ticket.view", ticket_id, at, body)
        ticket = result.changes[0].ticket
        with self.storage.transaction() as uow:
            events = uow.ticket_events(ticket_id)
        return self.policy.present_history(actor, ticket, events, result.grants)

    def explain(
        self,
        actor: Actor,
        action: str,
        resource_id: str | None = None,
        *,
        asked_by: Actor | None = None,
        now: datetime | None = None,
    ) -> str:
        """Why ``actor`` may or may not take ``action`` (on ticket ``resource_id``), in words.

        Without ``asked_by`` the explanation is for the actor themself, and says nothing about a
        ticket they may not view (no existence leak). ``asked_by`` (an administrator or a
        supervisor investigating) needs ``audit.view`` and sees the full reasoning.
        """
        at = self._now(now)
        with self.storage.transaction() as uow:
            ticket = uow.get_ticket(resource_id) if resource_id is not None else None
            grants = self._active_grants(uow, actor, at)
            asker_grants = self._active_grants(uow, asked_by, at) if asked_by else ()
        if asked_by is not None:
            decision = self.policy.check(asked_by, "audit.view", None, asker_grants)
            if not decision.allowed:
                self._deny(asked_by, "audit.view", resource_id, decision, at)
                raise PermissionDenied(asked_by.id, "audit.view", decision.rule, decision.reason)
        if resource_id is not None and ticket is None:
            return f"{actor.id} may NOT {action}: ticket {resource_id} not found"
        if (
            asked_by is None
            and ticket is not None
            and not self.policy.check(actor, "ticket.view", ticket, grants).allowed
        ):
            return f"{actor.id} may NOT {action}: ticket {resource_id} not found"
        return "\n".join(self.policy.explain(actor, action, ticket, grants))

    def audit_log(
        self,
        actor: Actor,
        *,
        target: str | None = None,
        limit: int = 1000,
        now: datetime | None = None,
    ) -> list[AuditRecord]:
        """Audit records (denied attempts, grant changes); needs ``audit.view``."""
        at = self._now(now)
        with self.storage.transaction() as uow:
            grants = self._active_grants(uow, actor, at)
        decision = self.policy.check(actor, "audit.view", None, grants)
        if not decision.allowed:
            self._deny(actor, "audit.view", target, decision, at)
            raise PermissionDenied(actor.id, "audit.view", decision.rule, decision.reason)
        with self.storage.transaction() as uow:
            return uow.audit_log(target=target, limit=limit)

    # ------------------------------------------------------------------ grants (R-PRM-3)
    def request_grant(
        self,
        actor: Actor,
        *,
        actions: Sequence[str],
        where: Mapping[str, Any],
        valid_until: datetime,
        reason: str,
        grantee: str | None = None,
        role: str | None = None,
        now: datetime | None = None,
    ) -> Grant:
        """Ask for extra access (e.g. a sales rep to read one customer's service history,
        ``where={"requester": "C123"}``); it takes effect once approved and until
        ``valid_until``."""
        at = self._now(now)
        if (grantee is None) == (role is None):
            raise ValidationError("grantee", "name exactly one of grantee (a person) or role")
        if not actions or isinstance(actions, str):
            raise ValidationError("actions", "must be a non-empty list of actions")
        if isinstance(self.policy, PermissionMatrix):
            for action in actions:
                if action not in self.policy.actions:
                    raise ValidationError("actions", f"unknown action {action!r}")
            if role is not None and role not in self.policy.roles:
                raise ValidationError("role", f"unknown role {role!r}")
        compile_condition(where, "where")
        if not reason.strip():
            raise ValidationError("reason", "say why the access is needed")
        if to_utc(valid_until) <= at:
            raise ValidationError("valid_until", "must be in the future")
        grant = Grant(
            id=self._new_id(),
            actions=tuple(actions),
            where=dict(where),
            valid_until=valid_until,
            reason=reason,
            requested_by=actor.id,
            grantee=grantee,
            role=role,
        ).change("requested", at, actor.id, reason)
        self._grant_command(actor, "grant.request", grant, at)
        return grant

    def approve_grant(
        self, actor: Actor, grant_id: str, *, note: str | None = None, now: datetime | None = None
    ) -> Grant:
        """Approve a requested grant (``grant.approve``; not by the person who asked)."""
        return self._decide_grant(actor, grant_id, "approved", note, now)

    def reject_grant(
        self, actor: Actor, grant_id: str, *, note: str | None = None, now: datetime | None = None
    ) -> Grant:
        return self._decide_grant(actor, grant_id, "rejected", note, now)

    def revoke_grant(
        self, actor: Actor, grant_id: str, *, note: str | None = None, now: datetime | None = None
    ) -> Grant:
        """Revoke a grant; it stops working on the very next call."""
        return self._decide_grant(actor, grant_id, "revoked", note, now)

    def expire_grants(self, *, now: datetime | None = None) -> list[Grant]:
        """Mark approved grants past ``valid_until`` as expired (a system command; expired
        grants already stopped working at ``valid_until``)."""
        at = self._now(now)
        with self.storage.transaction() as uow:
            expired = [
                g.change("expired", at, SYSTEM.id)
                for g in uow.grants("approved")
                if not g.active(at)
            ]
            for grant in expired:
                uow.save_grant(grant)
                uow.add_audit(self._grant_audit(SYSTEM, "grant.expire", grant, at))
        return expired

    def grants(self, actor: Actor, *, state: str | None = None) -> list[Grant]:
        """Grants (``grant.approve`` or ``audit.view`` sees all; others their own)."""
        with self.storage.transaction() as uow:
            rows = uow.grants(state)
        if (
            self.policy.check(actor, "grant.approve").allowed
            or self.policy.check(actor, "audit.view").allowed
        ):
            return rows
        return [g for g in rows if actor.id in (g.requested_by, g.grantee)]

    def _decide_grant(
        self, actor: Actor, grant_id: str, state: str, note: str | None, now: datetime | None
    ) -> Grant:
        at = self._now(now)
        with self.storage.transaction() as uow:
            grant = uow.get_grant(grant_id)
        if grant is None:
            raise NotFound("grant", grant_id)
        if state == "revoked" and actor.id == grant.requested_by:
            action = "grant.request"  # whoever asked may give the access back
        else:
            action = "grant.approve"
        if state in ("approved", "rejected"):
            if grant.state != "requested":
                raise ValidationError("grant", f"grant {grant_id} is {grant.state}, not requested")
            if actor.id == grant.requested_by:
                raise ValidationError(
                    "actor", "a grant is approved by someone other than its requester"
                )
        elif grant.state not in ("requested", "approved"):
            raise ValidationError("grant", f"grant {grant_id} is already {grant.state}")
        changed = grant.change(state, at, actor.id, note)
        self._grant_command(actor, action, changed, at)
        return changed

    def _grant_command(self, actor: Actor, action: str, grant: Grant, at: datetime) -> None:
        with self.storage.transaction() as uow:
            grants = self._active_grants(uow, actor, at)
            decision = self.policy.check(actor, action, None, grants)
            if decision.allowed:
                uow.save_grant(grant)
                uow.add_audit(self._grant_audit(actor, action, grant, at, decision))
        if not decision.allowed:
            self._deny(actor, action, f"grant:{grant.id}", decision, at)
            raise PermissionDenied(actor.id, action, decision.rule, decision.reason)

    def _grant_audit(
        self,
        actor: Actor,
        action: str,
        grant: Grant,
        at: datetime,
        decision: Decision | None = None,
    ) -> AuditRecord:
        return AuditRecord(
            id=self._new_id(),
            at=at,
            actor=actor.id,
            action=action,
            target=f"grant:{grant.id}",
            allowed=True,
            rule=decision.rule if decision else "system",
            detail=(
                f"{grant.state}: {', '.join(grant.actions)} where {dict(grant.where)} for "
                f"{grant.grantee or 'role ' + str(grant.role)} "
                f"until {grant.valid_until.isoformat()}"
            ),
        )

    # ------------------------------------------------------------------ outbox delivery
    def dispatch_outbox(
        self,
        *,
        now: datetime | None = None,
        worker: str = "desk",
        limit: int = 100,
        lease: timedelta = timedelta(minutes=5),
    ) -> int:
        """Deliver pending outbox messages to the notifiers, at least once. A failed delivery is
        retried with exponential back-off and marked dead after 8 attempts. Returns how many
        messages were handled."""
        at = self._now(now)
        with self.storage.transaction() as uow:
            claimed = uow.claim_outbox(at, limit, worker, lease)
        for message in claimed:
            error: str | None = None
            try:
                for notification in self._notifications(message):
                    for notifier in self.notifiers:
                        notifier.send(notification)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                log.warning("outbox delivery of %s failed: %s", message.key, error)
            with self.storage.transaction() as uow:
                if error is None:
                    uow.finish_outbox(message.id, delivered=True)
                elif message.attempts + 1 >= OUTBOX_MAX_ATTEMPTS:
                    uow.finish_outbox(message.id, delivered=False, error=error)
                else:
                    backoff = timedelta(seconds=30 * 2**message.attempts)
                    uow.finish_outbox(
                        message.id, delivered=False, error=error, retry_at=at + backoff
                    )
        return len(claimed)

    def _notifications(self, message: OutboxMessage) -> list[Notification]:
        """Who hears of a committed event: the requester of public replies and status changes,
        the assignee of customer messages and of assignments."""
        if message.topic == "escalation":
            data = message.payload
            return [
                Notification(
                    key=f"{message.key}:{recipient}",
                    recipient=recipient,
                    subject=f"[{data['number']}] Escalation: {data['subject']}",
                    body=str(data["reason"]),
                    event_kind="escalation",
                    ticket_id=str(data["ticket_id"]),
                    data={k: data[k] for k in ("policy", "level", "metric", "cycle", "on_call")},
                )
                for recipient in data["recipients"]
            ]
        if message.topic != "event":
            return []
        data = message.payload
        kind = data["kind"]
        with self.storage.transaction() as uow:
            ticket = uow.get_ticket(data["ticket_id"])
        if ticket is None:
            return []
        recipients: list[str] = []
        if kind in ("replied", "status_changed", "ticket_created") and ticket.requester:
            recipients.append(ticket.requester)
        if kind in ("customer_messaged", "assigned") and ticket.assignee:
            recipients.append(ticket.assignee)
        subject = f"[{ticket.number}] {ticket.subject}"
        body = data.get("body") or (
            f"Status: {data.get('to_status')}" if kind == "status_changed" else kind
        )
        return [
            Notification(
                key=f"{message.key}:{recipient}",
                recipient=recipient,
                subject=subject,
                body=str(body),
                event_kind=kind,
                ticket_id=ticket.id,
            )
            for recipient in recipients
            if recipient != data.get("actor")
        ]


def _linked(
    ticket_id: str, other_id: str, relation: str, at: datetime, actor_id: str
) -> Callable[[int], Event]:
    def make(seq: int) -> Event:
        return Linked(
            ticket_id=ticket_id, seq=seq, at=at, actor=actor_id, other=other_id, relation=relation
        )

    return make


def _export_value(ticket: Ticket, column: str) -> str:
    if column.startswith("custom."):
        value = ticket.custom.get(column[len("custom.") :])
    else:
        value = getattr(ticket, column)
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, frozenset):
        return ",".join(sorted(value))
    return str(value)


def _stored(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


class _LeaseLost(HelpdeskError):
    """Another worker took the ticket over while this one worked on it; roll back."""


@attrs.frozen
class EscalationRun:
    """What one :meth:`Helpdesk.run_escalations` tick did."""

    claimed: int
    fired: int
    keys: tuple[str, ...]
    lost_leases: int = 0


class _Refused(HelpdeskError):
    """Internal: a policy refusal unwinding the transaction (turned into PermissionDenied or,
    when ``hide``, NotFound, after the audit record is written)."""

    def __init__(
        self, action: str, target: str | None, decision: Decision, hide: bool = False
    ) -> None:
        super().__init__(decision.reason)
        self.action = action
        self.target = target
        self.decision = decision
        self.hide = hide
