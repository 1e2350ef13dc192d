"""Every error the library raises on purpose, rooted at :class:`HelpdeskError`.

Each message says what was wrong (a key path, a field, a value) and, where it helps, what to do.
"""

from __future__ import annotations

from collections.abc import Iterable


class HelpdeskError(Exception):
    """Base class of every error raised by helpdesk_core on purpose."""


class ConfigError(HelpdeskError):
    """A configuration value is invalid; ``path`` is its key path (``sla.policies[2].targets``)."""

    def __init__(self, path: str, message: str, value: object = None) -> None:
        self.path = path
        self.value = value
        shown = f" (got {value!r})" if value is not None else ""
        super().__init__(f"{path or '<root>'}: {message}{shown}")


class ValidationError(HelpdeskError):
    """A command argument is invalid; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class ConditionError(ConfigError):
    """A condition in the condition language is malformed."""


class CalendarError(HelpdeskError):
    """A business calendar was given bad input, or has no open time where some was needed."""


class NotFound(HelpdeskError):
    """The object does not exist, or the actor may not know that it exists."""

    def __init__(self, kind: str, ident: str) -> None:
        self.kind = kind
        self.ident = ident
        super().__init__(f"{kind} {ident!r} not found")


class PermissionDenied(HelpdeskError):
    """The actor may not perform the action; ``rule`` names the rule that refused."""

    def __init__(self, actor_id: str, action: str, rule: str, reason: str) -> None:
        self.actor_id = actor_id
        self.action = action
        self.rule = rule
        self.reason = reason
        super().__init__(f"{actor_id} may not {action}: {reason} (rule: {rule})")


class InvalidTransition(HelpdeskError):
    """A status change the workflow does not allow; ``allowed`` lists the legal targets."""

    def __init__(self, current: str, target: str, allowed: Iterable[str], reason: str = "") -> None:
        self.current = current
        self.target = target
        self.allowed = tuple(sorted(allowed))
        why = f": {reason}" if reason else ""
        shown = ", ".join(self.allowed) or "none"
        super().__init__(
            f"cannot move from {current!r} to {target!r}{why}; allowed from {current!r}: {shown}"
        )


class ConcurrencyConflict(HelpdeskError):
    """Someone else changed the object first; reload and retry. ``current_version`` is theirs."""

    def __init__(self, ident: str, expected_version: int, current_version: int) -> None:
        self.ident = ident
        self.expected_version = expected_version
        self.current_version = current_version
        super().__init__(
            f"{ident} changed concurrently: expected version {expected_version}, "
            f"store has {current_version}; reload and retry"
        )


class AlreadyClaimed(HelpdeskError):
    """Someone else claimed the ticket first (claiming is a compare-and-set)."""

    def __init__(self, ticket_id: str, owner: str) -> None:
        self.ticket_id = ticket_id
        self.owner = owner
        super().__init__(f"ticket {ticket_id} is already assigned to {owner}")


class PluginError(HelpdeskError):
    """A plugin is malformed (unknown hook, class instead of instance) or no plugin serves a URL."""


class StorageError(HelpdeskError):
    """The storage backend failed or was given an unusable URL."""
