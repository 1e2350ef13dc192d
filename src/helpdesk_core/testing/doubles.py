"""Test doubles shipped with the library (real implementations of the ports, for tests)."""

from __future__ import annotations

from datetime import datetime, timedelta

from helpdesk_core.model.events import to_utc
from helpdesk_core.ports import Notification


class FixedClock:
    """A clock that stands still until told to move."""

    def __init__(self, start: datetime | str) -> None:
        self._now = to_utc(start)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by ``delta`` or ``timedelta(**kwargs)``; returns the new now."""
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now

    def set(self, instant: datetime | str) -> None:
        self._now = to_utc(instant)


class RecordingNotifier:
    """A notifier that keeps what it was asked to send; can be told to fail N times."""

    name = "recording"

    def __init__(self, fail_times: int = 0) -> None:
        self.sent: list[Notification] = []
        self.fail_times = fail_times

    def send(self, notification: Notification) -> None:
        if self.fail_times > 0:
            self.fail_times -= 1
            raise ConnectionError("recording notifier told to fail")
        self.sent.append(notification)

    @property
    def keys(self) -> list[str]:
        return [n.key for n in self.sent]
