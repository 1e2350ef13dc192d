"""SLA as the guides write it (issue 19; R-SLA-2, R-SLA-3, R-TKT-3): a time basis per target
(rule 10), readable instants and explain texts (rules 11, 12), pauses from the configured
workflow (rule 13). Scenario fixtures are events in, clocks out; the desk scenarios drive the
real commands (a reopen is ``desk.set_status`` to the target of a ``reopen = true``
transition)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_core import Actor, Helpdesk
from helpdesk_core.config import load_config
from helpdesk_core.errors import ConfigError, ValidationError
from helpdesk_core.lifecycle import DEFAULT_WORKFLOW, Workflow
from helpdesk_core.model.events import (
    CustomerMessaged,
    Event,
    NoteAdded,
    PriorityChanged,
    Replied,
    StatusChanged,
    TicketCreated,
)
from helpdesk_core.sla import (
    SlaClock,
    SlaConfig,
    evaluate,
    explain,
    metric_events,
    readable_duration,
    readable_instant,
)
from helpdesk_core.testing import FixedClock

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
H = timedelta(hours=1)
M = timedelta(minutes=1)
MON = datetime(2026, 11, 2, 9, 0, tzinfo=SH)  # a Monday, opening time
FRI_LATE = datetime(2026, 11, 6, 17, 58, tzinfo=SH)  # Friday, two minutes before closing
CALENDARS = {
    "support": {"tz": "Asia/Shanghai", "week": {"mon-fri": ["09:00-12:00", "13:00-18:00"]}},
    "weekend-desk": {"tz": "Asia/Shanghai", "week": {"sat-sun": ["10:00-16:00"]}},
    "new-york": {"tz": "America/New_York", "week": {"mon-fri": ["09:00-17:00"]}},
}
CATEGORY = {
    "new": "new",
    "in_progress": "open",
    "pending_customer": "pending",
    "resolved": "solved",
}
ADMIN = Actor(id="root", roles={"admin"})
CUSTOMER = Actor(id="c1", roles={"customer"})


def sla(sla_section: dict[str, Any], **extra: Any) -> SlaConfig:
    section = load_config({"calendars": CALENDARS, "sla": sla_section, **extra}).sections["sla"]
    assert isinstance(section, SlaConfig)
    return section


class History:
    """A ticket's events: ``h.at(delta).reply()``..."""

    def __init__(self, start: datetime, priority: str = "normal", type: str = "consultation"):
        self.t = start
        self.current = "new"
        self.events: list[Event] = [
            TicketCreated(
                ticket_id="t1", seq=1, at=start, actor="c1", number="T1", subject="s",
                type=type, priority=priority, channel="email", status="new",
                status_category="new",
            )
        ]  # fmt: skip
        self.priority_now = priority

    def _add(self, cls: type[Event], **kw: Any) -> History:
        seq = len(self.events) + 1
        self.events.append(cls(ticket_id="t1", seq=seq, at=self.t, actor="a1", **kw))
        return self

    def at(self, delta: timedelta) -> History:
        self.t += delta
        return self

    def reply(self) -> History:
        return self._add(Replied, message_id=f"m{len(self.events)}", body="b", channel="email")

    def note(self) -> History:
        return self._add(NoteAdded, message_id=f"m{len(self.events)}", body="n", channel="api")

    def customer(self) -> History:
        return self._add(
            CustomerMessaged, message_id=f"m{len(self.events)}", body="?", channel="email"
        )

    def status(self, to: str, reopen: bool = False) -> History:
        before, self.current = self.current, to
        return self._add(
            StatusChanged, from_status=before, to_status=to, to_category=CATEGORY[to], reopen=reopen
        )

    def priority(self, to: str) -> History:
        before, self.priority_now = self.priority_now, to
        return self._add(PriorityChanged, from_priority=before, to_priority=to)


