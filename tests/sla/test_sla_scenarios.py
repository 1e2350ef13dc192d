"""SLA clocks: plain scenario fixtures (events in, clocks out), one test per semantic rule 1-9,
and properties (R-SLA-1..5, R-ORG-2)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_core.config import load_config
from helpdesk_core.errors import ConfigError
from helpdesk_core.model.events import (
    Assigned,
    CustomerMessaged,
    Event,
    NoteAdded,
    PriorityChanged,
    Replied,
    StatusChanged,
    TicketCreated,
    Transferred,
)
from helpdesk_core.sla import SlaClock, SlaConfig, evaluate, explain, metric_events

SH = ZoneInfo("Asia/Shanghai")
H = timedelta(hours=1)
M = timedelta(minutes=1)
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=SH)  # a Monday, opening time
CATEGORY = {
    "new": "new",
    "assigned": "open",
    "in_progress": "open",
    "pending_customer": "pending",
    "pending_third_party": "pending",
    "resolved": "solved",
    "closed": "closed",
}

CALENDAR = {"tz": "Asia/Shanghai", "week": {"mon-fri": ["09:00-12:00", "13:00-18:00"]}}


def sla(policies: list[dict[str, Any]], **extra: Any) -> SlaConfig:
    config = load_config(
        {"calendars": {"support": CALENDAR}, "sla": {"policies": policies, **extra}}
    )
    section = config.sections["sla"]
    assert isinstance(section, SlaConfig)
    return section


CAL_TIME = sla(
    [
        {
            "name": "standard",
            "targets": {
                "urgent": {"first_response": "15m", "resolution": "4h", "next_response": "30m",
                           "periodic_update": "1h"},
                "normal": {"first_response": "1h", "resolution": "8h", "next_response": "2h",
                           "periodic_update": "4h"},
            },
            "warnings": {"fractions": [0.75], "before_due": ["10m"]},
        }
    ]
)  # fmt: skip
BUSINESS = sla(
    [
        {
            "name": "business",
            "calendar": "support",
            "targets": {"normal": {"first_response": "1h", "resolution": "8h"},
                        "urgent": {"first_response": "30m", "resolution": "2h"}},
            "warnings": {"fractions": [0.5], "before_due": ["15m"]},
        }
    ]
)  # fmt: skip


class History:
    """Builds a ticket's events: ``h.at(minutes).reply()`` and so on."""

    def __init__(self, start: datetime = T0, priority: str = "normal", status: str = "new") -> None:
        self.events: list[Event] = []
        self.t = start
        self.current = status
        self._add(
            TicketCreated,
            number="T1",
            subject="s",
            type="consultation",
            priority=priority,
            channel="web_form",
            status=status,
            status_category=CATEGORY[status],
        )

    def _add(self, cls: type[Event], **kw: Any) -> History:
        self.events.append(
            cls(
                ticket_id="t1",
                seq=len(self.events) + 1,
                at=self.t,
                actor=kw.pop("actor", "a1"),
                **kw,
            )
        )
        return self

    def at(self, when: timedelta | datetime) -> History:
        self.t = when if isinstance(when, datetime) else self.t + when
        return self

    def reply(self) -> History:
        return self._add(Replied, message_id=f"m{len(self.events)}", body="hi", channel="email")

    def note(self) -> History:
        return self._add(NoteAdded, message_id=f"m{len(self.events)}", body="n", channel="api")

    def customer(self) -> History:
        return self._add(
            CustomerMessaged,
            actor="c1",
            message_id=f"m{len(self.events)}",
            body="?",
            channel="email",
        )

    def status(self, to: str, reopen: bool = False) -> History:
        before, self.current = self.current, to
        return self._add(
            StatusChanged, from_status=before, to_status=to, to_category=CATEGORY[to], reopen=reopen
        )

    def priority(self, to: str, before: str = "normal") -> History:
        return self._add(PriorityChanged, from_priority=before, to_priority=to)


