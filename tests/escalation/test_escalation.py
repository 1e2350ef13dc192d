"""Escalation: levels in order, exactly-once firings, business-hours notices, on-call,
re-delivery, concurrent workers (R-RTE-4, R-SLA-4, R-CAL-1, R-ORG-2)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from helpdesk_core import Actor, Agent, ConfigError, Helpdesk, hookimpl
from helpdesk_core.config import load_config
from helpdesk_core.escalation import EscalationConfig
from helpdesk_core.testing import FixedClock, RecordingNotifier

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=SH)  # Monday
M = timedelta(minutes=1)
ADMIN = Actor(id="root", roles={"admin"})
CUSTOMER = Actor(id="C1", roles={"customer"})

SLA = {
    "policies": [
        {"name": "std", "targets": {"normal": {"first_response": "1h", "resolution": "8h"}}}
    ]
}
LEVELS = [
    {"trigger": {"sla": "first_response", "fraction": 0.5}, "notify": ["handler"]},
    {"trigger": {"sla": "first_response", "before_due": "15m"}, "notify": ["supervisor"]},
    {"trigger": {"sla": "first_response", "breached": True},
     "reassign": {"team": "tier2", "tier": 2}, "raise_priority": True, "tags": ["escalated"],
     "review": True, "notify": ["manager", "supervisor"]},
]  # fmt: skip


class Reviews:
    def __init__(self) -> None:
        self.opened: list[tuple[str, str]] = []

    @hookimpl
    def helpdesk_open_review(self, ticket: Any, reason: str, key: str) -> None:
        self.opened.append((ticket.id, key))


class Notifiers:
    def __init__(self, notifier: RecordingNotifier) -> None:
        self.notifier = notifier

    @hookimpl
    def helpdesk_register_notifiers(self, config: object) -> list[RecordingNotifier]:
        return [self.notifier]


def make_desk(
    escalation: dict[str, Any], clock: FixedClock, *plugins: object, **extra: Any
) -> Helpdesk:
    desk = Helpdesk(
        config={"desk": {"default_team": "service"}, "sla": SLA, "escalation": escalation, **extra},
        clock=clock,
        plugins=list(plugins),
        load_entrypoints=False,
    )
    for agent in (
        Agent(id="a1", name="A", team="service", online=True),
        Agent(id="sup", name="S", team="service", roles={"supervisor"}),
        Agent(id="boss", name="B", team="service", roles={"manager"}),
    ):
        desk.save_agent(ADMIN, agent)
    return desk


def test_levels_fire_in_order_exactly_once() -> None:
    clock = FixedClock(T0)
    reviews, notifier = Reviews(), RecordingNotifier()
    desk = make_desk(
        {"policies": [{"name": "fr", "levels": LEVELS}]}, clock, reviews, Notifiers(notifier)
    )
    t = desk.open_ticket(CUSTOMER, subject="help", channel="email")
    desk.assign(ADMIN, t.id, "a1")
    fired: list[tuple[str, ...]] = []
    for minutes in (20, 31, 40, 46, 50, 61, 90, 90):
        clock.set(T0 + minutes * M)
        fired.append(desk.run_escalations().keys)
    assert fired == [
        (), (f"{t.id}|fr|1|first_response|1",), (), (f"{t.id}|fr|2|first_response|1",), (),
        (f"{t.id}|fr|3|first_response|1",), (), (),
    ]  # fmt: skip
    after = desk.get_ticket(ADMIN, t.id)
    assert (after.team, after.tier, after.assignee, after.priority) == ("tier2", 2, None, "high")
    assert "escalated" in after.tags
    assert reviews.opened == [(t.id, f"{t.id}|fr|3|first_response|1")]
    desk.dispatch_outbox(now=T0 + 91 * M)
    escalations = [
        (n.recipient, n.data["level"]) for n in notifier.sent if n.event_kind == "escalation"
    ]
    assert escalations == [("a1", 1), ("sup", 2), ("boss", 3), ("sup", 3)]
    summary = next(e for e in desk.history(ADMIN, t.id) if e.kind == "transferred")
    assert "first_response breached" in summary.summary  # type: ignore[attr-defined]


def test_a_met_clock_stops_its_levels() -> None:
    clock = FixedClock(T0)
    desk = make_desk({"policies": [{"name": "fr", "levels": LEVELS}]}, clock)
    t = desk.open_ticket(CUSTOMER, subject="help", channel="email")
    desk.assign(ADMIN, t.id, "a1")
    clock.set(T0 + 35 * M)
    assert len(desk.run_escalations().keys) == 1
    desk.reply(Actor(id="a1", roles={"agent"}, team="service"), t.id, "on it")
    clock.set(T0 + 3 * 60 * M)
    assert desk.run_escalations().keys == ()
    with desk.storage.transaction() as uow:
        assert uow.claim_due(T0 + 10**4 * M, 10, "probe", timedelta(minutes=1)) == []


def test_rerunning_a_tick_or_replaying_a_batch_fires_nothing_twice() -> None:
    clock = FixedClock(T0)
    desk = make_desk({"policies": [{"name": "fr", "levels": LEVELS}]}, clock)
    ids = [desk.open_ticket(CUSTOMER, subject=f"s{i}", channel="email").id for i in range(5)]
    clock.set(T0 + 2 * 60 * M)
    first = desk.run_escalations(worker="w1")
    assert first.fired == 15 and first.claimed == 5
    assert desk.run_escalations(worker="w1").fired == 0
    # a worker that crashed after claiming: its lease expires, another replays the batch
    with desk.storage.transaction() as uow:
        for i in ids:
            uow.schedule_check(i, T0)
    with desk.storage.transaction() as uow:
        assert len(uow.claim_due(T0 + 2 * 60 * M, 10, "dead-worker", timedelta(minutes=5))) == 5
    assert desk.run_escalations(worker="w2").claimed == 0  # still leased
    replay = desk.run_escalations(now=T0 + 2 * 60 * M + 6 * M, worker="w2")
    assert (replay.claimed, replay.fired) == (5, 0)
    with desk.storage.transaction() as uow:
        keys = [f.key for f in uow.firings()]
    assert len(keys) == len(set(keys)) == 15


def test_concurrent_workers_fire_each_level_once() -> None:
    clock = FixedClock(T0)
    desk = make_desk({"policies": [{"name": "fr", "levels": LEVELS[:2]}]}, clock)
    for i in range(120):
        desk.open_ticket(CUSTOMER, subject=f"s{i}", channel="email")
    clock.set(T0 + 50 * M)
    totals: Counter[str] = Counter()
    lock = threading.Lock()

    def work(name: str) -> None:
        while True:
            run = desk.run_escalations(worker=name, limit=7)
            with lock:
                totals.update(run.keys)
            if run.claimed == 0:
                return

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(totals) == 240 and set(totals.values()) == {1}


def test_unassigned_and_idle_triggers() -> None:
    clock = FixedClock(T0)
    policy = {
        "name": "queue",
        "levels": [
            {"trigger": {"unassigned": "10m"}, "notify": ["supervisor"]},
            {
                "trigger": {"idle": "2h"},
                "notify": ["handler"],
                "when": {"assignee": {"exists": True}},
            },
        ],
    }
    desk = make_desk({"policies": [policy]}, clock)
    t = desk.open_ticket(CUSTOMER, subject="help", channel="email")
    clock.set(T0 + 9 * M)
    assert desk.run_escalations().keys == ()
    clock.set(T0 + 10 * M)
    assert desk.run_escalations().keys == (f"{t.id}|queue|1|unassigned|{int(T0.timestamp())}",)
    desk.assign(ADMIN, t.id, "a1")
    clock.set(T0 + 2 * 60 * M)
    assert [k.split("|")[2] for k in desk.run_escalations().keys] == ["2"]
    desk.reply(Actor(id="a1", roles={"agent"}, team="service"), t.id, "news")
    clock.set(T0 + 3 * 60 * M)
    assert desk.run_escalations().keys == ()  # idle counts from the last message
    clock.set(T0 + 4 * 60 * M)
    assert len(desk.run_escalations().keys) == 1  # a new idle period, a new cycle


CALENDARS = {
    "office": {"tz": "Asia/Shanghai", "week": {"mon-fri": ["09:00-18:00"]}},
}


def test_notices_wait_for_business_hours_or_go_to_on_call() -> None:
    """Zammad #4432: no escalation mail at midnight; urgent work goes to the on-call person."""
    evening = datetime(2026, 11, 2, 17, 30, tzinfo=SH)
    clock = FixedClock(evening)
    policy = {
        "name": "night",
        "notice_hours": "office",
        "on_call": {"members": ["oc1", "oc2"], "start": "2026-11-02T00:00:00+08:00", "period": "1d"},
        "levels": [
            {"trigger": {"sla": "first_response", "fraction": 0.9}, "notify": ["supervisor"]},
            {"trigger": {"sla": "first_response", "breached": True}, "notify": ["supervisor"],
             "off_hours": "on_call"},
        ],
    }  # fmt: skip
    notifier = RecordingNotifier()
    desk = make_desk({"policies": [policy]}, clock, Notifiers(notifier), calendars=CALENDARS)
    desk.open_ticket(CUSTOMER, subject="late", channel="email")
    clock.set(evening + 61 * M)  # 18:31, after hours
    assert len(desk.run_escalations().keys) == 2
    desk.dispatch_outbox(now=evening + 62 * M)
    sent = [(n.recipient, n.data["level"]) for n in notifier.sent if n.event_kind == "escalation"]
    assert sent == [("oc1", 2)]  # level 1 waits for the morning; level 2 goes to on-call now
    desk.dispatch_outbox(now=datetime(2026, 11, 3, 9, 0, tzinfo=SH))
    sent = [(n.recipient, n.data["level"]) for n in notifier.sent if n.event_kind == "escalation"]
    assert sent == [("oc1", 2), ("sup", 1)]


