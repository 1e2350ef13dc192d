"""Clocks. The domain never reads the wall clock; it takes ``now`` or a :class:`Clock`.

:class:`SystemClock` is the single place in the library that reads real time; a host passes it
(it is the :class:`~helpdesk_core.desk.Helpdesk` default). Tests pass
:class:`helpdesk_core.testing.FixedClock`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware."""


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)
