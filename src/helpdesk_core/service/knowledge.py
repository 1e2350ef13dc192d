"""Ticket search and the knowledge base through the one command path (R-KB-1..4).

Search looks only inside the actor's ``ticket.view`` scope, searches internal notes only for
readers of notes, never searches a field the actor sees hidden or masked, and returns tickets as
the actor may see them. KB readers without ``kb.write`` (customers, other departments) see
published articles only. The rules are :mod:`helpdesk_core.kb` and :mod:`helpdesk_core.search`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from helpdesk_core import kb
from helpdesk_core import validation as check
from helpdesk_core.model.hits import ArticleHit, SearchHit
from helpdesk_core.model.knowledge import Article, ArticleUse, KbGap
from helpdesk_core.model.people import Actor
from helpdesk_core.ports import TextQuery
from helpdesk_core.search.tickets import check_limit, check_query, hits_for, searchable_fields
from helpdesk_core.service.runner import Call, Runner


def search(
    runner: Runner, actor: Actor, query: str, *, limit: int, now: datetime | None
) -> list[SearchHit]:
    terms = check_query(query)
    page = check_limit(limit)

    def body(call: Call) -> list[SearchHit]:
        view = call.view
        # notes are searched only when the actor may read the notes of every ticket it may view
        notes = view.scope("ticket.view_notes") == view.scope("ticket.view")
        fields = searchable_fields(may_read_notes=notes, unreadable=view.unreadable)
        found = call.uow.search_tickets(
            TextQuery(tuple(terms), fields, where=view.scope("ticket.view"), limit=page)
        )
        return hits_for([(view.present(t), m) for t, m in found], fields)

    return runner.run(actor, "ticket.view", None, now, body)


def _published_only(call: Call) -> bool:
    return not call.view.may("kb.write")


def search_kb(
    runner: Runner, actor: Actor, query: str, *, limit: int, now: datetime | None
) -> list[ArticleHit]:
    check_query(query)
    page = check_limit(limit)

    def body(call: Call) -> list[ArticleHit]:
        call.authorise("kb.read")
        return kb.search_kb(
            call.uow,
            query,
            published_only=_published_only(call),
            limit=page,
            cache=runner.kb_search,
        )

    return runner.run(actor, "kb.read", None, now, body)


def create_article(
    runner: Runner,
    actor: Actor,
    *,
    category: str,
    title: str,
    problem: str,
    steps: Sequence[str],
    cases: Sequence[str],
    tags: Iterable[str],
    now: datetime | None,
) -> Article:
    article_id = runner.new_id()

    def body(call: Call) -> Article:
        call.authorise("kb.write")
        return kb.create_article(
            call.uow,
            article_id,
            author=actor.id,
            now=call.at,
            category=category,
            title=title,
            problem=problem,
            steps=steps,
            cases=cases,
            tags=tags,
        )

    return runner.run(actor, "kb.write", None, now, body)


def update_article(
    runner: Runner,
    actor: Actor,
    article_id: str,
    changes: Mapping[str, Any],
    *,
    now: datetime | None,
) -> Article:
    check.ident(article_id, "article_id")

    def body(call: Call) -> Article:
        call.authorise("kb.write", target=f"article:{article_id}")
        return kb.update_article(call.uow, article_id, author=actor.id, now=call.at, **changes)

    return runner.run(actor, "kb.write", article_id, now, body)


def submit_article(
    runner: Runner, actor: Actor, article_id: str, *, now: datetime | None
) -> Article:
    check.ident(article_id, "article_id")

    def body(call: Call) -> Article:
        call.authorise("kb.write", target=f"article:{article_id}")
        return kb.submit_article(call.uow, article_id, author=actor.id, now=call.at)

    return runner.run(actor, "kb.write", article_id, now, body)


def publish_article(
    runner: Runner,
    actor: Actor,
    article_id: str,
    *,
    approve: bool,
    comment: str | None,
    now: datetime | None,
) -> Article:
    """A supervisor's review: approve (published) or send back with a comment (R-KB-2)."""
    check.ident(article_id, "article_id")
    check.flag(approve, "approve")
    check.optional_text(comment, "comment")

    def body(call: Call) -> Article:
        call.authorise("kb.review", target=f"article:{article_id}")
        return kb.publish_article(
            call.uow, article_id, reviewer=actor.id, now=call.at, approve=approve, comment=comment
        )

    return runner.run(actor, "kb.review", article_id, now, body)


