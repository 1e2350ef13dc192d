"""Customer numbers (R-CUS-1): a configurable pattern rendered at the desk's local date with a
serial the store allocates.

Pattern syntax (``[customers] number_pattern``), literal text with these placeholders:

=================  ==========================================================================
``{date}``         the local date as ``YYYYMMDD`` (the desk's ``[desk] timezone``)
``{yyyy}``         four-digit year; ``{yy}`` two-digit year; ``{mm}`` month; ``{dd}`` day
``{serial}``       the serial, zero-padded to at least 3 digits, wider when it needs to be
``{serial:N}``     the serial, zero-padded to at least ``N`` digits (1 <= N <= 12)
=================  ==========================================================================

Exactly one ``{serial}`` is required and it must come after every date placeholder. The
default ``C{date}{serial:3}`` gives ``C20261122001`` ... ``C20261122999``, ``C202611221000``.

The serial counts per rendered prefix: the counter is named after the pattern with its serial
left out (``customer:C20261122``), so a date pattern restarts at 1 every local day. Numbers are
unique because the store's :meth:`~helpdesk_core.ports.UnitOfWork.next_number` never hands out
the same value twice, even across processes; :func:`allocate_customer_number` also skips an id
that already exists (hosts may have created ``C...`` ids by hand).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Final, Protocol
from zoneinfo import ZoneInfo

import attrs

from helpdesk_core.errors import ConfigError, ValidationError
from helpdesk_core.model.customers import Customer

DEFAULT_NUMBER_PATTERN: Final = "C{date}{serial:3}"
_PLACEHOLDER: Final = re.compile(r"\{([a-z]+)(?::([0-9]+))?\}")
_DATE_PARTS: Final = ("date", "yyyy", "yy", "mm", "dd")


@attrs.frozen
class NumberPattern:
    """A parsed number pattern; build it with :meth:`parse`."""

    text: str
    parts: tuple[tuple[str, str | int], ...]
    """``("text", literal)``, ``(date part, "")`` or ``("serial", width)`` in order."""

    @classmethod
    def parse(cls, text: str, path: str = "customers.number_pattern") -> NumberPattern:
        """Parse a pattern; a ConfigError names ``path`` when it is malformed."""
        if not isinstance(text, str) or not text:
            raise ConfigError(path, "must be a non-empty pattern such as 'C{date}{serial:3}'", text)
        parts: list[tuple[str, str | int]] = []
        position = 0
        serials = 0
        for match in _PLACEHOLDER.finditer(text):
            if match.start() > position:
                parts.append(("text", text[position : match.start()]))
            name, width = match.group(1), match.group(2)
            if name == "serial":
                size = 3 if width is None else int(width)
                if not 1 <= size <= 12:
                    raise ConfigError(path, "the serial width must be 1 to 12", text)
                serials += 1
                parts.append(("serial", size))
            elif name in _DATE_PARTS and width is None:
                if serials:
                    raise ConfigError(path, "date placeholders must come before {serial}", text)
                parts.append((name, ""))
            else:
                raise ConfigError(
                    path,
                    f"unknown placeholder {match.group(0)!r}; use {{date}}, {{yyyy}}, {{yy}}, "
                    "{mm}, {dd}, {serial} or {serial:N}",
                    text,
                )
            position = match.end()
        if position < len(text):
            parts.append(("text", text[position:]))
        literal = "".join(str(v) for k, v in parts if k == "text")
        if "{" in literal or "}" in literal:
            raise ConfigError(path, "braces are only for placeholders", text)
        if serials != 1:
            raise ConfigError(path, "needs exactly one {serial} placeholder", text)
        return cls(text, tuple(parts))

    def _render(self, day: date, serial: str) -> str:
        out = []
        for kind, value in self.parts:
            if kind == "text":
                out.append(str(value))
            elif kind == "serial":
                out.append(serial)
            elif kind == "date":
                out.append(day.strftime("%Y%m%d"))
            elif kind == "yyyy":
                out.append(f"{day.year:04d}")
            elif kind == "yy":
                out.append(f"{day.year % 100:02d}")
            elif kind == "mm":
                out.append(f"{day.month:02d}")
            else:
                out.append(f"{day.day:02d}")
        return "".join(out)

    def render(self, day: date, serial: int) -> str:
        """The number for ``serial`` on local date ``day``."""
        if serial < 1:
            raise ValidationError("serial", f"serials start at 1, got {serial}")
        width = next(int(v) for k, v in self.parts if k == "serial")
        return self._render(day, f"{serial:0{width}d}")

    def sequence(self, day: date) -> str:
        """The name of the counter that numbers customers made on ``day``."""
        return "customer:" + self._render(day, "#")


class NumberCounter(Protocol):
    """What allocation needs from a unit of work."""

    def next_number(self, sequence: str) -> int: ...

    def get_customer(self, customer_id: str) -> Customer | None: ...


def local_date(now: datetime, timezone: str) -> date:
    """``now``'s calendar date in the desk's time zone."""
    if now.tzinfo is None:
        raise ValidationError("now", "naive datetime: give a time zone")
    return now.astimezone(ZoneInfo(timezone)).date()


def allocate_customer_number(
    uow: NumberCounter, pattern: NumberPattern, now: datetime, timezone: str = "UTC"
) -> str:
    """The next free customer number at ``now``: the store's counter for today's prefix,
    skipping numbers an existing customer already has."""
    day = local_date(now, timezone)
    sequence = pattern.sequence(day)
    while True:
        number = pattern.render(day, uow.next_number(sequence))
        if uow.get_customer(number) is None:
            return number
