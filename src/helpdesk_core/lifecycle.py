"""The configurable status workflow of tickets (R-TKT-3).

A :class:`Workflow` is statuses (each with a category: ``new``, ``open``, ``pending``, ``solved``,
``closed``), the transitions allowed between them, and guards on each transition: which roles may
take it and which ticket fields must be set first. :data:`DEFAULT_WORKFLOW` follows the guides::

    new -> assigned -> in_progress -> (pending_customer | pending_third_party) -> resolved
        -> quality_check -> closed -> archived

with reopen from ``resolved``, ``quality_check`` and ``closed`` back to ``in_progress`` when the
customer is not satisfied ("直至客户满意为止").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import attrs

from helpdesk_core.errors import ConfigError, InvalidTransition
from helpdesk_core.model.people import Actor
from helpdesk_core.model.tickets import Ticket

CATEGORIES: Final = ("new", "open", "pending", "solved", "closed")
WORKFLOW_KEYS: Final = frozenset({"statuses", "initial", "transitions", "pause_statuses"})
"""The keys of ``[workflow]``."""
TRANSITION_KEYS: Final = frozenset({"from", "to", "roles", "requires", "reopen"})
"""The keys of each ``[[workflow.transitions]]``."""


@attrs.frozen
class Status:
    name: str
    category: str
    label: str | None = None


@attrs.frozen
class Transition:
    """``source -> target``; ``roles`` empty means any role the permission matrix lets act.

    ``reopen`` marks a customer-unsatisfied reopen: SLA starts a new resolution cycle there.
    ``requires`` names ticket fields that must be non-empty (``assignee``, ``custom.root_cause``).
    """

    source: str
    target: str
    roles: frozenset[str] = frozenset()
    requires: tuple[str, ...] = ()
    reopen: bool = False


def _field_value(ticket: Ticket, name: str) -> Any:
    if name.startswith("custom."):
        return ticket.custom.get(name[len("custom.") :])
    return getattr(ticket, name, None)


@attrs.frozen
class Workflow:
    statuses: Mapping[str, Status]
    transitions: tuple[Transition, ...]
    initial: str
    pause_statuses: frozenset[str] = frozenset()

    def __attrs_post_init__(self) -> None:
        if self.initial not in self.statuses:
            raise ConfigError("workflow.initial", "is not a declared status", self.initial)

    def category(self, status: str) -> str:
        return self.statuses[status].category

    def targets(self, source: str) -> list[str]:
        """Every status reachable from ``source`` in one step, ignoring guards."""
        return [t.target for t in self.transitions if t.source == source]

    def transition(self, source: str, target: str) -> Transition | None:
        return next(
            (t for t in self.transitions if t.source == source and t.target == target), None
        )

    def reopen_transition(self, source: str) -> Transition | None:
        """The ``reopen = true`` transition out of ``source`` (the first declared if several),
        or None when the workflow has none: what a reopen command takes (issue 19, R-TKT-3)."""
        return next((t for t in self.transitions if t.source == source and t.reopen), None)

    def allowed_targets(self, ticket: Ticket, actor: Actor) -> list[str]:
        """Targets whose guards this actor and ticket pass now."""
        return [
            t.target
            for t in self.transitions
            if t.source == ticket.status and self._guard_failure(t, ticket, actor) is None
        ]

    def check(self, ticket: Ticket, target: str, actor: Actor) -> Transition:
        """The transition to take, or :class:`InvalidTransition` naming the targets this actor
        may move this ticket to now (guards applied)."""
        if target not in self.statuses:
            raise InvalidTransition(
                ticket.status, target, self.allowed_targets(ticket, actor), "unknown status"
            )
        transition = self.transition(ticket.status, target)
        if transition is None:
            raise InvalidTransition(ticket.status, target, self.allowed_targets(ticket, actor))
        failure = self._guard_failure(transition, ticket, actor)
        if failure is not None:
            raise InvalidTransition(
                ticket.status, target, self.allowed_targets(ticket, actor), failure
            )
        return transition

    def check_transition(self, ticket: Ticket, transition: Transition, actor: Actor) -> None:
        """:class:`InvalidTransition` unless ``transition`` leaves the ticket's status and its
        guards pass for this actor (for commands that pick a transition, such as reopen)."""
        if transition.source != ticket.status:
            raise InvalidTransition(
                ticket.status, transition.target, self.allowed_targets(ticket, actor)
            )
        failure = self._guard_failure(transition, ticket, actor)
        if failure is not None:
            raise InvalidTransition(
                ticket.status, transition.target, self.allowed_targets(ticket, actor), failure
            )

    @staticmethod
    def _guard_failure(transition: Transition, ticket: Ticket, actor: Actor) -> str | None:
        if transition.roles and not (actor.roles & transition.roles or "system" in actor.roles):
            return f"needs one of the roles {sorted(transition.roles)}"
        missing = [f for f in transition.requires if not _field_value(ticket, f)]
        if missing:
            return f"required fields not set: {', '.join(missing)}"
        return None

    def resume_status(self) -> str | None:
        """Where a customer's message moves a paused ticket: ``in_progress`` if the workflow has
        it, else its first open-category status (``None`` when it has none)."""
        if "in_progress" in self.statuses:
            return "in_progress"
        return next((s for s, st in self.statuses.items() if st.category == "open"), None)

    def merged_status(self) -> str | None:
        """The status a ticket merged into another takes: ``merged`` if the workflow has it,
        else its first closed-category status (``None`` when it has none)."""
        if "merged" in self.statuses:
            return "merged"
        return next((s for s, st in self.statuses.items() if st.category == "closed"), None)

    @classmethod
    def from_config(cls, data: Mapping[str, Any], path: str = "workflow") -> Workflow:
        """Load ``[workflow]``: ``statuses`` (name -> category), ``initial``, ``transitions``
        (a list of ``{from, to, roles?, requires?, reopen?}``; ``from`` may be a list) and
        ``pause_statuses``."""
        for key in data:
            if key not in WORKFLOW_KEYS:
                raise ConfigError(f"{path}.{key}", f"unknown key; expected {sorted(WORKFLOW_KEYS)}")
        raw_statuses = data.get("statuses")
        if not isinstance(raw_statuses, Mapping) or not raw_statuses:
            raise ConfigError(f"{path}.statuses", "must be a table of status = category")
        statuses: dict[str, Status] = {}
        for name, category in raw_statuses.items():
            if category not in CATEGORIES:
                raise ConfigError(
                    f"{path}.statuses.{name}", f"category must be one of {CATEGORIES}", category
                )
            statuses[name] = Status(name, category)
        initial = data.get("initial", next(iter(statuses)))
        if initial not in statuses:
            raise ConfigError(f"{path}.initial", "is not a declared status", initial)
        raw_transitions = data.get("transitions", [])
        if not isinstance(raw_transitions, Sequence) or isinstance(raw_transitions, str):
            raise ConfigError(f"{path}.transitions", "must be a list of tables")
        transitions: list[Transition] = []
        for i, raw in enumerate(raw_transitions):
            tpath = f"{path}.transitions[{i}]"
            if not isinstance(raw, Mapping):
                raise ConfigError(tpath, "must be a table with 'from' and 'to'", raw)
            extra = set(raw) - TRANSITION_KEYS
            if extra:
                raise ConfigError(f"{tpath}.{sorted(extra)[0]}", "unknown key")
            sources = raw.get("from")
            sources_list = [sources] if isinstance(sources, str) else sources
            if not isinstance(sources_list, list) or not sources_list:
                raise ConfigError(f"{tpath}.from", "must be a status or a list of them", sources)
            target = raw.get("to")
            for key, names in (("from", sources_list), ("to", [target])):
                for name in names:
                    if name not in statuses:
                        raise ConfigError(f"{tpath}.{key}", "is not a declared status", name)
            roles = raw.get("roles", [])
            requires = raw.get("requires", [])
            for key, value in (("roles", roles), ("requires", requires)):
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise ConfigError(f"{tpath}.{key}", "must be a list of strings", value)
            reopen = raw.get("reopen", False)
            if not isinstance(reopen, bool):
                raise ConfigError(f"{tpath}.reopen", "must be true or false", reopen)
            for source in sources_list:
                transitions.append(
                    Transition(source, str(target), frozenset(roles), tuple(requires), reopen)
                )
        pauses = data.get(
            "pause_statuses", [s for s, st in statuses.items() if st.category == "pending"]
        )
        if not isinstance(pauses, list) or not all(isinstance(p, str) for p in pauses):
            raise ConfigError(f"{path}.pause_statuses", "must be a list of status names", pauses)
        for i, name in enumerate(pauses):
            if name not in statuses:
                raise ConfigError(
                    f"{path}.pause_statuses[{i}]",
                    f"is not a declared status; declared: {sorted(statuses)}",
                    name,
                )
        return cls(statuses, tuple(transitions), str(initial), frozenset(pauses))


def _t(
    sources: Iterable[str] | str,
    target: str,
    roles: Iterable[str] = (),
    requires: Iterable[str] = (),
    reopen: bool = False,
) -> list[dict[str, Any]]:
    return [
        {
            "from": [sources] if isinstance(sources, str) else list(sources),
            "to": target,
            "roles": list(roles),
            "requires": list(requires),
            "reopen": reopen,
        }
    ]


_STAFF = ("agent", "supervisor", "admin")
_WORKING = ("assigned", "in_progress", "pending_customer", "pending_third_party")

DEFAULT_WORKFLOW_CONFIG: Final[dict[str, Any]] = {
    "statuses": {
        "new": "new",
        "assigned": "open",
        "in_progress": "open",
        "pending_customer": "pending",
        "pending_third_party": "pending",
        "resolved": "solved",
        "quality_check": "solved",
        "closed": "closed",
        "archived": "closed",
        "merged": "closed",
    },
    "initial": "new",
    "pause_statuses": ["pending_customer", "pending_third_party"],
    "transitions": [
        *_t("new", "assigned", requires=["assignee"]),
        *_t(["new", "assigned"], "in_progress", _STAFF, requires=["assignee"]),
        *_t("in_progress", "assigned"),
        *_t(["assigned", "in_progress"], "pending_customer", _STAFF),
        *_t(["assigned", "in_progress"], "pending_third_party", _STAFF),
        *_t(["pending_customer", "pending_third_party"], "in_progress"),
        *_t("pending_customer", "pending_third_party", _STAFF),
        *_t("pending_third_party", "pending_customer", _STAFF),
        *_t(_WORKING, "resolved", _STAFF, requires=["assignee"]),
        *_t("resolved", "quality_check", ("qa_inspector", "supervisor", "admin", "agent")),
        *_t(
            ["resolved", "quality_check"],
            "closed",
            ("qa_inspector", "supervisor", "admin", "agent", "customer"),
        ),
        *_t(
            ["resolved", "quality_check", "closed"],
            "in_progress",
            ("customer", *_STAFF, "qa_inspector"),
            reopen=True,
        ),
        *_t("closed", "archived", ("supervisor", "admin")),
        *_t(
            ["new", "assigned", "in_progress", "pending_customer"],
            "closed",
            ("supervisor", "admin"),
        ),
    ],
}

DEFAULT_WORKFLOW: Final = Workflow.from_config(DEFAULT_WORKFLOW_CONFIG)