def by_metric(clocks: list[SlaClock]) -> dict[tuple[str, int], SlaClock]:
    return {(c.metric, c.cycle): c for c in clocks}


# ------------------------------------------------------------------ rule 10: bases per target
def test_rule10_the_four_target_forms_and_their_bases() -> None:
    config = sla(
        {
            "policies": [
                {
                    "name": "mixed",
                    "calendar": "support",
                    "targets": {
                        "normal": {
                            "first_response": "30m",
                            "next_response": {"within": "1h", "time": "business"},
                            "resolution": {"within": "24h", "time": "calendar"},
                            "periodic_update": {"within": "2h", "calendar": "weekend-desk"},
                        }
                    },
                }
            ]
        }
    )
    policy = config.policies[0]
    assert [
        policy.basis("normal", m)
        for m in ("first_response", "next_response", "resolution", "periodic_update")
    ] == ["support", "support", None, "weekend-desk"]
    assert policy.target("normal", "resolution") == 24 * H
    h = History(FRI_LATE).at(M).reply().at(M).customer()  # 18:00 closing: both after hours
    clocks = by_metric(evaluate(config, h.events, datetime(2026, 11, 7, 11, 0, tzinfo=SH)))
    assert {k: c.calendar for k, c in clocks.items()} == {
        ("first_response", 1): "support",
        ("next_response", 1): "support",
        ("resolution", 1): None,
        ("periodic_update", 1): "weekend-desk",
    }
    assert clocks[("resolution", 1)].due_at == FRI_LATE + 24 * H  # elapsed time
    assert clocks[("next_response", 1)].due_at == datetime(2026, 11, 9, 10, 0, tzinfo=SH)
    # the weekend desk opened Saturday 10:00: one hour of its two is gone at 11:00
    update = clocks[("periodic_update", 1)]
    assert (update.elapsed, update.due_at) == (H, datetime(2026, 11, 7, 12, 0, tzinfo=SH))


def test_rule10_star_row_bases_do_not_leak_into_a_priority_that_rewrites_the_metric() -> None:
    config = sla(
        {
            "calendar": "support",  # the default calendar of every policy that names none
            "policies": [
                {
                    "name": "p",
                    "targets": {
                        "*": {"resolution": {"within": "24h", "time": "calendar"}},
                        "urgent": {"resolution": "4h"},
                    },
                }
            ],
        }
    )
    policy = config.policies[0]
    assert (policy.calendar, policy.basis("normal", "resolution")) == ("support", None)
    assert policy.basis("urgent", "resolution") == "support"


@pytest.mark.parametrize(
    ("policy", "path"),
    [
        ({"targets": {"normal": {"resolution": {"within": "5m", "time": "business"}}}},
         "sla.policies[0].targets.normal.resolution"),
        ({"targets": {"normal": {"resolution": {"within": "2h", "calendar": "nowhere"}}}},
         "sla.policies[0].targets.normal.resolution"),
        ({"calendar": "support",
          "targets": {"normal": {"resolution": {"within": "2h", "calendar": "support",
                                                "time": "calendar"}}}},
         "sla.policies[0].targets.normal.resolution"),
        ({"targets": {"normal": {"resolution": {"time": "calendar"}}}},
         "sla.policies[0].targets.normal.resolution"),
        ({"targets": {"normal": {"resolution": {"within": "soon"}}}},
         "sla.policies[0].targets.normal.resolution.within"),
        ({"targets": {"normal": {"resolution": {"within": "1h", "time": "wall"}}}},
         "sla.policies[0].targets.normal.resolution.time"),
        ({"targets": {"normal": {"resolution": {"within": "1h", "basis": "x"}}}},
         "sla.policies[0].targets.normal.resolution.basis"),
    ],
)  # fmt: skip
def test_rule10_bad_targets_name_their_key_path(policy: dict[str, Any], path: str) -> None:
    with pytest.raises(ConfigError) as err:
        sla({"policies": [{"name": "x", **policy}]})
    assert err.value.path == path


