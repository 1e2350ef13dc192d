"""Search text analysis: normalisation and tokenisation (R-KB-3, issue 21).

Semantics, cited by tests and docs/search.md:

1. :func:`normalise` folds width and compatibility forms (NFKC), case (``casefold``), accents
   (combining marks removed after canonical decomposition) and traditional Chinese characters to
   simplified ones (OpenCC's character table, :mod:`helpdesk_core.text.trad_simp_table`). It is
   idempotent: ``normalise(normalise(s)) == normalise(s)``.
2. :func:`analyse` cuts the *original* text into :class:`Token` s whose ``start``/``end`` index
   that text (so highlights can mark it) and whose ``term`` is normalised:

   - a latin (or any non-CJK) word is one term; words joined by ``- _ . / : #`` form a compound:
     a compound containing a digit is an **identifier** kept whole (``SO-2026-0042`` ->
     ``so-2026-0042``, ``T20261102000001``), any other compound is split into its words;
   - a run of CJK characters (Han, kana) gives every character (a unigram) and every pair of
     neighbours (a bigram): Chinese has no spaces, and bigrams match words without a dictionary.
3. :func:`query_terms` gives a query's terms: words and identifiers as above; a CJK run of two or
   more characters gives its bigrams only (a single character gives itself), because unigrams
   match far too much; the unigrams remain a fallback of the partial path in the index.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from typing import Final

import attrs

from helpdesk_core.text.trad_simp_table import SIMPLIFIED, TRADITIONAL

_TO_SIMPLIFIED: Final = str.maketrans(TRADITIONAL, SIMPLIFIED)

_CJK: Final = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_MARKS: Final = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_WORD_CHAR: Final = rf"(?:(?![{_CJK}])[^\W_]|[{_MARKS}])"
_JOINERS: Final = r"[-_./:#]"
_TOKEN: Final = re.compile(
    rf"(?P<word>{_WORD_CHAR}+(?:{_JOINERS}{_WORD_CHAR}+)*)|(?P<cjk>[{_CJK}]+)"
)
_SPLIT: Final = re.compile(_JOINERS)
_DIGIT: Final = re.compile(r"\d")
MAX_TERM: Final = 64
"""Longer words are cut to this many characters: no real query needs more."""


def _fold_once(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFKC", stripped).translate(_TO_SIMPLIFIED)


def normalise(text: str) -> str:
    """``text`` folded for matching (width, case, accents, traditional -> simplified)."""
    if text.isascii():  # NFKC, NFD and the Chinese table leave ASCII alone; casefold = lower
        return text.lower()
    folded = _fold_once(text)
    # Casefolding or stripping can expose a new compatibility form; fold to the fixed point
    # (two rounds settle every string seen by the property test; four is a safe bound).
    for _ in range(3):
        again = _fold_once(folded)
        if again == folded:
            break
        folded = again
    return folded


@attrs.frozen
class Token:
    """One indexable term and where it came from in the analysed text."""

    term: str
    start: int
    end: int
    kind: str
    """``word``, ``ident``, ``cjk1`` (one character) or ``cjk2`` (a bigram)."""


_CJK_TERM: Final = re.compile(f"[{_CJK}]+")


def is_cjk_term(term: str) -> bool:
    return bool(term) and _CJK_TERM.fullmatch(term) is not None


def _memo(fold: Callable[[str], str]) -> Callable[[str], str]:
    """``fold`` remembered for one text's analysis (its words repeat: quoted replies...)."""
    seen: dict[str, str] = {}

    def remembered(text: str) -> str:
        found = seen.get(text)
        if found is None:
            found = seen[text] = fold(text)
        return found

    return remembered


def _words(match: re.Match[str], fold: Callable[[str], str] = normalise) -> Iterator[Token]:
    text, start = match.group(), match.start()
    if _DIGIT.search(text) or not _SPLIT.search(text):
        term = fold(text)[:MAX_TERM]
        if term:
            yield Token(term, start, match.end(), "ident" if _DIGIT.search(text) else "word")
        return
    pos = 0
    for part in _SPLIT.split(text):
        term = fold(part)[:MAX_TERM]
        if term:
            yield Token(term, start + pos, start + pos + len(part), "word")
        pos += len(part) + 1


def _cjk(match: re.Match[str], *, unigrams: bool) -> Iterator[Token]:
    text, start = match.group(), match.start()
    folded = normalise(text)
    if len(folded) != len(text):  # pragma: no cover - the table maps one char to one char
        folded = "".join(normalise(c)[:1] or c for c in text)
    if len(text) == 1 or unigrams:
        for i, char in enumerate(folded):
            yield Token(char, start + i, start + i + 1, "cjk1")
    for i in range(len(folded) - 1):
        yield Token(folded[i : i + 2], start + i, start + i + 2, "cjk2")


def analyse(text: str) -> list[Token]:
    """Every indexable token of ``text`` in order (semantics 2)."""
    tokens: list[Token] = []
    fold = _memo(normalise)
    for match in _TOKEN.finditer(text):
        if match.group("word") is not None:
            tokens.extend(_words(match, fold))
        else:
            tokens.extend(_cjk(match, unigrams=True))
    return tokens


def query_terms(query: str) -> list[str]:
    """The distinct terms a query searches for, in query order (semantics 3)."""
    seen: dict[str, None] = {}
    for match in _TOKEN.finditer(query):
        tokens = _words(match) if match.group("word") is not None else _cjk(match, unigrams=False)
        for token in tokens:
            seen.setdefault(token.term, None)
    return list(seen)
