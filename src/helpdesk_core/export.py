"""Tickets as CSV: the export columns and how each value is written.

Columns are the ticket's own fields (:data:`EXPORT_COLUMNS` by default) or ``custom.<name>`` for
a declared custom field. The desk exports tickets as the actor may see them (masked), so this
module only formats what it is given.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Final

import attrs

from helpdesk_core.model.fields import EXPORT_FIELDS
from helpdesk_core.model.tickets import Ticket

EXPORT_COLUMNS: Final[tuple[str, ...]] = EXPORT_FIELDS
"""The default columns (the field table's export order)."""

EXPORTABLE: Final = frozenset(
    f.name
    for f in attrs.fields(Ticket)
    if f.name not in ("messages", "custom", "links", "merged_from")
)
"""The ticket fields a column may name (besides ``custom.<name>``)."""


def export_value(ticket: Ticket, column: str) -> str:
    """One cell: ISO 8601 instants, comma-joined sorted tags, empty for missing values."""
    value: Any
    if column.startswith("custom."):
        value = ticket.custom.get(column[len("custom.") :])
    else:
        value = getattr(ticket, column)
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, frozenset):
        return ",".join(sorted(value))
    return str(value)


def to_csv(tickets: Iterable[Ticket], columns: Sequence[str]) -> str:
    """A header row of ``columns``, then one row per ticket."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for ticket in tickets:
        writer.writerow([export_value(ticket, column) for column in columns])
    return out.getvalue()
