"""Fold text so that what a person would call "the same words" compares equal.

:func:`fold` applies, in order: Unicode NFKC (full-width ``ＡＢＣ１２３`` -> ``ABC123``, the
ideographic space, compatibility forms), case folding, traditional -> simplified Chinese
characters (:func:`to_simplified`, OpenCC's character table), and turns every punctuation or
symbol character (``!!``, ``。``, ``——``, emoji) into a space, collapsing runs of white space.
Digits, letters and CJK characters are kept. ``fold`` is idempotent.
"""

from __future__ import annotations

import unicodedata
from typing import Final

from helpdesk_core.text.trad_simp_table import SIMPLIFIED, TRADITIONAL

TRAD_TO_SIMP: Final = str.maketrans("".join(TRADITIONAL), "".join(SIMPLIFIED))
"""A ``str.translate`` table, built once from the generated data (never changed)."""


def to_simplified(text: str) -> str:
    """``text`` with traditional Chinese characters replaced by their simplified forms
    (character by character, OpenCC's default choice where a character has several)."""
    return text.translate(TRAD_TO_SIMP)


def is_cjk(ch: str) -> bool:
    """A CJK unified ideograph (the basic block and extension A)."""
    code = ord(ch)
    return 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF


def _spaced(ch: str) -> str:
    category = unicodedata.category(ch)
    if category[0] in "PSZC":  # punctuation, symbols, separators, controls
        return " "
    return ch


SPACING_MEMO_LIMIT: Final = 1 << 16
"""How many code points :class:`_Spacing` remembers (a text of rare characters beyond them
is still folded right, one ``unicodedata.category`` call per character)."""


class _Spacing(dict[int, str]):
    """A ``str.translate`` table: code point -> itself, or a space for punctuation, symbols,
    separators and controls (:func:`_spaced`), filled on first sight up to
    :data:`SPACING_MEMO_LIMIT` entries. A memo of a pure function of the code point: what it
    holds never depends on anything but the Unicode database."""

    def __missing__(self, code: int) -> str:
        value = _spaced(chr(code))
        if len(self) < SPACING_MEMO_LIMIT:
            self[code] = value
        return value


_SPACING: Final = _Spacing()


def fold(text: str) -> str:
    """Width-, case-, script- and punctuation-insensitive form of ``text`` (see module doc)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = to_simplified(folded)
    # NFKC can re-expose characters the table maps (compatibility ideographs), so once more
    folded = to_simplified(unicodedata.normalize("NFKC", folded))
    return " ".join(folded.translate(_SPACING).split())
