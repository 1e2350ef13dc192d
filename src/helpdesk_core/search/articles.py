"""Knowledge-base search (``desk.search_kb``): the ticket engine over article fields.

:class:`ArticleSearch` keeps two indexes: every article's latest version (agents, writers and
reviewers search drafts too) and every published version (readers limited to published
articles, such as customers). Retired articles are in neither.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from helpdesk_core.model.hits import ArticleHit
from helpdesk_core.model.knowledge import Article, readable_version
from helpdesk_core.search.highlight import highlight
from helpdesk_core.search.index import SearchIndex
from helpdesk_core.search.tickets import check_limit, check_query

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