def test_rule10_an_unknown_default_calendar_is_refused() -> None:
    with pytest.raises(ConfigError) as err:
        sla({"calendar": "suport", "preset": "per-service"})
    assert err.value.path == "sla.calendar"


def test_rule10_per_service_complaint_row_business_response_elapsed_resolution() -> None:
    """R-SLA-2 "complaint: respond in 5 min, resolve in 24 h" as the guide writes it: the
    response on the business calendar, the resolution in elapsed time (one ticket)."""
    config = sla(
        {"preset": "per-service", "calendar": "support"}, desk={"timezone": "Asia/Shanghai"}
    )
    h = History(FRI_LATE, type="complaint")
    clocks = by_metric(evaluate(config, h.events, datetime(2026, 11, 7, 12, 0, tzinfo=SH)))
    first, resolution = clocks[("first_response", 1)], clocks[("resolution", 1)]
    assert (first.calendar, first.target, first.elapsed) == ("support", 5 * M, 2 * M)
    assert first.due_at == datetime(2026, 11, 9, 9, 3, tzinfo=SH)  # Monday, 3 min after opening
    assert (resolution.calendar, resolution.target) == (None, 24 * H)
    assert resolution.due_at == datetime(2026, 11, 7, 17, 58, tzinfo=SH)
    assert resolution.elapsed == 18 * H + 2 * M
    # the other rows stay as they are: on the [sla] calendar
    technical = History(FRI_LATE, type="technical_support")
    clock = by_metric(evaluate(config, technical.events, FRI_LATE + H))[("resolution", 1)]
    assert (clock.calendar, clock.target) == ("support", 48 * H)


# the property: a per-target policy gives per metric the clock a single-basis policy gives
BASES = (None, "support", "weekend-desk")
METRIC_TARGETS = {
    "normal": {"first_response": "1h", "next_response": "2h", "resolution": "8h",
               "periodic_update": "4h"},
    "urgent": {"first_response": "15m", "next_response": "30m", "resolution": "2h",
               "periodic_update": "1h"},
}  # fmt: skip
WARNINGS = {"fractions": [0.5], "before_due": ["15m"]}


def _single(basis: str | None) -> SlaConfig:
    policy: dict[str, Any] = {"name": "p", "targets": METRIC_TARGETS, "warnings": WARNINGS}
    if basis is not None:
        policy["calendar"] = basis
    return sla({"policies": [policy]}, desk={"timezone": "Asia/Shanghai"})


SINGLE = {basis: _single(basis) for basis in BASES}


def _mixed(policy_calendar: str | None, bases: dict[str, str | None], tables: bool) -> SlaConfig:
    def written(metric: str, within: str) -> Any:
        basis = bases[metric]
        if basis == policy_calendar:
            if tables and basis is not None:
                return {"within": within, "time": "business"}
            return {"within": within} if tables else within
        if basis is None:
            return {"within": within, "time": "calendar"}
        return {"within": within, "calendar": basis}

    targets = {p: {m: written(m, d) for m, d in row.items()} for p, row in METRIC_TARGETS.items()}
    policy: dict[str, Any] = {"name": "p", "targets": targets, "warnings": WARNINGS}
    if policy_calendar is not None:
        policy["calendar"] = policy_calendar
    return sla({"policies": [policy]}, desk={"timezone": "Asia/Shanghai"})


