"""The KPIs of issue 24's second wave: volumes by customer tier (through the customers port),
CSAT average and distribution (from ``survey_answered`` events), KB usage (from article uses),
hand-computed, from the pure functions, from every store and through desk.report."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from report_histories import History

from helpdesk_core import Actor, Helpdesk, ValidationError, reports
from helpdesk_core.model.customers import Customer, CustomerCreated, TierChanged
from helpdesk_core.model.events import Event, RequesterChanged
from helpdesk_core.model.knowledge import ArticleUse
from helpdesk_core.testing import FixedClock

SH = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 2)
AT = datetime(2026, 11, 2, 9, tzinfo=SH)  # inside DAY
KW: dict[str, Any] = {"start": DAY, "end": DAY, "tz": SH}
CONFIG: dict[str, Any] = {
    "desk": {"timezone": "Asia/Shanghai"},
    "permissions": {"teams": {"after-sales": "service", "tech": "engineering"}},
}


def rated_day() -> list[Event]:
    """t1: resolved and rated 5, reopened, resolved again and rated 2 (two ratings);
    t2: rated 4; t3: not rated; t4: rated 1 after the day ends (not counted); t5: created
    the day before (outside the cohort), rated 3 in the day; t6: a rating of 7 stars (not a
    valid rating, ignored)."""
    h = timedelta(hours=1)
    t1 = History("t1", AT, requester="c1").assign(AT + h, "a1").reply(AT + h, "a1")
    t1.status_to(AT + 2 * h, "resolved", "a1").rate(AT + 3 * h, 5)
    t1.status_to(AT + 4 * h, "in_progress", "c1", reopen=True)
    t1.status_to(AT + 5 * h, "resolved", "a1").rate(AT + 6 * h, 2)
    t2 = History("t2", AT, requester="c2").assign(AT + h, "a2").reply(AT + h, "a2")
    t2.status_to(AT + 2 * h, "resolved", "a2").rate(AT + 3 * h, 4)
    t3 = History("t3", AT + h, requester="c3").assign(AT + 2 * h, "a2")
    t4 = History("t4", AT + h, requester="c1").assign(AT + 2 * h, "a1")
    t4.status_to(AT + 3 * h, "resolved", "a1").rate(AT + 20 * h, 1)
    t5 = History("t5", AT - 24 * h, requester="c1").assign(AT - 23 * h, "a1")
    t5.status_to(AT - 22 * h, "resolved", "a1").rate(AT + h, 3)
    t6 = History("t6", AT + h, requester="c3").assign(AT + 2 * h, "a2")
    t6.status_to(AT + 3 * h, "resolved", "a2").rate(AT + 4 * h, 7)
    return [e for t in (t5, t1, t2, t3, t4, t6) for e in t.events]


def test_r_rpt_1_csat_average_and_distribution_by_hand() -> None:
    """R-RPT-1 CSAT: every survey answer before end on the cohort's tickets; the share of 4-5."""
    (row,) = reports.csat(rated_day(), **KW).rows
    assert row == {
        "tickets": 5,
        "ratings": 3,
        "satisfied": 2,
        "stars_1": 0,
        "stars_2": 1,
        "stars_3": 0,
        "stars_4": 1,
        "stars_5": 1,
        "mean_stars": round(11 / 3, 6),
        "rate": round(2 / 3, 6),
    }
    by_agent = {r["agent"]: r for r in reports.csat(rated_day(), group_by="agent", **KW).rows}
    assert (by_agent["a1"]["ratings"], by_agent["a1"]["mean_stars"]) == (2, 3.5)
    assert (by_agent["a2"]["ratings"], by_agent["a2"]["rate"]) == (1, 1.0)
    early = reports.csat(rated_day(), start=DAY, end=datetime(2026, 11, 2, 11, tzinfo=SH), tz=SH)
    assert early.rows[0]["ratings"] == 0 and early.rows[0]["mean_stars"] is None


def test_r_rpt_1_csat_over_no_ratings_has_no_average() -> None:
    (row,) = reports.csat([], **KW).rows
    assert row["ratings"] == 0 and row["mean_stars"] is None and row["rate"] is None
    assert "csat" in reports.REPORTS


def test_r_rpt_1_volumes_by_customer_tier_follow_the_requester() -> None:
    """R-RPT-1: the tier dimension is the requester's tier; a ticket whose requester changed
    (customers merged) counts under the new requester."""
    events = rated_day()
    moved = RequesterChanged(
        ticket_id="t3", seq=3, at=AT + timedelta(hours=3), actor="sup", from_requester="c3",
        to_requester="c2",
    )  # fmt: skip
    events.insert(next(i for i, e in enumerate(events) if e.ticket_id == "t4"), moved)
    tiers = {"c1": "vip", "c2": "normal"}
    rows = reports.volumes(events, group_by="tier", tiers=tiers.get, **KW).rows
    assert {r["tier"]: r["tickets"] for r in rows} == {"vip": 2, "normal": 2, None: 1}
    assert sum(r["tickets"] for r in rows) == reports.volumes(events, **KW).rows[0]["tickets"]
    with pytest.raises(ValidationError) as info:
        reports.volumes(events, group_by="tier", **KW)
    assert info.value.field == "tiers"


def _customer(
    uow: Any,
    customer_id: str,
    tier: str,
    changes: list[tuple[datetime, str]],
    created_at: datetime = datetime(2026, 1, 1, tzinfo=UTC),
) -> None:
    created = CustomerCreated(
        customer_id=customer_id,
        seq=1,
        at=created_at,
        actor="admin",
        kind_of="individual",
        name=customer_id,
        tier=tier,
    )
    events: list[Any] = [created]
    customer = Customer.created(created)
    for at, to_tier in changes:
        change = TierChanged(
            customer_id=customer_id, seq=customer.version + 1, at=at, actor="admin",
            from_tier=customer.tier, to_tier=to_tier, reason="test",
        )  # fmt: skip
        customer = change.apply(customer)
        events.append(change)
    uow.save_customer(customer, events)