def retire_article(
    runner: Runner, actor: Actor, article_id: str, *, now: datetime | None
) -> Article:
    check.ident(article_id, "article_id")

    def body(call: Call) -> Article:
        call.authorise("kb.review", target=f"article:{article_id}")
        return kb.retire_article(call.uow, article_id, author=actor.id, now=call.at)

    return runner.run(actor, "kb.review", article_id, now, body)


def get_article(runner: Runner, actor: Actor, article_id: str, *, now: datetime | None) -> Article:
    """Counts a view (the KB-usage KPI); an article the reader may not see reads as missing."""
    check.ident(article_id, "article_id")

    def body(call: Call) -> Article:
        call.authorise("kb.read", target=f"article:{article_id}")
        return kb.get_article(
            call.uow,
            article_id,
            reader=actor.id,
            now=call.at,
            published_only=_published_only(call),
        )

    return runner.run(actor, "kb.read", article_id, now, body)


def articles(
    runner: Runner,
    actor: Actor,
    *,
    state: str | None,
    category: str | None,
    now: datetime | None,
) -> list[Article]:
    check.optional_label(state, "state")
    check.optional_label(category, "category")

    def body(call: Call) -> list[Article]:
        call.authorise("kb.read")
        return kb.list_articles(
            call.uow, published_only=_published_only(call), state=state, category=category
        )

    return runner.run(actor, "kb.read", None, now, body)


def report_kb_gap(
    runner: Runner,
    actor: Actor,
    query: str,
    *,
    ticket_id: str | None,
    now: datetime | None,
) -> KbGap:
    """ "The KB had no answer" (R-KB-3): a gap item to answer with a new article."""
    check.text(query, "query", limit=check.MAX_LINE)
    check.optional_ident(ticket_id, "ticket_id")
    gap_id = runner.new_id()

    def body(call: Call) -> KbGap:
        call.authorise("kb.read")
        if ticket_id is not None:
            call.load_visible(ticket_id, "ticket.view")
        return kb.report_kb_gap(
            call.uow, gap_id, query, reported_by=actor.id, now=call.at, ticket_id=ticket_id
        )

    return runner.run(actor, "kb.read", None, now, body)


def answer_kb_gap(
    runner: Runner,
    actor: Actor,
    gap_id: str,
    *,
    category: str,
    title: str,
    problem: str | None,
    steps: Sequence[str],
    cases: Sequence[str],
    tags: Iterable[str],
    now: datetime | None,
) -> Article:
    check.ident(gap_id, "gap_id")
    article_id = runner.new_id()

    def body(call: Call) -> Article:
        call.authorise("kb.write", target=f"gap:{gap_id}")
        return kb.answer_kb_gap(
            call.uow,
            gap_id,
            article_id,
            author=actor.id,
            now=call.at,
            category=category,
            title=title,
            problem=problem,
            steps=steps,
            cases=cases,
            tags=tags,
        )

    return runner.run(actor, "kb.write", gap_id, now, body)


def link_article(
    runner: Runner,
    actor: Actor,
    ticket_id: str,
    article_id: str,
    *,
    solved: bool,
    now: datetime | None,
) -> ArticleUse:
    """ "This article solved it": a usage link from a ticket the actor may view."""
    check.ident(ticket_id, "ticket_id")
    check.ident(article_id, "article_id")
    check.flag(solved, "solved")

    def body(call: Call) -> ArticleUse:
        call.load_visible(ticket_id, "ticket.view")
        call.authorise("kb.read", target=f"article:{article_id}")
        return kb.link_article(
            call.uow, ticket_id, article_id, actor=actor.id, now=call.at, solved=solved
        )

    return runner.run(actor, "kb.read", ticket_id, now, body)


def archive_to_kb(runner: Runner, actor: Actor, ticket_id: str, *, now: datetime | None) -> Article:
    """A solved incident's whole record as a KB draft (R-KB-4)."""
    check.ident(ticket_id, "ticket_id")
    article_id = runner.new_id()

    def body(call: Call) -> Article:
        call.load_visible(ticket_id, "ticket.view")
        call.authorise("kb.write", target=f"ticket:{ticket_id}")
        return kb.archive_to_kb(call.uow, ticket_id, article_id, author=actor.id, now=call.at)

    return runner.run(actor, "kb.write", ticket_id, now, body)