@st.composite
def histories(draw: st.DrawFn) -> History:
    h = History(
        MON + draw(st.integers(0, 7 * 24 * 60)) * M, draw(st.sampled_from(["normal", "urgent"]))
    )
    for _ in range(draw(st.integers(0, 10))):
        h.at(draw(st.integers(1, 900)) * M)
        action = draw(
            st.sampled_from(
                ["reply", "note", "customer", "pause", "work", "resolve", "reopen", "priority"]
            )
        )
        if action == "reply":
            h.reply()
        elif action == "note":
            h.note()
        elif action == "customer":
            h.customer()
        elif action == "pause" and h.current in ("new", "in_progress"):
            h.status("pending_customer")
        elif action == "work" and h.current in ("new", "pending_customer"):
            h.status("in_progress")
        elif action == "resolve" and h.current != "resolved":
            h.status("resolved")
        elif action == "reopen" and h.current == "resolved":
            h.status("in_progress", reopen=True)
        elif action == "priority":
            h.priority("urgent" if h.priority_now == "normal" else "normal")
    return h


@settings(max_examples=120, deadline=None)
@given(
    histories(),
    st.integers(0, 4000),
    st.sampled_from([None, "support"]),
    st.fixed_dictionaries({m: st.sampled_from(BASES) for m in METRIC_TARGETS["normal"]}),
    st.booleans(),
)
def test_rule10_property_per_target_bases_equal_single_basis_policies(
    h: History,
    after: int,
    policy_calendar: str | None,
    bases: dict[str, str | None],
    tables: bool,
) -> None:
    """Per metric, the clocks (every cycle, warnings, pauses, re-targets, instants), their
    metric events and their explain segments are exactly a single-basis policy's."""
    now = h.t + after * M
    mixed_config = _mixed(policy_calendar, bases, tables)
    mixed = evaluate(mixed_config, h.events, now)
    mixed_explained = explain(mixed_config, h.events, now)
    for metric, basis in bases.items():
        single_config = SINGLE[basis]
        ours = [c for c in mixed if c.metric == metric]
        theirs = [c for c in evaluate(single_config, h.events, now) if c.metric == metric]
        assert ours == theirs
        assert all(c.calendar == basis for c in ours)
        assert metric_events(ours) == metric_events(theirs)
        single_explained = explain(single_config, h.events, now)
        for c in ours:
            key = (metric, c.cycle)
            assert mixed_explained.segments[key] == single_explained.segments[key]


# ------------------------------------------------------------------ rule 11: readable instants
def test_rule11_calendar_time_clocks_report_in_the_desk_zone() -> None:
    config = sla(
        {"policies": [{"name": "p",
                       "targets": {"normal": {"first_response": "1h", "resolution": "8h"}}}]},
        desk={"timezone": "Asia/Shanghai"},
    )  # fmt: skip
    h = History(MON).at(10 * M).reply()
    clocks = by_metric(evaluate(config, h.events, MON + 2 * H))
    for c in clocks.values():
        instants = [c.started_at, c.due_at, c.met_at, c.now, *(x for s in c.segments for x in s)]
        assert {t.utcoffset() for t in instants if t is not None} == {8 * H}
    assert str(clocks[("resolution", 1)].due_at) == "2026-11-02 17:00:00+08:00"
    utc_desk = sla({"policies": [{"name": "p", "targets": {"normal": {"resolution": "8h"}}}]})
    due = by_metric(evaluate(utc_desk, h.events, MON + 2 * H))[("resolution", 1)].due_at
    assert str(due) == "2026-11-02 09:00:00+00:00"


def test_rule11_business_clocks_report_in_their_calendars_zone_on_a_shanghai_desk() -> None:
    config = sla(
        {"policies": [{"name": "ny", "calendar": "new-york",
                       "targets": {"normal": {"resolution": "2h"}}}]},
        desk={"timezone": "Asia/Shanghai"},
    )  # fmt: skip
    start = datetime(2026, 11, 2, 9, 0, tzinfo=NY)
    clock = by_metric(evaluate(config, History(start).events, start + H))[("resolution", 1)]
    assert str(clock.started_at) == "2026-11-02 09:00:00-05:00"
    assert str(clock.due_at) == "2026-11-02 11:00:00-05:00"
    assert clock.segments[0][0].tzinfo is NY and clock.now is not None and clock.now.tzinfo is NY


