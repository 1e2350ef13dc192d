"""What-if replay does work once where both configurations agree (identical calendars,
escalation, or the policy a ticket's walk applied): on a seeded population whose tickets change
type and priority mid-history (so their walks switch policies), the report equals the one
computed with nothing shared; and the SLA walk's test of "nothing its conditions read changed"
sees exactly what the conditions see."""

from __future__ import annotations

import copy
import itertools
import random
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from helpdesk_core import load_config
from helpdesk_core.model.events import (
    Assigned,
    CustomerMessaged,
    Event,
    FieldsChanged,
    PriorityChanged,
    Replied,
    StatusChanged,
    TicketCreated,
)
from helpdesk_core.model.fields import TICKET_FIELD_SPECS
from helpdesk_core.model.tickets import Ticket, subject_reader, ticket_subject
from helpdesk_core.sla import ClockReplay, SlaConfig, evaluate, evaluate_outcomes
from helpdesk_core.whatif import whatif

ZONE = timezone(timedelta(hours=8))
START, END = date(2026, 11, 1), date(2026, 11, 30)


def _population(count: int, seed: int) -> list[Event]:
    """``count`` tickets over November: replies, customer messages, pauses, resolutions,
    reopens, and now and then a type or priority change (a policy switch mid-walk)."""
    rng = random.Random(seed)
    events: list[Event] = []
    begin = datetime(2026, 10, 31, tzinfo=ZONE)
    for n in range(count):
        tid = f"t{n}"
        at = begin + timedelta(minutes=rng.randrange(0, 32 * 24 * 60))
        kind, priority = (
            rng.choice(["complaint", "consultation"]),
            rng.choice(["low", "normal", "high", "urgent"]),
        )
        history: list[Event] = [
            TicketCreated(
                ticket_id=tid, seq=1, at=at, actor="c", number=f"T{n}", subject="Parcel",
                type=kind, priority=priority, channel="email", status="new",
                status_category="new", requester="c", team="after-sales",
                custom={"region": rng.choice(["north", "south"])},
            )
        ]  # fmt: skip
        status = "new"
        for _ in range(rng.randrange(1, 9)):
            at += timedelta(minutes=rng.choice([1, 3, 7, 12, 45, 180, 900]))
            seq = len(history) + 1
            roll = rng.random()
            common: dict[str, Any] = {"ticket_id": tid, "seq": seq, "at": at, "actor": "a"}
            if roll < 0.25:
                history.append(Replied(**common, message_id=f"m{seq}", body="b", channel="email"))
            elif roll < 0.35:
                history.append(
                    CustomerMessaged(**common, message_id=f"m{seq}", body="b", channel="email")
                )
            elif roll < 0.45:
                history.append(Assigned(**common, assignee=f"a-{seq}", team="after-sales"))
            elif roll < 0.55:
                kind = "consultation" if kind == "complaint" else "complaint"
                history.append(FieldsChanged(**common, changes={"type": kind}))
            elif roll < 0.62:
                history.append(FieldsChanged(**common, custom={"region": "north"}))
            elif roll < 0.72:
                to = rng.choice(["low", "normal", "high", "urgent"])
                history.append(PriorityChanged(**common, from_priority=priority, to_priority=to))
                priority = to
            else:
                to, category, reopen = {
                    "new": ("pending_customer", "pending", False),
                    "pending_customer": ("in_progress", "open", False),
                    "in_progress": ("resolved", "solved", False),
                    "resolved": ("in_progress", "open", True),
                }[status]
                history.append(
                    StatusChanged(**common, from_status=status, to_status=to,
                                  to_category=category, reopen=reopen)
                )  # fmt: skip
                status = to
        events += history
    return events


