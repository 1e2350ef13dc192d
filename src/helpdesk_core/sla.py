"""SLA clocks computed purely from a ticket's events (R-SLA-1..5, R-ORG-2).

Policies (config section ``sla``) are ordered; the first whose ``when`` condition matches the
ticket wins. A policy gives, per priority, targets for the metrics ``first_response``,
``next_response``, ``resolution``, ``periodic_update`` and custom ones (``tier2_pickup``...).
Each target has its own time basis: business time on a named calendar or calendar time.

Semantics (the docs state them word for word; tests hold them):

1. Pause statuses stop only the resolution clock; first_response, next_response and
   periodic_update keep running in them.
2. first_response starts at open and is met by the first agent PUBLIC reply; an internal note
   is never a response. Reopen restarts only resolution (a new cycle from the reopen instant,
   nothing carried over), not first_response.
3. next_response: customer messages after the first agent public reply start a cycle at the
   oldest unanswered one (several unanswered messages are one cycle); the next agent public
   reply meets it. Messages before the first public reply are first_response's.
4. periodic_update: cycle 1 starts at the first agent public reply; each public reply meets the
   running cycle and starts the next.
5. Resolving meets any running next_response and periodic_update cycle at that instant.
6. A customer message on a ticket in a pause status moves it back to in_progress (a system
   status-change event, written by the desk), which resumes the resolution clock.
7. Due is inclusive: met exactly at the due instant is on time. A clock met after its due
   instant reports state breached, with both met_at and breached_at. breached_at is the due
   instant, also when a re-target puts the new due instant in the past (breached at once). A
   breach is final; a met clock keeps the target it was met under.
8. remaining and overdue are in the target's own time (business time for business targets);
   an offset warning ("15 min before due") fires when the elapsed time reaches target - offset,
   in that same time. Calendar-time targets are real elapsed time.
9. States: outside business hours an unmet clock not in a pause status is "running" (it just
   gains no time); a clock in a pause status is "paused" even after a warning threshold; a
   breached clock stays "breached" in a pause status.

10. Each target has its own time basis (issue 19): ``"5m"`` is business time on the policy's
   calendar (calendar time when it names none); ``{within = "24h", time = "calendar"}`` is
   elapsed time whatever the policy's calendar; ``{within = "5m", time = "business"}`` needs
   the policy's calendar; ``{within = "2h", calendar = "weekend-desk"}`` is business time on
   another calendar. A clock measures, warns, pauses, re-targets and breaches on its own
   target's basis, exactly as a policy wholly on that basis would; ``SlaClock.calendar`` names
   it (None: calendar time).
11. Instants a clock reports (started, due, met, breached, warnings, segments, now) are in its
   calendar's zone for business time, in ``[desk] timezone`` for calendar time.
12. A met clock's ``remaining`` is the time that was left when it was met; ``overdue`` is zero
   unless the clock breached (then it is the time past the target, frozen when met).
13. ``[sla] pause_statuses`` defaults to ``[workflow] pause_statuses``, which defaults to the
   configured workflow's ``pending`` statuses; both must name statuses of that workflow.

A priority or policy change re-targets every unmet clock from its original start (Zendesk
behaves the same way). Merging a ticket away counts as resolving it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Final, Literal, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from helpdesk_core.calendars import CalendarBase, utc_offset
from helpdesk_core.conditions import TRUE, Condition
from helpdesk_core.config import ConfigContext, config_keys, table
from helpdesk_core.durations import human, parse_duration
from helpdesk_core.errors import ConfigError, HelpdeskError, ValidationError
from helpdesk_core.lifecycle import DEFAULT_WORKFLOW, Workflow
from helpdesk_core.model.customers import ProfileTimeline
from helpdesk_core.model.events import (
    CustomerMessaged,
    Event,
    Merged,
    Replied,
    StatusChanged,
    TicketCreated,
    event_to_dict,
)
from helpdesk_core.model.tickets import Ticket, subject_reader, ticket_subject

METRICS: Final = ("first_response", "next_response", "resolution", "periodic_update")
State = Literal["running", "paused", "warning", "met", "breached"]
DONE_CATEGORIES: Final = frozenset({"solved", "closed"})
_ZERO: Final = timedelta(0)
_MESSAGE_KINDS: Final = frozenset({"replied", "customer_messaged", "note_added"})


class Calendar(Protocol):
    def add(self, start: datetime, delta: timedelta) -> datetime: ...
    def between(self, a: datetime, b: datetime) -> timedelta: ...
    def intervals(self, a: datetime, b: datetime) -> list[tuple[datetime, datetime]]: ...


# ---------------------------------------------------------------------- policies
@attrs.frozen
class CustomMetric:
    """A metric of one's own: a cycle starts on an event kind (and condition), stops on
    another (R-ORG-2: tier-2 pickup "within 10 minutes")."""

    name: str
    start_on: frozenset[str]
    stop_on: frozenset[str]
    start_when: Condition = TRUE
    stop_when: Condition = TRUE
    pausable: bool = False


WORKAROUND: Final = CustomMetric(
    name="workaround",
    start_on=frozenset({"ticket_created"}),
    stop_on=frozenset({"workaround_sent"}),
)
"""R-TKT-6: the temporary workaround is due within a target from the ticket's creation; the
``workaround_sent`` event (``record_workaround``) meets it. A built-in metric: a policy gives
it targets like any other (``urgent = {workaround = "9h"}``: one business day on a 09:00-18:00
calendar); it runs only on desks whose policies do."""


@attrs.frozen
class SlaPolicy:
    name: str
    targets: Mapping[str, Mapping[str, timedelta]]
    """priority -> metric -> target."""
    when: Condition = TRUE
    calendar: str | None = None
    """Calendar name for targets written as a bare duration; None: calendar (real) time."""
    warn_fractions: tuple[float, ...] = ()
    warn_before: tuple[timedelta, ...] = ()
    description: str = ""
    bases: Mapping[str, Mapping[str, str | None]] = attrs.field(factory=dict)
    """priority -> metric -> the calendar of a target written as a table (rule 10; None:
    calendar time). Targets not listed here take the policy's ``calendar``."""

    def target(self, priority: str, metric: str) -> timedelta | None:
        return self.targets.get(priority, {}).get(metric)

    def basis(self, priority: str, metric: str) -> str | None:
        """The calendar the target of ``metric`` at ``priority`` runs on; None: calendar time."""
        row = self.bases.get(priority, {})
        return row.get(metric, self.calendar)


_Labels = tuple[tuple[str, timedelta], ...]
_Aim = tuple[timedelta, "_Line", _Labels, str | None]
"""What a clock runs against: target, time line, warning thresholds, basis (calendar name)."""


