"""People and organisation: actors, agents, teams, departments (R-ORG-1)."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from helpdesk_core.errors import ValidationError


def _roles(value: Iterable[str] | str) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset({value})
    return frozenset(value)


def _non_empty(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(attribute.name, f"must be a non-empty string, got {value!r}")


def _emails(value: Iterable[str] | str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    found = tuple(dict.fromkeys(v.strip() for v in value))
    for i, item in enumerate(found):
        if not item or "@" not in item or any(c.isspace() or ord(c) < 32 for c in item):
            raise ValidationError(f"emails[{i}]", f"is not an email address: {item!r}")
    return found


@attrs.frozen
class Actor:
    """Whoever performs a command: an agent, a supervisor, a customer, a system process.

    ``roles`` are names in the permission matrix. ``team`` and ``department`` give agents their
    data scope; ``organisation`` is a customer's company (for shared organisation tickets);
    ``tenant`` separates desks that share one store.
    """

    id: str = attrs.field(validator=_non_empty)
    roles: frozenset[str] = attrs.field(converter=_roles, factory=frozenset)
    team: str | None = None
    department: str | None = None
    tenant: str | None = None
    organisation: str | None = None
    name: str | None = None

    def has_role(self, *names: str) -> bool:
        return not self.roles.isdisjoint(names)

    @property
    def is_customer(self) -> bool:
        return "customer" in self.roles


SYSTEM = Actor(id="system", roles=frozenset({"system"}))
"""The actor of changes the desk makes by itself (timers, automatic status moves)."""


@attrs.frozen
class Team:
    id: str = attrs.field(validator=_non_empty)
    name: str
    department: str | None = None
    calendar: str | None = None


@attrs.frozen
class Department:
    id: str = attrs.field(validator=_non_empty)
    name: str


@attrs.frozen
class Agent:
    """An agent's profile: what routing reads (skills, capacity, tier)."""

    id: str = attrs.field(validator=_non_empty)
    name: str
    team: str | None = None
    department: str | None = None
    roles: frozenset[str] = attrs.field(converter=_roles, factory=lambda: frozenset({"agent"}))
    skills: frozenset[str] = attrs.field(converter=_roles, factory=frozenset)
    tier: int = 1
    capacity: int | None = None
    """Most open tickets routing may give this agent (None: no limit)."""
    calendar: str | None = None
    """Name of the shift calendar (``[calendars.<name>]``); None: always on shift."""
    online: bool = False
    """Presence: routing skips agents who are offline unless the rule allows it."""
    emails: tuple[str, ...] = attrs.field(converter=_emails, default=())
    """The agent's mail addresses: mail from one of them is an agent's reply (issue 23)."""

    @property
    def email(self) -> str | None:
        """The agent's first (preferred) mail address, or None."""
        return self.emails[0] if self.emails else None

    def as_actor(self) -> Actor:
        return Actor(
            id=self.id, roles=self.roles, team=self.team, department=self.department, name=self.name
        )
