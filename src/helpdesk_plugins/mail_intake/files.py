"""Mail from files (``helpdesk ingest-mail FILE...``): single messages (.eml), mbox files and
Maildir folders, read with the stdlib :mod:`mailbox` and handed to ingest one by one.

What a path is: a directory with ``cur``, ``new`` and ``tmp`` is a Maildir (every message in
``new`` and ``cur``); a file whose first line starts with ``From `` is an mbox; any other file is
one message. Messages are ingested as raw bytes, exactly as stored (an mbox's ``From `` line is
its separator, not part of the message).
"""

from __future__ import annotations

import mailbox
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final, Literal

import attrs

from helpdesk_core.errors import StorageError
from helpdesk_core.model.intake import IngestResult
from helpdesk_plugins.mail_intake import Ingest

SourceKind = Literal["eml", "mbox", "maildir"]

FAILED: Final = "failed"
"""The outcome printed for a message ingest could not record (storage down): retry it."""


@attrs.frozen
class FileMessage:
    """One message found on disk: its path (``file.mbox#3`` for the 3rd of an mbox) and
    bytes."""

    where: str
    raw: bytes


@attrs.frozen
class FileOutcome:
    """What ingest made of one message from disk; ``result`` is None when it failed."""

    where: str
    result: IngestResult | None
    error: str | None = None

    @property
    def outcome(self) -> str:
        return self.result.outcome if self.result is not None else FAILED

    def line(self) -> str:
        """One line for a person: outcome, ticket and reason (tab-separated)."""
        result = self.result
        if result is None:
            return f"{self.where}\t{FAILED}\t-\t{self.error}"
        outcome = result.outcome + (" (duplicate)" if result.duplicate else "")
        reason = result.reason or "-"
        if result.detail:
            reason = f"{reason}: {result.detail}"
        return f"{self.where}\t{outcome}\t{result.ticket_id or '-'}\t{reason}"


def source_kind(path: Path) -> SourceKind:
    """What ``path`` holds (rules in the module docstring); OSError when it cannot be read."""
    if path.is_dir():
        if all((path / sub).is_dir() for sub in ("cur", "new", "tmp")):
            return "maildir"
        raise IsADirectoryError(f"{path}: a directory but not a Maildir (no cur/new/tmp)")
    with path.open("rb") as handle:
        head = handle.read(5)
    return "mbox" if head == b"From " else "eml"


def read_messages(path: Path) -> Iterator[FileMessage]:
    """Every message in ``path`` (an .eml file, an mbox file or a Maildir folder)."""
    kind = source_kind(path)
    if kind == "eml":
        yield FileMessage(str(path), path.read_bytes())
        return
    box: mailbox.Mailbox[mailbox.Message]
    box = mailbox.Maildir(path, create=False) if kind == "maildir" else mailbox.mbox(path)
    try:
        keys = sorted(box.keys()) if kind == "maildir" else list(box.keys())
        for position, key in enumerate(keys, start=1):
            label = f"{path}/{key}" if kind == "maildir" else f"{path}#{position}"
            yield FileMessage(label, box.get_bytes(key))
    finally:
        box.close()


def ingest_files(paths: Iterable[Path], ingest: Ingest) -> Iterator[FileOutcome]:
    """Ingest every message of every path, in order. A path that cannot be read, or a
    StorageError for one message, is one failed outcome; the others still go in."""
    for path in paths:
        try:
            messages = list(read_messages(path))
        except (OSError, mailbox.Error) as exc:
            yield FileOutcome(str(path), None, f"cannot read: {exc}")
            continue
        for message in messages:
            try:
                yield FileOutcome(message.where, ingest(message.raw))
            except StorageError as exc:
                yield FileOutcome(message.where, None, f"storage: {exc}")
