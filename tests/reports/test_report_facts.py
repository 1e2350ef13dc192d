"""Report facts (issue 24, scale): every command keeps one row of report facts per ticket, and
``reports.from_store`` / ``desk.report`` read them instead of the events, with the same figures
as the pure functions over the events: on memory, SQLite and PostgreSQL, as of any ``end``,
with facts missing, stale or kept under another SLA configuration, and inside a reader's scope.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from test_reports import histories, sla_config
from test_simulate import make_desk

from helpdesk_core import Actor, Helpdesk, reports
from helpdesk_core.conditions import TRUE
from helpdesk_core.config import load_config
from helpdesk_core.model.events import Assigned, Event
from helpdesk_core.model.tickets import Ticket
from helpdesk_core.service.reporting import rebuild_facts
from helpdesk_core.simulate import DayProfile, day_events, simulate
from helpdesk_core.sla import SlaConfig
from helpdesk_core.testing import FixedClock
from helpdesk_plugins.storage_memory import MemoryStorage

SH = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 11)
PROFILE = DayProfile(peak_per_hour=30, hours=(9, 10), pending_share=0.3, reopen_share=0.2)
ADMIN = Actor(id="root", roles={"admin"})
FAR = datetime(2027, 1, 1, tzinfo=UTC)
TIERS = {"c1": "gold", "c2": "vip"}


def other_sla() -> SlaConfig:
    section = load_config(
        {"sla": {"policies": [{"name": "tight", "targets": {"*": {"first_response": "1m"}}}]}}
    ).sections["sla"]
    assert isinstance(section, SlaConfig)
    return section


def _by_ticket(events: Sequence[Event]) -> dict[str, list[Event]]:
    grouped: dict[str, list[Event]] = {}
    for event in events:
        grouped.setdefault(event.ticket_id, []).append(event)
    return grouped


@settings(max_examples=50, deadline=None)
@given(
    data=st.data(),
    end_minutes=st.integers(-24 * 60, 72 * 60),
    dims=st.sampled_from([(), ("type",), ("agent", "day"), ("tier", "priority"), ("hour",)]),
    other=st.booleans(),
)
def test_the_facts_give_the_figures_of_the_event_fold(
    data: st.DataObject, end_minutes: int, dims: tuple[str, ...], other: bool
) -> None:
    """Random histories in a memory store, each ticket's facts kept, stale (kept for an older
    version) or missing; any ``end`` (before, inside or after the histories) and grouping;
    the facts kept under the report's SLA configuration or another one: ``from_store`` gives
    exactly the figures of ``many`` over the events."""
    around = datetime(2026, 11, 4, 12, tzinfo=UTC)
    events = data.draw(histories(around))
    kept_under = sla_config()
    store = MemoryStorage()
    with store.transaction() as uow:
        for ticket_id, history in _by_ticket(events).items():
            ticket = Ticket.from_events(history)
            uow.save_ticket(ticket, history)
            how = data.draw(st.sampled_from(["kept", "kept", "stale", "missing"]))
            if how == "kept":
                doc = reports.facts_document(history, kept_under)
                uow.save_report_facts(ticket_id, ticket.version, doc)
            elif how == "stale" and len(history) > 1:
                doc = reports.facts_document(history[:-1], kept_under)
                uow.save_report_facts(ticket_id, ticket.version - 1, doc)
    end = around + timedelta(minutes=end_minutes)
    kwargs: dict[str, Any] = {
        "start": end - timedelta(days=2),
        "end": end,
        "tz": "Europe/Berlin",
        "group_by": dims,
        "sla": other_sla() if other else kept_under,
        "tiers": TIERS.get,
    }
    with store.transaction() as uow:
        got = reports.from_store(reports.REPORTS, uow, **kwargs)
    assert got == reports.many(reports.REPORTS, events, **kwargs)


def test_the_document_round_trips_as_json_and_names_its_configuration() -> None:
    around = datetime(2026, 11, 4, 12, tzinfo=UTC)
    history = [e for e in _one_history(around)]
    doc = reports.facts_document(history, sla_config())
    assert json.loads(json.dumps(doc)) == doc
    assert doc[0] == reports.FACTS_FORMAT
    assert doc[1] == reports.sla_fingerprint(sla_config()) != reports.sla_fingerprint(other_sla())
    assert reports.facts_document(history, None)[1] == "" == reports.sla_fingerprint(None)


def test_the_fingerprint_follows_what_decides_a_clock() -> None:
    """The same configuration parsed twice has one fingerprint; a holiday added to the
    calendar its policy runs on, or another pause status, gives another."""

    def parsed(holidays: list[str], pauses: list[str] | None = None) -> SlaConfig:
        raw: dict[str, Any] = {
            "calendars": {"support": {"tz": "Asia/Shanghai", "week": {"mon-fri": ["09:00-18:00"]}}},
            "sla": {
                "calendar": "support",
                "policies": [{"name": "std", "targets": {"*": {"first_response": "1h"}}}],
            },
        }
        raw["calendars"]["support"]["holidays"] = holidays
        if pauses is not None:
            raw["sla"]["pause_statuses"] = pauses
        section = load_config(raw).sections["sla"]
        assert isinstance(section, SlaConfig)
        return section

    base = reports.sla_fingerprint(parsed([]))
    assert reports.sla_fingerprint(parsed([])) == base
    assert reports.sla_fingerprint(parsed(["2026-11-11"])) != base
    assert reports.sla_fingerprint(parsed([], ["pending_customer"])) != base


def _one_history(around: datetime) -> list[Event]:
    from report_histories import History

    h = History("t1", around, type="complaint", channel="email", priority="high")
    h.assign(around + timedelta(minutes=3), "a1")
    h.reply(around + timedelta(minutes=20), "a1")
    h.status_to(around + timedelta(hours=3), "resolved", "a1")
    return h.events


def test_every_command_keeps_the_facts_and_desk_report_reads_them(store_url: str) -> None:
    """On memory, SQLite and PostgreSQL: after a simulated morning through the real desk each
    ticket has its facts for its current version, equal to the fold of its history; every
    report through ``desk.report`` equals the pure function over the events, as of an ``end``
    inside the morning (tickets with later events are folded from them) and after it; a ticket
    changed around the command path is folded from its events until ``rebuild_facts``."""
    desk = make_desk(store_url)
    result = simulate(desk, seed=9, day=DAY, profile=PROFILE)
    fingerprint = reports.sla_fingerprint(desk.sla)
    with desk.storage.transaction() as uow:
        rows = list(uow.report_facts(TRUE, created_before=FAR))
        assert sorted(r.ticket_id for r in rows) == sorted(result.ticket_ids)
        for row in rows:
            expected = reports.facts_document(
                uow.ticket_events(row.ticket_id), desk.sla, fingerprint
            )
            assert row.doc == json.loads(json.dumps(expected))
    _same_as_events(desk, result.ticket_ids)
    # a change written around the command path leaves that ticket's facts stale
    changed = result.ticket_ids[3]
    with desk.storage.transaction() as uow:
        ticket = uow.get_ticket(changed)
        assert ticket is not None
        moved = Assigned(
            ticket_id=changed,
            seq=ticket.version + 1,
            at=datetime(2026, 11, 11, 12, tzinfo=SH),
            actor="root",
            assignee="a-elsewhere",
            team=None,
        )
        uow.save_ticket(ticket.apply(moved), [moved])
    with desk.storage.transaction() as uow:
        docs = {r.ticket_id: r.doc for r in uow.report_facts(TRUE, created_before=FAR)}
    assert docs[changed] is None
    _same_as_events(desk, result.ticket_ids)
    assert rebuild_facts(desk.storage, desk.sla, batch=7) == len(result.ticket_ids)
    with desk.storage.transaction() as uow:
        assert all(r.doc is not None for r in uow.report_facts(TRUE, created_before=FAR))
    _same_as_events(desk, result.ticket_ids)
    desk.close()


def _same_as_events(desk: Helpdesk, ticket_ids: Sequence[str]) -> None:
    events = list(day_events(desk, ticket_ids))
    for end in (datetime(2026, 11, 11, 10, 20, tzinfo=SH), DAY):
        for dims in ((), ("agent", "hour")):
            for name in reports.REPORTS:
                kwargs: dict[str, Any] = {"start": DAY, "end": end, "group_by": dims}
                pure = reports.report(name, events, tz=SH, sla=desk.sla, **kwargs)
                assert desk.report(ADMIN, name, **kwargs) == pure, (name, end, dims)


SCOPED = {
    "desk": {"timezone": "Asia/Shanghai"},
    "permissions": {"teams": {"after-sales": "service", "tech": "engineering"}},
    "sla": {"policies": [{"name": "std", "targets": {"*": {"first_response": "5m"}}}]},
}
SUPERVISOR = Actor(id="s-1", roles={"supervisor"}, team="after-sales", department="service")


def test_a_scoped_reader_counts_only_the_facts_of_their_scope(store_url: str) -> None:
    """R-RPT-3 on the facts path: a supervisor's report over the stored facts equals the pure
    report over the events of their department's tickets only."""
    clock = FixedClock("2026-11-02T10:00:00+08:00")
    with Helpdesk(SCOPED, store_url, clock=clock, load_entrypoints=False) as desk:
        ids = []
        for i, team in enumerate(["after-sales", "tech", "after-sales", "tech", "after-sales"]):
            ticket = desk.open_ticket(ADMIN, subject=f"t{i}", channel="email", team=team)
            ids.append(ticket.id)
            clock.advance(minutes=2 + i)
            if i % 2 == 0:
                desk.reply(ADMIN, ticket.id, "on it")
        theirs = [t for t, i in zip(ids, range(5), strict=True) if i % 2 == 0]
        events = [e for t in theirs for e in desk.history(ADMIN, t)]
        for name in reports.REPORTS:
            kwargs: dict[str, Any] = {"start": date(2026, 11, 2), "end": date(2026, 11, 2)}
            pure = reports.report(name, events, tz=SH, sla=desk.sla, **kwargs)
            assert desk.report(SUPERVISOR, name, **kwargs) == pure, name
        assert desk.report(SUPERVISOR, "volumes", **kwargs).rows[0]["tickets"] == 3