def test_guides_preset_and_pure_evaluation() -> None:
    config = load_config({"escalation": {"preset": "guides"}}).sections["escalation"]
    assert isinstance(config, EscalationConfig)
    assert [p.name for p in config.policies] == ["sla-warnings", "tier-chain", "unassigned"]
    chain = config.policies[1]
    assert [lv.reassign_team for lv in chain.levels] == ["tier2", "tech", None]


@pytest.mark.parametrize(
    ("section", "path"),
    [
        ({"policies": [{"levels": [{"trigger": {"idle": "1h"}, "notify": ["handler"]}]}]}, "escalation.policies[0].name"),
        ({"policies": [{"name": "p", "levels": []}]}, "escalation.policies[0].levels"),
        ({"policies": [{"name": "p", "levels": [{"notify": ["handler"]}]}]}, "escalation.policies[0].levels[0].trigger"),
        ({"policies": [{"name": "p", "levels": [{"trigger": {"idle": "soon"}, "notify": ["handler"]}]}]},
         "escalation.policies[0].levels[0].trigger.idle"),
        ({"policies": [{"name": "p", "levels": [{"trigger": {"sla": "resolution", "fraction": 2}, "notify": ["handler"]}]}]},
         "escalation.policies[0].levels[0].trigger.fraction"),
        ({"policies": [{"name": "p", "levels": [{"trigger": {"idle": "1h"}, "notify": ["mum"]}]}]},
         "escalation.policies[0].levels[0].notify[0]"),
        ({"policies": [{"name": "p", "levels": [{"trigger": {"idle": "1h"}}]}]}, "escalation.policies[0].levels[0]"),
        ({"policies": [{"name": "p", "notice_hours": "nowhere", "levels": [{"trigger": {"idle": "1h"}, "notify": ["handler"]}]}]},
         "escalation.policies[0].notice_hours"),
        ({"preset": "x"}, "escalation.preset"),
    ],
)  # fmt: skip
def test_bad_escalation_config_names_the_key_path(section: dict[str, Any], path: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config({"escalation": section})
    assert err.value.path == path