# ------------------------------------------------------------------ rule 12: remaining, overdue
def test_rule12_a_met_clock_keeps_the_time_left_when_met_and_no_overdue() -> None:
    config = sla({"policies": [{"name": "b", "calendar": "support",
                                "targets": {"normal": {"first_response": "1h"}}}]})  # fmt: skip
    on_time = History(MON).at(20 * M).reply()
    clock = by_metric(evaluate(config, on_time.events, MON + 5 * H))[("first_response", 1)]
    assert (clock.state, clock.remaining, clock.overdue) == ("met", 40 * M, timedelta(0))
    late = History(MON).at(90 * M).reply()
    clock = by_metric(evaluate(config, late.events, MON + 5 * H))[("first_response", 1)]
    assert (clock.state, clock.remaining, clock.overdue) == ("breached", timedelta(0), 30 * M)


def test_rule12_overdue_is_zero_unless_breached_at_the_due_instant() -> None:
    config = sla({"policies": [{"name": "b", "targets": {"normal": {"first_response": "1h"}}}]})
    h = History(MON)
    due = by_metric(evaluate(config, h.events, MON + H))[("first_response", 1)]
    assert (due.state, due.remaining, due.overdue) == ("running", timedelta(0), timedelta(0))
    past = by_metric(evaluate(config, h.events, MON + H + M))[("first_response", 1)]
    assert (past.state, past.overdue) == ("breached", M)


# ------------------------------------------------------------------ explain texts, word for word
def test_readable_durations_and_instants() -> None:
    assert readable_duration(24 * H, "en", business=True) == "24 h 0 min"
    assert readable_duration(24 * H + 5 * M, "en") == "1 d 0 h 5 min"
    assert readable_duration(23 * H + 59 * M + timedelta(seconds=59), "en") == "23 h 59 min"
    assert readable_duration(50 * H, "zh-CN") == "2 天 2 小时 0 分钟"
    assert readable_duration(50 * H, "zh-CN", business=True) == "50 小时 0 分钟"
    assert readable_instant(datetime(2026, 11, 3, 9, 30, tzinfo=SH)) == "2026-11-03 09:30 +08:00"
    assert readable_instant(datetime(2026, 11, 3, 9, 30, tzinfo=NY)) == "2026-11-03 09:30 -05:00"
    with pytest.raises(ValidationError):
        readable_duration(H, "fr")


EXPLAIN_CONFIG = {
    "calendar": "support",
    "policies": [
        {
            "name": "guide",
            "targets": {
                "normal": {
                    "first_response": {"within": "1h", "time": "calendar"},
                    "resolution": "8h",
                }
            },
        }
    ],
}
EXPLAIN_EN = """\
Policy guide (matched because: always)
- first_response cycle 1: breached (calendar time)
    ran 2026-11-02 09:00 +08:00 -> 2026-11-04 18:00 +08:00: 2 d 9 h 0 min
    elapsed 2 d 9 h 0 min of 1 h 0 min calendar time; breached 2026-11-02 10:00 +08:00, overdue 2 d 8 h 0 min
- resolution cycle 1: breached (business time, calendar support)
    ran 2026-11-02 09:00 +08:00 -> 2026-11-04 18:00 +08:00: 24 h 0 min (open intervals 11-02 09:00–12:00, 11-02 13:00–18:00, 11-03 09:00–12:00, 11-03 13:00–18:00, 11-04 09:00–12:00, 11-04 13:00–18:00)
    elapsed 24 h 0 min of 8 h 0 min business time; breached 2026-11-02 18:00 +08:00, overdue 16 h 0 min"""  # noqa: E501