@attrs.frozen
class SlaConfig:
    """The ``[sla]`` section: ordered policies, pause statuses, custom metrics, calendars.

    ``timezone`` is ``[desk] timezone``: calendar-time clocks report their instants in it
    (rule 11). Building a config resolves every target's time line once (``ConfigError`` for a
    calendar name that ``calendars`` lacks), so evaluating a history looks nothing up by name.
    """

    policies: tuple[SlaPolicy, ...] = ()
    pause_statuses: frozenset[str] = frozenset(
        s for s, st in DEFAULT_WORKFLOW.statuses.items() if st.category == "pending"
    )
    custom: tuple[CustomMetric, ...] = ()
    calendars: Mapping[str, Calendar] = attrs.field(factory=dict, repr=False)
    preset: str | None = None
    timezone: str = "UTC"
    _plans: Mapping[int, Mapping[str, Mapping[str, _Aim]]] = attrs.field(
        init=False, repr=False, eq=False
    )
    _utc: Callable[[datetime], timedelta] = attrs.field(init=False, repr=False, eq=False)
    _folding: tuple[bool, bool, Callable[[Ticket], tuple[Any, ...]] | None] = attrs.field(
        init=False, repr=False, eq=False
    )
    """What a walk folds: the ticket (when a condition may read any field), messages too, and
    the reader of the fields the policy conditions read (computed once per config)."""

    def __attrs_post_init__(self) -> None:
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise ConfigError("desk.timezone", "unknown IANA time zone", self.timezone) from exc
        lines: dict[str | None, _Line] = {}
        plans: dict[int, dict[str, dict[str, _Aim]]] = {}
        for policy in self.policies:
            rows: dict[str, dict[str, _Aim]] = {}
            for priority, row in policy.targets.items():
                aims: dict[str, _Aim] = {}
                for metric, target in row.items():
                    name = policy.basis(priority, metric)
                    line = lines.get(name)
                    if line is None:
                        line = lines[name] = _Line(self._calendar(name, policy), zone)
                    aims[metric] = (target, line, _labels(policy, target), name)
                rows[priority] = aims
            plans[id(policy)] = rows
        object.__setattr__(self, "_plans", plans)
        ours = [ln.cal for ln in lines.values() if isinstance(ln.cal, CalendarBase)]
        object.__setattr__(self, "_utc", ours[0].utc if ours else utc_offset)
        # folding the whole ticket is only needed when a condition may read any field
        fold = bool(self.custom) or any(p.when is not TRUE for p in self.policies)
        # a message changes no field a policy condition may read but the ticket's version and
        # updated_at: unless a condition reads those (or custom metrics read the whole ticket),
        # messages are not folded into it (the next other event brings it up to date)
        read = {f for p in self.policies for f in p.when.fields()}
        messages = bool(self.custom) or bool(read & {"version", "updated_at"})
        object.__setattr__(self, "_folding", (fold, messages, subject_reader(read)))

    def _calendar(self, name: str | None, policy: SlaPolicy) -> Calendar | None:
        if name is None:
            return None
        cal = self.calendars.get(name)
        if cal is None:
            raise ConfigError(
                f"sla.policies.{policy.name}",
                f"unknown calendar; define [calendars.{name}] (known: {sorted(self.calendars)})",
                name,
            )
        return cal

    def match(self, ticket: Ticket, customer: Mapping[str, Any] | None = None) -> SlaPolicy | None:
        """The first policy whose condition matches the ticket (and, for ``customer.*``
        conditions, its requester's profile fields as :func:`~helpdesk_core.model.customers.
        customer_subject` gives them)."""
        subject = ticket_subject(ticket, customer)
        return next((p for p in self.policies if p.when.matches(subject)), None)

    @property
    def reads_customer(self) -> bool:
        """Whether a policy or custom-metric condition reads a ``customer.*`` field (then
        :func:`evaluate` needs the requester's :class:`~helpdesk_core.model.customers.
        ProfileTimeline`)."""
        conditions = [p.when for p in self.policies]
        conditions += [c for m in self.custom for c in (m.start_when, m.stop_when)]
        return any(f.startswith("customer.") for c in conditions for f in c.fields())

    def calendar_of(self, policy: SlaPolicy) -> Calendar | None:
        """The policy's own calendar (for bare-duration targets); None: calendar time."""
        return self._calendar(policy.calendar, policy)


# ---------------------------------------------------------------------- clocks
@attrs.frozen
class SlaWarning:
    label: str
    elapsed: timedelta
    """Elapsed (target) time at which it fires."""
    at: datetime | None
    """When it fired (or fires, if nothing changes); None while paused before it."""
    fired: bool


@attrs.frozen
class SlaClock:
    """One cycle of one metric, as of ``now``; docs/sla.md has a table of the fields."""

    metric: str
    cycle: int
    state: State
    policy: str
    target: timedelta
    calendar: str | None
    """The target's time basis (rule 10): its calendar's name, None for calendar time."""
    started_at: datetime
    due_at: datetime | None
    """None while paused (the clock does not know when it will resume)."""
    elapsed: timedelta
    remaining: timedelta
    """Target minus elapsed, never negative; for a met clock, what was left when met."""
    overdue: timedelta
    """Zero unless breached; then elapsed minus target."""
    met_at: datetime | None = None
    breached_at: datetime | None = None
    warnings: tuple[SlaWarning, ...] = ()
    segments: tuple[tuple[datetime, datetime | None], ...] = ()
    """Running segments; the last is open (None) while the clock runs."""
    now: datetime | None = None
    _line: _Line | None = attrs.field(default=None, repr=False, eq=False, alias="line")

    @property
    def business(self) -> bool:
        return self.calendar is not None

    def instant_at(self, elapsed: timedelta) -> datetime | None:
        """When the clock's elapsed time reaches ``elapsed``: a past instant, or a future one
        if nothing changes; None when it will not (met, or paused before reaching it)."""
        line = self._line
        if line is None or not self.segments:
            return None
        starts = [utc_offset(a) for a, _ in self.segments]
        ends = [None if b is None else utc_offset(b) for _, b in self.segments]
        when = _instant(line, starts, ends, elapsed, self.met_at is None)
        return None if when is None else line.local(when)


# ---------------------------------------------------------------------- time lines
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class _Line:
    """How one target basis measures time, on epoch offsets (:func:`utc_offset`): business
    time on a calendar, or real elapsed time. The walk converts each event instant once;
    measuring and advancing are then table look-ups and timedelta arithmetic, and only the
    instants a clock reports are turned back into datetimes (in the calendar's zone, or the
    desk's zone for calendar time: rule 11). A config builds one line per basis."""

    __slots__ = ("advance", "cal", "fromutc", "local", "span", "wall")

    span: Callable[[timedelta, timedelta], timedelta]
    """Time in [a, b) for a <= b."""
    advance: Callable[[timedelta, timedelta], timedelta]
    """The earliest instant with ``span(u, t) == d`` (``u`` itself for d == 0)."""
    local: Callable[[timedelta], datetime]
    """The epoch offset as a datetime in the line's zone: ``fromutc(wall + u)`` inline."""
    fromutc: Callable[[datetime], datetime]
    wall: datetime

    def __init__(self, cal: Calendar | None, zone: tzinfo) -> None:
        self.cal = cal
        own = cal.zone if isinstance(cal, CalendarBase) else zone
        self.fromutc, self.wall = own.fromutc, datetime(1970, 1, 1, tzinfo=own)
        if isinstance(cal, CalendarBase):
            self.span, self.advance, self.local = cal.span, cal.advance, cal.local
        elif cal is not None:  # any other Calendar: through its public API
            foreign = cal

            def span(a: timedelta, b: timedelta) -> timedelta:
                return foreign.between(_EPOCH + a, _EPOCH + b)

            def advance(u: timedelta, d: timedelta) -> timedelta:
                return utc_offset(foreign.add(_EPOCH + u, d)) if d else u

            self.span, self.advance, self.local = span, advance, _local_in(zone)
        else:
            self.span, self.advance, self.local = _real_span, _real_advance, _local_in(zone)


