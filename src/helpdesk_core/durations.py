"""Durations at the edges: "2h30m", ISO 8601 "PT2H30M" / "P1D", timedelta or pendulum Duration,
and readable durations for explain texts (en, zh-CN) through pendulum."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Final

import pendulum

from helpdesk_core.errors import ValidationError

_COMPACT: Final = re.compile(
    r"^\s*(?:(?P<w>\d+)\s*w)?\s*(?:(?P<d>\d+)\s*d)?\s*(?:(?P<h>\d+)\s*h)?\s*"
    r"(?:(?P<m>\d+)\s*m(?:in)?)?\s*(?:(?P<s>\d+(?:\.\d+)?)\s*s)?\s*$",
    re.IGNORECASE,
)
_ISO: Final = re.compile(
    r"^(?P<sign>-)?P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
LOCALES: Final = {"en": "en", "zh-CN": "zh", "zh": "zh"}
MAX_DURATION: Final = timedelta(days=3650)
"""The longest duration anything takes (ten years): beyond it a figure is a typo."""


def parse_duration(value: Any, field: str = "duration") -> timedelta:
    """A duration from ``"2h30m"``, ``"90m"``, ``"1d"``, ``"1w2d"``, ``"45s"``, ISO 8601
    (``"PT2H30M"``, ``"P1D"``, ``"P1W"``; no years or months: their length varies), a
    ``timedelta`` or a pendulum ``Duration``. A bare number is refused (seconds or minutes?).
    Negative compact durations are written ``"-2h"``."""
    if isinstance(value, timedelta):
        if abs(value) > MAX_DURATION:
            raise ValidationError(field, f"must be at most {MAX_DURATION.days:,} days, got {value}")
        return timedelta(days=value.days, seconds=value.seconds, microseconds=value.microseconds)
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValidationError(
            field, f"must be a duration such as '2h30m' or 'PT2H30M', got {value!r}"
        )
    text = value.strip()
    negative = text.startswith("-")
    body = text[1:] if negative else text
    iso = _ISO.match(text)
    match = iso or _COMPACT.match(body)
    if match is None or not text or not any(match.group(k) for k in "wdhms"):
        raise ValidationError(
            field, f"must be a duration such as '2h30m', '1d' or 'PT2H30M', got {value!r}"
        )
    parts = {k: float(match.group(k) or 0) for k in "wdhms"}
    total = (
        parts["w"] * 604_800 + parts["d"] * 86_400 + parts["h"] * 3_600 + parts["m"] * 60
    ) + parts["s"]
    if total > MAX_DURATION.total_seconds():
        raise ValidationError(field, f"must be at most {MAX_DURATION.days:,} days, got {value!r}")
    result = timedelta(seconds=total)
    if iso is not None:
        negative = bool(iso.group("sign"))
    return -result if negative else result


def human(duration: timedelta, locale: str = "en") -> str:
    """A readable duration: ``human(timedelta(minutes=90))`` is "1 hour 30 minutes"; with
    ``locale="zh-CN"`` it is "1小时 30分钟"."""
    if locale not in LOCALES:
        raise ValidationError("locale", f"must be one of {sorted(LOCALES)}, got {locale!r}")
    sign = "-" if duration < timedelta(0) else ""
    duration = abs(duration)
    if duration < timedelta(seconds=1):
        return {"en": "0 seconds", "zh": "0秒"}[LOCALES[locale]]
    seconds = int(duration.total_seconds())
    words = pendulum.duration(seconds=seconds).in_words(locale=LOCALES[locale])
    return sign + str(words)