def _config(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "desk": {"timezone": "Asia/Shanghai", "default_team": "after-sales"},
        "calendars": {"service": {"tz": "Asia/Shanghai", "week": {"mon-fri": ["09:00-18:00"]}}},
        "sla": {
            "policies": [
                {
                    "name": "complaints",
                    "when": {"type": "complaint"},
                    "targets": {"*": {"first_response": "5m", "resolution": "1d"}},
                },
                {
                    "name": "north",
                    "when": {"custom.region": "north"},
                    "calendar": "service",
                    "targets": {
                        "*": {"first_response": "1h", "next_response": "2h", "resolution": "2d"},
                        "urgent": {"first_response": "15m", "resolution": "4h"},
                    },
                },
                {
                    "name": "standard",
                    "calendar": "service",
                    "targets": {"*": {"first_response": "2h", "resolution": "3d"}},
                },
            ]
        },
        "escalation": {
            "policies": [
                {
                    "name": "late",
                    "levels": [
                        {"trigger": {"sla": "first_response", "breached": True},
                         "notify": ["supervisor"]},
                    ],
                }
            ]
        },
    }  # fmt: skip
    for path, value in changes.items():
        *keys, last = path.split("/")
        node = data
        for key in keys:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[last] = value
    return data


def _nothing_shared(data: dict[str, Any]) -> dict[str, Any]:
    """The same configuration with a last policy that never applies: the policy lists differ in
    length, so the replay reuses nothing and evaluates every ticket under both sides."""
    data = copy.deepcopy(data)
    data["sla"]["policies"].append(
        {"name": "never", "when": {"subject": "no ticket has this subject"},
         "targets": {"*": {"first_response": "1m"}}}
    )  # fmt: skip
    return data


VARIANTS = {
    "complaints get 10 minutes": {"sla/policies/0/targets": {"*": {"first_response": "10m",
                                                                  "resolution": "1d"}}},
    "north's urgent resolution": {"sla/policies/1/targets/urgent": {"first_response": "15m",
                                                                   "resolution": "8h"}},
    "longer service hours": {"calendars/service/week": {"mon-sat": ["08:00-20:00"]}},
    "identical, loaded again": {},
    "the complaint policy for consultations": {"sla/policies/0/when": {"type": "consultation"}},
    "no escalation after": {"escalation": {"policies": []}},
}  # fmt: skip


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_shared_work_gives_the_figures_of_evaluating_both_sides(variant: str) -> None:
    events = _population(300, seed=11)
    before = load_config(_config())
    after = _config(**VARIANTS[variant])
    fast = whatif(events, before, load_config(after), start=START, end=END, top=50)
    slow = whatif(events, before, load_config(_nothing_shared(after)), start=START, end=END, top=50)
    assert fast == slow
    assert fast.tickets > 250 and sum(r.cycles_before for r in fast.breaches) > 500
    assert any(r.before for r in fast.escalations)
    assert fast.changed is (variant != "identical, loaded again")


def test_a_changed_policy_moves_only_the_tickets_it_applied_to() -> None:
    """Complaints get 10 minutes: every due instant that moved is a complaint's first response,
    moved by 5 minutes."""
    events = _population(300, seed=5)
    after = load_config(_config(**VARIANTS["complaints get 10 minutes"]))
    report = whatif(events, load_config(_config()), after, start=START, end=END, top=10_000)
    assert report.moved and {(m.metric, m.shift) for m in report.moved} == {
        ("first_response", timedelta(minutes=5))
    }


def test_the_subject_reader_sees_what_conditions_see() -> None:
    """Equal reader values mean equal subject values for the fields read (the SLA walk skips a
    policy match when they are equal)."""
    plain = [f.name for f in TICKET_FIELD_SPECS if f.condition]
    fields = sorted({*plain, "custom.region", "custom.absent", "no_such_field"})
    tickets: list[Ticket] = []
    ticket: Ticket | None = None
    for event in _population(40, seed=3):
        if isinstance(event, TicketCreated):
            ticket = Ticket.created(event)
        else:
            assert ticket is not None
            ticket = event.apply(ticket)
        tickets.append(ticket)
    subjects = [ticket_subject(t) for t in tickets]
    for field in fields:
        reader = subject_reader([field])
        assert reader is not None
        for (a, b), (sa, sb) in zip(
            itertools.pairwise(tickets), itertools.pairwise(subjects), strict=True
        ):
            assert (reader(a) == reader(b)) is (sa.get(field) == sb.get(field)), field
    reader = subject_reader(fields)
    assert reader is not None
    for a, b in itertools.pairwise(tickets):
        same = [ticket_subject(a).get(f) for f in fields] == [
            ticket_subject(b).get(f) for f in fields
        ]
        assert (reader(a) == reader(b)) is same
    assert subject_reader(["type", "customer.tier"]) is None


