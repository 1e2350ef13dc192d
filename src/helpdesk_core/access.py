"""The authorisation seam every command and query goes through (DESIGN principle 6).

A policy answers two questions from the same data, so a list and a single-object check cannot
disagree: :meth:`AccessPolicy.check` (may this actor do this to this resource?) and
:meth:`AccessPolicy.scope` (which tickets may this actor list for this action?, as a condition
the storage evaluates, so nothing outside it is loaded).

:class:`AllowAllPolicy` is the documented placeholder policy until the permission matrix
(:mod:`helpdesk_core.permissions`) replaces it: it allows everything and says so in every decision.
"""

from __future__ import annotations

from typing import Protocol

import attrs

from helpdesk_core.conditions import TRUE, Condition
from helpdesk_core.model.people import Actor
from helpdesk_core.model.tickets import Ticket


@attrs.frozen
class Decision:
    """``allowed``, the ``rule`` that decided, and the ``reason`` in words."""

    allowed: bool
    rule: str
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


class AccessPolicy(Protocol):
    def check(self, actor: Actor, action: str, resource: Ticket | None = None) -> Decision:
        """Decide one action on one resource (``None`` for actions on no particular object)."""

    def scope(self, actor: Actor, action: str) -> Condition:
        """The tickets ``actor`` may ``action``, as a condition for the storage to apply."""


class AllowAllPolicy:
    """Allows every action on everything: only for embedding before permissions are set up."""

    RULE = "allow-all"

    def check(self, actor: Actor, action: str, resource: Ticket | None = None) -> Decision:
        return Decision(True, self.RULE, "the desk runs with AllowAllPolicy (no permission matrix)")

    def scope(self, actor: Actor, action: str) -> Condition:
        return TRUE
