"""KB commands over a unit of work (R-KB-1..4, R-OPS-2 "KB search"), on every store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from helpdesk_core import kb
from helpdesk_core.errors import InvalidTransition, NotFound
from helpdesk_core.model.events import StatusChanged
from helpdesk_core.model.knowledge import Usage
from helpdesk_core.ports import Storage
from helpdesk_core.testing.postgres import POSTGRES_SKIP_REASON, postgres_url
from helpdesk_core.testing.storage_contract import new_ticket
from helpdesk_plugins.storage_memory import MemoryStorage

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "memory":
        yield MemoryStorage()
        return
    pytest.importorskip("sqlalchemy")
    from helpdesk_plugins.storage_sql import open_storage

    if request.param == "sqlite":
        store = open_storage(f"sqlite:///{tmp_path / 'kb.db'}")
        yield store
        store.close()
        return
    from helpdesk_plugins.storage_sql.scratch import scratch_schema

    base = postgres_url()
    if base is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    with scratch_schema(base, "hd_kb") as url:
        store = open_storage(url)
        yield store
        store.close()


def test_r_ops_2_kb_workflow_and_search(storage: Storage) -> None:
    with storage.transaction() as uow:
        kb.create_article(
            uow, "kb1", author="agent-1", now=T0, category="faq", title="Refund takes 7 days",
            problem="Where is my refund?", steps=["Check the return", "Wait 7 working days"],
            tags=["refund"],
        )  # fmt: skip
        kb.create_article(
            uow, "kb2", author="agent-1", now=T0, category="product_guide",
            title="耳機配對方法", problem="藍牙耳機無法配對", steps=["长按电源键10秒"],
        )  # fmt: skip
    with storage.transaction() as uow:
        kb.submit_article(uow, "kb1", author="agent-1", now=T0)
        kb.publish_article(uow, "kb1", reviewer="sup-1", now=T0)
        with pytest.raises(InvalidTransition):
            kb.publish_article(uow, "kb2", reviewer="sup-1", now=T0)
    with storage.transaction() as uow:
        kb.update_article(uow, "kb1", author="agent-2", now=T0, title="Refund takes 10 days")
    with storage.transaction() as uow:
        customer = kb.search_kb(uow, "refund", published_only=True)
        agent = kb.search_kb(uow, "refnd days", published_only=False)
        chinese = kb.search_kb(uow, "耳机配对", published_only=False)
        hidden = kb.search_kb(uow, "耳机配对", published_only=True)
    assert [(h.article.id, h.article.title) for h in customer] == [("kb1", "Refund takes 7 days")]
    assert [(h.article.id, h.article.title) for h in agent] == [("kb1", "Refund takes 10 days")]
    assert agent[0].highlights[0] == "<mark>Refund</mark> takes 10 <mark>days</mark>"
    assert [h.article.id for h in chinese] == ["kb2"] and hidden == []
    with storage.transaction() as uow:
        seen = kb.get_article(uow, "kb1", reader="c1", now=T0, published_only=True)
        assert seen.version == 3 and seen.state == "published"
        with pytest.raises(NotFound):
            kb.get_article(uow, "kb2", reader="c1", now=T0, published_only=True)
        assert [a.id for a in kb.list_articles(uow, published_only=True)] == ["kb1"]
        assert [a.version for a in kb.list_articles(uow, published_only=False)] == [4, 1]
        assert kb.list_articles(uow, published_only=False, category="faq")[0].id == "kb1"
    with storage.transaction() as uow:
        kb.submit_article(uow, "kb1", author="agent-2", now=T0)
        kb.publish_article(uow, "kb1", reviewer="sup-1", now=T0)
        kb.retire_article(uow, "kb1", author="sup-1", now=T0)
    with storage.transaction() as uow:
        assert kb.search_kb(uow, "refund", published_only=True) == []
        assert kb.search_kb(uow, "refund", published_only=False) == []
        assert [a.version for a in uow.article_versions("kb1")] == [1, 2, 3, 4, 5, 6, 7]


def test_r_kb_3_gap_answer_link_and_usage(storage: Storage) -> None:
    ticket, events = new_ticket("t1", 1, subject="Headset will not pair")
    with storage.transaction() as uow:
        uow.save_ticket(ticket, events)
        kb.report_kb_gap(uow, "g1", "how to pair?", reported_by="agent-1", now=T0, ticket_id="t1")
        with pytest.raises(NotFound):
            kb.report_kb_gap(uow, "g2", "x", reported_by="a", now=T0, ticket_id="missing")
    with storage.transaction() as uow:
        draft = kb.answer_kb_gap(
            uow, "g1", "kb9", author="agent-2", now=T0, category="faq", title="Pairing"
        )
        assert (draft.gap_id, draft.problem) == ("g1", "how to pair?")
    with storage.transaction() as uow:
        gap = uow.get_gap("g1")
        assert gap is not None and (gap.state, gap.article_id) == ("answered", "kb9")
        kb.link_article(uow, "t1", "kb9", actor="agent-2", now=T0)
        kb.get_article(uow, "kb9", reader="agent-3", now=T0, published_only=False)
        with pytest.raises(NotFound):
            kb.link_article(uow, "t1", "nope", actor="agent-2", now=T0)
    with storage.transaction() as uow:
        assert kb.article_usage(uow, "kb9") == Usage(views=1, linked=1, solved=1)


def test_r_kb_4_archive_a_solved_ticket(storage: Storage) -> None:
    ticket, events = new_ticket("t1", 1, subject="Screen flickers", description="After update")
    with storage.transaction() as uow:
        uow.save_ticket(ticket, events)
        with pytest.raises(InvalidTransition):
            kb.archive_to_kb(uow, "t1", "kb-t1", author="sup-1", now=T0)
    solved = StatusChanged(
        ticket_id="t1", seq=2, at=T0 + timedelta(hours=2), actor="agent-1",
        from_status="new", to_status="resolved", to_category="solved",
    )  # fmt: skip
    with storage.transaction() as uow:
        uow.save_ticket(ticket.apply(solved), [solved])
    with storage.transaction() as uow:
        article = kb.archive_to_kb(uow, "t1", "kb-t1", author="sup-1", now=T0)
    assert (article.state, article.source_ticket, article.title) == (
        "draft",
        "t1",
        "Screen flickers",
    )
    with storage.transaction() as uow:
        assert uow.get_article("kb-t1") == article
        with pytest.raises(NotFound):
            kb.archive_to_kb(uow, "missing", "kb-x", author="sup-1", now=T0)
