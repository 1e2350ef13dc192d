"""Ticket search: which fields a ticket is searched by, and hits with highlights.

A ticket document has five fields: ``number`` (the ticket number, x3), ``subject`` (x2),
``description``, ``messages``
(public: agents' replies and the customer's messages) and ``notes`` (internal notes), kept
apart so a caller without ``ticket.view_notes`` searches and highlights without them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Final

from helpdesk_core.errors import ValidationError
from helpdesk_core.model.hits import SearchHit
from helpdesk_core.model.tickets import Ticket
from helpdesk_core.search.highlight import highlight
from helpdesk_core.search.index import Match, SearchIndex
from helpdesk_core.search.text import query_terms

TICKET_FIELDS: Final = ("number", "subject", "description", "messages", "notes")
TICKET_WEIGHTS: Final = {"number": 3.0, "subject": 2.0}
PUBLIC_FIELDS: Final = ("number", "subject", "description", "messages")
MAX_QUERY: Final = 500
"""Queries longer than this many characters are refused: nobody types more."""


def check_query(query: object) -> list[str]:
    """The terms of a query, or ``ValidationError('query')`` when it has none (empty,
    whitespace, punctuation only), is not text, or is absurdly long."""
    if not isinstance(query, str):
        raise ValidationError("query", f"expected text, got {type(query).__name__}")
    if len(query) > MAX_QUERY:
        raise ValidationError("query", f"at most {MAX_QUERY} characters, got {len(query)}")
    if not query.strip():
        raise ValidationError("query", "must not be empty or whitespace")
    terms = query_terms(query)
    if not terms:
        raise ValidationError("query", "give at least one word, number or character")
    return terms


def check_limit(limit: object) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1000:
        raise ValidationError("limit", f"must be an integer from 1 to 1000, got {limit!r}")
    return limit


def ticket_fields(ticket: Ticket) -> dict[str, str]:
    """A ticket's search fields (see the module docstring)."""
    return {
        "number": ticket.number,
        "subject": ticket.subject,
        "description": ticket.description,
        "messages": "\n".join(m.body for m in ticket.messages if m.public),
        "notes": "\n".join(m.body for m in ticket.messages if not m.public),
    }


def searchable_fields(*, may_read_notes: bool, unreadable: Collection[str] = ()) -> tuple[str, ...]:
    """The fields a reader searches: without ``notes`` unless it may read them, and without any
    field its role hides or masks (``unreadable``, e.g. ``description``), so a hit never
    reveals text the reader cannot see."""
    fields = TICKET_FIELDS if may_read_notes else PUBLIC_FIELDS
    return tuple(f for f in fields if f not in unreadable)


def ticket_index(tickets: Iterable[Ticket] = ()) -> SearchIndex:
    """A new index of ``tickets`` (add more with ``index.add(t.id, ticket_fields(t))``)."""
    index = SearchIndex(TICKET_FIELDS, weights=TICKET_WEIGHTS)
    for ticket in tickets:
        index.add(ticket.id, ticket_fields(ticket))
    return index


def ticket_highlights(
    ticket: Ticket, terms: Iterable[str], fields: Sequence[str], *, limit: int = 3
) -> tuple[str, ...]:
    """Snippets from ``fields`` of ``ticket`` (as the reader may see it) marking ``terms``."""
    wanted = frozenset(terms)
    texts = ticket_fields(ticket)
    snippets: list[str] = []
    for name in fields:
        if len(snippets) >= limit:
            break
        snippets.extend(highlight(texts[name], wanted, limit=limit - len(snippets)))
    return tuple(snippets)


def search_tickets(
    index: SearchIndex,
    query: str,
    *,
    may_read_notes: bool,
    visible: Callable[[str], Ticket | None],
    limit: int = 20,
) -> list[SearchHit]:
    """Hits for ``query``, best first: ``visible(ticket_id)`` returns the ticket as the reader
    may see it (masked), or None when it is outside the reader's scope (then it is skipped)."""
    terms = check_query(query)
    limit = check_limit(limit)
    fields = searchable_fields(may_read_notes=may_read_notes)
    seen: dict[str, Ticket] = {}

    def keep(ticket_id: str) -> bool:
        ticket = visible(ticket_id)
        if ticket is not None:
            seen[ticket_id] = ticket
        return ticket is not None

    return [
        SearchHit(seen[m.doc_id], m.score, ticket_highlights(seen[m.doc_id], m.terms, fields))
        for m in index.rank(terms, fields, limit, keep=keep)
    ]


def hits_for(matches: Iterable[tuple[Ticket, Match]], fields: Sequence[str]) -> list[SearchHit]:
    """Hits with highlights for ``(ticket as the reader may see it, match)`` pairs (what
    ``UnitOfWork.search_tickets`` returns, after masking)."""
    return [SearchHit(t, m.score, ticket_highlights(t, m.terms, fields)) for t, m in matches]
