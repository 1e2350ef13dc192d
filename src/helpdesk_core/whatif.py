"""What-if replay: recorded ticket histories under another SLA, calendar, routing or escalation
configuration (issue 24). Pure: events in, a :class:`WhatIfReport` out.

Rules (docs/reports.md, "What-if replay"):

1. The tickets are those created in ``[start, end)`` (dates are local days in the "before"
   desk's zone, as in reports). Their recorded histories are fixed: what a changed escalation
   would have done (a reassignment, a raised priority) is not fed back into the history.
2. SLA: each ticket's clocks are evaluated under both configurations as of ``as_of`` (default
   ``end``); a cycle counts as breached when its clock has a breach instant. Rows per metric and
   priority (the priority the ticket was created with) give the breaches before and after.
3. Escalations: the levels a worker would have fired by ``as_of`` under each configuration,
   checking as the desk does (at every recorded event, and at every instant the state then said
   a level becomes due), on the recorded history; per policy and level.
4. Routing: the team each ticket would have been given at creation (the matching rule's team,
   else the team it was created with); assignees are not replayed (they depend on who was on
   shift and their loads at the time, which events do not record). Workload rows count tickets
   per team.
5. Moved: the cycles whose due instant moved, largest shift first (at most ``top``).

The same configuration on both sides changes nothing (a property the tests check).
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import attrs

from helpdesk_core.config import HelpdeskConfig
from helpdesk_core.errors import ValidationError
from helpdesk_core.escalation import DueFiring, EscalationConfig
from helpdesk_core.model.events import Event, TicketCreated
from helpdesk_core.model.tickets import Ticket
from helpdesk_core.reports import period_bounds
from helpdesk_core.routing import RoutingPolicy
from helpdesk_core.sla import (
    ClockReplay,
    SlaClock,
    SlaConfig,
    SlaOutcome,
    SlaPolicy,
    evaluate,
    evaluate_outcomes,
)


@attrs.frozen
class BreachRow:
    metric: str
    priority: str
    cycles_before: int
    cycles_after: int
    breached_before: int
    breached_after: int


@attrs.frozen
class EscalationRow:
    policy: str
    level: int
    before: int
    after: int


@attrs.frozen
class WorkloadRow:
    team: str | None
    before: int
    after: int


@attrs.frozen
class MovedDue:
    ticket_id: str
    number: str
    metric: str
    cycle: int
    before: datetime | None
    after: datetime | None

    @property
    def shift(self) -> timedelta | None:
        """How far the due instant moved (positive: later); None when one side has none."""
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


@attrs.frozen
class WhatIfReport:
    """The difference between two configurations over the same recorded tickets."""

    start: datetime
    end: datetime
    as_of: datetime
    tickets: int
    breaches: tuple[BreachRow, ...]
    escalations: tuple[EscalationRow, ...]
    workload: tuple[WorkloadRow, ...]
    moved: tuple[MovedDue, ...]

    @property
    def changed(self) -> bool:
        """Whether anything differs between the two configurations."""
        return (
            bool(self.moved)
            or any(
                r.breached_before != r.breached_after or r.cycles_before != r.cycles_after
                for r in self.breaches
            )
            or any(r.before != r.after for r in self.escalations)
            or any(r.before != r.after for r in self.workload)
        )

    def combine(self, other: WhatIfReport, *, top: int = 20) -> WhatIfReport:
        """This report and ``other`` (the same period and configurations over another shard of
        the tickets) as one: counts added, the largest moves of both kept (at most ``top``).
        Sharding the tickets over processes and combining gives the single run's figures."""
        if (self.start, self.end, self.as_of) != (other.start, other.end, other.as_of):
            raise ValidationError("other", "covers another period; only shards of one run combine")

        def add(
            rows: Iterable[Any], others: Iterable[Any], key: Callable[[Any], Any], counts: str
        ) -> list[Any]:
            """Rows of both, those with the same key as one with their ``counts`` added."""
            found: dict[Any, Any] = {}
            for row in [*rows, *others]:
                k = key(row)
                if k not in found:
                    found[k] = row
                    continue
                was = found[k]
                sums = {name: getattr(was, name) + getattr(row, name) for name in counts.split()}
                found[k] = attrs.evolve(was, **sums)
            return [found[k] for k in sorted(found, key=_sortable)]

        moved = sorted(
            [*self.moved, *other.moved],
            key=lambda m: -(abs(m.shift) if m.shift is not None else timedelta.max),
        )[:top]
        return WhatIfReport(
            self.start,
            self.end,
            self.as_of,
            self.tickets + other.tickets,
            tuple(
                add(
                    self.breaches,
                    other.breaches,
                    lambda r: (r.metric, r.priority),
                    "cycles_before cycles_after breached_before breached_after",
                )
            ),
            tuple(
                add(
                    self.escalations,
                    other.escalations,
                    lambda r: (r.policy, r.level),
                    "before after",
                )
            ),
            tuple(add(self.workload, other.workload, lambda r: r.team, "before after")),
            tuple(moved),
        )

    def breached(self) -> tuple[int, int]:
        """Breached cycles in all, before and after."""
        return (
            sum(r.breached_before for r in self.breaches),
            sum(r.breached_after for r in self.breaches),
        )

    def text(self) -> str:
        """Readable tables (what ``helpdesk whatif`` prints)."""
        lines = [
            f"{self.tickets} tickets created {self.start.isoformat()} .. {self.end.isoformat()}, "
            f"clocks as of {self.as_of.isoformat()}",
            "",
            f"{'metric':<18}{'priority':<10}{'breached before':>16}{'after':>8}{'change':>8}",
        ]
        for r in self.breaches:
            change = r.breached_after - r.breached_before
            lines.append(
                f"{r.metric:<18}{r.priority:<10}{r.breached_before:>16}{r.breached_after:>8}"
                f"{change:>+8}"
            )
        before, after = self.breached()
        lines.append(f"{'all':<28}{before:>16}{after:>8}{after - before:>+8}")
        if self.escalations:
            lines += ["", f"{'escalation':<28}{'fired before':>16}{'after':>8}"]
            lines += [
                f"{r.policy + ' level ' + str(r.level):<28}{r.before:>16}{r.after:>8}"
                for r in self.escalations
            ]
        if any(r.before != r.after for r in self.workload):
            lines += ["", f"{'team':<28}{'tickets before':>16}{'after':>8}"]
            lines += [
                f"{r.team or '(no team)':<28}{r.before:>16}{r.after:>8}" for r in self.workload
            ]
        if self.moved:
            lines += ["", "due instants that moved most:"]
            for m in self.moved:
                shift = m.shift
                moved = "appears" if m.before is None else "disappears" if m.after is None else ""
                lines.append(
                    f"  {m.number} {m.metric}#{m.cycle}: "
                    + (moved or f"{_signed(shift)} (now due {m.after.isoformat()})")  # type: ignore[union-attr]
                )
        return "\n".join(lines)