def clock(clocks: list[SlaClock], metric: str, cycle: int = 1) -> SlaClock:
    found = [c for c in clocks if c.metric == metric and c.cycle == cycle]
    assert len(found) == 1, (metric, cycle, clocks)
    return found[0]


# ------------------------------------------------------------------ scenario table
def test_first_response_met_on_time_then_resolution_running() -> None:
    h = History().at(10 * M).reply()
    clocks = evaluate(CAL_TIME, h.events, T0 + H)
    fr = clock(clocks, "first_response")
    assert (fr.state, fr.met_at, fr.due_at) == ("met", T0 + 10 * M, T0 + H)
    res = clock(clocks, "resolution")
    assert (res.state, res.due_at, res.remaining) == ("running", T0 + 8 * H, 7 * H)


def test_pause_and_resume_move_the_resolution_due_time() -> None:
    h = (
        History()
        .at(H)
        .status("in_progress")
        .at(H)
        .status("pending_customer")
        .at(3 * H)
        .status("in_progress")
    )
    res = clock(evaluate(CAL_TIME, h.events, T0 + 6 * H), "resolution")
    assert res.state == "running"
    assert res.elapsed == 3 * H  # 2 h before the pause, 1 h after
    assert res.due_at == T0 + 11 * H
    paused = clock(evaluate(CAL_TIME, h.events, T0 + 3 * H), "resolution")
    assert (paused.state, paused.due_at, paused.remaining) == ("paused", None, 6 * H)


def test_reopen_starts_a_new_resolution_cycle() -> None:
    h = (
        History()
        .at(H)
        .reply()
        .at(H)
        .status("resolved")
        .at(2 * H)
        .status("in_progress", reopen=True)
    )
    clocks = evaluate(CAL_TIME, h.events, T0 + 5 * H)
    assert clock(clocks, "resolution", 1).met_at == T0 + 2 * H
    second = clock(clocks, "resolution", 2)
    assert (second.started_at, second.elapsed, second.state) == (T0 + 4 * H, H, "running")
    assert len([c for c in clocks if c.metric == "first_response"]) == 1


def test_priority_change_retargets_from_the_original_start() -> None:
    h = History().at(2 * H).priority("urgent")
    res = clock(evaluate(CAL_TIME, h.events, T0 + 150 * M), "resolution")
    assert (res.target, res.due_at, res.state) == (4 * H, T0 + 4 * H, "running")


def test_retarget_into_the_past_breaches_at_once_at_the_new_due_instant() -> None:
    h = History().at(30 * M).priority("urgent")  # first_response 1h -> 15m, 30 min in
    fr = clock(evaluate(CAL_TIME, h.events, T0 + 31 * M), "first_response")
    assert (fr.state, fr.breached_at, fr.overdue) == ("breached", T0 + 15 * M, 16 * M)


def test_next_response_cycles_per_customer_message() -> None:
    h = History().at(10 * M).reply().at(H).customer().at(10 * M).customer().at(40 * M).reply()
    h.at(H).customer()
    clocks = evaluate(CAL_TIME, h.events, h.t + 30 * M)
    one = clock(clocks, "next_response", 1)
    assert (one.started_at, one.met_at, one.state) == (T0 + 70 * M, T0 + 120 * M, "met")
    two = clock(clocks, "next_response", 2)
    assert (two.state, two.elapsed) == ("running", 30 * M)


def test_periodic_update_cycles_on_each_public_reply() -> None:
    h = History(priority="urgent").at(10 * M).reply().at(30 * M).reply().at(2 * H)
    clocks = evaluate(CAL_TIME, h.events, T0 + 3 * H)
    assert clock(clocks, "periodic_update", 1).met_at == T0 + 40 * M
    two = clock(clocks, "periodic_update", 2)
    assert (two.started_at, two.due_at) == (T0 + 40 * M, T0 + 100 * M)
    assert two.state == "breached" and two.breached_at == T0 + 100 * M


