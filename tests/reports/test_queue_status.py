"""The live queue and its alarms (R-RPT-2, R-RTE-5) on the memory, SQLite and PostgreSQL
stores: figures against a hand-computed situation, scope, alarms once per episode."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk_core import Actor, Agent, ConfigError, Helpdesk, PermissionDenied
from helpdesk_core.monitoring import Alarm, transitions
from helpdesk_core.testing import FixedClock, RecordingNotifier

T0 = datetime.fromisoformat("2026-11-23T09:00:00+08:00")
ADMIN = Actor(id="root", roles={"admin"})
A1 = Actor(id="a-1", roles={"agent"}, team="after-sales", department="service")
A2 = Actor(id="a-2", roles={"agent"}, team="after-sales", department="service")
TECH = Actor(id="a-9", roles={"agent"}, team="tech", department="engineering")
SUPERVISOR = Actor(id="s-1", roles={"supervisor"}, team="after-sales", department="service")
CUSTOMER = Actor(id="C1", roles={"customer"})


def _config(**alarms: Any) -> dict[str, Any]:
    return {
        "desk": {"default_team": "after-sales", "timezone": "Asia/Shanghai"},
        "permissions": {"teams": {"after-sales": "service", "tech": "engineering"}},
        "storage": {"encryption": "off"},
        "sla": {"policies": [{"name": "p", "targets": {"normal": {"first_response": "1h"}}}]},
        "alarms": alarms,
    }


class _Notify:
    def __init__(self, notifier: RecordingNotifier) -> None:
        self.notifier = notifier

    from helpdesk_core import hookimpl

    @hookimpl
    def helpdesk_register_notifiers(self, config: object) -> list[RecordingNotifier]:
        return [self.notifier]


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def desk(store_url: str, notifier: RecordingNotifier) -> Iterator[Helpdesk]:
    with Helpdesk(
        config=_config(max_queued=2),
        storage_url=store_url,
        clock=FixedClock(T0),
        plugins=[_Notify(notifier)],
        load_entrypoints=False,
    ) as d:
        for actor, online in ((A1, True), (A2, False), (TECH, True), (SUPERVISOR, True)):
            d.save_agent(
                ADMIN,
                Agent(
                    id=actor.id,
                    name=actor.id,
                    team=actor.team,
                    department=actor.department,
                    roles=actor.roles,
                    online=online,
                ),
            )
        yield d


def _situation(desk: Helpdesk) -> dict[str, str]:
    """t1 new and unassigned (T0); t2 assigned, unanswered (T0+10m); t3 assigned and answered;
    t4 answered but unassigned again; t5 resolved."""
    clock = desk.clock
    assert isinstance(clock, FixedClock)
    made = {}
    made["t1"] = desk.open_ticket(CUSTOMER, subject="one", channel="email").id
    clock.advance(timedelta(minutes=10))
    made["t2"] = desk.open_ticket(CUSTOMER, subject="two", channel="email").id
    desk.assign(A1, made["t2"], A1.id)
    made["t3"] = desk.open_ticket(CUSTOMER, subject="three", channel="email").id
    desk.assign(A1, made["t3"], A1.id)
    desk.reply(A1, made["t3"], "On it.")
    made["t4"] = desk.open_ticket(CUSTOMER, subject="four", channel="email").id
    desk.assign(A1, made["t4"], A1.id)
    desk.reply(A1, made["t4"], "Passing this on.")
    desk.assign(ADMIN, made["t4"], None)
    made["t5"] = desk.open_ticket(CUSTOMER, subject="five", channel="email").id
    desk.assign(A1, made["t5"], A1.id)
    desk.reply(A1, made["t5"], "Done.")
    desk.set_status(A1, made["t5"], "resolved")
    clock.advance(timedelta(minutes=40))  # now T0 + 50 min
    return made


def test_queue_figures_match_the_hand_computed_situation(desk: Helpdesk) -> None:
    """R-RPT-2: queue t1, t2, t4; waits (unanswered only) 50 and 40 minutes; first responses of
    t1 and t2 due within the hour; one of two after-sales agents online."""
    _situation(desk)
    status = desk.queue_status(SUPERVISOR)
    assert status.queue_length == 3
    assert status.average_wait == timedelta(minutes=45)
    assert status.longest_wait == timedelta(minutes=50)
    assert status.breaches_next_hour == 2 and status.breached == 0
    team = status.team("after-sales")
    assert team is not None and team.queue_length == 3
    assert (team.agents_online, team.agents_on_shift) == (2, 3)  # a-1 and s-1 online
    assert status.team("tech") is None  # the supervisor's view: their teams only
    assert [a.rule for a in status.alarms] == ["max_queued"]  # 3 > 2
    whole = desk.queue_status(ADMIN)
    assert whole.queue_length == 3 and whole.agents_online == 3
    assert sum(t.queue_length for t in whole.teams) == whole.queue_length


def test_queue_is_scoped_and_needs_report_view(desk: Helpdesk) -> None:
    """R-RPT-3, R-PRM-2: another team's agent sees none of this queue; a customer may not ask."""
    _situation(desk)
    assert desk.queue_status(TECH).queue_length == 0
    with pytest.raises(PermissionDenied):
        desk.queue_status(CUSTOMER)