def _sortable(key: Any) -> Any:
    """Sort keys that may hold None (a team-less workload row sorts last)."""
    items = key if isinstance(key, tuple) else (key,)
    return tuple((item is None, "" if item is None else item) for item in items)


def _signed(delta: timedelta | None) -> str:
    if delta is None:
        return "?"
    sign = "-" if delta < timedelta(0) else "+"
    minutes = int(abs(delta).total_seconds() // 60)
    return f"{sign}{minutes // 60}h{minutes % 60:02d}m"


@attrs.frozen
class _Side:
    sla: SlaConfig | None
    escalation: EscalationConfig | None
    routing: RoutingPolicy | None

    @classmethod
    def of(cls, config: HelpdeskConfig, name: str) -> _Side:
        if not isinstance(config, HelpdeskConfig):
            raise ValidationError(name, f"must be a HelpdeskConfig, got {type(config).__name__}")
        sla = config.sections.get("sla")
        esc = config.sections.get("escalation")
        routing = config.sections.get("routing")
        return cls(
            sla if isinstance(sla, SlaConfig) else None,
            esc if isinstance(esc, EscalationConfig) and esc.policies else None,
            routing if isinstance(routing, RoutingPolicy) else None,
        )

    def clocks(self, history: Sequence[Event], as_of: datetime) -> list[SlaClock]:
        return [] if self.sla is None else evaluate(self.sla, history, as_of)

    def outcomes(
        self, history: Sequence[Event], as_of: datetime
    ) -> tuple[list[SlaOutcome], tuple[SlaPolicy, ...]]:
        """What the replay compares of each clock, and the policies that applied on the way
        (see :class:`_Shared`)."""
        return ([], ()) if self.sla is None else evaluate_outcomes(self.sla, history, as_of)

    def fired(self, history: Sequence[Event], as_of: datetime) -> list[DueFiring]:
        """The levels a worker would have fired by ``as_of``, checking as the desk does: at
        each recorded event and at each instant the state then said a level becomes due."""
        escalation = self.escalation
        if escalation is None:
            return []
        done: list[DueFiring] = []
        keys: set[str] = set()
        instants = sorted({e.at for e in history if e.at <= as_of})
        at = instants[0]
        upcoming = iter(instants[1:])
        next_event = next(upcoming, None)
        # the ticket and its clocks, folded once as the checks move forward in time
        replay = None if self.sla is None else ClockReplay(self.sla)
        pending = iter(history)
        event = next(pending, None)
        ticket: Ticket | None = None
        while True:
            while event is not None and event.at <= at:
                ticket = Ticket.created(event) if ticket is None else ticket.apply(event)  # type: ignore[arg-type]
                if replay is not None:
                    replay.add(event)
                event = next(pending, None)
            assert ticket is not None
            clocks = [] if replay is None else replay.clocks(at)
            for due in escalation.due_firings(ticket, clocks, at, keys):
                keys.add(due.key)
                done.append(due)
            check = escalation.next_check_at(ticket, clocks, at, keys)
            if check is not None and check <= at:  # cannot happen after due_firings; be safe
                check = None
            following = [t for t in (check, next_event) if t is not None and t <= as_of]
            if not following:
                return done
            at = min(following)
            while next_event is not None and next_event <= at:
                next_event = next(upcoming, None)

    def team(self, created: Ticket) -> str | None:
        if self.routing is None:
            return created.team
        rule = self.routing.match(created)
        return rule.team if rule.team is not None else created.team


@attrs.frozen
class _Shared:
    """What the two configurations have in common, decided once per replay, so that work
    whose result cannot differ is done once: a ticket whose SLA walk under "before" applied
    only policies that behave the same under "after" has the same clocks under both (its
    clocks are evaluated once), and then, when the escalation sections are equal, the same
    firings (a firing check reads the clocks of a prefix of the same walk)."""

    policies: tuple[SlaPolicy, ...] | None
    """The "before" policies that behave the same under "after"; None when the configurations
    differ in how a policy is picked or how every clock runs (then nothing is reused)."""
    escalation: bool

    @classmethod
    def of(cls, old: _Side, new: _Side, before: HelpdeskConfig, after: HelpdeskConfig) -> _Shared:
        return cls(
            _same_policies(old.sla, new.sla, before, after), old.escalation == new.escalation
        )

    def same_clocks(self, applied: Sequence[SlaPolicy]) -> bool:
        """Whether a ticket whose walk under "before" applied ``applied`` has the same clocks
        under "after"."""
        shared = self.policies
        return shared is not None and all(any(p is q for q in shared) for p in applied)


def _same_policies(
    a: SlaConfig | None, b: SlaConfig | None, before: HelpdeskConfig, after: HelpdeskConfig
) -> tuple[SlaPolicy, ...] | None:
    """The policies of ``a`` that behave as in ``b``, when both pick a policy the same way
    (the same conditions and names in the same order) and run every clock the same way (pause
    statuses, custom metrics, zone); else None."""
    if a is None or b is None:
        return () if a is b else None
    if a is b:
        return a.policies
    if (a.pause_statuses, a.custom, a.timezone) != (b.pause_statuses, b.custom, b.timezone):
        return None
    if len(a.policies) != len(b.policies) or any(
        (p.name, p.when) != (q.name, q.when) for p, q in zip(a.policies, b.policies, strict=True)
    ):
        return None
    specs = (before.raw.get("calendars"), after.raw.get("calendars"))

    def same_calendar(name: str | None) -> bool:
        if name is None:
            return True
        mine, theirs = a.calendars.get(name), b.calendars.get(name)
        if mine is theirs:
            return True
        # a calendar is built from its [calendars.<name>] table alone: equal tables, equal
        # calendars (calendars have no equality of their own)
        spec = [s.get(name) if isinstance(s, Mapping) else None for s in specs]
        return spec[0] is not None and spec[0] == spec[1]

    return tuple(
        p
        for p, q in zip(a.policies, b.policies, strict=True)
        if p == q
        and all(
            same_calendar(p.basis(priority, m)) for priority, row in p.targets.items() for m in row
        )
    )


def _histories(events: Iterable[Event]) -> Iterator[list[Event]]:
    """Group a by-ticket stream (each ticket's events together, oldest first)."""
    current: list[Event] = []
    for event in events:
        if current and event.ticket_id != current[0].ticket_id:
            yield current
            current = []
        if not current and not isinstance(event, TicketCreated):
            raise ValidationError(
                "events",
                f"events must come grouped by ticket, oldest first: {event.ticket_id} seq "
                f"{event.seq} ({event.kind}) does not start its ticket's history",
            )
        current.append(event)
    if current:
        yield current


def whatif(
    events: Iterable[Event],
    before: HelpdeskConfig,
    after: HelpdeskConfig,
    *,
    start: date | datetime,
    end: date | datetime,
    as_of: datetime | None = None,
    top: int = 20,
    progress: Callable[[int], None] | None = None,
) -> WhatIfReport:
    """Replay the tickets created in ``[start, end)`` under ``before`` and ``after`` and report
    the difference (the module doc gives the rules). ``events`` is a by-ticket stream, as
    :func:`helpdesk_core.reports.stored_events` reads it. ``progress`` is told how many tickets
    were replayed so far, every 100 tickets and at the end."""
    old, new = _Side.of(before, "before"), _Side.of(after, "after")
    shared = _Shared.of(old, new, before, after)
    routed = old.routing is not None or new.routing is not None
    low, high = period_bounds(start, end, before.desk.timezone)
    if as_of is None:
        at = high
    elif isinstance(as_of, datetime) and as_of.tzinfo is not None:
        at = as_of
    else:
        raise ValidationError("as_of", f"must be an aware datetime, got {as_of!r}")
    if isinstance(top, bool) or not isinstance(top, int) or not 0 <= top <= 10_000:
        raise ValidationError("top", f"must be 0..10000, got {top!r}")
    if progress is not None and not callable(progress):
        raise ValidationError("progress", f"must be a callable or None, got {progress!r:.60}")
    cycles: Counter[tuple[str, str, int]] = Counter()
    breached: Counter[tuple[str, str, int]] = Counter()
    fired: Counter[tuple[str, int, int]] = Counter()
    teams: Counter[tuple[str | None, int]] = Counter()
    moved: list[tuple[timedelta, int, MovedDue]] = []  # a min-heap of the largest shifts
    count = seq = 0
    for history in _histories(events):
        first = history[0]
        if not low <= first.at < high:
            continue
        count += 1
        if progress is not None and count % 100 == 0:
            progress(count)
        kept = [e for e in history if e.at <= at]
        assert isinstance(first, TicketCreated)  # _histories checks it
        priority = first.priority
        clocks, applied = old.outcomes(kept, at)
        same = shared.same_clocks(applied)
        for clock in clocks:
            metric = clock.metric
            cycles[(metric, priority, 0)] += 1
            breached[(metric, priority, 0)] += clock.breached
            if same:
                cycles[(metric, priority, 1)] += 1
                breached[(metric, priority, 1)] += clock.breached
        firings = old.fired(kept, at)
        for firing in firings:
            fired[(firing.policy, firing.level.number, 0)] += 1
        if not (same and shared.escalation):
            firings = new.fired(kept, at)
        for firing in firings:
            fired[(firing.policy, firing.level.number, 1)] += 1
        if routed:
            created = Ticket.created(first)
            teams[(old.team(created), 0)] += 1
            teams[(new.team(created), 1)] += 1
        else:  # the team it was created with, on both sides
            teams[(first.team, 0)] += 1
            teams[(first.team, 1)] += 1
        if same:
            continue  # the same clocks: no due instant moved
        dues: list[dict[tuple[str, int], datetime | None]] = [
            {(clock.metric, clock.cycle): clock.due_at for clock in clocks}
        ]
        due: dict[tuple[str, int], datetime | None] = {}
        for clock in new.outcomes(kept, at)[0]:
            cycles[(clock.metric, priority, 1)] += 1
            breached[(clock.metric, priority, 1)] += clock.breached
            due[(clock.metric, clock.cycle)] = clock.due_at
        dues.append(due)
        for key in sorted(set(dues[0]) | set(dues[1])):
            was, now = dues[0].get(key), dues[1].get(key)
            if was == now:
                continue
            item = MovedDue(first.ticket_id, first.number, key[0], key[1], was, now)
            size = abs(item.shift) if item.shift is not None else timedelta.max
            seq += 1
            entry = (size, -seq, item)  # equal shifts: the earlier ticket wins
            if len(moved) < top:
                heapq.heappush(moved, entry)
            elif top and entry[:2] > moved[0][:2]:
                heapq.heapreplace(moved, entry)
    if progress is not None:
        progress(count)
    breach_rows = tuple(
        BreachRow(
            metric,
            priority,
            cycles[(metric, priority, 0)],
            cycles[(metric, priority, 1)],
            breached[(metric, priority, 0)],
            breached[(metric, priority, 1)],
        )
        for metric, priority in sorted({(m, p) for m, p, _ in cycles})
    )
    escalation_rows = tuple(
        EscalationRow(policy, level, fired[(policy, level, 0)], fired[(policy, level, 1)])
        for policy, level in sorted({(p, lv) for p, lv, _ in fired})
    )
    workload = tuple(
        WorkloadRow(team, teams[(team, 0)], teams[(team, 1)])
        for team in sorted({t for t, _ in teams}, key=lambda t: (t is None, t or ""))
    )
    ordered = tuple(item for _, _, item in sorted(moved, key=lambda e: (e[0], e[1]), reverse=True))
    return WhatIfReport(low, high, at, count, breach_rows, escalation_rows, workload, ordered)
