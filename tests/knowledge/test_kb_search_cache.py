"""KB search keeps its index between calls, per desk, and re-indexes only what was written
(issue 21): on the memory, SQLite and PostgreSQL stores."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpdesk_core import Actor, Helpdesk
from helpdesk_core.testing import FixedClock

CONFIG = {"desk": {"default_team": "after-sales"}}
CUSTOMER = Actor(id="C1", roles={"customer"})
AGENT = Actor(id="a-1", roles={"agent"}, team="after-sales", department="service")
SUPERVISOR = Actor(id="s-1", roles={"supervisor"}, team="after-sales", department="service")


def open_desk(url: str) -> Helpdesk:
    return Helpdesk(
        config=CONFIG,
        storage_url=url,
        clock=FixedClock("2026-11-02T09:00:00+08:00"),
        load_entrypoints=False,
    )


@pytest.fixture
def desk(store_url: str) -> Iterator[Helpdesk]:
    with open_desk(store_url) as d:
        yield d


def reindexed(desk: Helpdesk) -> int:
    return desk._runner.kb_search.reindexed


def ids(hits: list[object]) -> list[str]:
    return [h.article.id for h in hits]  # type: ignore[attr-defined]


def test_kb_index_is_kept_between_calls_and_follows_writes(desk: Helpdesk) -> None:
    router = desk.create_article(AGENT, category="faq", title="Resetting the router")
    remote = desk.create_article(AGENT, category="faq", title="Pairing the remote")
    assert ids(desk.search_kb(AGENT, "router")) == [router.id]
    assert reindexed(desk) == 2
    assert ids(desk.search_kb(AGENT, "remote")) == [remote.id]
    assert reindexed(desk) == 2  # nothing written: nothing indexed again
    desk.submit_article(AGENT, router.id)
    desk.publish_article(SUPERVISOR, router.id)
    assert ids(desk.search_kb(CUSTOMER, "router")) == [router.id]
    assert reindexed(desk) == 3  # one article written, one indexed again
    desk.update_article(AGENT, router.id, title="Restarting the modem")
    assert ids(desk.search_kb(AGENT, "modem")) == [router.id]  # the new draft
    assert ids(desk.search_kb(AGENT, "router")) == []
    assert ids(desk.search_kb(CUSTOMER, "router")) == [router.id]  # still the published one
    assert desk.search_kb(CUSTOMER, "modem") == []
    assert reindexed(desk) == 4
    desk.submit_article(AGENT, router.id)
    desk.publish_article(SUPERVISOR, router.id)
    desk.retire_article(SUPERVISOR, router.id)
    assert desk.search_kb(CUSTOMER, "modem") == []
    assert desk.search_kb(AGENT, "modem") == []


def test_kb_cache_sees_writes_made_by_another_desk(store_url: str) -> None:
    with open_desk(store_url) as first, open_desk(store_url) as second:
        if store_url.startswith("memory"):
            second.storage = first.storage  # two desks over one store, as the SQL URLs give
        article = first.create_article(AGENT, category="faq", title="Resetting the router")
        assert ids(second.search_kb(AGENT, "router")) == [article.id]
        first.update_article(AGENT, article.id, title="Restarting the modem")
        assert ids(second.search_kb(AGENT, "modem")) == [article.id]
        assert second.search_kb(AGENT, "router") == []
        assert reindexed(second) == 2
        assert reindexed(first) == 0  # a cache per desk, never process-wide
