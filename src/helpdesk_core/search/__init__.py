"""Full-text search: text analysis, a BM25F index, highlights, and the ticket and article
search built on them (issue 21). Pure Python: no I/O, no third-party library."""

from helpdesk_core.search.highlight import highlight
from helpdesk_core.search.index import Match, SearchIndex
from helpdesk_core.search.text import Token, analyse, normalise, query_terms

__all__ = ["Match", "SearchIndex", "Token", "analyse", "highlight", "normalise", "query_terms"]
