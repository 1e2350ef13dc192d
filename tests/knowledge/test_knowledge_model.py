"""The knowledge-base model (R-KB-1..4): articles, review workflow, gaps, usage, archiving."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_core.errors import InvalidTransition, ValidationError
from helpdesk_core.model.events import NoteAdded, Replied, StatusChanged
from helpdesk_core.model.knowledge import (
    Article,
    ArticleUse,
    Usage,
    answer_gap,
    archive_ticket,
    new_article,
    readable_version,
    report_gap,
    retire_article,
    review_article,
    submit_article,
    update_article,
    usage_of,
)
from helpdesk_core.model.tickets import Ticket
from helpdesk_core.search.articles import ArticleSearch
from helpdesk_core.testing.storage_contract import make_created

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def draft() -> Article:
    return new_article(
        "kb1",
        category="faq",
        title="Refund takes 7 days",
        problem="Customer asks where the refund is",
        steps=["Check the return was received", "Tell the customer: 7 working days"],
        cases=["T20261102000001"],
        tags=["refund"],
        author="agent-1",
        now=T0,
    )


def published() -> Article:
    review = submit_article(draft(), author="agent-1", now=T0)
    return review_article(review, reviewer="sup-1", now=T0, approve=True)


def test_r_kb_1_article_has_category_problem_steps_cases() -> None:
    article = draft()
    assert (article.state, article.version, article.published_version) == ("draft", 1, None)
    assert article.steps[1].startswith("Tell") and article.cases == ("T20261102000001",)
    assert Article.from_dict(article.to_dict()) == article


def test_r_kb_2_review_workflow_publishes_and_keeps_versions() -> None:
    submitted = submit_article(draft(), author="agent-1", now=T0)
    assert (submitted.state, submitted.version) == ("in_review", 2)
    sent_back = review_article(
        submitted, reviewer="sup-1", now=T0, approve=False, comment="Add the bank delay"
    )
    assert sent_back.state == "draft" and sent_back.reviews[-1].comment == "Add the bank delay"
    assert sent_back.reviews[-1].approved is False and sent_back.reviews[-1].version == 2
    again = submit_article(
        update_article(sent_back, author="agent-1", now=T0, steps=["Check", "Bank: +3 days"]),
        author="agent-1",
        now=T0,
    )
    live = review_article(again, reviewer="sup-1", now=T0, approve=True)
    assert (live.state, live.version, live.published_version) == ("published", 6, 6)
    retired = retire_article(live, author="sup-1", now=T0)
    assert (retired.state, retired.published_version) == ("retired", None)


def test_sending_back_needs_a_comment_and_only_review_can_be_reviewed() -> None:
    submitted = submit_article(draft(), author="a", now=T0)
    with pytest.raises(ValidationError) as caught:
        review_article(submitted, reviewer="s", now=T0, approve=False)
    assert caught.value.field == "comment"
    with pytest.raises(InvalidTransition):
        review_article(draft(), reviewer="s", now=T0, approve=True)
    with pytest.raises(InvalidTransition):
        retire_article(draft(), author="s", now=T0)
    with pytest.raises(InvalidTransition):
        submit_article(submitted, author="a", now=T0)
    with pytest.raises(InvalidTransition):
        update_article(submitted, author="a", now=T0, title="x")
    with pytest.raises(ValidationError):
        update_article(draft(), author="a", now=T0, state="published")
    with pytest.raises(ValidationError):
        update_article(draft(), author="a", now=T0, title="  ")


def test_editing_a_published_article_keeps_the_published_version_readable() -> None:
    live = published()
    edit = update_article(live, author="agent-2", now=T0, title="Refund takes 10 days")
    versions = [draft(), submit_article(draft(), author="agent-1", now=T0), live, edit]
    assert edit.state == "draft" and edit.published_version == live.version
    assert readable_version(versions, published_only=False) == edit
    assert readable_version(versions, published_only=True) == live
    assert readable_version(versions[:2], published_only=True) is None


MOVES = st.sampled_from(["submit", "approve", "send_back", "retire", "edit"])


@settings(max_examples=200)
@given(st.lists(MOVES, max_size=12))
def test_any_sequence_of_moves_either_follows_the_graph_or_raises(moves: list[str]) -> None:
    article = draft()
    for move in moves:
        before = article
        try:
            if move == "submit":
                article = submit_article(article, author="a", now=T0)
            elif move == "approve":
                article = review_article(article, reviewer="s", now=T0, approve=True)
            elif move == "send_back":
                article = review_article(article, reviewer="s", now=T0, approve=False, comment="c")
            elif move == "retire":
                article = retire_article(article, author="s", now=T0)
            else:
                article = update_article(article, author="a", now=T0, problem="p")
        except InvalidTransition:
            assert article == before
            continue
        assert article.version == before.version + 1
        assert (before.state, article.state) in {
            ("draft", "draft"),
            ("draft", "in_review"),
            ("in_review", "published"),
            ("in_review", "draft"),
            ("published", "retired"),
            ("published", "draft"),
        }
        if article.state == "published":
            assert article.published_version == article.version


def test_r_kb_3_gap_answer_creates_a_linked_draft() -> None:
    gap = report_gap("g1", "耳机怎么配对", reported_by="agent-1", now=T0, ticket_id="t7")
    answered, article = answer_gap(gap, "kb9", category="faq", title="配对耳机", author="a", now=T0)
    assert (answered.state, answered.article_id, answered.answered_at) == ("answered", "kb9", T0)
    assert (article.state, article.gap_id, article.problem) == ("draft", "g1", "耳机怎么配对")
    with pytest.raises(InvalidTransition):
        answer_gap(answered, "kb10", category="faq", title="x", author="a", now=T0)
    with pytest.raises(ValidationError):
        report_gap("g2", "   ", reported_by="a", now=T0)


def test_usage_counts_views_and_distinct_solved_tickets() -> None:
    uses = [
        ArticleUse("kb1", "view", "c1", T0),
        ArticleUse("kb1", "view", "c2", T0),
        ArticleUse("kb1", "link", "a1", T0, ticket_id="t1", solved=False),
        ArticleUse("kb1", "link", "a1", T0, ticket_id="t1", solved=True),
        ArticleUse("kb1", "link", "a2", T0, ticket_id="t2"),
    ]
    assert usage_of(uses) == Usage(views=2, linked=2, solved=1)
    with pytest.raises(ValidationError):
        ArticleUse("kb1", "link", "a1", T0)


def solved_ticket() -> tuple[Ticket, list[object]]:
    created = make_created(
        "t1", 1, subject="Headset will not pair", description="Bluetooth pairing fails"
    )
    events: list[object] = [created]
    ticket = Ticket.created(created)
    for seq, event in enumerate(
        [
            Replied(ticket_id="t1", seq=2, at=T0, actor="a1", message_id="m1",
                    body="Hold the button 10 s to reset", channel="email"),
            NoteAdded(ticket_id="t1", seq=3, at=T0, actor="a1", message_id="m2",
                      body="Firmware 1.2 bug", channel="internal"),
            StatusChanged(ticket_id="t1", seq=4, at=T0 + timedelta(hours=1), actor="a1",
                          from_status="new", to_status="resolved", to_category="solved"),
        ],
        start=2,
    ):  # fmt: skip
        assert event.seq == seq
        ticket = ticket.apply(event)
        events.append(event)
    return ticket, events


def test_r_kb_4_archive_a_solved_ticket_into_a_draft() -> None:
    ticket, events = solved_ticket()
    article = archive_ticket(ticket, events, "kb-t1", author="sup-1", now=T0)  # type: ignore[arg-type]
    assert (article.state, article.category, article.source_ticket) == ("draft", "incident", "t1")
    assert article.title == "Headset will not pair"
    assert article.problem == "Bluetooth pairing fails"
    assert article.steps == ("Hold the button 10 s to reset", "Firmware 1.2 bug")
    assert article.cases[0].startswith("T00000001: complaint, priority normal")
    open_ticket = Ticket.from_events(events[:3])  # type: ignore[arg-type]
    with pytest.raises(InvalidTransition):
        archive_ticket(open_ticket, events[:3], "kb-x", author="s", now=T0)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        archive_ticket(ticket, events[:2], "kb-x", author="s", now=T0)  # type: ignore[arg-type]


def test_kb_search_customers_see_published_versions_only() -> None:
    search = ArticleSearch()
    live = published()
    edit = update_article(live, author="a", now=T0, title="Refund takes 10 days")
    table = {
        "kb1": [draft(), submit_article(draft(), author="agent-1", now=T0), live, edit],
        "kb2": [
            new_article("kb2", category="faq", title="退款多久到账", problem="", author="a", now=T0)
        ],
    }
    for versions in table.values():
        search.put(versions)

    def load(published_only: bool) -> Callable[[str], Article | None]:
        return lambda i: readable_version(table[i], published_only=published_only)

    agent = search.search("refund 10 days", published_only=False, load=load(False))
    assert [h.article.version for h in agent] == [4]
    assert any("<mark>10</mark>" in h for h in agent[0].highlights)
    customer = search.search("refund", published_only=True, load=load(True))
    assert [(h.article.id, h.article.version) for h in customer] == [("kb1", 3)]
    assert search.search("退款", published_only=True, load=load(True)) == []
    assert [
        h.article.id for h in search.search("退款", published_only=False, load=load(False))
    ] == ["kb2"]
    table["kb1"] = [*table["kb1"][:3], retire_article(live, author="s", now=T0)]
    search.put(table["kb1"])
    assert search.search("refund", published_only=True, load=load(True)) == []
    assert search.search("refund", published_only=False, load=load(False)) == []