def _real_span(a: timedelta, b: timedelta) -> timedelta:
    return b - a


def _real_advance(u: timedelta, d: timedelta) -> timedelta:
    return u + d


def _local_in(zone: tzinfo) -> Callable[[timedelta], datetime]:
    fromutc, wall_epoch = zone.fromutc, datetime(1970, 1, 1, tzinfo=zone)
    return lambda u: fromutc(wall_epoch + u)


def _instant(
    line: _Line,
    starts: Sequence[timedelta],
    ends: Sequence[timedelta | None],
    x: timedelta,
    open_ended: bool,
) -> timedelta | None:
    """The earliest instant at which ``x`` of running time has accumulated over the segments
    (an open last segment runs on); after the closed segments only when ``open_ended``."""
    if not starts:
        return None
    if x <= _ZERO:
        return starts[0]
    done = _ZERO
    for a, b in zip(starts, ends, strict=True):
        if b is None:
            return line.advance(a, x - done)
        length = line.span(a, b) if b > a else _ZERO
        if x <= done + length:
            return line.advance(a, x - done)
        done += length
    last = ends[-1]
    assert last is not None
    return line.advance(last, x - done) if open_ended else None


class _Run:
    """A clock being built while walking the events.

    Segments are kept as epoch offsets (``su``/``eu``); the clock turns them into datetimes
    in its line's zone when it reports them. The closed segments' running time is measured
    once per line; the due instant is computed once per (segments, line, target), so checking
    for a breach at each event is a comparison, not a calendar walk.
    """

    __slots__ = (
        "_closed", "_closed_line", "_closed_n", "_due", "_due_line", "_due_target",
        "breached_u", "cycle", "eu", "met_target", "met_u", "metric", "running", "start_u",
        "su",
    )  # fmt: skip

    def __init__(self, metric: str, cycle: int, u: timedelta, running: bool) -> None:
        self.metric = metric
        self.cycle = cycle
        self.start_u = u
        self.running = running
        self.su: list[timedelta] = [u] if running else []
        self.eu: list[timedelta | None] = [None] if running else []
        self.met_u: timedelta | None = None
        self.breached_u: timedelta | None = None
        self.met_target: tuple[SlaPolicy, _Aim, timedelta | None] | None = None
        """Policy and aim the clock was met under, and its due instant if it was running
        when met."""
        self._closed = _ZERO
        self._closed_line: _Line | None = None
        self._closed_n = 0
        self._due: timedelta | None = None
        self._due_line: _Line | None = None
        self._due_target = _ZERO

    def pause(self, u: timedelta) -> None:
        if self.running:
            self.eu[-1] = u
            self.running = False
            self._due_line = None

    def resume(self, u: timedelta) -> None:
        if not self.running and self.met_u is None:
            self.su.append(u)
            self.eu.append(None)
            self.running = True
            self._due_line = None

    def closed(self, line: _Line) -> timedelta:
        """Running time of the closed segments on ``line`` (measured once each)."""
        n = len(self.su) - 1 if self.running else len(self.su)
        if self._closed_line is not line:
            self._closed_line, self._closed_n, self._closed = line, 0, _ZERO
        if self._closed_n < n:
            total, span, su, eu = self._closed, line.span, self.su, self.eu
            for k in range(self._closed_n, n):
                a, b = su[k], eu[k]
                assert b is not None
                if b > a:
                    total += span(a, b)
            self._closed, self._closed_n = total, n
        return self._closed

    def due(self, line: _Line, target: timedelta) -> timedelta | None:
        """When the running time reaches ``target`` if the clock keeps running."""
        if self._due_line is line and self._due_target == target:
            return self._due
        closed = self.closed(line)
        if self.running and closed < target:
            due: timedelta | None = line.advance(self.su[-1], target - closed)
        else:
            due = _instant(line, self.su, self.eu, target, self.running)
        self._due, self._due_line, self._due_target = due, line, target
        return due


_NO_TARGETS: Final[Mapping[str, _Aim]] = {}