EXPLAIN_ZH = """\
策略 guide（匹配条件：始终）
- 首次响应 第1轮：已违约（自然时间）
    计时 2026-11-02 09:00 +08:00 → 2026-11-04 18:00 +08:00：2 天 9 小时 0 分钟
    已计 2 天 9 小时 0 分钟，目标 1 小时 0 分钟（自然时间）；违约于 2026-11-02 10:00 +08:00，超时 2 天 8 小时 0 分钟
- 解决 第1轮：已违约（工作时间，日历 support）
    计时 2026-11-02 09:00 +08:00 → 2026-11-04 18:00 +08:00：24 小时 0 分钟（营业区间 11-02 09:00–12:00，11-02 13:00–18:00，11-03 09:00–12:00，11-03 13:00–18:00，11-04 09:00–12:00，11-04 13:00–18:00）
    已计 24 小时 0 分钟，目标 8 小时 0 分钟（工作时间）；违约于 2026-11-02 18:00 +08:00，超时 16 小时 0 分钟"""  # noqa: E501


def test_explain_text_word_for_word_in_en_and_zh_cn() -> None:
    """24 business hours read "24 h 0 min of 8 h 0 min business time", never "1 day"; calendar
    time of a day or more reads days; instants carry +08:00, never CST."""
    config = sla(EXPLAIN_CONFIG, desk={"timezone": "Asia/Shanghai"})
    now = datetime(2026, 11, 4, 18, 0, tzinfo=SH)
    explained = explain(config, History(MON).events, now)
    assert explained.text("en") == EXPLAIN_EN
    assert explained.text("zh-CN") == EXPLAIN_ZH
    assert "CST" not in explained.text("en") + explained.text("zh-CN")


def test_explain_states_each_in_both_languages() -> None:
    config = sla(
        {"calendar": "support", "pause_statuses": ["pending_customer"],
         "policies": [{"name": "p", "targets": {"normal": {"first_response": "1h",
                                                           "resolution": "8h",
                                                           "periodic_update": "4h"}},
                       "warnings": {"fractions": [0.5]}}]},
        desk={"timezone": "Asia/Shanghai"},
    )  # fmt: skip
    h = History(MON).at(10 * M).reply().at(20 * M).status("pending_customer")
    explained = explain(config, h.events, MON + 3 * H)
    en, zh = explained.text("en"), explained.text("zh-CN")
    assert [c.state for c in explained.clocks] == ["met", "paused", "warning"]
    assert "- first_response cycle 1: met (business time, calendar support)" in en
    assert "    elapsed 0 h 10 min of 1 h 0 min business time; met 2026-11-02 09:10 +08:00 " \
        "with 0 h 50 min left" in en  # fmt: skip
    assert "    elapsed 0 h 30 min of 8 h 0 min business time; paused with 7 h 30 min left" in en
    assert "    elapsed 2 h 50 min of 4 h 0 min business time; 1 h 10 min left, due " \
        "2026-11-02 14:10 +08:00" in en  # fmt: skip
    assert "- 首次响应 第1轮：已达成（工作时间，日历 support）" in zh
    assert "达成于 2026-11-02 09:10 +08:00，达成时剩余 0 小时 50 分钟" in zh
    assert "- 解决 第1轮：已暂停（工作时间，日历 support）" in zh
    assert "已暂停，剩余 7 小时 30 分钟" in zh
    assert "- 定期更新 第1轮：预警（工作时间，日历 support）" in zh
    assert "剩余 1 小时 10 分钟，到期 2026-11-02 14:10 +08:00" in zh
    running = explain(config, History(MON).events, MON + 10 * M).text("zh-CN")
    assert "- 首次响应 第1轮：计时中（工作时间，日历 support）" in running


# ------------------------------------------------------------------ rule 13: workflow pauses
CUSTOM_WORKFLOW = {
    "initial": "open",
    "statuses": {"open": "open", "waiting": "pending", "on_hold": "pending", "done": "solved"},
    "transitions": [
        {"from": "open", "to": "waiting"},
        {"from": "open", "to": "on_hold"},
        {"from": ["waiting", "on_hold"], "to": "open"},
        {"from": ["open", "waiting"], "to": "done"},
        {"from": "done", "to": "open", "reopen": True},
    ],
}
RESOLUTION_8H = {"policies": [{"name": "p", "targets": {"*": {"resolution": "8h"}}}]}


