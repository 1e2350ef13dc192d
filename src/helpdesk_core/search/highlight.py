"""Highlights: short snippets of a field's text with matched terms wrapped in ``<mark>``.

The text around the marks is HTML-escaped, so a snippet is safe to put into a page as is.
"""

from __future__ import annotations

import html
from collections.abc import Collection
from typing import Final

from helpdesk_core.search.text import analyse

CONTEXT: Final = 40
"""Characters of context kept on each side of a group of marks."""


def _spans(text: str, terms: Collection[str]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for token in analyse(text):
        if token.term not in terms:
            continue
        if merged and token.start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], token.end))
        else:
            merged.append((token.start, token.end))
    return merged


def highlight(
    text: str, terms: Collection[str], *, context: int = CONTEXT, limit: int = 2
) -> list[str]:
    """Up to ``limit`` snippets of ``text`` where ``terms`` (normalised index terms) occur.

    Each snippet covers a window of ``context`` characters around one or more nearby matches,
    with ``…`` where text was cut; no match, no snippet.
    """
    spans = _spans(text, terms)
    windows: list[list[tuple[int, int]]] = []
    for span in spans:
        if windows and span[0] - windows[-1][-1][1] <= context:
            windows[-1].append(span)
        else:
            windows.append([span])
    snippets: list[str] = []
    for group in windows[:limit]:
        start = max(0, group[0][0] - context)
        end = min(len(text), group[-1][1] + context)
        parts = ["…" if start > 0 else ""]
        at = start
        for left, right in group:
            parts.append(html.escape(text[at:left]))
            parts.append(f"<mark>{html.escape(text[left:right])}</mark>")
            at = right
        parts.append(html.escape(text[at:end]))
        parts.append("…" if end < len(text) else "")
        snippets.append(" ".join("".join(parts).split()))
    return snippets
