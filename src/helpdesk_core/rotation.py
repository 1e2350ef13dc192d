"""On-call rotations: who is on duty at an instant (R-CAL-1 off-hours duty, R-CAL-2 rosters).

``Rotation(members, start, period)`` hands duty from one member to the next every ``period``
from ``start``, in order, round and round. Overrides (a swap, a sick day, cover for a peak) name
who is on duty over ``[start, end)`` instead; a later override wins over an earlier one. With a
``calendar`` the rotation only covers the calendar's open time (an "off-hours duty" rotation
uses the complement of business hours) and ``on_duty`` is None outside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Protocol

import attrs

from helpdesk_core.errors import CalendarError


class _Calendar(Protocol):
    def is_open(self, t: datetime) -> bool: ...
    def intervals(self, a: datetime, b: datetime) -> list[tuple[datetime, datetime]]: ...


def _aware(t: datetime, what: str) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise CalendarError(f"{what}: naive datetime {t.isoformat()}: give a time zone")
    return t.astimezone(UTC)


@attrs.frozen
class Override:
    start: datetime
    end: datetime
    person: str
    reason: str = "swap"

    def __attrs_post_init__(self) -> None:
        if _aware(self.end, "override.end") <= _aware(self.start, "override.start"):
            raise CalendarError("override: end must be after start")
        if not self.person:
            raise CalendarError("override.person: name who covers")


@attrs.frozen
class DutySlot:
    start: datetime
    end: datetime
    person: str
    source: str
    """``rotation`` or the override's reason (``swap``, ``sick``...)."""


def _members(value: Sequence[str]) -> tuple[str, ...]:
    members = tuple(value)
    if not members or not all(isinstance(m, str) and m for m in members):
        raise CalendarError("members: give at least one person id")
    return members


@attrs.frozen
class Rotation:
    members: tuple[str, ...] = attrs.field(converter=_members)
    start: datetime
    period: timedelta
    calendar: _Calendar | None = None
    overrides: tuple[Override, ...] = ()

    def __attrs_post_init__(self) -> None:
        _aware(self.start, "start")
        if self.period <= timedelta(0):
            raise CalendarError("period: must be positive")

    def shift_index(self, t: datetime) -> int:
        """Which rotation shift (0, 1, ...) covers ``t``."""
        elapsed = _aware(t, "t") - _aware(self.start, "start")
        if elapsed < timedelta(0):
            raise CalendarError(f"t: {t.isoformat()} is before the rotation starts")
        return elapsed // self.period

    def scheduled(self, t: datetime) -> str:
        """Who the plain rotation (no overrides, no calendar) has on duty at ``t``."""
        return self.members[self.shift_index(t) % len(self.members)]

    def on_duty(self, t: datetime) -> str | None:
        """Who is on duty at ``t``: the latest override covering it, else the rotation; None
        outside the rotation's calendar."""
        at = _aware(t, "t")
        if self.calendar is not None and not self.calendar.is_open(t):
            return None
        for override in reversed(self.overrides):
            if _aware(override.start, "start") <= at < _aware(override.end, "end"):
                return override.person
        return self.scheduled(t)

    def with_override(self, override: Override) -> Rotation:
        return attrs.evolve(self, overrides=(*self.overrides, override))

    def sick(self, start: datetime, end: datetime, cover: str) -> Rotation:
        """``cover`` takes over ``[start, end)`` (a sick day)."""
        return self.with_override(Override(start, end, cover, "sick"))

    def swap(self, shift_a: int, shift_b: int) -> Rotation:
        """Two rotation shifts trade people (overrides over both shifts)."""
        person_a = self.members[shift_a % len(self.members)]
        person_b = self.members[shift_b % len(self.members)]
        out = self
        for shift, person in ((shift_a, person_b), (shift_b, person_a)):
            begin = self.start + shift * self.period
            out = out.with_override(Override(begin, begin + self.period, person, "swap"))
        return out

    def preview(self, now: datetime, days: int = 7) -> list[DutySlot]:
        """Maximal duty slots over ``[now, now + days)``, adjacent slots of one person merged."""
        lo = max(_aware(now, "now"), _aware(self.start, "start"))
        hi = _aware(now, "now") + timedelta(days=days)
        cuts = {lo, hi}
        k = self.shift_index(lo) + 1
        while (edge := _aware(self.start, "start") + k * self.period) < hi:
            cuts.add(edge)
            k += 1
        for o in self.overrides:
            for edge in (_aware(o.start, "start"), _aware(o.end, "end")):
                if lo < edge < hi:
                    cuts.add(edge)
        if self.calendar is not None:
            for a, b in self.calendar.intervals(lo, hi):
                cuts.update({_aware(a, "a"), _aware(b, "b")})
        points = sorted(cuts)
        slots: list[DutySlot] = []
        for a, b in pairwise(points):
            person = self.on_duty(a)
            if person is None:
                continue
            source = next(
                (
                    o.reason
                    for o in reversed(self.overrides)
                    if _aware(o.start, "start") <= a < _aware(o.end, "end")
                ),
                "rotation",
            )
            last = slots[-1] if slots else None
            if last is not None and (last.person, last.end, last.source) == (person, a, source):
                slots[-1] = attrs.evolve(slots[-1], end=b)
            else:
                slots.append(DutySlot(a, b, person, source))
        return slots
