"""A seeded, realistic helpdesk day run through the real desk (R-OPS-1): load and demo data.

:func:`simulate` plays one local day in the desk's time zone as a discrete-event simulation in
simulated time: customers open tickets along an arrival curve (a shopping-festival day peaking
at ``peak_per_hour``, 1,000 by default), with a type, channel and priority mix; agents on shift
(per hour, the Erlang C estimate of :mod:`helpdesk_core.staffing` times ``staffing_factor``)
take the oldest waiting work first come first served, assign it to themselves, answer, and
resolve it, or ask the customer and pause it (``pending_customer``); customers answer after a
while (the desk resumes the ticket) and some reopen resolved tickets. Every step is a command
on the desk's public API (``open_ticket``, ``assign``, ``reply``, ``add_note``, ``set_status``)
with ``now`` set to the simulated instant, so the desk's own rules, events and storage are
exercised exactly as in production; when the desk's clock can be set (a ``FixedClock``), it
follows simulated time too.

Reproducible: the same seed, day and profile issue the same commands at the same instants; give
the desk a deterministic ``id_factory`` and the events are identical too. Pure: no I/O of its
own (the desk's storage does whatever its plugin does).
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, Protocol
from zoneinfo import ZoneInfo

import attrs

from helpdesk_core.errors import ValidationError
from helpdesk_core.model.events import Event
from helpdesk_core.model.people import Actor
from helpdesk_core.reports import Report, sla_compliance
from helpdesk_core.staffing import erlang_c_agents

__all__ = ["ARRIVAL_CURVE", "DayProfile", "HourFigures", "SimulatedDay", "simulate"]

ARRIVAL_CURVE: Final = (
    0.30, 0.18, 0.10, 0.06, 0.05, 0.06, 0.12, 0.25, 0.50, 0.80, 0.95, 1.00,
    0.85, 0.80, 0.85, 0.80, 0.70, 0.65, 0.70, 0.80, 0.90, 0.95, 0.80, 0.55,
)  # fmt: skip
"""Share of the peak hour's arrivals in each local hour 0..23: a shopping-festival day with a
late-morning peak and a second evening one (about 14.7 peak hours of tickets a day)."""


def _mix(value: Mapping[str, float]) -> tuple[tuple[str, float], ...]:
    items = tuple((str(k), float(v)) for k, v in value.items())
    if not items or any(w < 0 or not math.isfinite(w) for _, w in items):
        raise ValidationError("profile", f"a mix needs non-negative weights, got {value!r}")
    if sum(w for _, w in items) <= 0:
        raise ValidationError("profile", f"a mix needs a positive weight, got {value!r}")
    return items


def _share(name: str) -> Callable[[Any, Any, float], None]:
    def check(instance: Any, attribute: Any, value: float) -> None:
        if not 0 <= value <= 1:
            raise ValidationError(name, f"must be a share in [0, 1], got {value!r}")

    return check


@attrs.frozen
class DayProfile:
    """What a simulated day looks like; the defaults follow the guides' festival day."""

    peak_per_hour: int = 1000
    curve: tuple[float, ...] = ARRIVAL_CURVE
    types: tuple[tuple[str, float], ...] = attrs.field(
        converter=_mix,
        factory=lambda: {
            "consultation": 0.45,
            "after_sales": 0.25,
            "complaint": 0.15,
            "technical_support": 0.15,
        },
    )
    channels: tuple[tuple[str, float], ...] = attrs.field(
        converter=_mix,
        factory=lambda: {"web_chat": 0.4, "phone": 0.25, "email": 0.2, "social": 0.1, "sms": 0.05},
    )
    priorities: tuple[tuple[str, float], ...] = attrs.field(
        converter=_mix, factory=lambda: {"urgent": 0.05, "high": 0.15, "normal": 0.6, "low": 0.2}
    )
    handle_seconds: float = 240.0
    """Mean agent time per piece of work (exponentially distributed, at least 30 s)."""
    answer_within_seconds: float = 60.0
    service_level: float = attrs.field(default=0.8, validator=_share("service_level"))
    """The staffing target: this share of work picked up within ``answer_within_seconds``."""
    staffing_factor: float = 1.0
    """Agents on shift per hour = ceil(Erlang C estimate x factor); below 1 means understaffed."""
    pending_share: float = attrs.field(default=0.2, validator=_share("pending_share"))
    """Tickets the agent pauses (``pending_customer``) to ask the customer something."""
    customer_reply_seconds: float = 1200.0
    """Mean time until a paused ticket's customer answers."""
    reopen_share: float = attrs.field(default=0.05, validator=_share("reopen_share"))
    reopen_after_seconds: float = 3600.0
    note_share: float = attrs.field(default=0.1, validator=_share("note_share"))
    team: str = "service"
    hours: tuple[int, ...] = tuple(range(24))
    """Local hours in which tickets arrive (work already in hand still finishes)."""

    def __attrs_post_init__(self) -> None:
        if len(self.curve) != 24 or any(w < 0 for w in self.curve) or max(self.curve) <= 0:
            raise ValidationError("curve", "needs 24 non-negative hourly weights, one positive")
        if isinstance(self.peak_per_hour, bool) or self.peak_per_hour < 0:
            raise ValidationError("peak_per_hour", f"must be >= 0, got {self.peak_per_hour!r}")
        for name in ("handle_seconds", "customer_reply_seconds", "reopen_after_seconds"):
            if not getattr(self, name) > 0:
                raise ValidationError(name, f"must be > 0, got {getattr(self, name)!r}")
        if not self.staffing_factor > 0:
            raise ValidationError("staffing_factor", f"must be > 0, got {self.staffing_factor!r}")
        if not set(self.hours) <= set(range(24)):
            raise ValidationError("hours", f"must be local hours 0..23, got {self.hours!r}")

    def rate(self, hour: int) -> float:
        """Expected arrivals in a local hour."""
        return self.peak_per_hour * self.curve[hour] / max(self.curve) if hour in self.hours else 0


