"""What the intake transport tests share: test mail and an ingest that records what it got."""

from __future__ import annotations

import hashlib

import attrs

from helpdesk_core import Helpdesk, IngestResult, StorageError


def mail(n: int, subject: str = "Parcel arrived broken") -> bytes:
    return (
        f"From: Zhang San <zhang{n}@customer.cn>\r\nTo: support@example.com\r\n"
        f"Subject: {subject} #{n}\r\nMessage-ID: <m-{n}@customer.cn>\r\n"
        "Date: Mon, 02 Nov 2026 09:00:00 +0800\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Message number {n}: the cup is broken.\r\n"
    ).encode()


@attrs.define
class RecordingIngest:
    """Ingest into ``desk`` and record every call; ``outage`` makes the next calls raise
    StorageError (nothing recorded), as a database outage does."""

    desk: Helpdesk
    calls: list[bytes] = attrs.Factory(list)
    ingested: list[tuple[bytes, IngestResult]] = attrs.Factory(list)
    """Calls that returned: the raw message and its result."""
    outage: int = 0
    crash_after: int | None = None
    """Raise KeyboardInterrupt right after the n-th successful ingest (a killed process)."""
    seen: dict[bytes, IngestResult] = attrs.Factory(dict)

    def __call__(self, raw: bytes) -> IngestResult:
        self.calls.append(raw)
        if self.outage:
            self.outage -= 1
            raise StorageError("database is down")
        result = self._ingest(raw)
        self.ingested.append((raw, result))
        if self.crash_after is not None and len(self.ingested) == self.crash_after:
            raise KeyboardInterrupt("killed after the ingest committed")
        return result

    def _ingest(self, raw: bytes) -> IngestResult:
        ingest_email = getattr(self.desk, "ingest_email", None)
        if ingest_email is not None:
            result: IngestResult = ingest_email(raw)
            return result
        # until desk.ingest_email lands: its duplicate rule on (Message-ID, SHA-256)
        digest = hashlib.sha256(raw).digest()
        if digest in self.seen:
            return attrs.evolve(self.seen[digest], duplicate=True)
        result = IngestResult("created", ticket_id=f"t{len(self.seen) + 1}")
        self.seen[digest] = result
        return result

    def firsts(self) -> list[bytes]:
        """The raw messages recorded for the first time (not duplicates), in order."""
        return [raw for raw, result in self.ingested if not result.duplicate]
