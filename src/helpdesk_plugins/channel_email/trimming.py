"""The new part of an appended reply: the text above the quoted original and the signature.

A reply is cut at the first of these lines (English and zh-CN clients):

1. an attribution: ``On <date>, <name> wrote:`` (also wrapped over two lines), ``在 <date>，
   <name> 写道：``, ``<name> 于 <date> 写道：``;
2. a forwarded/original header: ``-----Original Message-----``, ``------ 原始邮件 ------``,
   ``---------- Forwarded message ---------``, or a ``From:``/``发件人：`` line followed within
   three lines by ``Sent:``/``Date:``/``To:``/``发送时间：``/``日期：``/``收件人：`` (Outlook);
3. a signature delimiter ``-- `` (RFC 3676; ``--`` alone too) or a mobile footer ("Sent from
   my iPhone", "发自我的iPhone");

then trailing ``>``-quoted lines and blank lines are dropped. Quotes interleaved with new text
stay. If nothing would remain, the whole text is the reply (never drop the text).
"""

from __future__ import annotations

import re
from typing import Final

_ATTRIBUTION: Final = (
    re.compile(r"^\s*On\b.{0,300}\bwrote\s*:\s*$", re.IGNORECASE),
    re.compile(r"^\s*在.{0,300}写道\s*[：:]\s*$"),
    re.compile(r"^.{0,200}于.{0,120}写道\s*[：:]\s*$"),
    re.compile(r"^\s*Le\b.{0,300}\ba écrit\s*:\s*$", re.IGNORECASE),
)
_ATTRIBUTION_START: Final = (
    re.compile(r"^\s*On\b.{0,200}$", re.IGNORECASE),
    re.compile(r"^\s*在.{0,200}$"),
)
_ATTRIBUTION_END: Final = (
    re.compile(r"^.{0,200}\bwrote\s*:\s*$"),
    re.compile(r"^.{0,200}写道\s*[：:]\s*$"),
)
_SEPARATOR: Final = re.compile(
    r"^\s*(-{2,}\s*(Original Message|原始邮件|Forwarded message|转发的邮件"
    r"|Weitergeleitete Nachricht)\s*-{2,}|_{20,})\s*$",
    re.IGNORECASE,
)
_HEADER_FROM: Final = re.compile(r"^\s*\*?(From|发件人|寄件者)\s*\*?\s*[:：]", re.IGNORECASE)
_HEADER_NEXT: Final = re.compile(
    r"^\s*\*?(Sent|Date|To|Subject|发送时间|日期|收件人|时间|主题)\s*\*?\s*[:：]", re.IGNORECASE
)
_SIGNATURE: Final = re.compile(r"^--\s?$")
_MOBILE: Final = re.compile(
    r"^\s*(Sent from my .{1,40}|发自我的.{1,20}|从我的.{1,20}发送)\s*$", re.I
)
_QUOTED: Final = re.compile(r"^\s*>")


def _cut_index(lines: list[str]) -> int | None:
    for i, line in enumerate(lines):
        if any(p.match(line) for p in _ATTRIBUTION):
            return i
        if (
            i + 1 < len(lines)
            and any(p.match(line) for p in _ATTRIBUTION_START)
            and any(p.match(lines[i + 1]) for p in _ATTRIBUTION_END)
            and (i + 2 == len(lines) or not lines[i + 2].strip() or _QUOTED.match(lines[i + 2]))
        ):
            return i
        if _SEPARATOR.match(line) or _SIGNATURE.match(line) or _MOBILE.match(line):
            return i
        if _HEADER_FROM.match(line) and any(_HEADER_NEXT.match(n) for n in lines[i + 1 : i + 4]):
            return i
    return None


def trim_reply(text: str) -> str:
    """The new text of a reply (rules in the module docstring)."""
    lines = text.splitlines()
    cut = _cut_index(lines)
    kept = lines if cut is None else lines[:cut]
    while kept and (not kept[-1].strip() or _QUOTED.match(kept[-1])):
        kept.pop()
    trimmed = "\n".join(kept).strip()
    return trimmed or text.strip()