def test_requester_tiers_read_the_profile_as_of_end(store_url: str) -> None:
    """R-RPT-1 (rule 2, as of end): on memory, SQLite and PostgreSQL, a requester's tier is
    the one their profile had at ``end``; a requester without a profile has none."""
    raised = datetime(2026, 11, 2, 12, tzinfo=SH)
    with Helpdesk(CONFIG, store_url, load_entrypoints=False) as desk:
        with desk.storage.transaction() as uow:
            _customer(uow, "c1", "normal", [(raised, "vip")])
            _customer(uow, "c2", "gold", [])
            _customer(uow, "c3", "vip", [], created_at=raised)
        with desk.storage.transaction() as uow:
            before = reports.requester_tiers(uow, end=raised)
            after = reports.requester_tiers(uow, end=raised + timedelta(seconds=1))
            assert [before(c) for c in ("c1", "c2", "c3", "nobody")] == [
                "normal",
                "gold",
                None,  # no profile yet at end
                None,
            ]
            assert [after(c) for c in ("c1", "c2", "c3")] == ["vip", "gold", "vip"]


def _use(
    article: str, kind: str, at: datetime, ticket: str | None = None, solved: bool = False
) -> ArticleUse:
    return ArticleUse(
        article_id=article, kind=kind, actor="a1", at=at, ticket_id=ticket, solved=solved
    )


def test_r_rpt_1_kb_usage_by_hand() -> None:
    """R-RPT-1 KB usage: views, distinct linked tickets, those solved, per article, in the
    period only; a ticket linked twice counts once and is solved if any link says so."""
    h = timedelta(hours=1)
    uses = [
        _use("kb1", "view", AT),
        _use("kb1", "view", AT + h),
        _use("kb1", "link", AT + h, "t1", solved=False),
        _use("kb1", "link", AT + 2 * h, "t1", solved=True),
        _use("kb1", "link", AT + 2 * h, "t2"),
        _use("kb2", "view", AT + 3 * h),
        _use("kb2", "link", AT - 24 * h, "t3", solved=True),  # the day before
        _use("kb3", "view", AT + 30 * h),  # the day after
    ]
    rows = reports.kb_usage(uses, **KW).rows
    assert rows == [
        {"article": "kb1", "views": 2, "linked": 2, "solved": 1, "solve_rate": 0.5},
        {"article": "kb2", "views": 1, "linked": 0, "solved": 0, "solve_rate": None},
    ]
    (whole,) = reports.kb_usage(uses, group_by=(), **KW).rows
    assert (whole["views"], whole["linked"], whole["solved"]) == (3, 2, 1)
    daily = reports.kb_usage(uses, start=DAY - timedelta(1), end=DAY, tz=SH, group_by="day")
    assert [(r["day"], r["views"], r["solved"]) for r in daily.rows] == [
        ("2026-11-01", 0, 1),
        ("2026-11-02", 3, 1),
    ]
    with pytest.raises(ValidationError) as info:
        reports.kb_usage(uses, group_by="type", **KW)
    assert info.value.field == "group_by"


ADMIN = Actor(id="root", roles={"admin"})
AGENT = Actor(id="a-1", roles={"agent"}, team="after-sales", department="service")


def test_desk_report_groups_by_tier_and_reads_kb_usage(store_url: str) -> None:
    """R-RPT-1, R-RPT-3 through desk.report on every store: volumes by the requesters' tiers
    (from the customers port), and KB usage (an agent, scoped to their own tickets, counts
    only links from them and no views)."""
    clock = FixedClock("2026-11-02T10:00:00+08:00")
    with Helpdesk(CONFIG, store_url, clock=clock, load_entrypoints=False) as desk:
        vip = desk.create_customer(ADMIN, name="V", tier="vip")
        plain = desk.create_customer(ADMIN, name="P")
        tickets = [
            desk.open_ticket(ADMIN, subject=f"s{i}", channel="email", customer_id=c.id)
            for i, c in enumerate((vip, vip, plain))
        ]
        desk.assign(ADMIN, tickets[0].id, AGENT.id)
        article = desk.create_article(ADMIN, category="faq", title="Refunds", steps=["wait"])
        desk.submit_article(ADMIN, article.id)
        desk.publish_article(ADMIN, article.id)
        desk.get_article(ADMIN, article.id)
        desk.link_article(ADMIN, tickets[0].id, article.id, solved=True)
        desk.link_article(ADMIN, tickets[2].id, article.id, solved=False)
        by_tier = desk.report(ADMIN, "volumes", start=DAY, end=DAY, group_by="tier")
        assert {r["tier"]: r["tickets"] for r in by_tier.rows} == {"vip": 2, "normal": 1}
        usage = desk.report(ADMIN, "kb_usage", start=DAY, end=DAY, group_by="article").rows
        assert [(r["views"], r["linked"], r["solved"]) for r in usage] == [(1, 2, 1)]
        mine = desk.report(AGENT, "kb_usage", start=DAY, end=DAY, group_by=()).rows
        assert [(r["views"], r["linked"], r["solved"]) for r in mine] == [(0, 1, 1)]
        csat = desk.report(ADMIN, "csat", start=DAY, end=DAY).rows
        assert (csat[0]["tickets"], csat[0]["ratings"]) == (3, 0)
