"""Grants: time-limited extra access to a person or a role, and their state machine (R-PRM-3).

A grant is stored (every store keeps it as a document) and decided by commands, so it lives in
the model beside tickets; the permission matrix only reads active grants.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import attrs

from helpdesk_core.errors import ValidationError
from helpdesk_core.model.events import to_utc
from helpdesk_core.model.people import Actor

GRANT_STATES: Final = ("requested", "approved", "rejected", "revoked", "expired")

DECISIONS: Final = ("approved", "rejected", "revoked")
"""The states a person moves a grant to (``expired`` is the system's)."""


@attrs.frozen
class GrantChange:
    """One step in a grant's history: requested, approved, rejected, revoked, expired."""

    state: str
    at: datetime = attrs.field(converter=to_utc)
    actor: str
    note: str | None = None


@attrs.frozen
class Grant:
    """A time-limited, approved grant of extra actions to a person or a role (R-PRM-3).

    Example: sales rep ``s-7`` may ``ticket.view`` the tickets ``where requester == C123`` until
    Friday, once a supervisor approved it. Only an approved grant whose ``valid_until`` is still
    in the future takes effect; revocation takes effect on the very next call.
    """

    id: str
    actions: tuple[str, ...]
    where: Mapping[str, Any]
    valid_until: datetime = attrs.field(converter=to_utc)
    reason: str
    requested_by: str
    grantee: str | None = None
    role: str | None = None
    state: str = "requested"
    history: tuple[GrantChange, ...] = ()

    def active(self, now: datetime) -> bool:
        return self.state == "approved" and to_utc(now) < self.valid_until

    def applies_to(self, actor: Actor) -> bool:
        return (self.grantee is not None and self.grantee == actor.id) or (
            self.role is not None and self.role in actor.roles
        )

    def concerns(self, actor: Actor) -> bool:
        """The actor asked for this grant or receives it (they may read it without
        ``grant.approve`` or ``audit.view``)."""
        return actor.id in (self.requested_by, self.grantee)

    def change(self, state: str, at: datetime, actor: str, note: str | None = None) -> Grant:
        return attrs.evolve(
            self, state=state, history=(*self.history, GrantChange(state, at, actor, note))
        )

    def action_for(self, state: str, actor: Actor) -> str:
        """The permission a move to ``state`` by ``actor`` needs: whoever asked may give the
        access back (``grant.request``); every other decision is ``grant.approve``."""
        if state == "revoked" and actor.id == self.requested_by:
            return "grant.request"
        return "grant.approve"

    def decide(self, state: str, at: datetime, actor: Actor, note: str | None = None) -> Grant:
        """The grant moved to ``state`` by ``actor`` (approve, reject, revoke), or a
        :class:`ValidationError` when the state machine does not allow that move."""
        if state not in DECISIONS:
            raise ValidationError("state", f"must be one of {list(DECISIONS)}, got {state!r}")
        if state in ("approved", "rejected"):
            if self.state != "requested":
                raise ValidationError("grant", f"grant {self.id} is {self.state}, not requested")
            if actor.id == self.requested_by:
                raise ValidationError(
                    "actor", "a grant is approved by someone other than its requester"
                )
        elif self.state not in ("requested", "approved"):
            raise ValidationError("grant", f"grant {self.id} is already {self.state}")
        return self.change(state, at, actor.id, note)

    def describe(self) -> str:
        """One line for the audit log: state, actions, condition, who, until when."""
        who = self.grantee or f"role {self.role}"
        return (
            f"{self.state}: {', '.join(self.actions)} where {dict(self.where)} for {who} "
            f"until {self.valid_until.isoformat()}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "actions": list(self.actions),
            "where": dict(self.where),
            "valid_until": self.valid_until.isoformat(),
            "reason": self.reason,
            "requested_by": self.requested_by,
            "grantee": self.grantee,
            "role": self.role,
            "state": self.state,
            "history": [
                {"state": c.state, "at": c.at.isoformat(), "actor": c.actor, "note": c.note}
                for c in self.history
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Grant:
        return cls(
            id=data["id"],
            actions=tuple(data["actions"]),
            where=dict(data["where"]),
            valid_until=data["valid_until"],
            reason=data["reason"],
            requested_by=data["requested_by"],
            grantee=data.get("grantee"),
            role=data.get("role"),
            state=data["state"],
            history=tuple(GrantChange(**c) for c in data.get("history", ())),
        )