def test_breaches_are_counted_once_past_due(desk: Helpdesk) -> None:
    _situation(desk)
    clock = desk.clock
    assert isinstance(clock, FixedClock)
    clock.advance(timedelta(minutes=15))  # T0+65m: t1 breached, t2 due at T0+70m
    status = desk.queue_status(ADMIN)
    assert (status.breached, status.breaches_next_hour) == (1, 1)


def test_alarm_is_raised_once_per_episode_and_cleared_with_a_notice(
    desk: Helpdesk, notifier: RecordingNotifier
) -> None:
    """R-RTE-5: more than max_queued queued tickets raise one alarm to the team's supervisor,
    repeated checks add nothing, and the alarm clears once the queue shrinks."""
    made = _situation(desk)
    first = desk.check_alarms()
    assert [(c.alarm.rule, c.alarm.team, c.state, c.episode) for c in first.changes] == [
        ("max_queued", "after-sales", "raised", 1)
    ]
    assert desk.check_alarms().changes == ()
    desk.dispatch_outbox()
    raised = [n for n in notifier.sent if n.event_kind == "alarm_raised"]
    assert [n.recipient for n in raised] == ["s-1"]
    assert "3 tickets queued" in raised[0].body
    desk.reply(A1, made["t2"], "Looking.")  # t2 leaves the queue: 2 queued, not more than 2
    cleared = desk.check_alarms()
    assert [(c.state, c.episode) for c in cleared.changes] == [("cleared", 1)]
    assert cleared.active == ()
    desk.dispatch_outbox()
    assert [n.event_kind for n in notifier.sent if n.event_kind.startswith("alarm")] == [
        "alarm_raised",
        "alarm_cleared",
    ]
    desk.open_ticket(CUSTOMER, subject="six", channel="email")
    again = desk.check_alarms()
    assert [(c.state, c.episode) for c in again.changes] == [("raised", 2)]


def test_wait_over_target_alarm(store_url: str) -> None:
    """R-RTE-5: the average first-response wait more than 20 % over the 1 h target alarms."""
    clock = FixedClock(T0)
    with Helpdesk(
        config=_config(), storage_url=store_url, clock=clock, load_entrypoints=False
    ) as desk:
        desk.open_ticket(CUSTOMER, subject="one", channel="email")
        clock.advance(timedelta(minutes=10))
        desk.open_ticket(CUSTOMER, subject="two", channel="email")
        clock.advance(timedelta(minutes=60))  # waits 70 and 60 min: 8 % over
        assert desk.check_alarms().active == ()
        clock.advance(timedelta(minutes=10))  # 80 and 70 min: 25 % over
        check = desk.check_alarms()
        assert [(a.rule, a.value) for a in check.active] == [("wait_over_target", 0.25)]


@pytest.mark.parametrize(
    ("alarms", "path"),
    [
        ({"max_queued": -1}, "alarms.max_queued"),
        ({"wait_over_target": "lots"}, "alarms.wait_over_target"),
        ({"recipients": []}, "alarms.recipients"),
        ({"enabled": "yes"}, "alarms.enabled"),
        ({"max_queue": 5}, "alarms.max_queue"),
    ],
)
def test_alarm_config_errors_name_the_key(alarms: dict[str, Any], path: str) -> None:
    with pytest.raises(ConfigError) as err:
        Helpdesk(config=_config(**alarms), load_entrypoints=False)
    assert path in str(err.value)


@given(st.lists(st.sets(st.sampled_from(["max_queued|a", "max_queued|b", "wait_over_target|a"]))))
def test_each_alarm_alternates_raised_and_cleared(steps: list[set[str]]) -> None:
    """R-RTE-5: over any sequence of checks an alarm is raised, then cleared, then raised
    again as a new episode; never twice in a row."""
    active: dict[str, dict[str, Any]] = {}
    episodes: dict[str, int] = {}
    seen: dict[str, list[tuple[str, int]]] = {}
    for keys in steps:
        current = [
            Alarm(key.split("|")[0], key.split("|")[1], 1.0, 0.0, "x") for key in sorted(keys)
        ]
        changes, active, episodes = transitions(active, episodes, current)
        for change in changes:
            seen.setdefault(change.alarm.key, []).append((change.state, change.episode))
        assert set(active) == keys
    for history in seen.values():
        states = [s for s, _ in history]
        assert states == ["raised", "cleared"] * (len(states) // 2) + ["raised"] * (len(states) % 2)
        assert [e for s, e in history if s == "raised"] == list(
            range(1, 1 + states.count("raised"))
        )
