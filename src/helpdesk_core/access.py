"""The authorisation seam every command and query goes through (DESIGN principle 6).

A policy answers two questions from the same data, so a list and a single-object check cannot
disagree: :meth:`AccessPolicy.check` (may this actor do this to this resource?) and
:meth:`AccessPolicy.scope` (which tickets may this actor list for this action?, as a condition
the storage evaluates, so nothing outside it is loaded). :meth:`AccessPolicy.present` shapes what
the actor may see of a ticket (masking, hidden fields, internal notes).

The desk's default policy is the permission matrix (:mod:`helpdesk_core.permissions`).
:class:`AllowAllPolicy` allows everything and says so in every decision: only for hosts that
authorise in their own layer.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from helpdesk_core.conditions import TRUE, Condition
from helpdesk_core.model.events import Event
from helpdesk_core.model.people import Actor
from helpdesk_core.model.tickets import Ticket

if TYPE_CHECKING:
    from helpdesk_core.model.grants import Grant


@attrs.frozen
class Decision:
    """``allowed``, the ``rule`` that decided, and the ``reason`` in words."""

    allowed: bool
    rule: str
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


class AccessPolicy(Protocol):
    def check(
        self,
        actor: Actor,
        action: str,
        resource: Ticket | None = None,
        grants: Iterable[Grant] = (),
        *,
        customer: Mapping[str, Any] | None = None,
    ) -> Decision:
        """Decide one action on one resource (``None`` for actions on no particular object);
        ``customer`` holds the requester's ``customer.*`` fields when rules read them."""

    def reads_customer(self) -> bool:
        """Whether any rule reads ``customer.*`` fields (the desk then loads the requester's
        profile for single-object checks, so a check agrees with the pushed-down list)."""

    def scope(self, actor: Actor, action: str, grants: Iterable[Grant] = ()) -> Condition:
        """The tickets ``actor`` may ``action``, as a condition for the storage to apply."""

    def present(self, actor: Actor, ticket: Ticket, grants: Iterable[Grant] = ()) -> Ticket:
        """The ticket as the actor may see it."""

    def present_history(
        self, actor: Actor, ticket: Ticket, events: Sequence[Event], grants: Iterable[Grant] = ()
    ) -> list[Event]:
        """The ticket's events as the actor may see them."""

    def explain(
        self,
        actor: Actor,
        action: str,
        resource: Ticket | None = None,
        grants: Iterable[Grant] = (),
        *,
        hidden: Collection[str] = (),
    ) -> list[str]:
        """Lines saying why ``check`` decides as it does, naming none of the ``hidden`` fields
        (those the reader may not see)."""

    def unreadable(
        self, actor: Actor, grants: Iterable[Grant] = (), ticket: Ticket | None = None
    ) -> frozenset[str]:
        """The ticket fields ``actor`` sees hidden or masked (on ``ticket``, or on some ticket
        when ``None``): they may not filter, sort or count on them, nor write them (either would
        reveal the value)."""


class AllowAllPolicy:
    """Allows every action on everything: only for hosts that authorise in their own layer."""

    RULE = "allow-all"

    def check(
        self,
        actor: Actor,
        action: str,
        resource: Ticket | None = None,
        grants: Iterable[Any] = (),
        *,
        customer: Mapping[str, Any] | None = None,
    ) -> Decision:
        return Decision(True, self.RULE, "the desk runs with AllowAllPolicy (no permission matrix)")

    def reads_customer(self) -> bool:
        return False

    def scope(self, actor: Actor, action: str, grants: Iterable[Any] = ()) -> Condition:
        return TRUE

    def present(self, actor: Actor, ticket: Ticket, grants: Iterable[Any] = ()) -> Ticket:
        return ticket

    def present_history(
        self, actor: Actor, ticket: Ticket, events: Sequence[Event], grants: Iterable[Any] = ()
    ) -> list[Event]:
        return list(events)

    def explain(
        self,
        actor: Actor,
        action: str,
        resource: Ticket | None = None,
        grants: Iterable[Any] = (),
        *,
        hidden: Collection[str] = (),
    ) -> list[str]:
        return [f"{actor.id} may {action}: the desk runs with AllowAllPolicy"]

    def unreadable(
        self, actor: Actor, grants: Iterable[Any] = (), ticket: Ticket | None = None
    ) -> frozenset[str]:
        return frozenset()