class _Walk:
    """Folds the events once and keeps every metric's cycles."""

    def __init__(self, config: SlaConfig, profile: ProfileTimeline | None = None) -> None:
        self.config = config
        self.profile = profile if profile is not None and config.reads_customer else None
        """The requester's ``customer.*`` fields through time, when conditions read them."""
        self.at: datetime | None = None
        """The instant of the event being decided."""
        self.plans = config._plans
        self.runs: list[_Run] = []
        self.current: dict[str, _Run] = {}
        self.cycles: dict[str, int] = {}
        self.ticket: Ticket | None = None
        """The folded ticket; only kept when a condition may read any of its fields."""
        self.started = False
        self.priority = ""
        self.status = ""
        self.category = ""
        self.first_reply = False
        self.policy: SlaPolicy | None = None
        self.applied: list[SlaPolicy] = []
        """Every policy that applied at some point of the walk, in order (what-if replay
        reuses a ticket's clocks when none of them differs between two configurations)."""
        self.targets: Mapping[str, _Aim] = _NO_TARGETS
        """metric -> (target, line, warning thresholds, basis) under the policy and priority."""
        self.pause_statuses = config.pause_statuses
        self.fold, self.fold_messages, reads = config._folding
        # a re-target picks the same policy and targets when neither the priority nor any
        # field the policy conditions read changed: compare those values instead of matching
        # again (not with customer.* conditions: the profile changes with time)
        self.reads = None if self.profile is not None else reads
        self.read: tuple[str, tuple[Any, ...]] | None = None
        """The priority and the read values at the last policy match."""

    def start(self, metric: str, u: timedelta, running: bool = True) -> None:
        cycle = self.cycles[metric] = self.cycles.get(metric, 0) + 1
        run = _Run(metric, cycle, u, running)
        self.runs.append(run)
        self.current[metric] = run

    def meet(self, metric: str, u: timedelta) -> None:
        run = self.current.pop(metric, None)
        if run is None:
            return
        aim, policy = self.targets.get(metric), self.policy
        if aim is not None and policy is not None:
            # rule 7 (check) and the due instant the clock is met under: while it runs, the
            # instant its running time reaches the target (also when met after it)
            due = run.due(aim[1], aim[0])
            if run.breached_u is None and due is not None and u > due:
                run.breached_u = due
            run.met_target = (policy, aim, due if run.running else None)
        run.pause(u)
        run.met_u = u

    def check_all(self, u: timedelta) -> None:
        """Rule 7 for every running cycle: an unmet clock whose running time passed its
        target by ``u`` breached at the instant it reached the target (on its own line)."""
        targets = self.targets
        if not targets:
            return
        for run in self.current.values():
            if run.breached_u is None:
                aim = targets.get(run.metric)
                if aim is not None:
                    target, line = aim[0], aim[1]
                    if run._due_line is line and run._due_target == target:
                        due = run._due
                    else:
                        due = run.due(line, target)
                    if due is not None and u > due:
                        run.breached_u = due

    def retarget(self) -> bool:
        """Pick the policy and targets again; whether anything changed."""
        if self.fold:
            assert self.ticket is not None
            if self.reads is not None:
                read = (self.priority, self.reads(self.ticket))
                if read == self.read:
                    return False
                self.read = read
            policy = self.config.match(self.ticket, self.customer())
        else:
            policy = self.config.policies[0] if self.config.policies else None
        targets = (
            _NO_TARGETS
            if policy is None
            else self.plans[id(policy)].get(self.priority, _NO_TARGETS)
        )
        if policy is not self.policy and policy is not None:
            self.applied.append(policy)
        changed = policy is not self.policy or targets is not self.targets
        self.policy, self.targets = policy, targets
        return changed

    def customer(self) -> Mapping[str, Any] | None:
        """The requester's ``customer.*`` fields as of the event being decided."""
        if self.profile is None or self.at is None:
            return None
        return self.profile.at(self.at)

    def step(self, event: Event, u: timedelta) -> None:
        if self.profile is not None:
            self.at = event.at
        if self.current:
            self.check_all(u)
        pause = self.pause_statuses
        cls = type(event)
        if isinstance(event, TicketCreated):
            self.started = True
            if self.fold:
                self.ticket = Ticket.created(event)
            self.priority, self.status = event.priority, event.status
            self.category = event.status_category
            self.retarget()
            self.start("first_response", u)
            self.start("resolution", u, running=event.status not in pause)
            self._custom(event, u)
            return
        if not self.started:
            raise HelpdeskError("an SLA history must start with TicketCreated")
        kind = event.kind
        if self.ticket is not None and (self.fold_messages or kind not in _MESSAGE_KINDS):
            self.ticket = event.apply(self.ticket)
            self.priority, self.status = self.ticket.priority, self.ticket.status
            self.category = self.ticket.status_category
        elif kind in _MESSAGE_KINDS:
            pass
        elif isinstance(event, StatusChanged | Merged):
            self.status, self.category = event.to_status, event.to_category
        elif kind == "priority_changed":
            self.priority = event.to_priority  # type: ignore[attr-defined]
        # fields the policy conditions read may have changed (without conditions, only the
        # priority matters); a re-target applies from the original start: breached at once if
        # the new due instant is past
        if (
            kind not in _MESSAGE_KINDS
            and (self.ticket is not None or kind == "priority_changed")
            and self.retarget()
        ):
            self.check_all(u)
        if cls is Replied or isinstance(event, Replied):
            self.meet("first_response", u)
            self.meet("next_response", u)
            self.first_reply = True
            self.meet("periodic_update", u)
            if self.category not in DONE_CATEGORIES:
                self.start("periodic_update", u)
        elif cls is CustomerMessaged or isinstance(event, CustomerMessaged):
            if self.first_reply and "next_response" not in self.current:
                self.start("next_response", u)
        elif cls is StatusChanged or cls is Merged or isinstance(event, StatusChanged | Merged):
            resolution = self.current.get("resolution")
            if self.category in DONE_CATEGORIES:
                self.meet("resolution", u)
                self.meet("next_response", u)
                self.meet("periodic_update", u)
            elif isinstance(event, StatusChanged) and event.reopen:
                self.start("resolution", u, running=self.status not in pause)
            elif resolution is not None:
                # rule 1: pause statuses stop only the resolution clock
                if self.status in pause:
                    resolution.pause(u)
                else:
                    resolution.resume(u)
        if self.config.custom:
            self._custom(event, u)

    def _custom(self, event: Event, u: timedelta) -> None:
        if not self.config.custom or self.ticket is None:
            return
        subject: dict[str, Any] | None = None
        for metric in self.config.custom:
            if event.kind not in metric.start_on and event.kind not in metric.stop_on:
                continue
            if subject is None:
                subject = ticket_subject(self.ticket, self.customer())
                subject.update({f"event.{k}": v for k, v in event_to_dict(event).items()})
            if event.kind in metric.stop_on and metric.stop_when.matches(subject):
                self.meet(metric.name, u)
            if (
                event.kind in metric.start_on
                and metric.start_when.matches(subject)
                and metric.name not in self.current
            ):
                self.start(metric.name, u)


def evaluate(
    config: SlaConfig,
    events: Iterable[Event],
    now: datetime,
    *,
    profile: ProfileTimeline | None = None,
) -> list[SlaClock]:
    """Every SLA clock of the ticket whose ``events`` are given (oldest first), as of ``now``.
    Events after ``now`` are ignored. Clocks of metrics without a target under the matching
    policy and priority are left out. ``profile`` is the requester's profile through time:
    ``customer.*`` conditions read it as of each ticket event (a ticket whose requester has no
    record, or no ``profile``, has every ``customer.*`` field None)."""
    return evaluate_with_policies(config, events, now, profile=profile)[0]


def evaluate_with_policies(
    config: SlaConfig,
    events: Iterable[Event],
    now: datetime,
    *,
    profile: ProfileTimeline | None = None,
) -> tuple[list[SlaClock], tuple[SlaPolicy, ...]]:
    """:func:`evaluate`, and the policies that applied to the ticket during the walk, in order
    (one that applied only between two events counts too: its targets may have marked a
    breach). Two configurations with the same policy conditions in the same order, the same
    pause statuses, custom metrics and zone give a ticket the same clocks when none of these
    policies differs between them, calendars included (what-if replay's shortcut)."""
    walk, now_u = _walked(config, events, now, profile)
    if not walk.started:
        return [], ()
    return _clocks(walk, now_u), tuple(walk.applied)


class ClockReplay:
    """One ticket's SLA clocks kept up to date as its events arrive: after :meth:`add` of the
    events up to ``now`` (oldest first), :meth:`clocks` gives what :func:`evaluate` gives for
    them as of ``now``, without walking the history again for each instant (what-if replay
    checks escalation at every event and every instant a level becomes due). ``now`` never
    goes back, and every event added is at or after the last ``now`` asked for: checking as of
    ``now`` marks the breaches the next event's own check would mark."""

    def __init__(self, config: SlaConfig) -> None:
        self._walk = _Walk(config)
        self._utc = config._utc

    def add(self, event: Event) -> None:
        at = event.at
        self._walk.step(
            event, at - _EPOCH if at.tzinfo is UTC and type(at) is datetime else self._utc(at)
        )

    def clocks(self, now: datetime) -> list[SlaClock]:
        walk = self._walk
        if not walk.started:
            return []
        now_u = self._utc(now)
        walk.check_all(now_u)
        return _clocks(walk, now_u)


def _clocks(walk: _Walk, now_u: timedelta) -> list[SlaClock]:
    """The clocks of a walk checked as of ``now_u``."""
    clocks = []
    nows: dict[_Line, datetime] = {}
    for run, policy, aim, met_due in _reported(walk):
        line = aim[1]
        local_now = nows.get(line)
        if local_now is None:
            local_now = nows[line] = line.local(now_u)
        clocks.append(_clock(run, policy, aim, local_now, now_u, met_due))
    return clocks


@attrs.frozen
class SlaOutcome:
    """What a what-if replay compares of one clock (:func:`evaluate_outcomes`)."""

    metric: str
    cycle: int
    breached: bool
    """The clock's ``breached_at`` is set."""
    due_at: datetime | None
    """The clock's ``due_at``; when it has none (paused before its target), the instant its
    running time would reach the target, ``instant_at(target)``."""