@attrs.frozen
class HourFigures:
    """One local hour of the simulated day."""

    hour: str
    arrivals: int
    agents_on_shift: int
    erlang_c_agents: int
    """Agents Erlang C says this hour's expected work (arrivals, and the customer answers and
    reopens they bring back) needs to meet the profile's service level."""
    picked_up: int
    """Pieces of work (new tickets, customer answers, reopens) agents started this hour."""
    mean_wait_seconds: float | None
    """Their mean wait from becoming ready to being picked up."""
    within_target: float | None
    """Share of them picked up within ``answer_within_seconds``."""


@attrs.frozen
class SimulatedDay:
    """What :func:`simulate` did: its tickets, per-hour pressure, and the SLA outcome."""

    day: date
    seed: int
    ticket_ids: tuple[str, ...]
    hours: tuple[HourFigures, ...]
    commands: int
    sla: Report | None
    """SLA compliance per policy and metric at the end of the day (None without ``[sla]``)."""


class _Desk(Protocol):
    """The part of :class:`helpdesk_core.desk.Helpdesk` the simulation uses (its public API)."""

    config: Any
    sla: Any
    clock: Any

    def open_ticket(self, actor: Actor, **kwargs: Any) -> Any: ...
    def assign(self, actor: Actor, ticket_id: str, assignee: str | None, **kw: Any) -> Any: ...
    def reply(self, actor: Actor, ticket_id: str, body: str, **kwargs: Any) -> Any: ...
    def add_note(self, actor: Actor, ticket_id: str, body: str, **kwargs: Any) -> Any: ...
    def set_status(self, actor: Actor, ticket_id: str, status: str, **kwargs: Any) -> Any: ...
    def history(self, actor: Actor, ticket_id: str, **kwargs: Any) -> list[Event]: ...


@attrs.define
class _Work:
    ticket_id: str
    ready_at: datetime
    follow_up: bool


