"""Knowledge-base search (``desk.search_kb``): the ticket engine over article fields.

:class:`ArticleSearch` keeps two indexes: every article's latest version (agents, writers and
reviewers search drafts too) and every published version (readers limited to published
articles, such as customers). Retired articles are in neither.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Final

from helpdesk_core.model.hits import ArticleHit
from helpdesk_core.model.knowledge import Article, readable_version
from helpdesk_core.search.highlight import highlight
from helpdesk_core.search.index import SearchIndex
from helpdesk_core.search.tickets import check_limit, check_query

Stamp = tuple[int, str, int | None, str]
"""What identifies an article's state: latest version, state, published version, update time
(every article write changes at least one of them)."""

ARTICLE_FIELDS: Final = ("title", "problem", "steps", "cases", "tags")
ARTICLE_WEIGHTS: Final = {"title": 2.0, "tags": 1.5}


class ArticleSearch:
    """Both article indexes; feed it each article's versions whenever one is saved."""

    def __init__(self) -> None:
        self.current = SearchIndex(ARTICLE_FIELDS, weights=ARTICLE_WEIGHTS)
        self.published = SearchIndex(ARTICLE_FIELDS, weights=ARTICLE_WEIGHTS)

    def put(self, versions: Sequence[Article]) -> None:
        """(Re-)index one article from all its versions, oldest first."""
        if not versions:
            return
        article_id = versions[-1].id
        for index, published_only in ((self.current, False), (self.published, True)):
            chosen = readable_version(versions, published_only=published_only)
            if chosen is None or chosen.state == "retired":
                index.remove(article_id)
            else:
                index.add(article_id, chosen.text_fields)

    def search(
        self,
        query: str,
        *,
        published_only: bool,
        load: Callable[[str], Article | None],
        limit: int = 20,
    ) -> list[ArticleHit]:
        """Hits for ``query``: ``load(article_id)`` returns the version this reader gets."""
        terms = check_query(query)
        limit = check_limit(limit)
        index = self.published if published_only else self.current
        loaded: dict[str, Article] = {}

        def keep(article_id: str) -> bool:
            article = load(article_id)
            if article is not None:
                loaded[article_id] = article
            return article is not None

        hits: list[ArticleHit] = []
        for match in index.rank(terms, ARTICLE_FIELDS, limit, keep=keep):
            article = loaded[match.doc_id]
            texts = article.text_fields
            snippets: list[str] = []
            for name in ARTICLE_FIELDS:
                if len(snippets) < 3:
                    snippets.extend(highlight(texts[name], match.terms, limit=3 - len(snippets)))
            hits.append(ArticleHit(article, match.score, tuple(snippets)))
        return hits


def article_stamp(latest: Article) -> Stamp:
    return (latest.version, latest.state, latest.published_version, latest.updated_at.isoformat())


class ArticleSearchCache:
    """One desk's :class:`ArticleSearch`, kept between ``search_kb`` calls (issue 21): the
    runner holds it, so it is per desk, never process-wide.

    :meth:`refresh` is handed the latest version of every article (one read the search makes
    anyway) and re-indexes only the articles whose stamp (:func:`article_stamp`) changed since
    the last call, and forgets deleted ones; an article write, through this desk or any other
    process, changes the stamp, so no write is missed. Safe across threads.
    """

    def __init__(self) -> None:
        self._search = ArticleSearch()
        self._stamps: dict[str, Stamp] = {}
        self._readable: dict[bool, dict[str, Article]] = {False: {}, True: {}}
        self._lock = threading.Lock()
        self.reindexed = 0
        """How many articles were (re-)indexed since the cache was made (tests read it)."""

    def refresh(
        self, latest: Iterable[Article], load: Callable[[str, int], Article | None]
    ) -> None:
        """Bring the indexes up to the ``latest`` versions; ``load(id, version)`` reads an
        older version (the published one) when an article changed."""
        with self._lock:
            seen: set[str] = set()
            for article in latest:
                seen.add(article.id)
                stamp = article_stamp(article)
                if self._stamps.get(article.id) == stamp:
                    continue
                self._put(article, load)
                self._stamps[article.id] = stamp
                self.reindexed += 1
            for gone in set(self._stamps) - seen:
                del self._stamps[gone]
                self._search.current.remove(gone)
                self._search.published.remove(gone)
                for readable in self._readable.values():
                    readable.pop(gone, None)

    def _put(self, latest: Article, load: Callable[[str, int], Article | None]) -> None:
        published: Article | None = None
        if latest.published_version == latest.version:
            published = latest
        elif latest.published_version is not None:
            published = load(latest.id, latest.published_version)
        self._search.put([published, latest] if published not in (None, latest) else [latest])
        self._readable[False][latest.id] = latest
        if published is None:
            self._readable[True].pop(latest.id, None)
        else:
            self._readable[True][latest.id] = published

    def search(self, query: str, *, published_only: bool, limit: int = 20) -> list[ArticleHit]:
        """:meth:`ArticleSearch.search` over the indexes as of the last :meth:`refresh`."""
        with self._lock:
            readable = self._readable[published_only]
            return self._search.search(
                query, published_only=published_only, load=readable.get, limit=limit
            )