def evaluate_outcomes(
    config: SlaConfig, events: Iterable[Event], now: datetime
) -> tuple[list[SlaOutcome], tuple[SlaPolicy, ...]]:
    """:func:`evaluate_with_policies` reduced to what a what-if compares, one outcome per clock
    (in the same order), without building the clocks (their warnings, segments and instants in
    the line's zone), which is most of their cost."""
    walk, now_u = _walked(config, events, now, None)
    if not walk.started:
        return [], ()
    outcomes = []
    for run, _, aim, met_due in _reported(walk):
        target, line = aim[0], aim[1]
        _, elapsed, due = _measure(run, line, target, now_u, met_due)
        breached = run.breached_u is not None or (
            run.met_u is not None and elapsed > target and due is not None
        )
        if due is None:
            due = _instant(line, run.su, run.eu, target, run.met_u is None)
        outcomes.append(
            SlaOutcome(
                run.metric,
                run.cycle,
                breached,
                None if due is None else line.fromutc(line.wall + due),
            )
        )
    return outcomes, tuple(walk.applied)


def _walked(
    config: SlaConfig, events: Iterable[Event], now: datetime, profile: ProfileTimeline | None
) -> tuple[_Walk, timedelta]:
    """The walk over the events up to ``now`` (checked as of ``now``), and ``now``'s offset."""
    walk = _Walk(config, profile)
    utc = config._utc
    now_u = utc(now)
    for event in events:
        at = event.at  # events keep UTC instants (model.events.to_utc): the cheap path
        u = at - _EPOCH if at.tzinfo is UTC and type(at) is datetime else utc(at)
        if u > now_u:
            break
        walk.step(event, u)
    if walk.started:
        walk.check_all(now_u)
    return walk, now_u


def _reported(walk: _Walk) -> Iterator[tuple[_Run, SlaPolicy, _Aim, timedelta | None]]:
    """The runs that give a clock, with the policy and aim they are measured against and, for
    one met while running, the due instant it had then."""
    for run in walk.runs:
        met_due = None
        if run.met_target is not None:
            policy, aim, met_due = run.met_target
        else:
            if run.met_u is not None or walk.policy is None:
                continue
            policy = walk.policy
            maybe = walk.targets.get(run.metric)
            if maybe is None:
                continue
            aim = maybe
        yield run, policy, aim, met_due


def _measure(
    run: _Run, line: _Line, target: timedelta, now_u: timedelta, met_due: timedelta | None
) -> tuple[timedelta, timedelta, timedelta | None]:
    """A run's closed and elapsed running time as of ``now_u`` and its due instant (offsets)."""
    su, eu = run.su, run.eu
    met = run.met_u is not None
    running = run.running
    closed = run.closed(line)
    elapsed = closed + line.span(su[-1], now_u) if running and now_u > su[-1] else closed
    due: timedelta | None
    if running:
        due = run.due(line, target)
    elif met_due is not None:
        due = met_due  # met while running: the due instant it had then
    elif met:
        # met while paused: the instant its running time reached the target, else where
        # it would have reached it had it kept running
        if elapsed >= target:
            due = _instant(line, su, eu, target, False)
        elif su:
            a, b = su[-1], eu[-1]
            assert b is not None
            last = line.span(a, b) if b > a else _ZERO
            due = line.advance(a, target - (elapsed - last))
        else:
            due = None
    else:
        due = _instant(line, su, eu, target, False) if elapsed >= target else None
    return closed, elapsed, due


def _labels(policy: SlaPolicy, target: timedelta) -> _Labels:
    """Warning thresholds with their labels (built once per config: labels use pendulum's
    words)."""
    thresholds = [(f"{round(f * 100)}%", target * f) for f in policy.warn_fractions]
    thresholds += [(f"{human(b)} before due", target - b) for b in policy.warn_before if b < target]
    return tuple(sorted(thresholds, key=lambda item: item[1]))


def _clock(
    run: _Run,
    policy: SlaPolicy,
    aim: _Aim,
    now: datetime,
    now_u: timedelta,
    met_due: timedelta | None = None,
) -> SlaClock:
    target, line, labels, basis = aim
    su, eu = run.su, run.eu
    met_u = run.met_u
    met = met_u is not None
    running = run.running
    closed, elapsed, due = _measure(run, line, target, now_u, met_due)
    breached = run.breached_u
    if met and elapsed > target and breached is None:
        breached = due
    fromutc, wall = line.fromutc, line.wall  # line.local(u), inline: the hot path
    due_at = None if due is None else fromutc(wall + due)
    warnings = []
    fired_any = False
    single = len(su) == 1
    for label, threshold in labels:
        fired = elapsed >= threshold
        at: datetime | None = None
        if fired or running:
            fired_any = fired_any or fired
            # the common shapes without a walk over the segments: one segment, or a running
            # clock whose closed segments have not reached the threshold
            if running and threshold > closed:
                when: timedelta | None = line.advance(su[-1], threshold - closed)
            elif single and threshold > _ZERO:
                when = line.advance(su[0], threshold)
            else:
                when = _instant(line, su, eu, threshold, running)
            at = None if when is None else due_at if when == due else fromutc(wall + when)
        warnings.append(SlaWarning(label, threshold, at, fired))
    state: State
    if breached is not None:
        state = "breached"
    elif met:
        state = "met"
    elif not running:
        state = "paused"  # rule 9 (only resolution pauses: rule 1)
    elif fired_any:
        state = "warning"
    else:
        state = "running"
    # rule 11: every reported instant in the line's zone; each offset converted once
    start_u = run.start_u
    started_at = fromutc(wall + start_u)
    met_at = None if met_u is None else started_at if met_u == start_u else fromutc(wall + met_u)
    if not su:
        segments: tuple[tuple[datetime, datetime | None], ...] = ()
    elif single:
        b0 = eu[0]
        segments = (
            (
                started_at if su[0] == start_u else fromutc(wall + su[0]),
                None if b0 is None else met_at if b0 == met_u else fromutc(wall + b0),
            ),
        )
    else:
        segments = tuple(
            (
                fromutc(wall + a),
                None if b is None else met_at if b == met_u else fromutc(wall + b),
            )
            for a, b in zip(su, eu, strict=True)
        )
    # positional, in field order (the hot path: keywords cost a fifth of the constructor)
    return SlaClock(
        run.metric,
        run.cycle,
        state,
        policy.name,
        target,
        basis,
        started_at,
        due_at,
        elapsed,
        target - elapsed if target > elapsed else _ZERO,  # remaining (rule 12)
        elapsed - target if breached is not None and elapsed > target else _ZERO,  # overdue
        met_at,
        None if breached is None else due_at if breached == due else fromutc(wall + breached),
        tuple(warnings),
        segments,
        now,
        line,
    )


# ---------------------------------------------------------------------- metric events
@attrs.frozen
class SlaMetricEvent:
    """Zendesk-style metric events (apply, pause, resume, warning, fulfil, breach)."""

    at: datetime
    kind: Literal["apply", "pause", "resume", "warning", "fulfil", "breach"]
    metric: str
    cycle: int
    detail: str = ""


