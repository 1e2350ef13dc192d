"""Satisfaction surveys (R-CSAT-1) and the classification of feedback (R-REV-4).

A :class:`Survey` is one invitation to rate one resolution of one ticket. Its token is a secret
handed to the customer (through the outbox); the survey keeps only its SHA-256 hash
(:func:`token_hash`), so a copy of the store cannot answer surveys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import attrs

from helpdesk_core.model.events import to_utc

FEEDBACK_CATEGORIES: Final = ("process", "people", "tool")
"""R-REV-4: what a piece of customer feedback says was wrong."""

STARS: Final = range(1, 6)
"""A rating is 1 to 5 stars."""


def token_hash(token: str) -> str:
    """The SHA-256 hex digest of a survey token: what the store keeps and looks up by."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _opt_utc(value: datetime | str | None) -> datetime | None:
    return None if value is None else to_utc(value)


@attrs.frozen
class Survey:
    """One invitation to rate one resolution of a ticket, and its answer.

    ``created_at`` is the resolution instant; the customer may answer until ``expires_at``
    (exclusive). ``stars``, ``comment`` and ``answered_at`` are set once, by the one answer the
    invitation accepts; ``category`` (process, people or tool) is set by whoever reviews the
    feedback.
    """

    id: str
    ticket_id: str
    customer: str
    token_hash: str
    created_at: datetime = attrs.field(converter=to_utc)
    expires_at: datetime = attrs.field(converter=to_utc)
    cycle: int = 1
    """Which resolution of the ticket this survey rates (1 for the first, 2 after a reopen...)."""
    channel: str | None = None
    """Where the invitation went (the customer's preferred channel, else the ticket's)."""
    stars: int | None = None
    comment: str | None = None
    answered_at: datetime | None = attrs.field(default=None, converter=_opt_utc)
    category: str | None = None
    classified_by: str | None = None
    classified_at: datetime | None = attrs.field(default=None, converter=_opt_utc)

    @property
    def answered(self) -> bool:
        return self.answered_at is not None

    def open_at(self, at: datetime) -> bool:
        """Whether an answer given at ``at`` is accepted (unanswered and not expired)."""
        return self.answered_at is None and at < self.expires_at

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` reverses it exactly."""
        data: dict[str, Any] = {}
        for field in attrs.fields(Survey):
            value = getattr(self, field.name)
            data[field.name] = value.isoformat() if isinstance(value, datetime) else value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Survey:
        return cls(**{f.name: data[f.name] for f in attrs.fields(cls) if f.name in data})
