"""The pure reports (R-RPT-1, R-RPT-3): hand-computed fixtures and properties."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from report_histories import History

from helpdesk_core import reports
from helpdesk_core.config import load_config
from helpdesk_core.errors import ValidationError
from helpdesk_core.model.events import Event
from helpdesk_core.sla import SlaConfig

SH = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 2)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SH)


def fixture_events() -> list[Event]:
    """Five tickets; the figures the tests expect are worked out in the comments."""
    t1 = History(
        "t1",
        local(2, 9),
        type="complaint",
        channel="phone",
        priority="high",
        expected_resolution_at=local(2, 9, 20),
    )  # wait 120 s, FRT 300 s, resolution 1800 s, handling 1680 s, first contact
    t1.assign(local(2, 9, 2), "a1").reply(local(2, 9, 5), "a1")
    t1.status_to(local(2, 9, 30), "resolved", "a1")
    t2 = History("t2", local(2, 10))  # consultation, email, normal
    t2.assign(local(2, 10, 10), "a2").reply(local(2, 10, 20), "a2")
    t2.status_to(local(2, 10, 20), "pending_customer", "a2").customer(local(2, 11))
    t2.status_to(local(2, 11), "in_progress", "system").reply(local(2, 11, 10), "a2")
    t2.status_to(local(2, 11, 30), "resolved", "a2")
    t2.status_to(local(2, 12), "in_progress", "c1", reopen=True)
    t2.status_to(local(2, 12, 30), "resolved", "a2")
    # wait 600, FRT 1200, resolution 9000, handling 600 + 1800 + 1800 = 4200, reopened
    t3 = History("t3", local(2, 23, 30), type="complaint", channel="web_chat", priority="high")
    t4 = History("t4", local(1, 20))  # before the period: only in the backlog (28 h old)
    t5 = History("t5", local(3, 8))  # after the period: nowhere
    t5.assign(local(3, 8, 1), "a1")
    return [e for h in (t1, t2, t3, t4, t5) for e in h.events]


def sla_config() -> SlaConfig:
    config = load_config(
        {
            "sla": {
                "policies": [
                    {
                        "name": "std",
                        "targets": {
                            "high": {"first_response": "10m", "resolution": "1h"},
                            "normal": {"first_response": "15m", "resolution": "2h"},
                        },
                    }
                ]
            }
        }
    )
    section = config.sections["sla"]
    assert isinstance(section, SlaConfig)
    return section


def run(name: str, group_by: Any = (), sla: SlaConfig | None = None) -> list[dict[str, Any]]:
    result = reports.REPORTS[name](
        fixture_events(), start=DAY, end=DAY, tz="Asia/Shanghai", group_by=group_by, sla=sla
    )
    return [dict(r) for r in result.rows]


def test_r_rpt_1_volumes_count_the_period_s_tickets_once() -> None:
    assert run("volumes") == [{"tickets": 3, "resolved": 2}]
    assert run("volumes", ["type"]) == [
        {"type": "complaint", "tickets": 2, "resolved": 1},
        {"type": "consultation", "tickets": 1, "resolved": 1},
    ]
    assert run("volumes", ["channel", "priority"]) == [
        {"channel": "email", "priority": "normal", "tickets": 1, "resolved": 1},
        {"channel": "phone", "priority": "high", "tickets": 1, "resolved": 1},
        {"channel": "web_chat", "priority": "high", "tickets": 1, "resolved": 0},
    ]
    assert run("volumes", ["day", "month", "week"]) == [
        {"day": "2026-11-02", "month": "2026-11", "week": "2026-W45", "tickets": 3, "resolved": 2}
    ]


def test_r_rpt_1_first_response_resolution_handling_and_wait() -> None:
    assert run("first_response_time") == [
        {
            "tickets": 3,
            "responded_count": 2,
            "responded_mean_seconds": 750.0,
            "responded_median_seconds": 300.0,  # nearest rank: the lower middle of two
            "responded_p90_seconds": 1200.0,
        }
    ]
    res = run("resolution_time")[0]
    assert (res["resolved_count"], res["resolved_median_seconds"]) == (2, 1800.0)
    assert (res["resolved_p90_seconds"], res["resolved_mean_seconds"]) == (9000.0, 5400.0)
    handling = run("handling_time")[0]
    assert handling["resolved_median_seconds"] == 1680.0
    assert handling["resolved_p90_seconds"] == 4200.0
    wait = run("average_wait")[0]
    assert (wait["picked_up_mean_seconds"], wait["waiting"], wait["tickets"]) == (360.0, 1, 3)


def test_r_rpt_1_first_contact_resolution_and_reopen_rate() -> None:
    assert run("first_contact_resolution") == [{"resolved": 2, "first_contact": 1, "rate": 0.5}]
    assert run("reopen_rate") == [{"resolved_once": 2, "reopened": 1, "rate": 0.5}]
    assert run("reopen_rate", ["type"]) == [
        {"type": "complaint", "resolved_once": 1, "reopened": 0, "rate": 0.0},
        {"type": "consultation", "resolved_once": 1, "reopened": 1, "rate": 1.0},
    ]


def test_r_rpt_1_sla_compliance_per_policy_and_metric() -> None:
    # t1 (high) meets both; t2 (normal) answers after 20 min > 15 min (breached), its two
    # resolution cycles (50 min running, paused 40 min; then 30 min) are met; t3 (high) waits
    # 30 min unanswered at the end: first response breached, resolution still running
    assert run("sla_compliance", sla=sla_config()) == [
        {
            "policy": "std",
            "metric": "first_response",
            "met": 1,
            "breached": 2,
            "open": 0,
            "compliance": round(1 / 3, 6),
        },
        {
            "policy": "std",
            "metric": "resolution",
            "met": 3,
            "breached": 0,
            "open": 1,
            "compliance": 1.0,
        },
    ]
    with pytest.raises(ValidationError) as info:
        run("sla_compliance")
    assert info.value.field == "sla"


def test_r_rpt_1_on_time_uses_the_promise_then_the_sla_due() -> None:
    # t1 promised 09:20, resolved 09:30: late; t2 due 12:00 + 2 h, resolved 12:30: on time
    assert run("on_time", sla=sla_config()) == [
        {"resolved": 2, "promised": 2, "on_time": 1, "rate": 0.5}
    ]
    assert run("on_time") == [{"resolved": 2, "promised": 1, "on_time": 0, "rate": 0.0}]


def test_r_rpt_1_agent_performance() -> None:
    assert run("agent_performance", sla=sla_config()) == [
        {
            "agent": "a1",
            "handled": 1,
            "first_responses": 1,
            "frt_median_seconds": 300.0,
            "frt_p90_seconds": 300.0,
            "sla_met": 2,
            "sla_breached": 0,
            "sla_met_rate": 1.0,
        },
        {
            "agent": "a2",
            "handled": 1,
            "first_responses": 1,
            "frt_median_seconds": 1200.0,
            "frt_p90_seconds": 1200.0,
            "sla_met": 2,
            "sla_breached": 1,
            "sla_met_rate": round(2 / 3, 6),
        },
    ]


def test_backlog_by_age_counts_every_open_ticket_at_end() -> None:
    assert run("backlog_by_age") == [{"age": "<1h", "tickets": 1}, {"age": "1d-3d", "tickets": 1}]


def test_csv_and_json_exports() -> None:
    result = reports.first_response_time(
        fixture_events(), start=DAY, end=DAY, tz="Asia/Shanghai", group_by=["type"]
    )
    rows = list(csv.DictReader(io.StringIO(result.to_csv())))
    assert [r["type"] for r in rows] == ["complaint", "consultation"]
    assert rows[0]["responded_median_seconds"] == "300.0"
    data = json.loads(result.to_json())
    assert data["report"] == "first_response_time"
    assert data["start"] == "2026-11-01T16:00:00+00:00"
    assert data["end"] == "2026-11-02T16:00:00+00:00"
    assert data["columns"] == list(result.columns)
    assert data["rows"][1]["responded_median_seconds"] == 1200.0


def test_instants_are_half_open_and_dates_are_local_days() -> None:
    events = fixture_events()
    by_instant = reports.volumes(
        events, start=local(2, 0), end=local(2, 23, 30), tz="Asia/Shanghai"
    )
    assert by_instant.rows == [{"tickets": 2, "resolved": 2}]  # t3 at 23:30 is outside


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"start": datetime(2026, 11, 2, 9)}, "start"),
        ({"end": "2026-11-02"}, "end"),
        ({"start": DAY, "end": date(2026, 11, 1)}, "end"),
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"group_by": ["colour"]}, "group_by"),
        ({"group_by": ["day", "day"]}, "group_by"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {"start": DAY, "end": DAY, "tz": "Asia/Shanghai", **kwargs}
    with pytest.raises(ValidationError) as info:
        reports.volumes(fixture_events(), **args)
    assert info.value.field == field
    with pytest.raises(ValidationError) as unknown:
        reports.report("nps", [], start=DAY, end=DAY, tz="UTC")
    assert unknown.value.field == "name"


def test_interleaved_events_are_refused_with_the_way_out() -> None:
    grouped = fixture_events()
    events = [grouped[0], *grouped[2:], grouped[1]]  # t1's second event comes last
    with pytest.raises(ValidationError, match="grouped by ticket"):
        reports.volumes(events, start=DAY, end=DAY, tz="Asia/Shanghai")
    regrouped = sorted(events, key=lambda e: (e.ticket_id, e.seq))
    assert reports.volumes(regrouped, start=DAY, end=DAY, tz="Asia/Shanghai").rows == [
        {"tickets": 3, "resolved": 2}
    ]


# ---------------------------------------------------------------------- properties
BERLIN = ZoneInfo("Europe/Berlin")
TYPES = ("complaint", "consultation")
CHANNELS = ("email", "phone", "web_chat")
PRIORITIES = ("high", "normal")


@st.composite
def histories(draw: st.DrawFn, around: datetime) -> list[Event]:
    """Random tickets within two days of ``around``: some answered, resolved, reopened."""
    events: list[Event] = []
    for i in range(draw(st.integers(0, 25))):
        at = around + timedelta(minutes=draw(st.integers(-48 * 60, 48 * 60)))
        h = History(
            f"t{i:03d}",
            at,
            type=draw(st.sampled_from(TYPES)),
            channel=draw(st.sampled_from(CHANNELS)),
            priority=draw(st.sampled_from(PRIORITIES)),
            requester=draw(st.sampled_from(("c1", "c2", "c3"))),
        )
        step = draw(st.integers(0, 4))
        gap = timedelta(minutes=draw(st.integers(1, 300)))
        agent = draw(st.sampled_from(("a1", "a2")))
        if step >= 1:
            h.assign(at + gap, agent)
        if step >= 2:
            h.reply(at + 2 * gap, agent)
        if step >= 3:
            h.status_to(at + 3 * gap, "resolved", agent)
            if draw(st.booleans()):
                h.rate(at + 3 * gap + timedelta(minutes=5), draw(st.integers(1, 5)))
        if step >= 4:
            h.status_to(at + 4 * gap, "in_progress", "c1", reopen=True)
        events += h.events
    return events


DST_END = datetime(2026, 10, 25, 12, tzinfo=BERLIN)  # the 25-hour day
DST_START = datetime(2026, 3, 29, 12, tzinfo=BERLIN)  # the 23-hour day


@settings(max_examples=60, deadline=None)
@given(data=st.data(), around=st.sampled_from((DST_END, DST_START)))
def test_local_midnight_across_dst_counts_each_ticket_once(
    data: st.DataObject, around: datetime
) -> None:
    events = data.draw(histories(around))
    first, last = around.date() - timedelta(days=3), around.date() + timedelta(days=3)
    whole = reports.volumes(events, start=first, end=last, tz=BERLIN, group_by="day")
    expected = Counter(e.at.astimezone(BERLIN).date().isoformat() for e in events if e.seq == 1)
    assert {r["day"]: r["tickets"] for r in whole.rows} == dict(expected)
    # the same tickets day by day: each lands in exactly one local day
    per_day = 0
    day = first
    while day <= last:
        rows = reports.volumes(events, start=day, end=day, tz=BERLIN).rows
        per_day += rows[0]["tickets"]
        day += timedelta(days=1)
    assert per_day == sum(expected.values())
    hours = reports.volumes(events, start=first, end=last, tz=BERLIN, group_by="hour")
    assert sum(r["tickets"] for r in hours.rows) == sum(expected.values())


ADDITIVE: dict[str, tuple[str, ...]] = {
    "volumes": ("tickets", "resolved"),
    "first_response_time": ("tickets", "responded_count"),
    "resolution_time": ("tickets", "resolved_count"),
    "handling_time": ("tickets", "resolved_count"),
    "average_wait": ("tickets", "picked_up_count", "waiting"),
    "first_contact_resolution": ("resolved", "first_contact"),
    "reopen_rate": ("resolved_once", "reopened"),
    "csat": ("tickets", "ratings", "satisfied"),
    "on_time": ("resolved", "promised", "on_time"),
}


def fixture_tiers(customer_id: str) -> str | None:
    """A requester tier lookup for the ``tier`` dimension (None: a requester without one)."""
    return (None, "normal", "vip")[sum(map(ord, customer_id)) % 3]


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    name=st.sampled_from(sorted(ADDITIVE)),
    dims=st.lists(st.sampled_from(reports.DIMENSIONS), min_size=1, max_size=3, unique=True),
)
def test_totals_are_consistent_across_groupings(
    data: st.DataObject, name: str, dims: list[str]
) -> None:
    around = datetime(2026, 11, 4, 12, tzinfo=UTC)
    events = data.draw(histories(around))
    kwargs: dict[str, Any] = {"start": date(2026, 11, 3), "end": date(2026, 11, 5), "tz": SH}
    kwargs["sla"] = sla_config()
    kwargs["tiers"] = fixture_tiers
    total = reports.REPORTS[name](events, **kwargs).rows
    grouped = reports.REPORTS[name](events, group_by=dims, **kwargs).rows
    for column in ADDITIVE[name]:
        assert sum(r[column] for r in grouped) == total[0][column]
    for row in grouped:
        rate = row.get("rate")
        assert rate is None or 0.0 <= rate <= 1.0


@settings(max_examples=40, deadline=None)
@given(data=st.data(), dims=st.lists(st.sampled_from(reports.DIMENSIONS), max_size=2, unique=True))
def test_sla_compliance_is_a_share_and_adds_up(data: st.DataObject, dims: list[str]) -> None:
    events = data.draw(histories(datetime(2026, 11, 4, 12, tzinfo=UTC)))
    kwargs: dict[str, Any] = {"start": date(2026, 11, 3), "end": date(2026, 11, 5), "tz": SH}
    kwargs["tiers"] = fixture_tiers
    whole = reports.sla_compliance(events, sla=sla_config(), **kwargs).rows
    parts = reports.sla_compliance(events, sla=sla_config(), group_by=dims, **kwargs).rows
    for row in parts:
        assert row["compliance"] is None or 0.0 <= row["compliance"] <= 1.0
    for metric in ("first_response", "resolution"):
        for column in ("met", "breached", "open"):
            assert sum(r[column] for r in parts if r["metric"] == metric) == sum(
                r[column] for r in whole if r["metric"] == metric
            )


@given(values=st.lists(st.floats(0, 1e6), min_size=1), share=st.floats(0.01, 1.0))
def test_nearest_rank_quantile(values: list[float], share: float) -> None:
    ordered = sorted(values)
    q = reports.quantile(ordered, share)
    assert q in ordered
    at_or_below = sum(1 for v in ordered if v <= q)  # type: ignore[operator]
    assert at_or_below >= share * len(ordered) - 1e-9
    below = sum(1 for v in ordered if v < q)  # type: ignore[operator]
    assert below < share * len(ordered)


@settings(max_examples=25, deadline=None)
@given(data=st.data(), dims=st.lists(st.sampled_from(reports.DIMENSIONS), max_size=2, unique=True))
def test_many_reports_in_one_pass_equal_each_report_alone(
    data: st.DataObject, dims: list[str]
) -> None:
    events = data.draw(histories(datetime(2026, 11, 4, 12, tzinfo=UTC)))
    kwargs: dict[str, Any] = {
        "start": date(2026, 11, 3),
        "end": date(2026, 11, 5),
        "tz": SH,
        "group_by": dims,
        "sla": sla_config(),
        "tiers": fixture_tiers,
    }
    together = reports.many(reports.REPORTS, iter(events), **kwargs)
    assert list(together) == list(reports.REPORTS)
    for name, function in reports.REPORTS.items():
        assert together[name] == function(events, **kwargs)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_per_ticket_facts_are_ordered_as_their_definitions_say(data: st.DataObject) -> None:
    events = data.draw(histories(datetime(2026, 11, 4, 12, tzinfo=UTC)))
    end = datetime(2026, 11, 5, 12, tzinfo=UTC)
    for facts in reports.ticket_facts(events, end=end):
        assert facts.created_at < end
        if facts.first_reply_at is not None:
            # picked up no later than answered, answered no earlier than created
            assert facts.first_pickup_at is not None
            assert facts.created_at <= facts.first_pickup_at <= facts.first_reply_at
        if facts.resolved:
            assert facts.resolved_at is not None and facts.resolved_at < end
            # handling is part of the time from creation to resolution
            assert facts.handling <= facts.resolved_at - facts.created_at
        else:
            assert facts.resolved_at is None
        assert facts.reopens == 0 or facts.ever_resolved