def test_ticket_created_outside_business_hours() -> None:
    friday_night = datetime(2026, 11, 6, 20, 0, tzinfo=SH)
    h = History(start=friday_night)
    clocks = evaluate(BUSINESS, h.events, datetime(2026, 11, 7, 12, 0, tzinfo=SH))
    fr = clock(clocks, "first_response")
    assert (fr.state, fr.elapsed) == ("running", timedelta(0))  # rule 9: running, gaining nothing
    assert fr.due_at == datetime(2026, 11, 9, 10, 0, tzinfo=SH)
    res = clock(clocks, "resolution")
    assert res.due_at == datetime(2026, 11, 9, 18, 0, tzinfo=SH)  # 8 business hours, lunch skipped


def test_business_warnings_at_fraction_and_offset() -> None:
    h = History(start=datetime(2026, 11, 2, 11, 50, tzinfo=SH))
    clocks = evaluate(BUSINESS, h.events, datetime(2026, 11, 2, 13, 20, tzinfo=SH))
    fr = clock(clocks, "first_response")
    assert fr.elapsed == 30 * M and fr.state == "warning"
    half, offset = fr.warnings
    assert (half.label, half.fired, half.at) == (
        "50%",
        True,
        datetime(2026, 11, 2, 13, 20, tzinfo=SH),
    )
    assert offset.fired is False
    assert offset.at == datetime(2026, 11, 2, 13, 35, tzinfo=SH)  # 45 business minutes in
    assert fr.instant_at(H) == fr.due_at == datetime(2026, 11, 2, 13, 50, tzinfo=SH)


# ------------------------------------------------------------------ the nine rules
def test_rule1_pause_statuses_stop_only_resolution() -> None:
    h = History().at(M).status("pending_customer")
    clocks = evaluate(CAL_TIME, h.events, T0 + 2 * H)
    assert clock(clocks, "resolution").state == "paused"
    fr = clock(clocks, "first_response")
    assert (fr.state, fr.breached_at) == ("breached", T0 + H)


def test_rule2_a_note_is_never_a_response_and_reopen_keeps_first_response() -> None:
    h = History().at(10 * M).note()
    assert clock(evaluate(CAL_TIME, h.events, T0 + 20 * M), "first_response").met_at is None
    h.at(10 * M).reply().at(H).status("resolved").at(H).status("in_progress", reopen=True)
    clocks = evaluate(CAL_TIME, h.events, h.t + H)
    assert [c.cycle for c in clocks if c.metric == "first_response"] == [1]
    assert clock(clocks, "first_response").met_at == T0 + 20 * M


def test_rule3_messages_before_the_first_reply_belong_to_first_response() -> None:
    h = History().at(5 * M).customer().at(5 * M).customer()
    clocks = evaluate(CAL_TIME, h.events, T0 + 20 * M)
    assert not [c for c in clocks if c.metric == "next_response"]
    h.at(5 * M).reply().at(5 * M).customer().at(5 * M).customer()
    clocks = evaluate(CAL_TIME, h.events, h.t)
    assert clock(clocks, "next_response").started_at == T0 + 20 * M  # the oldest unanswered


def test_rule4_periodic_update_starts_at_the_first_public_reply() -> None:
    h = History().at(30 * M).reply()
    pu = clock(evaluate(CAL_TIME, h.events, T0 + H), "periodic_update")
    assert (pu.cycle, pu.started_at) == (1, T0 + 30 * M)


def test_rule5_resolving_meets_running_next_response_and_periodic_update() -> None:
    h = History().at(10 * M).reply().at(10 * M).customer().at(10 * M).status("resolved")
    clocks = evaluate(CAL_TIME, h.events, T0 + 5 * H)
    assert clock(clocks, "next_response").met_at == T0 + 30 * M
    assert clock(clocks, "periodic_update").met_at == T0 + 30 * M
    assert clock(clocks, "resolution").state == "met"


