"""Bytes to text for mail in the charsets the desk's users send, never failing, never dropping.

Rules, in order:

1. The declared charset, mapped to the superset codec mail clients really use (GB2312/GBK as
   GB18030, Big5 as Big5-HKSCS, Shift_JIS as CP932, EUC-KR/ks_c_5601 as CP949, ISO-8859-1 as
   CP1252), decoded strictly. A single-byte label on bytes that are valid UTF-8 is a lie: UTF-8.
2. Damaged text: the declared charset, then UTF-8, with replacement characters when at most one
   byte in 200 (at least one) is bad.
3. Unknown or lying labels: UTF-8, GB18030, Big5-HKSCS, CP932, CP949, CP1252, strictly, in that
   order (ISO-2022-JP first when the bytes carry its escape sequences).
4. Nothing decodes strictly: the candidate with the fewest replacement characters.
"""

from __future__ import annotations

import codecs
import re
from typing import Final

ALIASES: Final = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "euc-cn": "gb18030",
    "euccn": "gb18030",
    "gb_2312-80": "gb18030",
    "csgb2312": "gb18030",
    "chinese": "gb18030",
    "gb18030": "gb18030",
    "big5": "big5hkscs",
    "big-5": "big5hkscs",
    "x-big5": "big5hkscs",
    "cn-big5": "big5hkscs",
    "csbig5": "big5hkscs",
    "big5-hkscs": "big5hkscs",
    "cp950": "cp950",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "cp932": "cp932",
    "iso-2022-jp": "iso2022_jp_2",
    "csiso2022jp": "iso2022_jp_2",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "ks_c_5601-1989": "cp949",
    "ksc5601": "cp949",
    "korean": "cp949",
    "cp949": "cp949",
    "us-ascii": "ascii",
    "ascii": "ascii",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "iso_8859-1": "cp1252",
    "utf8": "utf-8",
    "utf-8": "utf-8",
}
"""Declared labels mapped to the codec that decodes what senders really wrote."""

FALLBACKS: Final = ("utf-8", "gb18030", "big5hkscs", "cp932", "cp949", "cp1252")

_NOT_TEXT: Final = frozenset({"unicode_escape", "raw_unicode_escape", "punycode", "idna"})
_SINGLE_BYTE_LABELS: Final = frozenset({"ascii", "cp1252", "latin_1", "iso8859_1"})
_ISO2022_ESCAPE: Final = re.compile(rb"\x1b[$(][@ABDJ]")


def codec_for(label: str | None) -> str | None:
    """The Python codec for a declared charset label, or None when unknown or not text."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    if not name or len(name) > 40:
        return None
    name = ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name.replace("-", "_") in _NOT_TEXT:
        return None
    return info.name


def decode_bytes(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """``data`` as text and the codec that decoded it (rules in the module docstring)."""
    if not data:
        return "", codec_for(declared) or "ascii"
    declared_codec = codec_for(declared)
    candidates: list[str] = []
    if declared_codec and declared_codec not in _SINGLE_BYTE_LABELS:
        candidates.append(declared_codec)
    if _ISO2022_ESCAPE.search(data):
        candidates.append("iso2022_jp_2")
    if declared_codec in _SINGLE_BYTE_LABELS:
        # a Latin label is the likeliest lie: UTF-8 first, then GB18030 when that reads as
        # Chinese throughout, then the label itself
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            pass
        else:
            if _reads_as_cjk(text):
                return text, "gb18030"
        candidates.append(declared_codec)
    tried: list[str] = []
    for codec in dict.fromkeys(candidates):
        tried.append(codec)
        try:
            return data.decode(codec), codec
        except (UnicodeDecodeError, LookupError):
            continue
    # damaged text (a truncated or corrupt byte or two) in the declared charset or UTF-8
    # reads better with a replacement character than strictly in a charset it never was
    allowed = max(1, len(data) // 200)
    for codec in dict.fromkeys([c for c in (declared_codec, "utf-8") if c]):
        text = data.decode(codec, errors="replace")
        if text.count("\ufffd") <= allowed:
            return text, codec
    for codec in FALLBACKS:
        if codec in tried:
            continue
        tried.append(codec)
        try:
            return data.decode(codec), codec
        except (UnicodeDecodeError, LookupError):
            continue
    best_text, best_codec, best_bad = "", "utf-8", len(data) + 1
    for codec in tried:
        try:
            text = data.decode(codec, errors="replace")
        except LookupError:
            continue
        bad = text.count("\ufffd")
        if bad < best_bad:
            best_text, best_codec, best_bad = text, codec, bad
    return best_text, best_codec


_CJK: Final = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


def _reads_as_cjk(text: str) -> bool:
    """Every non-ASCII character is CJK (ideographs, CJK punctuation, full-width forms)."""
    wide = [c for c in text if ord(c) > 127]
    return bool(wide) and all(_CJK.match(c) for c in wide)


def decode_surrogates(value: str) -> str:
    """A header value read from raw 8-bit bytes (surrogate-escaped by the parser) as text."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raw = value.encode("utf-8", errors="surrogateescape")
        return decode_bytes(raw)[0]
    return value
