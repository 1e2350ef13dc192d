"""Parameter checks at the door: every public command validates what it is given here, once,
before any storage work, and the same way on every store (R-SEC-1).

Each check raises :class:`~helpdesk_core.errors.ValidationError` naming the parameter and what is
wrong with the value. The limits are documented in ``docs/configuration.md`` ("Limits"):

=====================  =============================================================
ids                    non-empty ``str``, no NUL, at most :data:`MAX_ID` characters
names (tags, teams...) non-empty ``str``, no NUL or line breaks, at most :data:`MAX_NAME`
one-line text          subject, summary, reason: at most :data:`MAX_LINE` characters
long text              description, message body: at most :data:`MAX_TEXT` characters
any text               no NUL character and no lone surrogate (not valid Unicode text)
=====================  =============================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from helpdesk_core.errors import ValidationError

MAX_ID: Final = 200
MAX_NAME: Final = 100
MAX_LINE: Final = 1_000
MAX_TEXT: Final = 100_000
MAX_NAMES: Final = 100
"""The most names (tags, steps) one parameter may carry."""


def _clean(value: str, name: str) -> str:
    if "\x00" in value:
        raise ValidationError(name, "contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(name, "contains a lone surrogate (not valid Unicode text)") from None
    return value


def text(value: object, name: str, *, limit: int = MAX_TEXT, required: bool = True) -> str:
    """A ``str`` without NUL or lone surrogates, at most ``limit`` characters; when
    ``required``, not blank."""
    if not isinstance(value, str):
        raise ValidationError(name, f"must be text, got {type(value).__name__}")
    if required and not value.strip():
        raise ValidationError(name, "must be a non-empty string")
    if len(value) > limit:
        raise ValidationError(name, f"is {len(value):,} characters long; at most {limit:,}")
    return _clean(value, name)


def optional_text(value: object, name: str, *, limit: int = MAX_LINE) -> str | None:
    """``None`` or :func:`text` (blank allowed)."""
    return None if value is None else text(value, name, limit=limit, required=False)


def ident(value: object, name: str) -> str:
    """An id: a non-empty ``str`` without NUL, at most :data:`MAX_ID` characters."""
    if not isinstance(value, str) or not value:
        raise ValidationError(name, f"must be a non-empty id string, got {value!r:.60}")
    if len(value) > MAX_ID:
        raise ValidationError(name, f"is {len(value):,} characters long; ids have at most {MAX_ID}")
    return _clean(value, name)


def optional_ident(value: object, name: str) -> str | None:
    return None if value is None else ident(value, name)


def label(value: object, name: str, allowed: Sequence[str] | None = None) -> str:
    """A name of some kind (tag, team, organisation, channel...): a short one-line ``str``,
    one of ``allowed`` when the desk declares the list."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(name, f"must be a non-empty name, got {value!r:.60}")
    if len(value) > MAX_NAME or "\n" in value or "\r" in value:
        raise ValidationError(name, f"must be one line of at most {MAX_NAME} characters")
    _clean(value, name)
    if allowed is not None and value not in allowed:
        raise ValidationError(name, f"must be one of {list(allowed)}, got {value!r}")
    return value


def optional_label(value: object, name: str, allowed: Sequence[str] | None = None) -> str | None:
    return None if value is None else label(value, name, allowed)


def labels(value: object, name: str) -> frozenset[str]:
    """An iterable of names (never one bare string), at most :data:`MAX_NAMES` of them."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationError(name, "must be a list of strings, not one string")
    found = list(value)
    if len(found) > MAX_NAMES:
        raise ValidationError(name, f"has {len(found)} items; at most {MAX_NAMES}")
    return frozenset(label(item, f"{name}[{i}]") for i, item in enumerate(found))


def lines(value: object, name: str) -> tuple[str, ...]:
    """An iterable of one-line texts (steps tried...), never one bare string."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationError(name, "must be a list of strings, not one string")
    found = list(value)
    if len(found) > MAX_NAMES:
        raise ValidationError(name, f"has {len(found)} items; at most {MAX_NAMES}")
    return tuple(text(item, f"{name}[{i}]", limit=MAX_LINE) for i, item in enumerate(found))


def flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(name, f"must be true or false, got {value!r:.60}")
    return value


def optional_version(value: object, name: str = "expected_version") -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**62:
        raise ValidationError(name, f"must be a ticket version (a whole number), got {value!r:.60}")
    return value
