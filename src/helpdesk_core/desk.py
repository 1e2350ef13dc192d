"""The :class:`Helpdesk` facade: one desk's wiring, and one-line delegations to its services.

Every command and query runs through the one command path
(:class:`~helpdesk_core.service.runner.Runner`): authorise, load what is visible, let the domain
decide, save state, events, outbox rows and the next escalation check in one transaction, then
tell observers. A denied attempt is refused with :class:`~helpdesk_core.errors.PermissionDenied`
and written to the audit log; an actor who may not view a ticket gets
:class:`~helpdesk_core.errors.NotFound`, exactly as for a ticket that does not exist. Where each
command lives: ``docs/architecture.md``.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import attrs

from helpdesk_core import monitoring, reports, reviews, sla
from helpdesk_core.access import AccessPolicy
from helpdesk_core.clock import Clock, SystemClock
from helpdesk_core.conditions import Condition
from helpdesk_core.config import HelpdeskConfig, for_desk
from helpdesk_core.errors import PluginError, ValidationError
from helpdesk_core.escalation import DueFiring, EscalationConfig
from helpdesk_core.export import EXPORT_COLUMNS
from helpdesk_core.lifecycle import Workflow
from helpdesk_core.model.customers import Customer, CustomerEvent
from helpdesk_core.model.events import Event
from helpdesk_core.model.grants import Grant
from helpdesk_core.model.hits import ArticleHit, SearchHit
from helpdesk_core.model.intake import Attachment, IngestResult, IntakeRecord
from helpdesk_core.model.knowledge import Article, ArticleUse, KbGap
from helpdesk_core.model.people import Actor, Agent
from helpdesk_core.model.records import AuditRecord, OutboxMessage
from helpdesk_core.model.reviews import Review
from helpdesk_core.model.surveys import Survey
from helpdesk_core.model.tickets import Ticket
from helpdesk_core.permissions import PermissionMatrix, PermissionsConfig
from helpdesk_core.plugins import PluginManager
from helpdesk_core.ports import Channel, Notifier, SortKey, Storage
from helpdesk_core.routing import RoutingPolicy, ShiftCalendar
from helpdesk_core.service import customers as customer_service
from helpdesk_core.service import dead_letters as dead_letter_service
from helpdesk_core.service import directory, grants, intake, queries, reporting, tickets, workers
from helpdesk_core.service import knowledge as kb_service
from helpdesk_core.service import monitoring as monitoring_service
from helpdesk_core.service import reviews as review_service
from helpdesk_core.service import surveys as survey_service
from helpdesk_core.service.reviews import ReviewRules
from helpdesk_core.service.runner import Runner
from helpdesk_core.service.tickets import UNSET, TicketRules
from helpdesk_core.service.workers import EscalationRun, Escalations
from helpdesk_core.sla import SlaClock, SlaConfig
from helpdesk_core.whatif import WhatIfReport

__all__ = ["EXPORT_COLUMNS", "EscalationRun", "Helpdesk"]


class Helpdesk:
    """One desk: configuration, storage, plugins, access policy and clock.

    :param config: a :class:`HelpdeskConfig`, a dict, a TOML path, or ``None`` for defaults.
    :param storage_url: opened through the ``helpdesk_storage_open`` hook: a URL, or an object
        a storage plugin recognises (the SQL plugin: the host application's SQLAlchemy
        ``Engine``, which the host keeps owning; ``docs/embedding.md``).
    :param plugins: host plugins (modules or instances), registered after the built-ins and
        entry-point plugins; their ``firstresult`` hooks win over the built-ins.
    :param policy: the access policy; the permission matrix (the guides' preset, extended by
        plugins and ``[permissions]``) unless given.
    :param clock: where ``now`` comes from when a command is not given one.
    :param load_entrypoints: load plugins from the ``helpdesk`` entry-point group (default: yes,
        unless ``HELPDESK_DISABLE_PLUGIN_AUTOLOAD`` is set).
    :param id_factory: where new record ids come from (default: random UUIDs).
    :param token_factory: where secrets handed to customers (survey tokens) come from; the
        default draws 32 random bytes from :mod:`secrets`. Tests pass a deterministic one.
    """

    def __init__(
        self,
        config: HelpdeskConfig | Mapping[str, Any] | str | None = None,
        storage_url: str | object = "memory://",
        plugins: Iterable[object] = (),
        *,
        policy: AccessPolicy | None = None,
        clock: Clock | None = None,
        load_entrypoints: bool | None = None,
        id_factory: Callable[[], str] | None = None,
        token_factory: Callable[[], str] | None = None,
    ) -> None:
        self.plugins = PluginManager(plugins, load_entrypoints=load_entrypoints)
        hook = self.plugins.hook
        # this desk's sections, condition fields, operators and regex engine; then the config,
        # parsed once against them
        self.registry = self.plugins.config_registry()
        self.conditions = self.registry.conditions
        self.config = for_desk(config, self.registry)
        self.clock: Clock = clock or SystemClock()
        self.policy: AccessPolicy = policy if policy is not None else self._matrix()
        if isinstance(self.policy, PermissionMatrix):
            self.policy.conditions = self.conditions
        sections = self.config.sections
        routing = sections.get("routing")
        self.routing: RoutingPolicy | None = routing if isinstance(routing, RoutingPolicy) else None
        calendars: Mapping[str, ShiftCalendar] = sections.get("calendars", {})
        sla_section = sections.get("sla")
        self.sla: SlaConfig | None = sla_section if isinstance(sla_section, SlaConfig) else None
        esc = sections.get("escalation")
        self.escalation: EscalationConfig | None = (
            esc if isinstance(esc, EscalationConfig) and esc.policies else None
        )
        storage = hook.helpdesk_storage_open(url=storage_url, config=self.config)
        if storage is None and not isinstance(storage_url, str):
            kind = type(storage_url)
            raise ValidationError(
                "storage_url",
                f"no storage plugin accepts a {kind.__module__}.{kind.__qualname__}: give a URL "
                "or an SQLAlchemy Engine (the 'sql' extra)",
            )
        if storage is None:
            raise PluginError(
                f"no storage plugin serves {storage_url!r}; built-in schemes: memory://, "
                "sqlite:///path.db, postgresql+psycopg://... (install the 'sql' extra)"
            )
        self.notifiers: list[Notifier] = [
            n
            for group in hook.helpdesk_register_notifiers(config=self.config)
            if group
            for n in group
        ]
        self.channels: dict[str, Channel] = self._channels()
        """Intake channels from plugins (``helpdesk_register_channels``), by name."""
        self._reviews = ReviewRules(reviews.settings_for(self.config), self.sla)
        self._escalations = Escalations(
            self.escalation, self.sla, self.config.priorities, self._reviews
        )
        self._rules = TicketRules(
            self.routing,
            calendars,
            lambda ticket, candidates: hook.helpdesk_route_ticket(
                ticket=ticket, candidates=candidates
            ),
        )
        self._runner = Runner(
            storage=storage,
            policy=self.policy,
            config=self.config,
            clock=self.clock,
            new_id=id_factory or (lambda: uuid.uuid4().hex),
            schedule=self._escalations.schedule,
            observe=lambda event, ticket: hook.helpdesk_event_committed(event=event, ticket=ticket),
            new_token=token_factory or (lambda: secrets.token_urlsafe(32)),
            react=survey_service.owe_surveys,
            keep_facts=reporting.FactsKeeper.of(self.sla),
        )

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

    def _channels(self) -> dict[str, Channel]:
        found: dict[str, Channel] = {}
        for group in self.plugins.hook.helpdesk_register_channels(config=self.config):
            for channel in group or ():
                if not isinstance(channel, Channel):
                    raise PluginError(f"{channel!r} is not a Channel (name and parse)")
                if channel.name in found:
                    raise PluginError(f"two plugins register the channel {channel.name!r}")
                found[channel.name] = channel
        return found

    def _review(self, ticket: Ticket, firing: DueFiring, review: Review | None) -> None:
        self.plugins.hook.helpdesk_open_review(
            ticket=ticket, reason=firing.reason, key=firing.key, review=review
        )

    @property
    def storage(self) -> Storage:
        """The store every command runs in (replace it to share one store between desks)."""
        return self._runner.storage

    @storage.setter
    def storage(self, storage: Storage) -> None:
        self._runner.storage = storage

    @property
    def calendars(self) -> Mapping[str, ShiftCalendar]:
        """Shift calendars by name (routing's ``calendar`` of an agent names one)."""
        return self._rules.calendars

    @calendars.setter
    def calendars(self, calendars: Mapping[str, ShiftCalendar]) -> None:
        self._rules = attrs.evolve(self._rules, calendars=calendars)

    @property
    def workflow(self) -> Workflow:
        return self.config.workflow

    def close(self) -> None:
        self.storage.close()

    def __enter__(self) -> Helpdesk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ ticket commands
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
        """Open a ticket (R-TKT-1, R-TKT-2). A customer opens for themself, in their own
        organisation; staff name the ``customer_id``. Returns the new ticket with its number."""
        return tickets.open_ticket(
            self._runner, self._rules, actor, subject=subject, channel=channel,
            customer_id=customer_id, type=type, priority=priority, description=description,
            sub_category=sub_category, urgency=urgency, team=team, department=department,
            organisation=organisation, tags=tags, custom=custom,
            expected_resolution_at=expected_resolution_at, now=now,
        )  # fmt: skip

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
        return tickets.reply(
            self._runner, actor, ticket_id, body, public=public, channel=channel, status=status,
            now=now, expected_version=expected_version,
        )  # fmt: skip

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
        return tickets.add_note(
            self._runner, actor, ticket_id, body, now=now, expected_version=expected_version
        )

    def assign(
        self,
        actor: Actor,
        ticket_id: str,
        assignee: str | None,
        *,
        team: str | None = UNSET,
        reason: str | None = None,
        now: datetime | None = None,
        expected_version: int | None = None,
    ) -> Ticket:
        """Assign to an agent (and optionally a team; ``None`` unassigns). A ``new`` ticket moves
        to ``assigned`` in the same command when the workflow has that transition."""
        return tickets.assign(
            self._runner, actor, ticket_id, assignee, team=team, reason=reason, now=now,
            expected_version=expected_version,
        )  # fmt: skip

    def claim(self, actor: Actor, ticket_id: str, *, now: datetime | None = None) -> Ticket:
        """Take an unassigned ticket from a queue for oneself (``ticket.assign``).

        A compare-and-set on the ticket's version: of many agents claiming at once exactly one
        becomes the assignee and the others get :class:`~helpdesk_core.errors.AlreadyClaimed`.
        """
        return tickets.claim(self._runner, actor, ticket_id, now=now)

    def route_ticket(self, actor: Actor, ticket_id: str, *, now: datetime | None = None) -> Ticket:
        """Assign by the routing rules now (e.g. after a shift starts); ``ticket.assign``."""
        return tickets.route_ticket(self._runner, self._rules, actor, ticket_id, now=now)

    def confirm_priority(
        self,
        actor: Actor,
        ticket_id: str,
        priority: str | None = None,
        *,
        now: datetime | None = None,
    ) -> Ticket:
        """Confirm the automatic intake priority, or change it (R-SLA-5); both are kept."""
        return tickets.confirm_priority(self._runner, actor, ticket_id, priority, now=now)

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
        return tickets.transfer(
            self._runner, self._rules, actor, ticket_id, team=team, summary=summary,
            steps_tried=steps_tried, tier=tier, now=now,
        )  # fmt: skip

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
        return tickets.decide_transfer(
            self._runner, actor, ticket_id, approve=approve, note=note, now=now
        )

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
        A transition marked ``reopen`` (customer not satisfied) starts a new resolution cycle.
        Setting the status the ticket already has changes nothing and returns the ticket (after
        the same permission check), so clients need not read first."""
        return tickets.set_status(
            self._runner, actor, ticket_id, status, reason=reason, now=now,
            expected_version=expected_version,
        )  # fmt: skip

    def reopen(
        self,
        actor: Actor,
        ticket_id: str,
        *,
        reason: str | None = None,
        now: datetime | None = None,
        expected_version: int | None = None,
    ) -> Ticket:
        """Reopen: take the workflow's ``reopen = true`` transition from the current status (the
        first declared if several), starting a new SLA cycle (R-TKT-3). Authorised as
        ``ticket.set_status``; :class:`InvalidTransition` where the workflow has no such
        transition."""
        return tickets.reopen(
            self._runner, actor, ticket_id, reason=reason, now=now,
            expected_version=expected_version,
        )  # fmt: skip

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
        return tickets.set_priority(
            self._runner, actor, ticket_id, priority, reason=reason, now=now,
            expected_version=expected_version,
        )  # fmt: skip

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
        ``expected_resolution_at``, ``workaround``...), custom fields and tags. A field the
        actor sees hidden or masked cannot be written, whatever the value."""
        return tickets.update_ticket(
            self._runner, actor, ticket_id, fields=fields, custom=custom, add_tags=add_tags,
            remove_tags=remove_tags, now=now, expected_version=expected_version,
        )  # fmt: skip

    def merge(
        self, actor: Actor, source_id: str, into_id: str, *, now: datetime | None = None
    ) -> Ticket:
        """Merge ``source_id`` into ``into_id``: the source closes as ``merged`` (its history kept)
        and its conversation is copied into the target. Returns the target."""
        return tickets.merge(self._runner, actor, source_id, into_id, now=now)

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
        return tickets.split(self._runner, actor, ticket_id, message_ids, subject=subject, now=now)

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
        return tickets.link(self._runner, actor, ticket_id, other_id, relation=relation, now=now)

    def record_workaround(
        self,
        actor: Actor,
        ticket_id: str,
        text: str,
        *,
        expected_resolution: datetime | None = None,
        now: datetime | None = None,
    ) -> Ticket:
        """The problem record (R-TKT-6): the temporary workaround and the resolution time the
        customer may expect, sent to them as a public reply on their preferred channel; meets
        the ``workaround`` SLA metric. Only where ``[problem_records]`` applies (the two highest
        priorities by default); ``ticket.edit`` and ``ticket.reply``."""
        return tickets.record_workaround(
            self._runner, actor, ticket_id, text, expected_resolution=expected_resolution,
            now=now,
        )  # fmt: skip

    # ------------------------------------------------------------------ surveys (R-CSAT-1)
    def answer_survey(
        self,
        token: str,
        *,
        stars: int,
        comment: str | None = None,
        now: datetime | None = None,
    ) -> Survey:
        """The customer's answer to a survey invitation (no actor: the token is their proof).
        1..5 ``stars``; an unknown, expired or used token is ``ValidationError('token')``, all
        alike. A rating at or below ``[surveys] unsatisfied_at_most`` reopens the ticket (or
        opens a follow-up) and notifies the supervisors."""
        return survey_service.answer_survey(
            self._runner, token, stars=stars, comment=comment, now=now
        )

    def rate_ticket(
        self,
        actor: Actor,
        ticket_id: str,
        *,
        stars: int,
        comment: str | None = None,
        now: datetime | None = None,
    ) -> Survey:
        """The requester, signed in, answers their open survey of the ticket (rule 8): the same
        one answer the invitation's token would give, without the token. ``survey.answer`` on
        the ticket (customers on their own); no open survey of theirs is
        ``ValidationError('ticket_id')``, whether none was owed, it expired or was answered."""
        return survey_service.rate_ticket(
            self._runner, actor, ticket_id, stars=stars, comment=comment, now=now
        )

    def classify_feedback(
        self, actor: Actor, survey_id: str, category: str, *, now: datetime | None = None
    ) -> Survey:
        """File a survey's feedback as ``process``, ``people`` or ``tool`` (R-REV-4);
        ``survey.classify`` on its ticket."""
        return survey_service.classify_feedback(self._runner, actor, survey_id, category, now=now)

    def surveys(
        self, actor: Actor, *, ticket_id: str | None = None, now: datetime | None = None
    ) -> list[Survey]:
        """The surveys of the tickets the actor may view (``survey.view``), oldest first."""
        return survey_service.surveys(self._runner, actor, ticket_id=ticket_id, now=now)

    # ------------------------------------------------------------------ queries
    def get_ticket(self, actor: Actor, ticket_id: str, *, now: datetime | None = None) -> Ticket:
        """The ticket, or :class:`NotFound` (also when the actor may not view it)."""
        return queries.get_ticket(self._runner, actor, ticket_id, now=now)

    def get_ticket_by_number(
        self, actor: Actor, number: str, *, now: datetime | None = None
    ) -> Ticket:
        """The ticket with this number, or :class:`NotFound` naming the number (also when the
        actor may not view it)."""
        return queries.get_ticket_by_number(self._runner, actor, number, now=now)

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
    ) -> list[Ticket]:
        """Tickets the actor may view that match the filters, in keyset pages, as the actor may
        see them.

        The actor's scope (rules and active grants) is pushed into the storage query, so tickets
        outside it are never loaded. ``after`` is ``(order value, id)`` of the last ticket of the
        previous page. A field the actor sees hidden or masked cannot be filtered on (it is an
        unknown field to them).
        """
        filters = {
            "status": status, "status_category": status_category, "assignee": assignee,
            "team": team, "requester": requester, "priority": priority, "type": type, "tag": tag,
        }  # fmt: skip
        return queries.tickets(
            self._runner, self.conditions, actor, where=where, filters=filters,
            order_by=order_by, descending=descending, after=after, limit=limit, now=now,
        )  # fmt: skip

    def count_tickets(
        self,
        actor: Actor,
        *,
        where: Condition | Mapping[str, Any] | None = None,
        now: datetime | None = None,
        **filters: Any,
    ) -> int:
        """How many tickets the actor may view match the filters (same filters as tickets())."""
        return queries.count_tickets(
            self._runner, self.conditions, actor, where=where, filters=filters, now=now
        )

    def export_tickets(
        self,
        actor: Actor,
        *,
        where: Condition | Mapping[str, Any] | None = None,
        columns: Sequence[str] = EXPORT_COLUMNS,
        now: datetime | None = None,
    ) -> str:
        """CSV of the tickets the actor may export (``ticket.export`` within ``ticket.view``),
        masked as the actor may see them; custom fields as ``custom.<name>`` columns."""
        return queries.export_tickets(
            self._runner, self.conditions, actor, where=where, columns=columns, now=now
        )

    def history(self, actor: Actor, ticket_id: str, *, now: datetime | None = None) -> list[Event]:
        """The ticket's events, oldest first, as the actor may see them (internal events and
        hidden fields only for those allowed): its processing log and audit trail."""
        return queries.history(self._runner, actor, ticket_id, now=now)

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
        supervisor investigating) needs ``audit.view`` and sees the full reasoning. The text
        names no field its reader may not see.
        """
        return queries.explain(self._runner, actor, action, resource_id, asked_by=asked_by, now=now)

    def audit_log(
        self,
        actor: Actor,
        *,
        target: str | None = None,
        limit: int = 1000,
        now: datetime | None = None,
    ) -> list[AuditRecord]:
        """Audit records (denied attempts, grant changes); needs ``audit.view``."""
        return queries.audit_log(self._runner, actor, target=target, limit=limit, now=now)

    def sla_status(
        self, actor: Actor, ticket_id: str, now: datetime | None = None
    ) -> list[SlaClock]:
        """The ticket's SLA clocks as of ``now`` (``ticket.view``): metric, cycle, state, due,
        remaining or overdue, met/breached instants. Empty without an ``[sla]`` section."""
        return queries.sla_status(self._runner, self.sla, actor, ticket_id, now)

    def sla_explain(
        self, actor: Actor, ticket_id: str, now: datetime | None = None
    ) -> sla.SlaExplanation:
        """Why the clocks are what they are: the policy and why it matched, each running or
        paused segment with its business time and calendar intervals, how due was reached.
        ``.text("en")`` or ``.text("zh-CN")`` renders it."""
        return queries.sla_explain(self._runner, self.sla, actor, ticket_id, now)

    # ------------------------------------------------------------------ customers (R-CUS-1..5)
    def create_customer(
        self,
        actor: Actor,
        *,
        name: str,
        kind: str = "individual",
        emails: Iterable[str] = (),
        phones: Iterable[str] = (),
        organisation: str | None = None,
        industry: str | None = None,
        tier: str = "normal",
        tags: Iterable[str] = (),
        now: datetime | None = None,
    ) -> Customer:
        """A customer record (``customer.edit``) numbered by ``[customers] number_pattern``
        ("C" + local date + daily serial by default: ``C20261122001``)."""
        return customer_service.create_customer(
            self._runner, actor, name=name, kind=kind, emails=emails, phones=phones,
            organisation=organisation, industry=industry, tier=tier, tags=tags, now=now,
        )  # fmt: skip

    def get_customer(
        self, actor: Actor, customer_id: str, *, now: datetime | None = None
    ) -> Customer:
        """The customer as the actor may see it (contacts masked without
        ``customer.view_contact``); :class:`NotFound` when hidden or missing, alike."""
        return customer_service.get_customer(self._runner, actor, customer_id, now=now)

    def find_customer(
        self,
        actor: Actor,
        *,
        email: str | None = None,
        phone: str | None = None,
        now: datetime | None = None,
    ) -> Customer | None:
        """The visible customer with this email and/or phone (normalised), or ``None``."""
        return customer_service.find_customer(
            self._runner, actor, email=email, phone=phone, now=now
        )

    def customers(
        self,
        actor: Actor,
        *,
        tier: str | None = None,
        tag: str | None = None,
        organisation: str | None = None,
        after: str | None = None,
        limit: int = 100,
        now: datetime | None = None,
    ) -> list[Customer]:
        """The customers the actor may see (requesters of tickets it may view), by id, in
        keyset pages (``after`` is the last id of the previous page)."""
        return customer_service.customers(
            self._runner, actor, tier=tier, tag=tag, organisation=organisation, after=after,
            limit=limit, now=now,
        )  # fmt: skip

    def update_customer(
        self,
        actor: Actor,
        customer_id: str,
        *,
        expected_version: int | None = None,
        now: datetime | None = None,
        **changes: Any,
    ) -> Customer:
        """Change profile fields (name, contacts, tier, tags...); every change is an event
        (R-CUS-3)."""
        return customer_service.update_customer(
            self._runner, actor, customer_id, changes, expected_version=expected_version, now=now
        )

    def merge_customers(
        self, actor: Actor, source_id: str, into_id: str, *, now: datetime | None = None
    ) -> Customer:
        """Merge a duplicate record into another: tickets follow, both histories are kept."""
        return customer_service.merge_customers(self._runner, actor, source_id, into_id, now=now)

    def customer_history(
        self, actor: Actor, customer_id: str, *, now: datetime | None = None
    ) -> tuple[list[CustomerEvent], list[Ticket]]:
        """The profile's events and the customer's tickets the actor may view (R-CUS-5)."""
        return customer_service.customer_history(self._runner, actor, customer_id, now=now)

    def record_customer_fact(
        self,
        actor: Actor,
        customer_id: str,
        name: str,
        value: Any,
        *,
        now: datetime | None = None,
    ) -> Customer:
        """A fact the host reports (purchase, spend); ``[customers] tier_rules`` may raise the
        tier, recorded with its reason."""
        return customer_service.record_customer_fact(
            self._runner, actor, customer_id, name, value, now=now
        )

    def customer_summary(
        self, actor: Actor, customer_id: str, *, locale: str = "en", now: datetime | None = None
    ) -> str:
        """A one-paragraph profile from tags, tier and service history (en or zh-CN)."""
        return customer_service.customer_summary(
            self._runner, actor, customer_id, locale=locale, now=now
        )

    # ------------------------------------------------------------------ intake (R-TKT-1, issue 23)
    def ingest_email(self, raw: bytes, *, now: datetime | None = None) -> IngestResult:
        """File one raw email as the system actor: a new ticket (acknowledged to the sender), a
        message on the ticket it answers, an ignored record (automated mail, bounces, loops)
        or a quarantine record (unusable input). Never raises for bytes but
        :class:`~helpdesk_core.errors.StorageError` (then nothing is recorded); a redelivery
        (same Message-ID and bytes) returns the first outcome with ``duplicate=True``. Rules:
        :mod:`helpdesk_core.service.intake`."""
        return intake.ingest_email(self._runner, self._rules, self.channels, raw, now=now)

    def submit_web_form(
        self, payload: Mapping[str, Any], *, now: datetime | None = None
    ) -> IngestResult:
        """A ticket from a web or API form (``email``, ``name``, ``subject``, ``body``; optional
        ``phone``, ``type``, ``priority``, ``idempotency_key``), acknowledged to the sender with
        its number. ``ValidationError`` names ``payload.<field>``. A resubmission with the same
        ``idempotency_key`` (same sender, same fields) returns the first result with
        ``duplicate=True`` and writes nothing; without a key every form is a new ticket. Rules:
        :mod:`helpdesk_core.service.intake`."""
        return intake.submit_web_form(self._runner, self._rules, self.channels, payload, now=now)

    def intake_records(
        self,
        actor: Actor,
        *,
        outcome: str | None = None,
        limit: int = 100,
        now: datetime | None = None,
    ) -> list[IntakeRecord]:
        """Ignored and quarantined intake records (or those of ``outcome``), newest first, with
        their raw bytes (``intake.view``)."""
        return intake.intake_records(self._runner, actor, outcome=outcome, limit=limit, now=now)

    def promote_intake(
        self, actor: Actor, record_id: str, *, now: datetime | None = None
    ) -> Ticket:
        """Make a ticket from an ignored or quarantined record (``intake.view`` and
        ``ticket.create``); once per record."""
        return intake.promote_intake(
            self._runner, self._rules, self.channels, actor, record_id, now=now
        )

    def attachment(
        self, actor: Actor, ticket_id: str, attachment_id: str, *, now: datetime | None = None
    ) -> Attachment:
        """An attachment of a ticket the actor may view; NotFound for hidden and missing."""
        return intake.attachment(self._runner, actor, ticket_id, attachment_id, now=now)

    # ------------------------------------------------------------------ search and KB (R-KB-1..4)
    def search(
        self, actor: Actor, query: str, *, limit: int = 20, now: datetime | None = None
    ) -> list[SearchHit]:
        """Ranked full-text search over the tickets the actor may view, best first: subject,
        description and public messages (internal notes too for their readers), highlights
        from fields the actor may read only. An empty query is ``ValidationError('query')``."""
        return kb_service.search(self._runner, actor, query, limit=limit, now=now)

    def search_kb(
        self, actor: Actor, query: str, *, limit: int = 20, now: datetime | None = None
    ) -> list[ArticleHit]:
        """The same engine over KB articles; readers without ``kb.write`` see published ones."""
        return kb_service.search_kb(self._runner, actor, query, limit=limit, now=now)

    def create_article(
        self,
        actor: Actor,
        *,
        category: str,
        title: str,
        problem: str = "",
        steps: Sequence[str] = (),
        cases: Sequence[str] = (),
        tags: Iterable[str] = (),
        now: datetime | None = None,
    ) -> Article:
        """A draft article (``kb.write``): category, title, problem, steps, cases (R-KB-1)."""
        return kb_service.create_article(
            self._runner, actor, category=category, title=title, problem=problem, steps=steps,
            cases=cases, tags=tags, now=now,
        )  # fmt: skip

    def update_article(
        self, actor: Actor, article_id: str, *, now: datetime | None = None, **changes: Any
    ) -> Article:
        """A new version of the article (every version is kept)."""
        return kb_service.update_article(self._runner, actor, article_id, changes, now=now)

    def submit_article(
        self, actor: Actor, article_id: str, *, now: datetime | None = None
    ) -> Article:
        """Send a draft for review (draft -> in_review)."""
        return kb_service.submit_article(self._runner, actor, article_id, now=now)

    def publish_article(
        self,
        actor: Actor,
        article_id: str,
        *,
        approve: bool = True,
        comment: str | None = None,
        now: datetime | None = None,
    ) -> Article:
        """Review (``kb.review``): publish, or send back to draft with a comment (R-KB-2)."""
        return kb_service.publish_article(
            self._runner, actor, article_id, approve=approve, comment=comment, now=now
        )

    def retire_article(
        self, actor: Actor, article_id: str, *, now: datetime | None = None
    ) -> Article:
        """Retire an outdated article (``kb.review``)."""
        return kb_service.retire_article(self._runner, actor, article_id, now=now)

    def get_article(self, actor: Actor, article_id: str, *, now: datetime | None = None) -> Article:
        """The article as the reader may see it (a view is counted for the KB-usage KPI)."""
        return kb_service.get_article(self._runner, actor, article_id, now=now)

    def articles(
        self,
        actor: Actor,
        *,
        state: str | None = None,
        category: str | None = None,
        now: datetime | None = None,
    ) -> list[Article]:
        """The articles the reader may see, filtered by state and category."""
        return kb_service.articles(self._runner, actor, state=state, category=category, now=now)

    def report_kb_gap(
        self,
        actor: Actor,
        query: str,
        *,
        ticket_id: str | None = None,
        now: datetime | None = None,
    ) -> KbGap:
        """Feed back a question the KB could not answer (R-KB-3)."""
        return kb_service.report_kb_gap(self._runner, actor, query, ticket_id=ticket_id, now=now)

    def answer_kb_gap(
        self,
        actor: Actor,
        gap_id: str,
        *,
        category: str,
        title: str,
        problem: str | None = None,
        steps: Sequence[str] = (),
        cases: Sequence[str] = (),
        tags: Iterable[str] = (),
        now: datetime | None = None,
    ) -> Article:
        """Answer a gap with a draft article linked to it."""
        return kb_service.answer_kb_gap(
            self._runner, actor, gap_id, category=category, title=title, problem=problem,
            steps=steps, cases=cases, tags=tags, now=now,
        )  # fmt: skip

    def link_article(
        self,
        actor: Actor,
        ticket_id: str,
        article_id: str,
        *,
        solved: bool = True,
        now: datetime | None = None,
    ) -> ArticleUse:
        """Record that an article was used on a ticket ("this solved it")."""
        return kb_service.link_article(
            self._runner, actor, ticket_id, article_id, solved=solved, now=now
        )

    def archive_to_kb(
        self, actor: Actor, ticket_id: str, *, now: datetime | None = None
    ) -> Article:
        """Archive a solved incident's whole record into a KB draft (R-KB-4)."""
        return kb_service.archive_to_kb(self._runner, actor, ticket_id, now=now)

    # ------------------------------------------------------------------ reviews (R-REV-1..3)
    def open_review(self, actor: Actor, ticket_id: str, *, now: datetime | None = None) -> Review:
        """Open a post-incident review of a P1/P2 ticket (``review.edit``; ``[reviews]
        priorities``); one live review per ticket. Its approval clock starts now."""
        return review_service.open_review(self._runner, self._reviews, actor, ticket_id, now=now)

    def get_review(self, actor: Actor, review_id: str, *, now: datetime | None = None) -> Review:
        """The review (``review.view`` on its ticket; hidden reads as missing), its timeline,
        statistics and feedback current unless it is approved or closed."""
        return review_service.get_review(self._runner, self._reviews, actor, review_id, now=now)

    def reviews(
        self, actor: Actor, *, state: str | None = None, now: datetime | None = None
    ) -> list[Review]:
        """The reviews of tickets the actor may ``review.view``, oldest first."""
        return review_service.reviews(self._runner, self._reviews, actor, state=state, now=now)

    def add_root_cause(
        self,
        actor: Actor,
        review_id: str,
        *,
        category: str,
        description: str,
        whys: Sequence[str] = (),
        now: datetime | None = None,
    ) -> Review:
        """A root cause: ``human_error``, ``process_gap``, ``system_defect`` or ``external``,
        with up to five Whys (R-REV-1)."""
        return review_service.add_root_cause(
            self._runner, self._reviews, actor, review_id, category=category,
            description=description, whys=whys, now=now,
        )  # fmt: skip

    def submit_minutes(
        self, actor: Actor, review_id: str, text: str, *, now: datetime | None = None
    ) -> Review:
        """Submit (or revise) the review meeting's minutes for approval (R-REV-2)."""
        return review_service.submit_minutes(
            self._runner, self._reviews, actor, review_id, text, now=now
        )

    def approve_review(
        self, actor: Actor, review_id: str, *, now: datetime | None = None
    ) -> Review:
        """Approve the minutes (``review.approve``: the service director); freezes the record."""
        return review_service.approve_review(self._runner, self._reviews, actor, review_id, now=now)

    def close_review(
        self, actor: Actor, review_id: str, *, reason: str, now: datetime | None = None
    ) -> Review:
        """Close a review (``review.approve``): not needed, or its work is done."""
        return review_service.close_review(
            self._runner, self._reviews, actor, review_id, reason=reason, now=now
        )

    def add_action(
        self,
        actor: Actor,
        review_id: str,
        *,
        owner: str,
        description: str,
        target: str,
        deadline: datetime,
        verification: str,
        now: datetime | None = None,
    ) -> Review:
        """An improvement action with an owner, a quantified target, a deadline and how it is
        verified (R-REV-3); the owner and the managers hear of it when it is overdue."""
        return review_service.add_action(
            self._runner, self._reviews, actor, review_id, owner=owner, description=description,
            target=target, deadline=deadline, verification=verification, now=now,
        )  # fmt: skip

    def complete_action(
        self,
        actor: Actor,
        review_id: str,
        action_id: str,
        *,
        note: str | None = None,
        now: datetime | None = None,
    ) -> Review:
        """Mark an improvement action done (``review.edit``)."""
        return review_service.complete_action(
            self._runner, self._reviews, actor, review_id, action_id, note=note, now=now
        )

    def verify_action(
        self,
        actor: Actor,
        review_id: str,
        action_id: str,
        *,
        note: str | None = None,
        now: datetime | None = None,
    ) -> Review:
        """Record that a done action met its target (``review.edit``)."""
        return review_service.verify_action(
            self._runner, self._reviews, actor, review_id, action_id, note=note, now=now
        )

    # ------------------------------------------------------------------ reports (R-RPT-1..3)
    def report(
        self,
        actor: Actor,
        name: str,
        *,
        start: date | datetime,
        end: date | datetime,
        group_by: Sequence[str] | str = (),
        now: datetime | None = None,
    ) -> reports.Report:
        """A KPI report (``helpdesk_core.reports.REPORTS``, or ``kb_usage`` over the article
        uses) over the tickets within the actor's ``report.view`` scope; dates are local days
        in the desk's zone. Grouping by ``tier`` reads the requesters' profiles."""
        return reporting.report(
            self._runner, self.sla, actor, name, start=start, end=end, group_by=group_by, now=now
        )

    def whatif(
        self,
        actor: Actor,
        after: HelpdeskConfig | Mapping[str, Any] | str,
        *,
        start: date | datetime,
        end: date | datetime,
        progress: Callable[[int], None] | None = None,
        now: datetime | None = None,
    ) -> WhatIfReport:
        """Replay the tickets created in the period (in the actor's ``report.view`` scope) under
        ``after`` (a config, mapping or TOML path) and this desk's configuration, and report
        the difference: breaches, escalations, workload, moved due instants
        (:mod:`helpdesk_core.whatif`)."""
        return reporting.whatif(
            self._runner, actor, after, start=start, end=end, registry=self.registry,
            progress=progress, now=now,
        )  # fmt: skip

    def queue_status(self, actor: Actor, *, now: datetime | None = None) -> monitoring.QueueStatus:
        """The live queue (R-RPT-2): queue length, average and longest wait, agents online and
        on shift, breaches due in the next hour, per team and in all, with the alarms that hold
        now (R-RTE-5). Counts the tickets in the actor's ``report.view`` scope, as reports do."""
        return monitoring_service.queue_status(
            self._runner, self._escalations, self._rules.calendars, actor, now=now
        )

    # ------------------------------------------------------------------ agents
    def save_agent(self, actor: Actor, agent: Agent, *, now: datetime | None = None) -> Agent:
        """Add or update an agent profile used by routing (``config.edit``)."""
        return directory.save_agent(self._runner, actor, agent, now=now)

    def set_presence(
        self, actor: Actor, agent_id: str, online: bool, *, now: datetime | None = None
    ) -> Agent:
        """An agent goes online or offline (themself, or an administrator for them)."""
        return directory.set_presence(self._runner, actor, agent_id, online, now=now)

    def agents(self) -> list[Agent]:
        """The agent directory."""
        return directory.agents(self._runner)

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
        return grants.request_grant(
            self._runner, self.conditions, actor, actions=actions, where=where,
            valid_until=valid_until, reason=reason, grantee=grantee, role=role, now=now,
        )  # fmt: skip

    def approve_grant(
        self, actor: Actor, grant_id: str, *, note: str | None = None, now: datetime | None = None
    ) -> Grant:
        """Approve a requested grant (``grant.approve``; not by the person who asked)."""
        return grants.decide_grant(self._runner, actor, grant_id, "approved", note=note, now=now)

    def reject_grant(
        self, actor: Actor, grant_id: str, *, note: str | None = None, now: datetime | None = None
    ) -> Grant:
        """Reject a requested grant (``grant.approve``)."""
        return grants.decide_grant(self._runner, actor, grant_id, "rejected", note=note, now=now)

    def revoke_grant(
        self, actor: Actor, grant_id: str, *, note: str | None = None, now: datetime | None = None
    ) -> Grant:
        """Revoke a grant; it stops working on the very next call."""
        return grants.decide_grant(self._runner, actor, grant_id, "revoked", note=note, now=now)

    def expire_grants(self, *, now: datetime | None = None) -> list[Grant]:
        """Mark approved grants past ``valid_until`` as expired (a system command; expired
        grants already stopped working at ``valid_until``)."""
        return grants.expire_grants(self._runner, now=now)

    def grants(self, actor: Actor, *, state: str | None = None) -> list[Grant]:
        """Grants (``grant.approve`` or ``audit.view`` sees all; others their own)."""
        return grants.grants(self._runner, actor, state=state)

    # ------------------------------------------------------------------ workers
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
        return workers.run_escalations(
            self._runner, self._escalations, self._review, now=now, worker=worker, limit=limit,
            lease=lease,
        )  # fmt: skip

    def check_alarms(self, *, now: datetime | None = None) -> monitoring_service.AlarmCheck:
        """One alarm check (the worker runs it each tick): evaluate ``[alarms]`` per team over
        the queued tickets and queue a notice for each alarm raised or cleared, once per
        episode."""
        return monitoring_service.check_alarms(
            self._runner, self._escalations, self._rules.calendars, now=now
        )

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
        return workers.dispatch_outbox(
            self._runner, self.notifiers, now=now, worker=worker, limit=limit, lease=lease
        )

    def dead_letters(
        self, actor: Actor, *, limit: int = 100, now: datetime | None = None
    ) -> list[OutboxMessage]:
        """Outbox messages that failed every delivery attempt (``state="dead"``, ``last_error``
        kept), oldest first; needs ``outbox.manage`` (administrators)."""
        return dead_letter_service.dead_letters(self._runner, actor, limit=limit, now=now)

    def retry_dead_letter(
        self, actor: Actor, message_id: str, *, now: datetime | None = None
    ) -> OutboxMessage:
        """Put a dead letter back to pending, deliverable at once with a fresh round of
        attempts (``outbox.manage``; audited); NotFound when ``message_id`` is not dead."""
        return dead_letter_service.retry_dead_letter(self._runner, actor, message_id, now=now)
