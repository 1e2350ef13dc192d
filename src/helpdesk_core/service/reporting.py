"""Reports through the one command path (R-RPT-1..3): ``report.view`` decides who may read a
report, and the tickets it counts are those within the actor's ``report.view`` scope (a rule
scoped to a department or team limits the figures to it)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import attrs

from helpdesk_core import reports
from helpdesk_core.conditions import FALSE, TRUE, Condition, all_of, field_is
from helpdesk_core.config import ConfigRegistry, HelpdeskConfig, load_config
from helpdesk_core.errors import ValidationError
from helpdesk_core.model.customers import ProfileTimeline
from helpdesk_core.model.events import Event
from helpdesk_core.model.knowledge import ArticleUse
from helpdesk_core.model.people import Actor
from helpdesk_core.model.tickets import Ticket
from helpdesk_core.ports import Storage, TicketQuery, UnitOfWork
from helpdesk_core.service.runner import Call, Runner
from helpdesk_core.service.workers import customer_timeline
from helpdesk_core.sla import SlaConfig
from helpdesk_core.whatif import WhatIfReport
from helpdesk_core.whatif import whatif as replay


def report(
    runner: Runner,
    sla: SlaConfig | None,
    actor: Actor,
    name: str,
    *,
    start: date | datetime,
    end: date | datetime,
    group_by: Sequence[str] | str,
    now: datetime | None,
) -> reports.Report:
    known = [*reports.REPORTS, reports.KB_USAGE]
    if not isinstance(name, str) or name not in known:
        raise ValidationError("name", f"must be one of {sorted(known)}, got {name!r}")
    groups = [group_by] if isinstance(group_by, str) else group_by
    if not isinstance(groups, list | tuple) or not all(isinstance(g, str) for g in groups):
        raise ValidationError("group_by", f"must be a name or a list of names, got {group_by!r}")
    for name_, value in (("start", start), ("end", end)):
        if not isinstance(value, date):  # a datetime is a date too
            raise ValidationError(name_, f"must be a date or an aware datetime, got {value!r}")
    tz = runner.config.desk.timezone
    low, high = reports.period_bounds(start, end, tz)

    def body(call: Call) -> reports.Report:
        scope = call.view.scope("report.view")
        if scope == FALSE:  # no rule gives this actor any report: refused and audited
            call.authorise("report.view", target=name)
        if name == reports.KB_USAGE:
            uses = _scoped_uses(call, scope, low, high)
            return reports.kb_usage(uses, start=start, end=end, tz=tz, group_by=group_by or ())
        # one row of report facts per ticket in the reader's scope (a ticket whose facts
        # cannot answer as of ``end`` is folded from its events: reports.from_store)
        tiers = reports.requester_tiers(call.uow, end=high) if "tier" in groups else None
        profiles = profile_lookup(call.uow) if sla is not None and sla.reads_customer else None
        return reports.from_store(
            [name],
            call.uow,
            scope,
            start=start,
            end=end,
            tz=tz,
            group_by=group_by,
            sla=sla,
            tiers=tiers,
            profiles=profiles,
        )[name]

    return runner.run(actor, "report.view", name, now, body)


def profile_lookup(uow: UnitOfWork) -> reports.ProfileLookup:
    """Requesters' profiles through time, each read once per call (a report over many tickets
    of one customer reads their record once)."""
    seen: dict[str, ProfileTimeline | None] = {}

    def lookup(requester: str) -> ProfileTimeline | None:
        if requester not in seen:
            seen[requester] = customer_timeline(uow, requester)
        return seen[requester]

    return lookup


@attrs.frozen
class FactsKeeper:
    """Keeps each changed ticket's report facts (:func:`helpdesk_core.reports.facts_document`)
    in step, inside the command's transaction: the runner calls it after saving the ticket.
    A ticket created by this command has ``new_events`` as its whole history; any other has
    its history read back (the unit of work sees its own writes)."""

    sla: SlaConfig | None
    fingerprint: str

    @classmethod
    def of(cls, sla: SlaConfig | None) -> FactsKeeper:
        return cls(sla, reports.sla_fingerprint(sla))

    def __call__(self, uow: UnitOfWork, ticket: Ticket, new_events: Sequence[Event]) -> None:
        if not new_events:
            return
        created = new_events[0].seq == 1
        history = new_events if created else uow.ticket_events(ticket.id)
        doc = reports.facts_document(
            history, self.sla, self.fingerprint, self.profile(uow, ticket.requester)
        )
        uow.save_report_facts(ticket.id, ticket.version, doc)

    def profile(self, uow: UnitOfWork, requester: str | None) -> ProfileTimeline | None:
        """The requester's profile through time when the SLA policies read ``customer.*``
        (their clocks are chosen as of the ticket's events, as the live clocks are)."""
        if self.sla is None or not self.sla.reads_customer or requester is None:
            return None
        return customer_timeline(uow, requester)


def rebuild_facts(storage: Storage, sla: SlaConfig | None, *, batch: int = 500) -> int:
    """Compute the report facts of every stored ticket (``helpdesk db reindex``: a store from
    before the facts, or after the SLA configuration changed); returns how many tickets. One
    transaction per ``batch`` tickets, read in creation order, their events in one read."""
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValidationError("batch", f"must be a positive integer, got {batch!r}")
    keeper = FactsKeeper.of(sla)
    done = 0
    after: tuple[Any, str] | None = None
    while True:
        with storage.transaction() as uow:
            page = uow.query_tickets(
                TicketQuery(where=TRUE, order_by="created_at", after=after, limit=batch)
            )
            if page:  # the page's histories in one read, grouped by ticket
                chosen = field_is("id", "in", [t.id for t in page])
                bound = page[-1].created_at + timedelta(microseconds=1)
                histories: dict[str, list[Event]] = {}
                for event in uow.events_by_creation(chosen, created_before=bound):
                    histories.setdefault(event.ticket_id, []).append(event)
                for ticket in page:
                    history = histories.get(ticket.id)
                    if history:
                        doc = reports.facts_document(
                            history,
                            keeper.sla,
                            keeper.fingerprint,
                            keeper.profile(uow, ticket.requester),
                        )
                        uow.save_report_facts(ticket.id, ticket.version, doc)
        done += len(page)
        if len(page) < batch:
            return done
        after = (page[-1].created_at, page[-1].id)


def _scoped_uses(call: Call, scope: Condition, low: datetime, high: datetime) -> list[ArticleUse]:
    """The article uses of the period the reader may count: all of them for a reader whose
    scope is the whole desk; otherwise only links from tickets inside their scope (a view
    belongs to no ticket, so a scoped reader's ``views`` are 0)."""
    uses = [u for u in call.uow.article_uses() if low <= u.at < high]
    if scope == TRUE:
        return uses
    linked = sorted({u.ticket_id for u in uses if u.ticket_id is not None})
    if not linked:
        return []
    where = all_of([scope, field_is("id", "in", linked)])
    visible = {t.id for t in call.uow.query_tickets(TicketQuery(where=where, limit=None))}
    return [u for u in uses if u.ticket_id in visible]


def whatif(
    runner: Runner,
    actor: Actor,
    after: HelpdeskConfig | Mapping[str, Any] | str,
    *,
    start: date | datetime,
    end: date | datetime,
    registry: ConfigRegistry,
    progress: Callable[[int], None] | None,
    now: datetime | None,
) -> WhatIfReport:
    """The desk's configuration is "before"; ``after`` is a config (or a mapping / TOML path
    to load with the desk's plugins). The tickets replayed are those in the actor's
    ``report.view`` scope, as for reports."""
    if not isinstance(after, HelpdeskConfig):
        if not isinstance(after, Mapping | str):
            raise ValidationError("after", f"must be a config, mapping or TOML path, got {after!r}")
        after = load_config(after, registry)
    low, high = reports.period_bounds(start, end, runner.config.desk.timezone)
    target = after

    def body(call: Call) -> WhatIfReport:
        scope = call.view.scope("report.view")
        if scope == FALSE:
            call.authorise("report.view", target="whatif")
        events = reports.stored_events(call.uow, scope, created_before=high, created_from=low)
        return replay(
            events, runner.config, target, start=start, end=end, as_of=None, progress=progress
        )

    return runner.run(actor, "report.view", "whatif", now, body)