def metric_events(clocks: Iterable[SlaClock]) -> list[SlaMetricEvent]:
    """The metric events the clocks imply, in time order (for reports and what-if runs)."""
    out: list[SlaMetricEvent] = []
    for c in clocks:
        out.append(SlaMetricEvent(c.started_at, "apply", c.metric, c.cycle, c.policy))
        for i, (a, b) in enumerate(c.segments):
            if i > 0:
                out.append(SlaMetricEvent(a, "resume", c.metric, c.cycle))
            if b is not None and b != c.met_at:
                out.append(SlaMetricEvent(b, "pause", c.metric, c.cycle))
        for w in c.warnings:
            if w.fired and w.at is not None:
                out.append(SlaMetricEvent(w.at, "warning", c.metric, c.cycle, w.label))
        if c.breached_at is not None:
            out.append(SlaMetricEvent(c.breached_at, "breach", c.metric, c.cycle))
        if c.met_at is not None:
            out.append(SlaMetricEvent(c.met_at, "fulfil", c.metric, c.cycle))
    order = {"apply": 0, "resume": 1, "pause": 2, "warning": 3, "breach": 4, "fulfil": 5}
    return sorted(out, key=lambda e: (e.at, order[e.kind], e.metric, e.cycle))


# ---------------------------------------------------------------------- explain
@attrs.frozen
class SlaSegment:
    start: datetime
    end: datetime
    business: timedelta
    """Time the segment contributed on the clock's basis (business or calendar time)."""
    intervals: tuple[tuple[datetime, datetime], ...]


_EXPLAIN_LOCALES: Final = ("en", "zh-CN", "zh")
_STATES_ZH: Final = {
    "running": "计时中",
    "paused": "已暂停",
    "warning": "预警",
    "met": "已达成",
    "breached": "已违约",
}
_METRICS_ZH: Final = {
    "first_response": "首次响应",
    "next_response": "后续响应",
    "resolution": "解决",
    "periodic_update": "定期更新",
}


