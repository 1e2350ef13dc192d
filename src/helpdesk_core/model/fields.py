"""The ticket's field list, defined once (issue 17): every other list of ticket fields is read
from :data:`TICKET_FIELD_SPECS`.

- the condition language (:data:`CONDITION_FIELDS`, what ``ticket_subject`` holds),
- the SQL plugin's ``hd_tickets`` columns and its condition translator (``column`` and ``kind``),
- the fields ``set_fields`` may edit (:data:`EDITABLE_FIELDS`),
- the default CSV export columns (:data:`EXPORT_FIELDS`).

Adding a ticket field means one line here (and, for a new column, a migration).
"""

from __future__ import annotations

from typing import Final, Literal

import attrs

FieldKind = Literal["text", "int", "time", "tags", "custom"]


@attrs.frozen
class TicketField:
    """One field of :class:`~helpdesk_core.model.tickets.Ticket` and where it appears.

    ``kind``: ``text`` (a string), ``int``, ``time`` (an aware UTC datetime), ``tags`` (a set of
    strings) or ``custom`` (read from ``ticket.custom`` under the same name).
    """

    name: str
    kind: FieldKind
    nullable: bool = False
    """The value may be ``None``."""
    column: bool = True
    """Kept in a column of its own by table stores (besides the whole-ticket document)."""
    condition: bool = True
    """Conditions may name it (it is in ``ticket_subject``)."""
    editable: bool = False
    """``set_fields`` may change it (a ``FieldsChanged`` event)."""
    export: bool = False
    """In the default CSV export columns."""


TICKET_FIELD_SPECS: Final = (
    TicketField("id", "text"),
    TicketField("number", "text", export=True),
    TicketField("subject", "text", editable=True, export=True),
    TicketField("type", "text", editable=True, export=True),
    TicketField("sub_category", "text", nullable=True, editable=True),
    TicketField("priority", "text", export=True),
    TicketField("urgency", "text", nullable=True, editable=True),
    TicketField("status", "text", export=True),
    TicketField("status_category", "text"),
    TicketField("channel", "text", export=True),
    TicketField("requester", "text", nullable=True, export=True),
    TicketField("organisation", "text", nullable=True, editable=True),
    TicketField("assignee", "text", nullable=True, export=True),
    TicketField("team", "text", nullable=True, export=True),
    TicketField("department", "text", nullable=True, editable=True),
    TicketField("created_by", "text"),
    TicketField("tags", "tags", column=False),
    TicketField("tier", "int"),
    TicketField("version", "int"),
    TicketField("created_at", "time", export=True),
    TicketField("updated_at", "time", export=True),
    TicketField("complexity", "custom", nullable=True, column=False),
    TicketField(
        "expected_resolution_at",
        "time",
        nullable=True,
        column=False,
        condition=False,
        editable=True,
    ),
    TicketField("workaround", "text", nullable=True, column=False, condition=False, editable=True),
)
"""Every ticket field named outside the ticket class, in one place (in export column order)."""

FIELD_SPEC: Final = {f.name: f for f in TICKET_FIELD_SPECS}

CONDITION_FIELDS: Final = tuple(f.name for f in TICKET_FIELD_SPECS if f.condition)
"""The ticket fields a condition may name (``custom.*`` and the other families come on top)."""

COLUMN_FIELDS: Final = tuple(f for f in TICKET_FIELD_SPECS if f.column)
"""The fields a table store keeps in columns of their own."""

EDITABLE_FIELDS: Final = tuple(f.name for f in TICKET_FIELD_SPECS if f.editable)

EXPORT_FIELDS: Final = tuple(f.name for f in TICKET_FIELD_SPECS if f.export)
