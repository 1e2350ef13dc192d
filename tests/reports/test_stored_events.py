"""Reports read a store through reports.stored_events: keyset pages, grouped by ticket."""

from __future__ import annotations

import itertools
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from test_simulate import DAY, make_desk

from helpdesk_core import reports
from helpdesk_core.conditions import field_is
from helpdesk_core.errors import ValidationError
from helpdesk_core.simulate import DayProfile, day_events, simulate

PROFILE = DayProfile(peak_per_hour=30, hours=(9, 10), pending_share=0.3, reopen_share=0.2)


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_stored_events_feed_the_same_reports(store: str, tmp_path: Path) -> None:
    url = "memory://" if store == "memory" else f"sqlite:///{tmp_path / 'r.db'}"
    desk = make_desk(url)
    result = simulate(desk, seed=9, day=DAY, profile=PROFILE)
    end = datetime(2026, 11, 11, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    with desk.storage.transaction() as uow:
        stored = list(reports.stored_events(uow, created_before=end, page=7))
    expected = list(day_events(desk, result.ticket_ids))
    created_early = {e.ticket_id for e in expected if e.seq == 1 and e.at < end}
    assert {e.ticket_id for e in stored} == created_early
    # grouped by ticket, oldest ticket first, each history whole and in order
    firsts = [e for e in stored if e.seq == 1]
    assert [e.at for e in firsts] == sorted(e.at for e in firsts)
    for a, b in itertools.pairwise(stored):
        assert (a.ticket_id == b.ticket_id and b.seq == a.seq + 1) or b.seq == 1
    kwargs = {"start": DAY, "end": end, "tz": "Asia/Shanghai", "sla": desk.sla}
    with desk.storage.transaction() as uow:
        from_store = reports.many(
            reports.REPORTS, reports.stored_events(uow, created_before=end), **kwargs
        )
    assert from_store == reports.many(reports.REPORTS, expected, **kwargs)
    assert from_store["volumes"].rows[0]["tickets"] == len(created_early)
    desk.close()


def test_stored_events_take_the_scope_condition() -> None:
    desk = make_desk()
    simulate(desk, seed=4, day=DAY, profile=PROFILE)
    end = datetime(2026, 11, 12, tzinfo=ZoneInfo("Asia/Shanghai"))
    with desk.storage.transaction() as uow:
        everything = list(reports.stored_events(uow, created_before=end))
        complaints = list(
            reports.stored_events(uow, field_is("type", "eq", "complaint"), created_before=end)
        )
        with pytest.raises(ValidationError):
            next(reports.stored_events(uow, created_before=end, page=0))
    kinds = {e.ticket_id: getattr(e, "type", None) for e in everything if e.seq == 1}
    assert {e.ticket_id for e in complaints} == {t for t, k in kinds.items() if k == "complaint"}
    assert complaints and len(complaints) < len(everything)


def test_created_from_narrows_the_stream_to_the_cohort() -> None:
    desk = make_desk()
    simulate(desk, seed=6, day=DAY, profile=PROFILE)
    zone = ZoneInfo("Asia/Shanghai")
    lo, hi = datetime(2026, 11, 11, 10, tzinfo=zone), datetime(2026, 11, 11, 10, 40, tzinfo=zone)
    names = [n for n in reports.REPORTS if n != "backlog_by_age"]
    kwargs = {"start": lo, "end": hi, "tz": zone, "sla": desk.sla, "group_by": ["type"]}
    with desk.storage.transaction() as uow:
        narrow = list(reports.stored_events(uow, created_before=hi, created_from=lo))
        wide = list(reports.stored_events(uow, created_before=hi))
    assert all(lo <= e.at for e in narrow if e.seq == 1)
    assert len({e.ticket_id for e in narrow}) < len({e.ticket_id for e in wide})
    assert reports.many(names, narrow, **kwargs) == reports.many(names, wide, **kwargs)