def test_rule13_pause_statuses_default_to_the_configured_workflows_pending_statuses() -> None:
    config = load_config({"workflow": CUSTOM_WORKFLOW, "sla": RESOLUTION_8H})
    assert config.workflow.pause_statuses == {"waiting", "on_hold"}
    assert config.sections["sla"].pause_statuses == {"waiting", "on_hold"}
    named = load_config(
        {"workflow": {**CUSTOM_WORKFLOW, "pause_statuses": ["waiting"]}, "sla": RESOLUTION_8H}
    )
    assert named.sections["sla"].pause_statuses == {"waiting"}
    own = load_config(
        {"workflow": CUSTOM_WORKFLOW, "sla": {**RESOLUTION_8H, "pause_statuses": ["on_hold"]}}
    )
    assert (own.workflow.pause_statuses, own.sections["sla"].pause_statuses) == (
        {"waiting", "on_hold"},
        {"on_hold"},
    )
    default = load_config({"sla": RESOLUTION_8H}).sections["sla"]
    assert default.pause_statuses == DEFAULT_WORKFLOW.pause_statuses


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ({"sla": {**RESOLUTION_8H, "pause_statuses": ["pending_customer", "pending_cusotmer"]}},
         "sla.pause_statuses[1]"),
        ({"workflow": {**CUSTOM_WORKFLOW, "pause_statuses": ["waiting", "on_hodl"]}},
         "workflow.pause_statuses[1]"),
        ({"workflow": CUSTOM_WORKFLOW,
          "sla": {**RESOLUTION_8H, "pause_statuses": ["pending_customer"]}},
         "sla.pause_statuses[0]"),
        ({"sla": {**RESOLUTION_8H, "pause_statuses": "pending_customer"}}, "sla.pause_statuses"),
        ({"workflow": {**CUSTOM_WORKFLOW, "pause_statuses": "waiting"}}, "workflow.pause_statuses"),
    ],
)  # fmt: skip
def test_rule13_a_typo_in_either_list_is_an_error(raw: dict[str, Any], path: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(raw)
    assert err.value.path == path


def test_rule13_a_custom_workflows_pending_status_pauses_through_the_desk() -> None:
    """Set to ``waiting`` (category pending), the resolution clock stops; a customer message
    moves the ticket back to ``open`` (the workflow's pause statuses) and the clock resumes."""
    clock = FixedClock(MON)
    desk = Helpdesk(
        config={"workflow": CUSTOM_WORKFLOW, "sla": RESOLUTION_8H},
        clock=clock,
        load_entrypoints=False,
    )
    ticket = desk.open_ticket(CUSTOMER, subject="x", channel="email")
    clock.advance(hours=1)
    desk.set_status(ADMIN, ticket.id, "waiting")
    clock.advance(hours=2)
    (paused,) = desk.sla_status(ADMIN, ticket.id)
    assert (paused.state, paused.elapsed, paused.due_at) == ("paused", H, None)
    desk.reply(CUSTOMER, ticket.id, "the details")
    assert desk.history(ADMIN, ticket.id)[-1].to_status == "open"  # type: ignore[attr-defined]
    clock.advance(hours=1)
    (running,) = desk.sla_status(ADMIN, ticket.id)
    assert (running.state, running.elapsed, running.due_at) == ("running", 2 * H, MON + 10 * H)


# ------------------------------------------------------------------ the guides' row on a desk
def test_complaint_row_with_pauses_and_a_reopen_through_the_desk() -> None:
    """The per-service preset on the support calendar: first response in business time, the
    resolution in elapsed time, paused while pending, and a reopen (set_status to the target
    of the workflow's reopen transition) starting cycle 2 on the same elapsed basis."""
    clock = FixedClock(MON)
    desk = Helpdesk(
        config={
            "desk": {"timezone": "Asia/Shanghai"},
            "calendars": CALENDARS,
            "sla": {"preset": "per-service", "calendar": "support"},
        },
        clock=clock,
        load_entrypoints=False,
    )
    ticket = desk.open_ticket(CUSTOMER, subject="Parcel broken", channel="email", type="complaint")
    desk.assign(ADMIN, ticket.id, "a1")
    clock.advance(minutes=4)
    desk.reply(ADMIN, ticket.id, "Sorry, we are on it.")
    desk.set_status(ADMIN, ticket.id, "in_progress")
    clock.advance(minutes=56)  # 10:00
    desk.set_status(ADMIN, ticket.id, "pending_customer")
    clock.advance(hours=4)  # 14:00
    desk.reply(CUSTOMER, ticket.id, "photos attached")  # resumes: rule 6
    clock.advance(hours=1)  # 15:00
    desk.set_status(ADMIN, ticket.id, "resolved")
    clock.advance(hours=19)  # Tuesday 10:00
    reopen = DEFAULT_WORKFLOW.reopen_transition("resolved")
    assert reopen is not None
    desk.set_status(CUSTOMER, ticket.id, reopen.target)
    clock.advance(hours=2)  # Tuesday 12:00
    clocks = by_metric(desk.sla_status(ADMIN, ticket.id))
    assert set(clocks) == {("first_response", 1), ("resolution", 1), ("resolution", 2)}
    first = clocks[("first_response", 1)]
    assert (first.state, first.calendar, first.elapsed, first.remaining) == (
        "met",
        "support",
        4 * M,
        M,
    )
    one, two = clocks[("resolution", 1)], clocks[("resolution", 2)]
    assert (one.state, one.calendar, one.elapsed, one.remaining) == ("met", None, 2 * H, 22 * H)
    assert [(str(a), str(b)) for a, b in one.segments] == [
        ("2026-11-02 09:00:00+08:00", "2026-11-02 10:00:00+08:00"),
        ("2026-11-02 14:00:00+08:00", "2026-11-02 15:00:00+08:00"),
    ]
    assert (two.state, two.calendar, two.elapsed) == ("running", None, 2 * H)
    assert str(two.due_at) == "2026-11-04 10:00:00+08:00"
    text = desk.sla_explain(ADMIN, ticket.id).text("en")
    assert "elapsed 0 h 4 min of 0 h 5 min business time; met 2026-11-02 09:04 +08:00 " \
        "with 0 h 1 min left" in text  # fmt: skip
    assert "- resolution cycle 2: running (calendar time)" in text
    assert "elapsed 2 h 0 min of 1 d 0 h 0 min calendar time; 22 h 0 min left, due " \
        "2026-11-04 10:00 +08:00" in text  # fmt: skip


# ------------------------------------------------------------------ Workflow.reopen_transition
def test_reopen_transition_is_the_first_declared_reopen_from_the_status() -> None:
    """R-TKT-3: what the desk's reopen command takes."""
    found = DEFAULT_WORKFLOW.reopen_transition("closed")
    assert found is not None and (found.target, found.reopen) == ("in_progress", True)
    assert DEFAULT_WORKFLOW.reopen_transition("in_progress") is None
    assert DEFAULT_WORKFLOW.reopen_transition("no-such-status") is None
    two = Workflow.from_config(
        {
            "statuses": {"open": "open", "triage": "open", "done": "solved"},
            "transitions": [
                {"from": "open", "to": "done"},
                {"from": "done", "to": "open"},  # not a reopen
                {"from": "done", "to": "triage", "reopen": True},
                {"from": "done", "to": "open", "reopen": True},
            ],
        }
    )
    first = two.reopen_transition("done")
    assert first is not None and first.target == "triage"
