"""The ``[server]`` section of a desk's TOML file: who may sign in, and how the demo is seeded.

.. code-block:: toml

    [server]
    title = "Demo desk"

    [server.demo]            # what `helpdesk demo` seeds into an empty database
    seed = 7
    peak_per_hour = 20       # the simulated day's busiest hour, in tickets
    customers = 4            # named customer records (C00001...), each with a few tickets

    [[server.users]]         # a demo user: the bearer token is the whole credential
    id = "agent-000"
    name = "Ada Agent"
    roles = ["agent"]
    team = "service"
    department = "customer-care"
    token = "demo-agent"

A token maps to an :class:`~helpdesk_core.Actor`; what the actor may do is decided by the desk's
permission matrix alone. Tokens in a TOML file are demo credentials, not a login system.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from helpdesk_core import Actor
from helpdesk_core.config import ConfigContext, table
from helpdesk_core.errors import ConfigError

USER_KEYS = ("id", "name", "roles", "team", "department", "organisation", "token")


@attrs.frozen
class DemoUser:
    """A user of the server: an actor plus the bearer token that signs it in."""

    id: str
    name: str
    roles: tuple[str, ...]
    token: str
    team: str | None = None
    department: str | None = None
    organisation: str | None = None

    def actor(self) -> Actor:
        return Actor(
            id=self.id,
            roles=frozenset(self.roles),
            team=self.team,
            department=self.department,
            organisation=self.organisation,
            name=self.name,
        )

    @property
    def role(self) -> str:
        """The first role, for display."""
        return self.roles[0]


@attrs.frozen
class DemoSettings:
    seed: int = 7
    peak_per_hour: int = 20
    customers: int = 4


@attrs.frozen
class ServerSettings:
    title: str = "helpdesk"
    users: tuple[DemoUser, ...] = ()
    demo: DemoSettings = DemoSettings()

    def user_for_token(self, token: str) -> DemoUser | None:
        for user in self.users:
            if user.token == token:
                return user
        return None


def _text(raw: Mapping[str, Any], key: str, path: str, *, required: bool) -> str | None:
    value = raw.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{path}.{key}", "must be a non-empty string", value)
    return value


def _int(raw: Mapping[str, Any], key: str, path: str, default: int, least: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigError(f"{path}.{key}", f"must be an integer >= {least}", value)
    return value


def _user(raw: Any, path: str) -> DemoUser:
    section = table(raw, path, USER_KEYS)
    roles = section.get("roles")
    if isinstance(roles, str) or not isinstance(roles, Sequence) or not roles:
        raise ConfigError(f"{path}.roles", "must be a non-empty list of role names", roles)
    if not all(isinstance(r, str) and r for r in roles):
        raise ConfigError(f"{path}.roles", "must be a non-empty list of role names", roles)
    user_id = _text(section, "id", path, required=True)
    token = _text(section, "token", path, required=True)
    assert user_id is not None and token is not None
    return DemoUser(
        id=user_id,
        name=_text(section, "name", path, required=False) or user_id,
        roles=tuple(roles),
        token=token,
        team=_text(section, "team", path, required=False),
        department=_text(section, "department", path, required=False),
        organisation=_text(section, "organisation", path, required=False),
    )


def parse_server(value: Any, path: str, context: ConfigContext) -> ServerSettings:
    """Validate ``[server]``; errors name the key path (``server.users[2].token``)."""
    section = table(value, path, ("title", "users", "demo"))
    raw_users = section.get("users", [])
    if not isinstance(raw_users, list):
        raise ConfigError(f"{path}.users", "must be a list of tables ([[server.users]])", raw_users)
    users = tuple(_user(raw, f"{path}.users[{i}]") for i, raw in enumerate(raw_users))
    seen: dict[str, int] = {}
    for i, user in enumerate(users):
        if user.token in seen:
            raise ConfigError(f"{path}.users[{i}].token", "is already another user's token")
        seen[user.token] = i
    demo_raw = table(
        section.get("demo", {}), f"{path}.demo", ("seed", "peak_per_hour", "customers")
    )
    demo = DemoSettings(
        seed=_int(demo_raw, "seed", f"{path}.demo", 7, 0),
        peak_per_hour=_int(demo_raw, "peak_per_hour", f"{path}.demo", 20, 1),
        customers=_int(demo_raw, "customers", f"{path}.demo", 4, 1),
    )
    return ServerSettings(
        title=_text(section, "title", path, required=False) or "helpdesk",
        users=users,
        demo=demo,
    )