def test_rule6_customer_message_resumes_resolution_through_the_desk() -> None:
    from helpdesk_core import Actor, Helpdesk
    from helpdesk_core.testing import FixedClock

    clock_ = FixedClock(T0)
    desk = Helpdesk(
        config={"sla": {"policies": [{"name": "p", "targets": {"normal": {"resolution": "8h"}}}]}},
        clock=clock_,
        load_entrypoints=False,
    )
    agent = Actor(id="a1", roles={"admin"})
    customer = Actor(id="c1", roles={"customer"})
    t = desk.open_ticket(customer, subject="x", channel="email")
    desk.assign(agent, t.id, "a1")
    desk.set_status(agent, t.id, "in_progress")
    desk.set_status(agent, t.id, "pending_customer")
    clock_.advance(hours=2)
    desk.reply(customer, t.id, "here is the info")
    kinds = [(e.kind, getattr(e, "to_status", None)) for e in desk.history(agent, t.id)]
    assert kinds[-1] == ("status_changed", "in_progress")
    res = clock(desk.sla_status(agent, t.id, now=T0 + 3 * H), "resolution")
    assert (res.state, res.elapsed) == ("running", H)


def test_rule7_due_is_inclusive_late_meeting_reports_breached_with_both_instants() -> None:
    on_time = clock(
        evaluate(CAL_TIME, History().at(H).reply().events, T0 + 2 * H), "first_response"
    )
    assert (on_time.state, on_time.met_at) == ("met", T0 + H)
    late = clock(
        evaluate(CAL_TIME, History().at(H + M).reply().events, T0 + 2 * H), "first_response"
    )
    assert (late.state, late.met_at, late.breached_at, late.overdue) == (
        "breached",
        T0 + H + M,
        T0 + H,
        M,
    )


def test_rule7_breach_is_final_and_met_keeps_its_target() -> None:
    breached = History().at(70 * M).priority("low")
    clocks = evaluate(CAL_TIME, breached.events, T0 + 3 * H)
    assert [c.metric for c in clocks] == []  # no target under "low" for unmet clocks
    met = History().at(10 * M).reply().at(H).priority("urgent")
    fr = clock(evaluate(CAL_TIME, met.events, T0 + 2 * H), "first_response")
    assert (fr.state, fr.target) == ("met", H)  # met under normal's 1 h, not urgent's 15 min
    slow = History().at(2 * H).priority("urgent").at(H).priority("normal", before="urgent")
    fr = clock(evaluate(CAL_TIME, slow.events, T0 + 4 * H), "first_response")
    assert (fr.state, fr.breached_at) == ("breached", T0 + H)


def test_rule7_met_late_after_reaching_the_target_exactly_reports_that_instant() -> None:
    """Found by test_clock_properties: resolution reaches its 8 h at 18:00 (closing), pauses,
    resumes out of hours at 18:01 and is met at 18:02. Met after the due instant: breached,
    and due_at and breached_at are both 18:00 (not 18:01, where the last segment began)."""
    h = (
        History()
        .at(datetime(2026, 11, 2, 18, 0, tzinfo=SH))
        .status("pending_customer")
        .at(M)
        .status("in_progress")
        .at(M)
        .status("resolved")
    )
    res = clock(evaluate(BUSINESS, h.events, h.t), "resolution")
    at_18 = datetime(2026, 11, 2, 18, 0, tzinfo=SH)
    assert (res.state, res.elapsed) == ("breached", 8 * H)
    assert res.due_at == res.breached_at == at_18


