"""HTML mail bodies as plain text, safely: stdlib :class:`html.parser.HTMLParser`, nothing run,
nothing fetched.

Script, style, head and template contents are dropped; block elements and ``<br>`` end lines;
list items start with ``- ``; ``<blockquote>`` lines are prefixed ``> `` (so quoted replies trim
like plain text); a link whose text differs from its http(s)/mailto target keeps the target in
parentheses; images contribute their ``alt`` text only (never their ``src``).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Final

_SKIP: Final = frozenset({"script", "style", "head", "title", "template", "noscript", "object"})
_BLOCK: Final = frozenset(
    {
        "p", "div", "section", "article", "header", "footer", "table", "tr", "ul", "ol", "dl",
        "h1", "h2", "h3", "h4", "h5", "h6", "pre", "hr", "form", "fieldset", "address", "dd",
        "dt", "center", "main", "nav", "aside", "figure", "body", "html",
    }
)  # fmt: skip
_PARAGRAPH: Final = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "table", "blockquote", "pre", "hr"}
)
"""Blocks set off by a blank line; other blocks, list items, rows and ``<br>`` just end a line."""
_VOID: Final = frozenset({"br", "img", "hr", "meta", "link", "input", "area", "base", "col", "wbr"})
_SPACES: Final = re.compile(r"[ \t\r\n\f\v\u00a0]+")
_MAX_DEPTH: Final = 200
_UNCLOSED_LT: Final = re.compile(r"<(?=[^<>]*(?:<|\Z))")
"""A ``<`` whose next angle bracket is another ``<`` (or none follows) opens no tag: it is text.
Escaping those first keeps :class:`HTMLParser` linear; on ``<a <a <a ...`` it re-scans the
rest of the input at every ``<`` (quadratic: 10,000 of them took half a minute)."""


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.skip_depth = 0
        self.quote_depth = 0
        self.pre_depth = 0
        self.links: list[str | None] = []
        self.link_text: list[list[str]] = []

    # -- line assembly
    def flush(self, paragraph: bool = False) -> None:
        """End the current line; ``paragraph`` also leaves one blank line after it."""
        text = "".join(self.current)
        if not self.pre_depth:
            text = _SPACES.sub(" ", text).strip()
        self.current = []
        prefix = "> " * self.quote_depth
        if text:
            self.lines.append(prefix + text)
        if paragraph and self.lines and self.lines[-1].strip("> "):
            self.lines.append(prefix.rstrip())

    def _emit(self, text: str) -> None:
        if self.link_text:
            self.link_text[-1].append(text)
        self.current.append(text)

    # -- parser callbacks
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            if tag not in _VOID:
                self.skip_depth += 1
            return
        if self.skip_depth:
            return
        if tag == "br":
            self.flush()
        elif tag in _BLOCK or tag in ("li", "blockquote", "td", "th"):
            self.flush(paragraph=tag in _PARAGRAPH)
            if tag == "blockquote":
                self.quote_depth = min(self.quote_depth + 1, _MAX_DEPTH)
            elif tag == "li":
                self._emit("- ")
            elif tag == "pre":
                self.pre_depth += 1
            elif tag in ("td", "th"):
                self._emit(" ")
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            keep = href if href.startswith(("http://", "https://", "mailto:")) else None
            self.links.append(keep)
            self.link_text.append([])
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self._emit(alt)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID or tag in _SKIP:
            if not self.skip_depth and tag in ("br", "img", "hr"):
                self.handle_starttag(tag, attrs)
            return
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            if tag not in _VOID and self.skip_depth:
                self.skip_depth -= 1
            return
        if self.skip_depth:
            return
        if tag == "a" and self.links:
            href = self.links.pop()
            shown = "".join(self.link_text.pop()).strip()
            if self.link_text:
                self.link_text[-1].append(shown)
            target = href[len("mailto:") :] if href and href.startswith("mailto:") else href
            if target and shown and target not in shown:
                self.current.append(f" ({target})")
        elif tag in _BLOCK or tag in ("li", "blockquote", "tr"):
            self.flush(paragraph=tag in _PARAGRAPH)
            if tag == "blockquote" and self.quote_depth:
                self.quote_depth -= 1
            elif tag == "pre" and self.pre_depth:
                self.pre_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip_depth:
            self._emit(data)


def html_to_text(html: str) -> str:
    """The readable text of an HTML document (rules in the module docstring)."""
    collector = _TextCollector()
    collector.feed(_UNCLOSED_LT.sub("&lt;", html))
    collector.close()
    collector.flush()
    while collector.lines and not collector.lines[-1].strip("> "):
        collector.lines.pop()
    while collector.lines and not collector.lines[0].strip("> "):
        collector.lines.pop(0)
    return "\n".join(line.rstrip() for line in collector.lines)