class _Day:
    """The event loop: a heap of (instant, order, action)."""

    def __init__(
        self, desk: _Desk, profile: DayProfile, rng: random.Random, day: date, zone: ZoneInfo
    ) -> None:
        self.desk, self.profile, self.rng, self.zone = desk, profile, rng, zone
        self.start = _hour_start(day, 0, zone)
        self.end = _hour_start(day + timedelta(days=1), 0, zone)
        self.requesters: dict[str, Actor] = {}
        self.heap: list[tuple[datetime, int, Callable[[datetime], None]]] = []
        self.order = itertools.count()
        self.queue: deque[_Work] = deque()
        self.follow_ups: deque[_Work] = deque()
        self.idle: list[int] = []
        self.busy: set[int] = set()
        self.staff: list[int] = []
        self.agents: list[Actor] = []
        self.ticket_ids: list[str] = []
        self.commands = 0
        self.waits: dict[int, list[float]] = {}
        self.customers = itertools.count(1)
        set_clock = getattr(desk.clock, "set", None)
        self.set_clock: Callable[[datetime], None] | None = (
            set_clock if callable(set_clock) else None
        )

    def at(self, when: datetime, action: Callable[[datetime], None]) -> None:
        heapq.heappush(self.heap, (when, next(self.order), action))

    def run(self) -> None:
        while self.heap:
            when, _, action = heapq.heappop(self.heap)
            if self.set_clock is not None:
                self.set_clock(when)
            action(when)

    def command(self) -> None:
        self.commands += 1

    def hour_of(self, when: datetime) -> int:
        """The local hour 0..23 of the day, 24 after it (when all hands finish up)."""
        if when >= self.end:
            return 24
        return when.astimezone(self.zone).hour

    def on_shift(self, agent: int, when: datetime) -> bool:
        return agent < self.staff[self.hour_of(when)]

    def pick(self, weights: tuple[tuple[str, float], ...]) -> str:
        names = [n for n, _ in weights]
        return self.rng.choices(names, [w for _, w in weights])[0]

    def duration(self, mean: float, least: float = 1.0) -> timedelta:
        return timedelta(seconds=max(least, round(self.rng.expovariate(1 / mean))))

    # ----------------------------------------------------------------- actions
    def arrive(self, when: datetime) -> None:
        p = self.profile
        customer = Actor(id=f"cust-{next(self.customers):06d}", roles={"customer"})
        kind = self.pick(p.types)
        ticket = self.desk.open_ticket(
            customer,
            subject=f"{kind.replace('_', ' ')} question",
            channel=self.pick(p.channels),
            type=kind,
            priority=self.pick(p.priorities),
            team=p.team,
            now=when,
        )
        self.command()
        self.ticket_ids.append(ticket.id)
        self.requesters[ticket.id] = customer
        self.ready(_Work(ticket.id, when, False), when)

    def ready(self, work: _Work, when: datetime) -> None:
        (self.follow_ups if work.follow_up else self.queue).append(work)
        self.dispatch(when)

    def dispatch(self, when: datetime) -> None:
        """Idle agents on shift take the oldest work, follow-ups first."""
        waiting = [a for a in self.idle if self.on_shift(a, when)]
        for agent in sorted(waiting):
            work = (
                self.follow_ups.popleft()
                if self.follow_ups
                else self.queue.popleft()
                if self.queue
                else None
            )
            if work is None:
                return
            self.idle.remove(agent)
            self.busy.add(agent)
            self.start_work(agent, work, when)

    def start_work(self, agent: int, work: _Work, when: datetime) -> None:
        actor = self.agents[agent]
        self.waits.setdefault(self.hour_of(when), []).append((when - work.ready_at).total_seconds())
        self.desk.assign(actor, work.ticket_id, actor.id, now=when)
        self.command()
        p = self.profile
        done = when + self.duration(p.handle_seconds, 30)
        if work.follow_up:
            self.at(done, lambda t: self.finish(agent, work.ticket_id, t, closing=True))
            return
        first = min(done, when + self.duration(30, 5))
        self.at(first, lambda t: self.answer(actor, work.ticket_id, t))
        self.at(done, lambda t: self.finish(agent, work.ticket_id, t, closing=False))

    def answer(self, actor: Actor, ticket_id: str, when: datetime) -> None:
        self.desk.reply(actor, ticket_id, "Thank you, we are looking into it.", now=when)
        self.command()

    def finish(self, agent: int, ticket_id: str, when: datetime, *, closing: bool) -> None:
        actor, p, rng = self.agents[agent], self.profile, self.rng
        if rng.random() < p.note_share:
            self.desk.add_note(actor, ticket_id, "Checked the order history.", now=when)
            self.command()
        if not closing and rng.random() < p.pending_share:
            self.desk.reply(
                actor, ticket_id, "Could you send the order number?", status="pending_customer",
                now=when,
            )  # fmt: skip
            self.command()
            back = when + self.duration(p.customer_reply_seconds, 30)
            self.at(back, lambda t: self.customer_answers(ticket_id, t))
        else:
            self.desk.reply(actor, ticket_id, "Solved: see the steps above.", status="resolved",
                            now=when)  # fmt: skip
            self.command()
            if rng.random() < p.reopen_share:
                again = when + self.duration(p.reopen_after_seconds, 60)
                self.at(again, lambda t: self.reopen(ticket_id, t))
        self.busy.discard(agent)
        self.idle.append(agent)
        self.dispatch(when)

    def customer_answers(self, ticket_id: str, when: datetime) -> None:
        self.desk.reply(self.requesters[ticket_id], ticket_id, "Here it is: 2026-1111.", now=when)
        self.command()
        self.ready(_Work(ticket_id, when, True), when)

    def reopen(self, ticket_id: str, when: datetime) -> None:
        self.desk.set_status(
            self.requesters[ticket_id], ticket_id, "in_progress", reason="still broken", now=when
        )
        self.command()
        self.ready(_Work(ticket_id, when, True), when)

    def shift(self, when: datetime) -> None:
        self.dispatch(when)

    supervisor = Actor(id="sim-supervisor", roles={"admin"})