def test_rule8_remaining_and_overdue_in_business_time() -> None:
    h = History(start=datetime(2026, 11, 2, 17, 30, tzinfo=SH))
    clocks = evaluate(BUSINESS, h.events, datetime(2026, 11, 3, 9, 15, tzinfo=SH))
    fr = clock(clocks, "first_response")
    assert (fr.elapsed, fr.remaining, fr.overdue) == (45 * M, 15 * M, timedelta(0))
    offset = next(w for w in fr.warnings if "before due" in w.label)
    assert offset.fired and offset.at == datetime(2026, 11, 3, 9, 15, tzinfo=SH)
    later = clock(
        evaluate(BUSINESS, h.events, datetime(2026, 11, 3, 13, 30, tzinfo=SH)), "first_response"
    )
    assert later.overdue == 3 * H  # 17:30-18:00, 09:00-12:00, 13:00-13:30 = 4 h of a 1 h target


def test_rule8_calendar_time_is_real_elapsed_time_across_dst() -> None:
    """New York falls back on 2026-11-01 at 02:00: 00:30 EDT + 4 h of real time is 03:30 EST
    (wall clock +3 h), not 04:30."""
    ny = ZoneInfo("America/New_York")
    start = datetime(2026, 11, 1, 0, 30, tzinfo=ny)
    h = History(start=start, priority="urgent")
    now = datetime(2026, 11, 1, 2, 30, tzinfo=ny)  # 3 h of real time later
    res = clock(evaluate(CAL_TIME, h.events, now), "resolution")
    assert res.due_at == datetime(2026, 11, 1, 3, 30, tzinfo=ny)
    assert (res.elapsed, res.remaining) == (3 * H, H)
    fr = clock(evaluate(CAL_TIME, h.events, now), "first_response")
    assert fr.state == "breached" and fr.overdue == 3 * H - 15 * M


def test_rule9_states_outside_hours_in_pause_and_after_breach() -> None:
    night = datetime(2026, 11, 2, 22, 0, tzinfo=SH)
    h = History(start=datetime(2026, 11, 2, 17, 0, tzinfo=SH))
    res = clock(evaluate(BUSINESS, h.events, night), "resolution")
    assert res.state == "warning" or res.state == "running"
    h.at(datetime(2026, 11, 2, 17, 50, tzinfo=SH)).status("pending_customer")
    fr = clock(
        evaluate(BUSINESS, h.events, datetime(2026, 11, 2, 17, 55, tzinfo=SH)), "first_response"
    )
    assert fr.state == "warning"  # first response never pauses (rule 1); 55 min >= 50 %
    fr = clock(evaluate(BUSINESS, h.events, night), "first_response")
    assert (fr.state, fr.breached_at) == ("breached", datetime(2026, 11, 2, 18, 0, tzinfo=SH))
    res = clock(evaluate(BUSINESS, h.events, datetime(2026, 11, 5, 10, tzinfo=SH)), "resolution")
    assert res.state == "paused"
    fr = clock(evaluate(BUSINESS, h.events, datetime(2026, 11, 5, 10, tzinfo=SH)), "first_response")
    assert fr.state == "breached"
    urgent = History(start=T0, priority="urgent").at(3 * H).status("pending_customer")
    res = clock(evaluate(BUSINESS, urgent.events, T0 + 5 * H), "resolution")
    assert res.state == "breached"  # breached stays breached in a pause status


# ------------------------------------------------------------------ regressions
def test_zammad_2082_5177_sla_times_after_pauses() -> None:
    """Zammad computed escalation times wrong after pending states; here the due time moves by
    exactly the paused business time."""
    h = History(start=T0).at(H).status("pending_customer").at(datetime(2026, 11, 3, 10, tzinfo=SH))
    h.status("in_progress")
    res = clock(evaluate(BUSINESS, h.events, datetime(2026, 11, 3, 10, tzinfo=SH)), "resolution")
    assert res.elapsed == H
    assert res.due_at == datetime(2026, 11, 3, 18, 0, tzinfo=SH)


