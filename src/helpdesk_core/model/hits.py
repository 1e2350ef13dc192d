"""Search results: a ranked ticket or article with highlighted snippets (issue 21)."""

from __future__ import annotations

import attrs

from helpdesk_core.model.knowledge import Article
from helpdesk_core.model.tickets import Ticket


@attrs.frozen
class SearchHit:
    """A ticket found by ``desk.search``: as the actor may see it, its score, and snippets of
    the fields the actor may read with the matched words wrapped in ``<mark>...</mark>``."""

    ticket: Ticket
    score: float
    highlights: tuple[str, ...]


@attrs.frozen
class ArticleHit:
    """A knowledge-base article found by ``desk.search_kb`` (same shape as :class:`SearchHit`)."""

    article: Article
    score: float
    highlights: tuple[str, ...]