def simulate(
    desk: _Desk,
    *,
    seed: int,
    day: date,
    profile: DayProfile | None = None,
) -> SimulatedDay:
    """Play one local ``day`` (in the desk's zone) on ``desk`` from ``seed``; see the module
    doc. Work still in hand at midnight is finished after it (customers' late answers and
    reopens included), so every ticket ends resolved or waiting on a customer who never came
    back. Returns the tickets, per-hour figures and the SLA compliance at the end."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValidationError("seed", f"must be an integer, got {seed!r}")
    if not isinstance(day, date) or isinstance(day, datetime):
        raise ValidationError("day", f"must be a date, got {day!r}")
    p = profile or DayProfile()
    zone = ZoneInfo(desk.config.desk.timezone)
    rng = random.Random(seed)
    loop = _Day(desk, p, rng, day, zone)
    # the work agents pick up: each ticket, plus the customer answers and reopens it brings back
    work_per_ticket = 1 + p.pending_share + p.reopen_share
    required = [
        erlang_c_agents(
            p.rate(h) * work_per_ticket,
            p.handle_seconds,
            answer_within_seconds=p.answer_within_seconds,
            service_level=p.service_level,
        )
        for h in range(24)
    ]
    loop.staff = [math.ceil(n * p.staffing_factor) if n else 0 for n in required]
    loop.agents = [
        Actor(id=f"agent-{i:03d}", roles={"agent"}, team=p.team)
        for i in range(max(max(loop.staff), 1))
    ]
    loop.idle = list(range(len(loop.agents)))
    arrivals = [0] * 24
    for hour in range(24):
        hour_start = _hour_start(day, hour, zone)
        hour_end = loop.end if hour == 23 else _hour_start(day, hour + 1, zone)
        loop.at(hour_start, loop.shift)
        rate = p.rate(hour)
        when = hour_start
        while rate > 0:
            when += timedelta(seconds=rng.expovariate(rate / 3600.0))
            if when >= hour_end:
                break
            arrivals[hour] += 1
            loop.at(when.replace(microsecond=0), loop.arrive)
    loop.at(loop.end, loop.shift)  # after midnight: all hands finish up
    loop.staff.append(len(loop.agents))
    loop.run()
    hours = []
    for h in range(24):
        waits = loop.waits.get(h, [])
        hours.append(
            HourFigures(
                hour=f"{h:02d}:00",
                arrivals=arrivals[h],
                agents_on_shift=loop.staff[h],
                erlang_c_agents=required[h],
                picked_up=len(waits),
                mean_wait_seconds=round(sum(waits) / len(waits), 1) if waits else None,
                within_target=round(
                    sum(1 for w in waits if w <= p.answer_within_seconds) / len(waits), 4
                )
                if waits
                else None,
            )
        )
    sla = None
    if desk.sla is not None:
        sla = sla_compliance(
            day_events(desk, loop.ticket_ids),
            start=day,
            end=day,
            tz=zone,
            sla=desk.sla,
        )
    return SimulatedDay(day, seed, tuple(loop.ticket_ids), tuple(hours), loop.commands, sla)


def _hour_start(day: date, hour: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour), zone).astimezone(UTC)


def day_events(
    desk: _Desk, ticket_ids: Iterator[str] | tuple[str, ...] | list[str]
) -> Iterator[Event]:
    """The simulated tickets' events, grouped by ticket as :mod:`helpdesk_core.reports` reads
    them (through ``desk.history`` as an administrator)."""
    for ticket_id in ticket_ids:
        yield from desk.history(_Day.supervisor, ticket_id)
