"""Search and the knowledge base through the facade (R-KB-1..4, R-OPS-2), on the memory, SQLite
and PostgreSQL stores: scope, hidden notes, review workflow, gaps, usage and archiving."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpdesk_core import Actor, Helpdesk, NotFound, PermissionDenied, ValidationError
from helpdesk_core.testing import FixedClock

CONFIG = {
    "desk": {"default_team": "after-sales"},
    "permissions": {"teams": {"after-sales": "service", "tech": "engineering"}},
}
CUSTOMER = Actor(id="C1", roles={"customer"})
AGENT = Actor(id="a-1", roles={"agent"}, team="after-sales", department="service")
OUTSIDER = Actor(id="a-9", roles={"agent"}, team="tech", department="engineering")
SUPERVISOR = Actor(id="s-1", roles={"supervisor"}, team="after-sales", department="service")


@pytest.fixture
def desk(store_url: str) -> Iterator[Helpdesk]:
    with Helpdesk(
        config=CONFIG,
        storage_url=store_url,
        clock=FixedClock("2026-11-02T09:00:00+08:00"),
        load_entrypoints=False,
    ) as d:
        yield d


def test_ticket_search_respects_scope_and_notes(desk: Helpdesk) -> None:
    ticket = desk.open_ticket(
        CUSTOMER, subject="Order SO-2026-0042 arrived broken", channel="email"
    )
    desk.add_note(AGENT, ticket.id, "refund approved by finance")
    hits = desk.search(AGENT, "so-2026-0042")
    assert [h.ticket.id for h in hits] == [ticket.id]
    assert any("<mark>" in h for h in hits[0].highlights)
    assert [h.ticket.id for h in desk.search(AGENT, "finance")] == [ticket.id]  # a note reader
    assert desk.search(CUSTOMER, "finance") == []  # customers never search internal notes
    assert [h.ticket.id for h in desk.search(CUSTOMER, "broken")] == [ticket.id]
    assert desk.search(OUTSIDER, "broken") == []  # outside the agent's scope
    with pytest.raises(ValidationError, match="query"):
        desk.search(AGENT, "   ")


def test_review_workflow_gaps_usage_and_archive(desk: Helpdesk) -> None:
    """R-KB-2: agents write, a supervisor reviews; customers read published articles only."""
    article = desk.create_article(
        AGENT, category="faq", title="Resetting the router", problem="No internet",
        steps=["Unplug it", "Wait 30 seconds", "Plug it in"],
    )  # fmt: skip
    with pytest.raises(PermissionDenied):
        desk.create_article(CUSTOMER, category="faq", title="x")
    assert desk.search_kb(CUSTOMER, "router") == []  # a draft
    desk.submit_article(AGENT, article.id)
    with pytest.raises(PermissionDenied):
        desk.publish_article(AGENT, article.id)  # agents do not review
    desk.publish_article(SUPERVISOR, article.id)
    assert [h.article.id for h in desk.search_kb(CUSTOMER, "router")] == [article.id]
    assert desk.get_article(CUSTOMER, article.id).state == "published"
    gap = desk.report_kb_gap(AGENT, "How do I pair the remote?")
    answer = desk.answer_kb_gap(AGENT, gap.id, category="faq", title="Pairing the remote")
    assert answer.state == "draft"
    with pytest.raises(NotFound):
        desk.get_article(CUSTOMER, answer.id)  # unpublished reads as missing to customers
    ticket = desk.open_ticket(CUSTOMER, subject="No internet", channel="email")
    use = desk.link_article(AGENT, ticket.id, article.id, solved=True)
    assert use.solved
    desk.assign(SUPERVISOR, ticket.id, AGENT.id)
    desk.reply(AGENT, ticket.id, "Please restart the router.")
    desk.set_status(AGENT, ticket.id, "resolved")
    draft = desk.archive_to_kb(AGENT, ticket.id)
    assert draft.state == "draft" and "No internet" in draft.title
    desk.retire_article(SUPERVISOR, article.id)
    assert desk.search_kb(CUSTOMER, "router") == []