def test_custom_metric_tier2_pickup_within_10_minutes() -> None:
    """R-ORG-2: tier 2 must pick up a transfer "within 10 minutes"."""
    config = sla(
        [{"name": "tiers", "targets": {"normal": {"tier2_pickup": "10m"}}}],
        metrics=[{"name": "tier2_pickup", "start_on": "transferred", "start_when": {"event.to_tier": 2},
                  "stop_on": "assigned", "stop_when": {"assignee": {"exists": True}}}],
    )  # fmt: skip
    h = History()
    h.at(H)._add(Transferred, from_team=None, to_team="tier2", to_tier=2, summary="s")
    h.at(8 * M)._add(Assigned, assignee="e1", team="tier2")
    pickup = clock(evaluate(config, h.events, T0 + 2 * H), "tier2_pickup")
    assert (pickup.state, pickup.met_at) == ("met", T0 + 68 * M)


def test_metric_events_and_explain() -> None:
    h = History().at(10 * M).reply().at(H).status("pending_customer").at(H).status("in_progress")
    clocks = evaluate(CAL_TIME, h.events, T0 + 3 * H)
    kinds = [(e.kind, e.metric) for e in metric_events(clocks)]
    assert ("apply", "resolution") in kinds and ("pause", "resolution") in kinds
    assert ("resume", "resolution") in kinds and ("fulfil", "first_response") in kinds
    text = explain(BUSINESS, h.events, T0 + 3 * H).text()
    assert "Policy business" in text and "open intervals" in text
    zh = explain(BUSINESS, h.events, T0 + 3 * H).text("zh-CN")
    assert "策略 business" in zh