@pytest.mark.parametrize("variant", ["complaints get 10 minutes", "longer service hours"])
def test_outcomes_are_what_the_clocks_say(variant: str) -> None:
    """``evaluate_outcomes`` (what the replay compares, without building clocks) gives, clock
    by clock, the breach and due instant of ``evaluate``'s clocks, at several instants."""
    sla = load_config(_config(**VARIANTS[variant])).sections["sla"]
    assert isinstance(sla, SlaConfig)
    histories: dict[str, list[Event]] = {}
    for event in _population(200, seed=23):
        histories.setdefault(event.ticket_id, []).append(event)
    states = set()
    for history in histories.values():
        for now in (history[0].at + timedelta(minutes=4), history[-1].at + timedelta(hours=5)):
            clocks = evaluate(sla, history, now)
            outcomes, _ = evaluate_outcomes(sla, history, now)
            expected = [
                (c.metric, c.cycle, c.breached_at is not None,
                 c.due_at if c.due_at is not None else c.instant_at(c.target))
                for c in clocks
            ]  # fmt: skip
            assert [(o.metric, o.cycle, o.breached, o.due_at) for o in outcomes] == expected
            states |= {c.state for c in clocks}
    assert states == {"running", "paused", "met", "breached"}


def test_a_clock_replay_gives_what_evaluating_each_prefix_gives() -> None:
    """Escalation checks read the clocks at every event and at instants between events;
    ``ClockReplay`` keeps one walk going instead of evaluating each prefix again."""
    sla = load_config(_config()).sections["sla"]
    assert isinstance(sla, SlaConfig)
    histories: dict[str, list[Event]] = {}
    for event in _population(150, seed=31):
        histories.setdefault(event.ticket_id, []).append(event)
    breached = 0
    for history in histories.values():
        replay = ClockReplay(sla)
        instants = sorted({e.at for e in history} | {e.at + timedelta(minutes=6) for e in history})
        done = 0
        for at in instants:
            while done < len(history) and history[done].at <= at:
                replay.add(history[done])
                done += 1
            clocks = replay.clocks(at)
            assert clocks == evaluate(sla, history[:done], at)
            breached += sum(c.state == "breached" for c in clocks)
    assert breached > 100


def test_shards_with_escalations_and_routing_combine_into_the_single_run() -> None:
    """Every row kind adds up when shard reports combine: escalation levels keep their number
    (they were once added like counts), teams and breaches add."""
    events = _population(240, seed=7)
    before = load_config(_config())
    after = load_config(
        _config(
            **VARIANTS["complaints get 10 minutes"],
            routing={"rules": [{"id": "north", "where": {"custom.region": "north"}, "team": "n"}]},
        )
    )
    single = whatif(events, before, after, start=START, end=END)
    # consecutive shards combined in order, as the benchmark deals them: moves that tie keep
    # the single run's order (the earlier ticket first)
    ids = {t: n * 3 // 240 for n, t in enumerate(dict.fromkeys(e.ticket_id for e in events))}
    shards = [[e for e in events if ids[e.ticket_id] == k] for k in range(3)]
    first, second, third = (whatif(s, before, after, start=START, end=END) for s in shards)
    assert single.escalations and {r.level for r in single.escalations} == {1}
    assert len(single.workload) == 2
    assert first.combine(second).combine(third) == single