def readable_duration(d: timedelta, locale: str = "en", business: bool = False) -> str:
    """A clock's duration as the explain text writes it, in whole minutes (seconds dropped):
    business time ``{h} h {m} min`` (24 business hours are not a day); calendar time of a day
    or more ``{d} d {h} h {m} min``; zh-CN ``{h} 小时 {m} 分钟`` and ``{d} 天 ...``."""
    zh = _zh(locale)
    minutes = max(int(d.total_seconds()) // 60, 0)
    days, rest = (0, minutes) if business else divmod(minutes, 24 * 60)
    h, m = divmod(rest, 60)
    if zh:
        return f"{days} 天 {h} 小时 {m} 分钟" if days else f"{h} 小时 {m} 分钟"
    return f"{days} d {h} h {m} min" if days else f"{h} h {m} min"


def readable_instant(t: datetime) -> str:
    """``2026-11-03 09:30 +08:00``: the wall time and its numeric UTC offset (never an
    abbreviation such as CST, which names three different zones)."""
    offset = t.utcoffset() or _ZERO
    sign = "-" if offset < _ZERO else "+"
    hours, minutes = divmod(abs(int(offset.total_seconds())) // 60, 60)
    return f"{t:%Y-%m-%d %H:%M} {sign}{hours:02d}:{minutes:02d}"


def _zh(locale: str) -> bool:
    if locale not in _EXPLAIN_LOCALES:
        raise ValidationError("locale", f"must be one of {list(_EXPLAIN_LOCALES)}, got {locale!r}")
    return locale.startswith("zh")


@attrs.frozen
class SlaExplanation:
    """Why the clocks are what they are: the policy and its condition, each running segment
    with the time it contributed and the calendar intervals used, and the due time."""

    policy: str | None
    condition: str
    clocks: tuple[SlaClock, ...]
    segments: Mapping[tuple[str, int], tuple[SlaSegment, ...]]

    def text(self, locale: str = "en") -> str:
        """The explanation in ``"en"`` or ``"zh-CN"`` (docs/sla.md shows both)."""
        zh = _zh(locale)
        if self.policy is None:
            return "没有匹配的 SLA 策略。" if zh else "No SLA policy matches this ticket."
        condition = "始终" if zh and self.condition == "always" else self.condition
        lines = [
            f"策略 {self.policy}（匹配条件：{condition}）"
            if zh
            else f"Policy {self.policy} (matched because: {condition})"
        ]
        for c in self.clocks:
            lines.extend(self._clock_lines(c, zh))
        return "\n".join(lines)

    def _clock_lines(self, c: SlaClock, zh: bool) -> list[str]:
        locale = "zh-CN" if zh else "en"

        def dur(d: timedelta) -> str:
            return readable_duration(d, locale, c.business)

        if zh:
            metric = _METRICS_ZH.get(c.metric, c.metric)
            kind = "工作时间" if c.business else "自然时间"
            basis = f"工作时间，日历 {c.calendar}" if c.business else "自然时间"
            out = [f"- {metric} 第{c.cycle}轮：{_STATES_ZH[c.state]}（{basis}）"]
        else:
            kind = "business time" if c.business else "calendar time"
            basis = f"business time, calendar {c.calendar}" if c.business else "calendar time"
            out = [f"- {c.metric} cycle {c.cycle}: {c.state} ({basis})"]
        for seg in self.segments.get((c.metric, c.cycle), ()):
            span = f"{readable_instant(seg.start)} → {readable_instant(seg.end)}"
            if zh:
                used = "，".join(f"{a:%m-%d %H:%M}–{b:%H:%M}" for a, b in seg.intervals) or "无"
                tail = f"（营业区间 {used}）" if c.business else ""
                out.append(f"    计时 {span}：{dur(seg.business)}{tail}")
            else:
                used = ", ".join(f"{a:%m-%d %H:%M}–{b:%H:%M}" for a, b in seg.intervals) or "none"
                tail = f" (open intervals {used})" if c.business else ""
                out.append(f"    ran {span.replace('→', '->')}: {dur(seg.business)}{tail}")
        due = None if c.due_at is None else readable_instant(c.due_at)
        met = None if c.met_at is None else readable_instant(c.met_at)
        if zh:
            head = f"    已计 {dur(c.elapsed)}，目标 {dur(c.target)}（{kind}）；"
            if c.breached_at is not None:
                tail = f"违约于 {readable_instant(c.breached_at)}，超时 {dur(c.overdue)}"
                tail += f"，完成于 {met}" if met else ""
            elif met is not None:
                tail = f"达成于 {met}，达成时剩余 {dur(c.remaining)}"
            elif due is None:
                tail = f"已暂停，剩余 {dur(c.remaining)}"
            else:
                tail = f"剩余 {dur(c.remaining)}，到期 {due}"
        else:
            head = f"    elapsed {dur(c.elapsed)} of {dur(c.target)} {kind}; "
            if c.breached_at is not None:
                tail = f"breached {readable_instant(c.breached_at)}, overdue {dur(c.overdue)}"
                tail += f"; met {met}" if met else ""
            elif met is not None:
                tail = f"met {met} with {dur(c.remaining)} left"
            elif due is None:
                tail = f"paused with {dur(c.remaining)} left"
            else:
                tail = f"{dur(c.remaining)} left, due {due}"
        out.append(head + tail)
        return out


def explain(
    config: SlaConfig,
    events: Sequence[Event],
    now: datetime,
    *,
    profile: ProfileTimeline | None = None,
) -> SlaExplanation:
    clocks = evaluate(config, events, now, profile=profile)
    ticket: Ticket | None = None
    for event in events:
        if event.at > now:
            break
        if isinstance(event, TicketCreated):
            ticket = Ticket.created(event)
        elif ticket is not None:
            ticket = ticket.apply(event)
    customer = None
    if profile is not None and config.reads_customer and ticket is not None:
        customer = profile.at(ticket.updated_at)  # the last event at or before now
    policy = config.match(ticket, customer) if ticket is not None else None
    segments: dict[tuple[str, int], tuple[SlaSegment, ...]] = {}
    for c in clocks:
        line = c._line
        assert line is not None
        cal = line.cal
        parts = []
        for a, b in c.segments:  # already in the clock's zone (rule 11)
            end = b if b is not None else (c.met_at or c.now or now)
            used = tuple(cal.intervals(a, end)) if cal is not None else ((a, end),)
            ua, ub = utc_offset(a), utc_offset(end)
            parts.append(SlaSegment(a, end, line.span(ua, ub) if ub > ua else _ZERO, used))
        segments[(c.metric, c.cycle)] = tuple(parts)
    return SlaExplanation(
        policy.name if policy else None,
        _describe(policy.when) if policy else "",
        tuple(clocks),
        segments,
    )


def _describe(condition: Condition) -> str:
    return "always" if condition is TRUE else repr(condition)


# ---------------------------------------------------------------------- config
PRESETS: Final[dict[str, list[dict[str, Any]]]] = {
    # R-SLA-1: P1/P2/P3 respond within 1 h / 4 h / 24 h (priority names p1, p2, p3)
    "p1-p3": [
        {
            "name": "p1-p3",
            "targets": {
                "p1": {"first_response": "1h"},
                "p2": {"first_response": "4h"},
                "p3": {"first_response": "24h"},
            },
            "warnings": {"fractions": [0.75]},
        }
    ],
    # R-SLA-1: urgent 5 min (solution or progress), important 10 min (handling path),
    # normal/low 30 min (answer)
    "four-level": [
        {
            "name": "four-level",
            "targets": {
                "urgent": {"first_response": "5m"},
                "important": {"first_response": "10m"},
                "normal": {"first_response": "30m"},
                "low": {"first_response": "30m"},
            },
            "warnings": {"fractions": [0.75]},
        }
    ],
    # R-SLA-1: high/medium/low
    "high-medium-low": [
        {
            "name": "high-medium-low",
            "targets": {
                "high": {"first_response": "4h", "resolution": "24h"},
                "medium": {"first_response": "8h", "resolution": "48h"},
                "low": {"first_response": "24h", "resolution": "72h"},
            },
        }
    ],
    # R-SLA-2: per service type and priority
    "per-service": [
        {
            "name": "complaint",
            "when": {"type": "complaint"},
            # the guide's row as it is written: respond in 5 min of business time (on the
            # [sla] calendar), resolve in 24 h of elapsed time; a deliberate exception to
            # R-SLA-3, as the guide states it
            "targets": {
                "*": {"first_response": "5m", "resolution": {"within": "24h", "time": "calendar"}}
            },
        },
        {
            "name": "promotion-consultation",
            "when": {"type": "consultation", "sub_category": "promotion"},
            "targets": {"*": {"first_response": "5m"}},
        },
        {
            "name": "consultation",
            "when": {"type": "consultation"},
            "targets": {"*": {"first_response": "10m"}},
        },
        {
            "name": "technical-high",
            "when": {"type": "technical_support", "priority": {"in": ["high", "urgent"]}},
            "targets": {"*": {"first_response": "30m", "resolution": "2h"}},
        },
        {
            "name": "technical",
            "when": {"type": "technical_support"},
            "targets": {"*": {"resolution": "48h"}},
        },
        {
            "name": "high-priority",
            "when": {"priority": {"in": ["high", "urgent"]}},
            "targets": {"*": {"first_response": "4h", "resolution": "24h"}},
        },
    ],
}
"""Presets from the guides; ``"*"`` means every priority. Their policies run on ``[sla]
calendar`` (calendar time without one)."""

_POLICY_KEYS: Final = {"name", "when", "calendar", "targets", "warnings", "description"}
_TARGET_KEYS: Final = {"within", "time", "calendar"}
_KEYS: Final = {"preset", "policies", "pause_statuses", "metrics", "calendar"}
_WARNING_KEYS: Final = {"fractions", "before_due"}
_METRIC_KEYS: Final = {"name", "start_on", "stop_on", "start_when", "stop_when"}


def _duration(value: Any, path: str) -> timedelta:
    try:
        d = parse_duration(value, path)
    except HelpdeskError as exc:
        raise ConfigError(path, "must be a duration such as '30m', '4h' or 'PT2H'", value) from exc
    if d <= _ZERO:
        raise ConfigError(path, "must be a positive duration", value)
    return d


def _target(
    value: Any, path: str, calendar: str | None, calendars: Mapping[str, Any]
) -> tuple[timedelta, str | None, bool]:
    """A target (rule 10): a duration string (on the policy's calendar), or a table with
    ``within`` and at most one of ``time`` (``business``/``calendar``) or ``calendar``.
    Returns the duration, its basis and whether the basis was written out."""
    if not isinstance(value, Mapping):
        return _duration(value, path), calendar, False
    spec = table(value, path, _TARGET_KEYS)
    if "within" not in spec:
        raise ConfigError(path, "a target table needs within = duration, e.g. {within = '24h'}")
    within = _duration(spec["within"], f"{path}.within")
    if "time" in spec and "calendar" in spec:
        raise ConfigError(path, "give at most one of time and calendar", dict(spec))
    if "calendar" in spec:
        name = spec["calendar"]
        if not isinstance(name, str) or name not in calendars:
            raise ConfigError(
                path, f"unknown calendar; define [calendars.{name}] (known: {sorted(calendars)})"
            )
        return within, name, True
    time = spec.get("time")
    if time is None:
        return within, calendar, False
    if time == "calendar":
        return within, None, True
    if time != "business":
        raise ConfigError(f"{path}.time", "must be 'business' or 'calendar'", time)
    if calendar is None:
        raise ConfigError(
            path, "business time needs a calendar: the policy (or [sla] calendar) names none"
        )
    return within, calendar, True


def _policy(
    raw: Any,
    path: str,
    priorities: Sequence[str],
    metrics: set[str],
    calendars: Mapping[str, Any],
    context: ConfigContext,
    default_calendar: str | None = None,
) -> SlaPolicy:
    raw = table(raw, path, _POLICY_KEYS)
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{path}.name", "every policy needs a name", name)
    calendar = raw.get("calendar", default_calendar)
    if calendar is not None and calendar not in calendars:
        raise ConfigError(
            f"{path}.calendar",
            f"unknown calendar; define [calendars.{calendar}] (known: {sorted(calendars)})",
            calendar,
        )
    targets_raw = raw.get("targets", {})
    if not isinstance(targets_raw, Mapping) or not targets_raw:
        raise ConfigError(
            f"{path}.targets", "must be a table priority -> {metric = duration}", targets_raw
        )
    targets: dict[str, dict[str, timedelta]] = {}
    bases: dict[str, dict[str, str | None]] = {}
    for priority, row in targets_raw.items():
        ppath = f"{path}.targets.{priority}"
        if priority != "*" and priority not in priorities:
            raise ConfigError(ppath, f"unknown priority; known: {list(priorities)} or '*'")
        if not isinstance(row, Mapping):
            raise ConfigError(ppath, "must be a table metric -> duration", row)
        parsed: dict[str, timedelta] = {}
        written: dict[str, str | None] = {}
        for metric, value in row.items():
            if metric not in metrics:
                raise ConfigError(f"{ppath}.{metric}", f"unknown metric; known: {sorted(metrics)}")
            within, basis, explicit = _target(value, f"{ppath}.{metric}", calendar, calendars)
            parsed[metric] = within
            if explicit:
                written[metric] = basis
        targets[priority] = parsed
        bases[priority] = written
    if "*" in targets:
        every, every_bases = targets.pop("*"), bases.pop("*")
        for priority in priorities:
            own = targets.get(priority, {})
            targets[priority] = {**every, **own}
            bases[priority] = {
                **{m: b for m, b in every_bases.items() if m not in own},
                **bases.get(priority, {}),
            }
    bases = {p: row for p, row in bases.items() if row}
    warnings = raw.get("warnings", {})
    if not isinstance(warnings, Mapping) or set(warnings) - _WARNING_KEYS:
        raise ConfigError(
            f"{path}.warnings", "must be a table with fractions and/or before_due", warnings
        )
    fractions = warnings.get("fractions", [])
    if not isinstance(fractions, list):
        raise ConfigError(
            f"{path}.warnings.fractions", "must be a list of numbers in (0, 1)", fractions
        )
    for i, f in enumerate(fractions):
        if isinstance(f, bool) or not isinstance(f, int | float) or not 0 < f < 1:
            raise ConfigError(f"{path}.warnings.fractions[{i}]", "must be a number in (0, 1)", f)
    befores = warnings.get("before_due", [])
    if not isinstance(befores, list):
        raise ConfigError(f"{path}.warnings.before_due", "must be a list of durations", befores)
    return SlaPolicy(
        name=name,
        targets=targets,
        when=context.condition(raw.get("when", {}), f"{path}.when"),
        calendar=calendar,
        warn_fractions=tuple(float(f) for f in fractions),
        warn_before=tuple(
            _duration(b, f"{path}.warnings.before_due[{i}]") for i, b in enumerate(befores)
        ),
        description=str(raw.get("description", "")),
        bases=bases,
    )


def _metric(raw: Any, path: str, context: ConfigContext) -> CustomMetric:
    raw = table(raw, path, _METRIC_KEYS)
    name = raw.get("name")
    if not isinstance(name, str) or not name or name in METRICS or name == WORKAROUND.name:
        raise ConfigError(f"{path}.name", "needs a new metric name", name)
    kinds = {}
    for key in ("start_on", "stop_on"):
        value = raw.get(key)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{path}.{key}", "must name event kinds such as 'transferred'", value)
        kinds[key] = frozenset(value)
    registry = context.conditions.with_prefixes("event.")
    return CustomMetric(
        name=name,
        start_on=kinds["start_on"],
        stop_on=kinds["stop_on"],
        start_when=context.condition(raw.get("start_when", {}), f"{path}.start_when", registry),
        stop_when=context.condition(raw.get("stop_when", {}), f"{path}.stop_when", registry),
    )


def _workflow(raw: Mapping[str, Any]) -> Workflow:
    """The configured workflow (the built-in one without ``[workflow]``)."""
    spec = raw.get("workflow")
    if spec is None:
        return DEFAULT_WORKFLOW
    if not isinstance(spec, Mapping):
        raise ConfigError("workflow", "must be a table", spec)
    return Workflow.from_config(spec, "workflow")


def _pause_statuses(value: Any, path: str, workflow: Workflow) -> frozenset[str]:
    """Rule 13: ``[sla] pause_statuses``, by default ``[workflow] pause_statuses`` (which
    default to the workflow's ``pending`` statuses); names the workflow lacks are errors."""
    if value is None:
        return workflow.pause_statuses
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise ConfigError(path, "must be a list of status names", value)
    for i, name in enumerate(value):
        if name not in workflow.statuses:
            raise ConfigError(
                f"{path}[{i}]",
                f"is not a status of the configured workflow; its statuses: "
                f"{sorted(workflow.statuses)}",
                name,
            )
    return frozenset(value)


def _desk_timezone(raw: Mapping[str, Any]) -> str:
    desk = raw.get("desk", {})
    zone = desk.get("timezone", "UTC") if isinstance(desk, Mapping) else "UTC"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ConfigError("desk.timezone", "unknown IANA time zone", zone) from exc
    return str(zone)


@config_keys(
    {
        "sla": _KEYS,
        "sla.policies[]": _POLICY_KEYS,
        "sla.policies[].targets.<priority>.<metric>": _TARGET_KEYS,
        "sla.policies[].warnings": _WARNING_KEYS,
        "sla.metrics[]": _METRIC_KEYS,
    }
)
def parse_sla(value: Any, path: str, context: ConfigContext) -> SlaConfig:
    """``[sla]``: ``preset``, ``calendar``, ``[[sla.policies]]``, ``pause_statuses``,
    ``[[sla.metrics]]``. Reads ``[calendars]`` (the same objects escalation and routing use),
    ``[workflow]`` and ``[desk] timezone`` of the whole configuration."""
    value = table(value, path, _KEYS)
    metrics_raw = value.get("metrics", [])
    if not isinstance(metrics_raw, list):
        raise ConfigError(f"{path}.metrics", "must be a list of tables", metrics_raw)
    custom = tuple(_metric(m, f"{path}.metrics[{i}]", context) for i, m in enumerate(metrics_raw))
    metric_names = set(METRICS) | {WORKAROUND.name} | {m.name for m in custom}
    priorities = list(context.raw.get("priorities", ["urgent", "high", "normal", "low"]))
    preset = value.get("preset")
    policies_raw: list[tuple[str, Any]] = []
    if preset is not None:
        if preset not in PRESETS:
            raise ConfigError(f"{path}.preset", f"unknown preset; known: {sorted(PRESETS)}", preset)
        extra = {p for spec in PRESETS[preset] for p in spec["targets"] if p != "*"}
        priorities += [p for p in sorted(extra) if p not in priorities]
        policies_raw += [(f"{path}.preset {preset}[{i}]", p) for i, p in enumerate(PRESETS[preset])]
    listed = value.get("policies", [])
    if not isinstance(listed, list):
        raise ConfigError(f"{path}.policies", "must be a list of tables", listed)
    policies_raw = [(f"{path}.policies[{i}]", p) for i, p in enumerate(listed)] + policies_raw
    calendars: Mapping[str, Any] = {}
    parsed = context.section("calendars")  # the same objects escalation and routing use
    calendars = parsed if isinstance(parsed, Mapping) else {}
    default_calendar = value.get("calendar")
    if default_calendar is not None and (
        not isinstance(default_calendar, str) or default_calendar not in calendars
    ):
        raise ConfigError(
            f"{path}.calendar",
            f"unknown calendar; define [calendars.{default_calendar}] (known: {sorted(calendars)})",
            default_calendar,
        )
    policies = tuple(
        _policy(p, where, priorities, metric_names, calendars, context, default_calendar)
        for where, p in policies_raw
    )
    if any(WORKAROUND.name in row for p in policies for row in p.targets.values()):
        custom = (*custom, WORKAROUND)  # only where used: custom metrics make the walk fold
    raw = context.raw
    pause = _pause_statuses(value.get("pause_statuses"), f"{path}.pause_statuses", _workflow(raw))
    return SlaConfig(policies, pause, custom, calendars, preset, _desk_timezone(raw))