@pytest.mark.parametrize(
    ("sla_section", "path"),
    [
        ({"policies": [{"targets": {"normal": {"resolution": "1h"}}}]}, "sla.policies[0].name"),
        ({"policies": [{"name": "x", "targets": {"normal": {"resolution": "soon"}}}]},
         "sla.policies[0].targets.normal.resolution"),
        ({"policies": [{"name": "x", "targets": {"normal": {"speed": "1h"}}}]},
         "sla.policies[0].targets.normal.speed"),
        ({"policies": [{"name": "x", "targets": {"extreme": {"resolution": "1h"}}}]},
         "sla.policies[0].targets.extreme"),
        ({"policies": [{"name": "x", "calendar": "nowhere", "targets": {"normal": {"resolution": "1h"}}}]},
         "sla.policies[0].calendar"),
        ({"policies": [{"name": "x", "targets": {"normal": {"resolution": "1h"}},
                        "warnings": {"fractions": [1.5]}}]}, "sla.policies[0].warnings.fractions[0]"),
        ({"preset": "gold"}, "sla.preset"),
        ({"colour": "red"}, "sla.colour"),
    ],
)  # fmt: skip
def test_bad_sla_config_names_the_key_path(sla_section: dict[str, Any], path: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config({"sla": sla_section})
    assert err.value.path == path


def test_presets_from_the_guides() -> None:
    """R-SLA-1 / R-SLA-2, each one config line."""
    per_service = load_config({"sla": {"preset": "per-service"}}).sections["sla"]
    complaint = TicketCreated(
        ticket_id="t1", seq=1, at=T0, actor="c1", number="T1", subject="s", type="complaint",
        priority="normal", channel="phone", status="new", status_category="new",
    )  # fmt: skip
    clocks = evaluate(per_service, [complaint], T0 + M)
    assert {c.metric: c.target for c in clocks} == {"first_response": 5 * M, "resolution": 24 * H}
    four = load_config(
        {"priorities": ["urgent", "important", "normal", "low"], "sla": {"preset": "four-level"}}
    ).sections["sla"]
    assert four.policies[0].target("important", "first_response") == 10 * M
    p = load_config(
        {
            "priorities": ["p1", "p2", "p3"],
            "desk": {"default_priority": "p2"},
            "sla": {"preset": "p1-p3"},
        }
    ).sections["sla"]
    assert [p.policies[0].target(x, "first_response") for x in ("p1", "p2", "p3")] == [
        H,
        4 * H,
        24 * H,
    ]


# ------------------------------------------------------------------ properties
@st.composite
def histories(draw: st.DrawFn) -> History:
    h = History(start=T0 + draw(st.integers(0, 7 * 24 * 60)) * M)
    for _ in range(draw(st.integers(0, 10))):
        h.at(draw(st.integers(1, 600)) * M)
        action = draw(
            st.sampled_from(["reply", "note", "customer", "pause", "work", "resolve", "reopen"])
        )
        if action == "reply":
            h.reply()
        elif action == "note":
            h.note()
        elif action == "customer":
            h.customer()
        elif action == "pause" and CATEGORY[h.current] in ("new", "open"):
            h.status("pending_customer")
        elif action == "work" and h.current in ("new", "pending_customer"):
            h.status("in_progress")
        elif action == "resolve" and h.current != "resolved":
            h.status("resolved")
        elif action == "reopen" and h.current == "resolved":
            h.status("in_progress", reopen=True)
    return h


@settings(max_examples=150, deadline=None)
@given(
    histories(), st.integers(0, 3000), st.integers(0, 3000), st.sampled_from([CAL_TIME, BUSINESS])
)
def test_clock_properties(h: History, d1: int, d2: int, config: SlaConfig) -> None:
    end = h.t
    early, late = end + min(d1, d2) * M, end + max(d1, d2) * M
    a = {(c.metric, c.cycle): c for c in evaluate(config, h.events, early)}
    b = {(c.metric, c.cycle): c for c in evaluate(config, h.events, late)}
    rank = {"running": 0, "paused": 0, "warning": 1, "met": 2, "breached": 3}
    for key, clock_a in a.items():
        clock_b = b[key]
        # time only moves forward: elapsed never shrinks, met/breached are final
        assert clock_b.elapsed >= clock_a.elapsed
        if clock_a.state in ("met", "breached"):
            assert clock_b.state == clock_a.state
        assert rank[clock_b.state] >= rank[clock_a.state] or clock_a.state in (
            "running",
            "paused",
            "warning",
        )
        for c in (clock_a, clock_b):
            if c.met_at is None and c.state != "breached":
                assert c.remaining + c.elapsed == c.target
            if c.due_at is not None and c.state not in ("met",):
                assert c.instant_at(c.target) == c.due_at
            if c.breached_at is not None and c.due_at is not None:
                assert c.breached_at == c.due_at


def test_the_real_workflow_resolves_and_reopens_clocks_through_the_desk() -> None:
    """The default workflow's categories (solved, closed) meet resolution; a reopen starts a
    new cycle."""
    from helpdesk_core import Actor, Helpdesk
    from helpdesk_core.testing import FixedClock

    clock_ = FixedClock(T0)
    desk = Helpdesk(
        config={
            "sla": {
                "policies": [
                    {"name": "p", "targets": {"*": {"resolution": "8h", "first_response": "1h"}}}
                ]
            }
        },
        clock=clock_,
        load_entrypoints=False,
    )
    admin = Actor(id="root", roles={"admin"})
    t = desk.open_ticket(Actor(id="c1", roles={"customer"}), subject="x", channel="email")
    desk.assign(admin, t.id, "a1")
    clock_.advance(minutes=30)
    desk.reply(admin, t.id, "fixed", status="resolved")
    clocks = desk.sla_status(admin, t.id, now=T0 + 5 * H)
    assert {(c.metric, c.cycle, c.state) for c in clocks} == {
        ("first_response", 1, "met"),
        ("resolution", 1, "met"),
    }
    clock_.advance(hours=1)
    desk.set_status(admin, t.id, "in_progress")  # reopened
    clocks = desk.sla_status(admin, t.id, T0 + 5 * H)  # the signature: now positional
    assert list(desk.sla_explain(admin, t.id, T0 + 5 * H).clocks) == clocks
    states = {(c.metric, c.cycle): (c.state, c.elapsed) for c in clocks}
    assert states[("resolution", 2)] == ("running", 5 * H - 90 * M)
    assert ("first_response", 2) not in states
