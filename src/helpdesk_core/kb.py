"""Knowledge-base commands as functions of one unit of work (R-KB-1..4, issue 21).

Each function is the whole decision of one command after the runner has authorised the actor
(``kb.read``, ``kb.write``, ``kb.review``) and opened the transaction: it loads, decides with
:mod:`helpdesk_core.model.knowledge`, saves, and returns. The facade delegates to them in one
line each; none reads the clock or checks permissions itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from helpdesk_core.errors import NotFound
from helpdesk_core.model import knowledge as kb
from helpdesk_core.model.hits import ArticleHit
from helpdesk_core.model.knowledge import Article, ArticleUse, KbGap, Usage
from helpdesk_core.ports import UnitOfWork
from helpdesk_core.search.articles import ArticleSearchCache


def _latest(uow: UnitOfWork, article_id: str) -> Article:
    article = uow.get_article(article_id)
    if article is None:
        raise NotFound("article", article_id)
    return article


def create_article(
    uow: UnitOfWork,
    article_id: str,
    *,
    author: str,
    now: datetime,
    category: str,
    title: str,
    problem: str = "",
    steps: Sequence[str] = (),
    cases: Sequence[str] = (),
    tags: Iterable[str] = (),
) -> Article:
    """``create_article``: a new draft, version 1."""
    article = kb.new_article(
        article_id,
        category=category,
        title=title,
        problem=problem,
        steps=steps,
        cases=cases,
        tags=tags,
        author=author,
        now=now,
    )
    uow.save_article(article)
    return article


def update_article(
    uow: UnitOfWork, article_id: str, *, author: str, now: datetime, **changes: Any
) -> Article:
    """``update_article``: the next version with ``changes``."""
    article = kb.update_article(_latest(uow, article_id), author=author, now=now, **changes)
    uow.save_article(article)
    return article


def submit_article(uow: UnitOfWork, article_id: str, *, author: str, now: datetime) -> Article:
    """``submit_article``: draft -> in_review."""
    article = kb.submit_article(_latest(uow, article_id), author=author, now=now)
    uow.save_article(article)
    return article


def publish_article(
    uow: UnitOfWork,
    article_id: str,
    *,
    reviewer: str,
    now: datetime,
    approve: bool = True,
    comment: str | None = None,
) -> Article:
    """``publish_article``: approve (publish) or send back to draft with a comment."""
    article = kb.review_article(
        _latest(uow, article_id), reviewer=reviewer, now=now, approve=approve, comment=comment
    )
    uow.save_article(article)
    return article


def retire_article(uow: UnitOfWork, article_id: str, *, author: str, now: datetime) -> Article:
    """``retire_article``: published -> retired."""
    article = kb.retire_article(_latest(uow, article_id), author=author, now=now)
    uow.save_article(article)
    return article


def readable_article(uow: UnitOfWork, article_id: str, *, published_only: bool) -> Article | None:
    """The version a reader gets: the latest, or only the published one (None if none)."""
    latest = uow.get_article(article_id)
    if latest is None or not published_only:
        return latest
    if latest.published_version is None:
        return None
    if latest.published_version == latest.version:
        return latest
    return uow.get_article(article_id, latest.published_version)


def get_article(
    uow: UnitOfWork, article_id: str, *, reader: str, now: datetime, published_only: bool
) -> Article:
    """``get_article``: the readable version (:class:`NotFound` if none); counts a view."""
    article = readable_article(uow, article_id, published_only=published_only)
    if article is None:
        raise NotFound("article", article_id)
    uow.add_article_use(ArticleUse(article_id, "view", reader, now))
    return article


def list_articles(
    uow: UnitOfWork,
    *,
    published_only: bool,
    state: str | None = None,
    category: str | None = None,
) -> list[Article]:
    """``articles``: the readable version of each article, by id, optionally filtered by the
    state and category of the latest version."""
    found: list[Article] = []
    for latest in uow.articles(state):
        if category is not None and latest.category != category:
            continue
        article = (
            readable_article(uow, latest.id, published_only=True) if published_only else latest
        )
        if article is not None:
            found.append(article)
    return found


def search_kb(
    uow: UnitOfWork,
    query: str,
    *,
    published_only: bool,
    limit: int = 20,
    cache: ArticleSearchCache | None = None,
) -> list[ArticleHit]:
    """``search_kb``: articles matching ``query``, best first (same engine and hit shape as
    ticket search), over the readable, non-retired versions. ``cache`` (the desk's, held by
    the runner) keeps the index between calls and re-indexes only the articles written since
    the last one; without it the whole KB is indexed for this call."""
    cache = cache if cache is not None else ArticleSearchCache()
    cache.refresh(uow.articles(), lambda article_id, v: uow.get_article(article_id, v))
    return cache.search(query, published_only=published_only, limit=limit)


def report_kb_gap(
    uow: UnitOfWork,
    gap_id: str,
    query: str,
    *,
    reported_by: str,
    now: datetime,
    ticket_id: str | None = None,
) -> KbGap:
    """``report_kb_gap``: record a question the KB did not answer."""
    if ticket_id is not None and uow.get_ticket(ticket_id) is None:
        raise NotFound("ticket", ticket_id)
    gap = kb.report_gap(gap_id, query, reported_by=reported_by, now=now, ticket_id=ticket_id)
    uow.save_gap(gap)
    return gap


def answer_kb_gap(
    uow: UnitOfWork,
    gap_id: str,
    article_id: str,
    *,
    author: str,
    now: datetime,
    category: str,
    title: str,
    problem: str | None = None,
    steps: Sequence[str] = (),
    cases: Sequence[str] = (),
    tags: Iterable[str] = (),
) -> Article:
    """Answer a gap: a draft linked to it; the gap is marked answered."""
    gap = uow.get_gap(gap_id)
    if gap is None:
        raise NotFound("gap", gap_id)
    answered, article = kb.answer_gap(
        gap,
        article_id,
        category=category,
        title=title,
        problem=problem,
        steps=steps,
        cases=cases,
        tags=tags,
        author=author,
        now=now,
    )
    uow.save_article(article)
    uow.save_gap(answered)
    return article


def link_article(
    uow: UnitOfWork,
    ticket_id: str,
    article_id: str,
    *,
    actor: str,
    now: datetime,
    solved: bool = True,
) -> ArticleUse:
    """``link_article``: a ticket used the article ("this solved it" when ``solved``)."""
    if uow.get_ticket(ticket_id) is None:
        raise NotFound("ticket", ticket_id)
    _latest(uow, article_id)
    use = ArticleUse(article_id, "link", actor, now, ticket_id=ticket_id, solved=solved)
    uow.add_article_use(use)
    return use


def article_usage(uow: UnitOfWork, article_id: str) -> Usage:
    """Views, linked tickets and solved tickets of one article (the KB-usage KPI)."""
    return kb.usage_of(uow.article_uses(article_id))


def archive_to_kb(
    uow: UnitOfWork, ticket_id: str, article_id: str, *, author: str, now: datetime
) -> Article:
    """``archive_to_kb``: a solved ticket's whole record as a new draft (R-KB-4)."""
    ticket = uow.get_ticket(ticket_id)
    if ticket is None:
        raise NotFound("ticket", ticket_id)
    article = kb.archive_ticket(
        ticket, uow.ticket_events(ticket_id), article_id, author=author, now=now
    )
    uow.save_article(article)
    return article
