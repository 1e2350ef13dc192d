"""The permission matrix: roles x actions x data scope, field masking, grants, explain
(R-PRM-1..3, R-CUS-2, R-CUS-5, R-SEC-1, R-RPT-3).

One matrix, as data, produces both answers the desk needs, from the same rules:

* :meth:`PermissionMatrix.check` decides one action on one ticket;
* :meth:`PermissionMatrix.scope` gives the condition a storage applies to list tickets.

A rule grants ``actions`` to ``roles`` within a ``scope`` (own, requester, organisation, team,
department, all) narrowed by an optional ``where`` condition. For an actor the scope becomes a
condition with the actor's own values filled in, so ``check(actor, a, t).allowed`` is exactly
``scope(actor, a).matches(t)``: a list and a single-object check cannot disagree. Deny rules win
over allow rules; an action no rule grants is denied. A scope that needs an attribute the actor
lacks (an agent with no team, a customer with no organisation) matches nothing, never the tickets
whose attribute is also empty.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Final

import attrs

from helpdesk_core.access import Decision
from helpdesk_core.conditions import (
    FALSE,
    TRUE,
    Condition,
    ConditionRegistry,
    all_of,
    any_of,
    compile_condition,
    field_is,
    negate,
)
from helpdesk_core.config import ConfigContext, CustomFieldSpec, config_keys, table
from helpdesk_core.errors import ConfigError, ValidationError
from helpdesk_core.model.events import (
    Event,
    FieldsChanged,
    MergeReceived,
    NoteAdded,
    TicketCreated,
    TransferDecided,
    Transferred,
    TransferRequested,
)
from helpdesk_core.model.grants import GRANT_STATES as GRANT_STATES
from helpdesk_core.model.grants import Grant as Grant
from helpdesk_core.model.grants import GrantChange as GrantChange
from helpdesk_core.model.people import Actor
from helpdesk_core.model.tickets import Ticket, ticket_subject

SCOPES: Final = ("own", "requester", "organisation", "team", "department", "all")

ACTIONS: Final = (
    "ticket.view",
    "ticket.view_notes",
    "ticket.create",
    "ticket.reply",
    "ticket.note",
    "ticket.edit",
    "ticket.assign",
    "ticket.transfer",
    "ticket.approve_transfer",
    "ticket.set_status",
    "ticket.set_priority",
    "ticket.merge",
    "ticket.split",
    "ticket.link",
    "ticket.flag_quality",
    "ticket.export",
    "customer.view",
    "customer.edit",
    "customer.view_contact",
    "kb.read",
    "kb.write",
    "kb.review",
    "report.view",
    "config.edit",
    "audit.view",
    "grant.request",
    "grant.approve",
    "outbox.manage",
    "survey.view",
    "survey.classify",
    "survey.answer",
    "intake.view",
    "review.view",
    "review.edit",
    "review.approve",
)
"""The built-in actions; plugins add more through ``helpdesk_register_permissions``."""

ROLES: Final = (
    "admin",
    "supervisor",
    "agent",
    "qa_inspector",
    "sales",
    "marketing",
    "logistics",
    "tech",
    "customer",
    "manager",
    "system",
)


@attrs.frozen
class Rule:
    """Allow (or deny) ``actions`` to ``roles`` within ``scope``, where ``where`` holds.

    ``actions`` may use shell wildcards (``ticket.*``). ``scope`` is one of :data:`SCOPES` or a
    ``+``-joined union (``team+own``).
    """

    id: str
    roles: frozenset[str]
    actions: tuple[str, ...]
    scope: str = "all"
    where: Condition = TRUE
    effect: str = "allow"
    description: str = ""
    _matcher: re.Pattern[str] = attrs.field(init=False, eq=False, repr=False)
    """All ``actions`` patterns as one compiled regular expression (checked on every command)."""

    def __attrs_post_init__(self) -> None:
        pattern = "|".join(f"(?:{fnmatch.translate(p)})" for p in self.actions) or "(?!)"
        object.__setattr__(self, "_matcher", re.compile(pattern))

    def covers(self, action: str) -> bool:
        return self._matcher.match(action) is not None

    def applies_to(self, actor: Actor) -> bool:
        return not self.roles.isdisjoint(actor.roles)


_Candidates = tuple[tuple[Rule, ...], tuple[Rule, ...]]
"""The deny rules and the allow rules that may decide an action, in rule order."""

COMPILED_MEMO_LIMIT: Final = 4096
"""How many (roles, action) pairs a matrix remembers its candidate rules for."""

_NO_DEPARTMENT: Final = object()


@attrs.frozen
class FieldRule:
    """For a role: ticket fields hidden from it, and fields shown masked."""

    hidden: frozenset[str] = frozenset()
    masked: frozenset[str] = frozenset()


PRESENTED_FIELDS: Final = ("tags", "assignee", "team", "department", "organisation", "description")
"""Ticket fields a role's field rules may hide or mask."""

EVENT_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    "assignee": ("assignee", "previous_assignee"),
    "team": ("team", "previous_team", "from_team", "to_team"),
    "department": ("department",),
    "organisation": ("organisation",),
    "description": ("description",),
    "tags": ("tags", "tags_added", "tags_removed"),
}
"""Where each presented ticket field appears in events (``previous_team``, ``to_team``...)."""

INTERNAL_EVENTS: Final = (NoteAdded, TransferRequested, TransferDecided, Transferred)
"""Events only readers of internal notes see (a transfer carries the internal hand-over)."""

_SCOPE_FIELD: Final = {
    "requester": "requester",
    "organisation": "organisation",
    "team": "team",
    "department": "department",
    "own": "assignee",
}


def _blank(attr: str, *, masked: bool) -> Any:
    """What a hidden (``None``) or masked (``***``) value reads as; tags become empty."""
    if attr.startswith("tags"):
        return frozenset()
    return "***" if masked else None


def _present_plain(values: Mapping[str, Any], rule: FieldRule) -> dict[str, Any]:
    """A field change's plain values without hidden fields and with masked ones masked."""
    return {
        k: ("***" if k in rule.masked else v) for k, v in values.items() if k not in rule.hidden
    }


# -- masking (R-CUS-2) -----------------------------------------------------------------------
def mask_mobile(value: str) -> str:
    """Hide the middle four digits of a mobile number: ``13812345678`` -> ``138****5678``.

    Separators and a country prefix are kept (``+86 138-1234-5678`` -> ``+86 138-****-5678``);
    the four hidden digits are those before the last four of the national number.
    """
    positions = [i for i, ch in enumerate(value) if ch.isdigit()]
    if len(positions) < 8:
        hide = positions[:-2] if len(positions) > 2 else positions
    else:
        hide = positions[-8:-4]
    chars = list(value)
    for i in hide:
        chars[i] = "*"
    return "".join(chars)


def mask_email(value: str) -> str:
    """Keep the first three characters and the domain: ``example@domain.com`` ->
    ``exa***@domain.com``."""
    local, at, domain = value.partition("@")
    if not at:
        return value[:3] + "***"
    return f"{local[:3]}***@{domain}"


def mask_text(value: str) -> str:
    """Hide a secret entirely, keeping only its length class."""
    return "***"


MASKERS: Final = {"mobile": mask_mobile, "email": mask_email, "secret": mask_text}


def mask_value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    return MASKERS[kind](str(value))


def reusable(grants: Iterable[Grant]) -> Sequence[Grant]:
    """``grants`` as a sequence that may be read more than once; one already (a caller's
    tuple, the runner's lazily loaded grants) is kept as it is, so nothing is read early."""
    return grants if isinstance(grants, Sequence) else list(grants)


# -- the matrix ---------------------------------------------------------------------------------
@attrs.define
class PermissionMatrix:
    """Roles, actions, rules, field rules and the organisation-sharing switch.

    Build it with :meth:`default` (the guides' preset) or :meth:`from_config`; plugins extend it
    with :meth:`add_action`, :meth:`add_role` and :meth:`add_rule`.
    """

    roles: set[str] = attrs.field(factory=lambda: set(ROLES))
    actions: set[str] = attrs.field(factory=lambda: set(ACTIONS))
    rules: list[Rule] = attrs.field(factory=list)
    fields: dict[str, FieldRule] = attrs.field(factory=dict)
    share_organisation_tickets: bool = False
    teams: dict[str, str | None] = attrs.field(factory=dict)
    pii_fields: dict[str, str] = attrs.field(factory=dict)
    conditions: ConditionRegistry = attrs.field(factory=ConditionRegistry.builtin, repr=False)
    """The desk's condition registry: grants' conditions compile with it."""
    _compiled: dict[tuple[frozenset[str], str], _Candidates] = attrs.field(
        factory=dict, init=False, repr=False, eq=False
    )
    """The rules that may decide an action for a set of roles (:meth:`_rules_for`): asked on
    every command, found once per (roles, action)."""
    _reads_customer: bool | None = attrs.field(default=None, init=False, repr=False, eq=False)
    _compiled_stamp: tuple[int, int, bool] = attrs.field(
        default=(0, 0, False), init=False, repr=False, eq=False
    )

    # -- building ---------------------------------------------------------------------------
    def add_action(self, name: str) -> None:
        if not re.fullmatch(r"[a-z_]+\.[a-z_]+", name):
            raise ValidationError("action", f"actions are named '<object>.<verb>', got {name!r}")
        self.actions.add(name)

    def add_role(self, name: str) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise ValidationError("role", f"roles are lowercase names, got {name!r}")
        self.roles.add(name)

    def add_rule(self, rule: Rule, path: str = "permissions.rules") -> None:
        self.validate_rule(rule, path)
        self.rules.append(rule)
        self.changed()

    def validate_rule(self, rule: Rule, path: str) -> None:
        for role in sorted(rule.roles):
            if role not in self.roles:
                raise ConfigError(
                    f"{path}.roles", f"unknown role; known: {sorted(self.roles)}", role
                )
        for pattern in rule.actions:
            if not any(fnmatch.fnmatchcase(a, pattern) for a in self.actions):
                raise ConfigError(
                    f"{path}.actions",
                    f"matches no known action; known: {sorted(self.actions)}",
                    pattern,
                )
        for part in rule.scope.split("+"):
            if part not in SCOPES:
                raise ConfigError(
                    f"{path}.scope", f"unknown scope; use one of {SCOPES}", rule.scope
                )
        if rule.effect not in ("allow", "deny"):
            raise ConfigError(f"{path}.effect", "must be 'allow' or 'deny'", rule.effect)

    def declare_pii(self, specs: Mapping[str, CustomFieldSpec]) -> None:
        """Mask the custom fields whose spec has a ``pii`` kind."""
        for name, spec in specs.items():
            if spec.pii:
                self.pii_fields[f"custom.{name}"] = spec.pii

    # -- scope conditions -------------------------------------------------------------------
    def _scope_condition(self, scope: str, actor: Actor) -> Condition:
        parts: list[Condition] = []
        for name in scope.split("+"):
            if name == "all":
                return TRUE
            if name == "own":
                parts.append(field_is("assignee", "eq", actor.id))
                parts.append(field_is("created_by", "eq", actor.id))
            elif name == "requester":
                parts.append(field_is("requester", "eq", actor.id))
            elif name == "organisation":
                if actor.organisation and self.share_organisation_tickets:
                    parts.append(field_is("organisation", "eq", actor.organisation))
            elif name == "team":
                if actor.team:
                    parts.append(field_is("team", "eq", actor.team))
            elif name == "department" and actor.department:
                teams = sorted(t for t, d in self.teams.items() if d == actor.department)
                parts.append(field_is("department", "eq", actor.department))
                if teams:
                    parts.append(field_is("team", "in", teams))
        return any_of(parts) if parts else FALSE

    def _rule_condition(self, rule: Rule, actor: Actor) -> Condition:
        return all_of([self._scope_condition(rule.scope, actor), rule.where])

    def _grant_condition(self, grant: Grant) -> Condition:
        return compile_condition(grant.where, f"grant {grant.id}.where", self.conditions)

    def _grants_for(self, actor: Actor, action: str, grants: Iterable[Grant]) -> list[Grant]:
        return [
            g
            for g in grants
            if g.state == "approved"
            and g.applies_to(actor)
            and any(fnmatch.fnmatchcase(action, p) for p in g.actions)
        ]

    def _rules_for(self, actor: Actor, action: str) -> _Candidates:
        """The deny and allow rules covering ``action`` for the actor's roles, in rule order.
        Memoised per matrix by (roles, action): dropped whenever the rules, teams or the
        organisation switch change (the building methods, :meth:`changed`, or a change of their
        sizes seen here), and kept to a bounded number of entries."""
        self._fresh()
        key = (actor.roles, action)
        found = self._compiled.get(key)
        if found is None:
            denies: list[Rule] = []
            allows: list[Rule] = []
            for rule in self.rules:
                if rule.covers(action) and rule.applies_to(actor):
                    (allows if rule.effect == "allow" else denies).append(rule)
            found = (tuple(denies), tuple(allows))
            if len(self._compiled) >= COMPILED_MEMO_LIMIT:
                self._compiled.clear()
            self._compiled[key] = found
        return found

    def _in_scope(self, scope: str, actor: Actor, subject: Mapping[str, Any]) -> bool:
        """Whether ``subject`` lies in the actor's ``scope``: what
        ``_scope_condition(scope, actor).matches(subject)`` answers, without building the
        condition (checked on every command; a property test holds the two equal)."""
        for name in scope.split("+"):
            if name == "all":
                return True
            if name == "own":
                if subject.get("assignee") == actor.id or subject.get("created_by") == actor.id:
                    return True
            elif name == "requester":
                if subject.get("requester") == actor.id:
                    return True
            elif name == "organisation":
                if (
                    actor.organisation
                    and self.share_organisation_tickets
                    and subject.get("organisation") == actor.organisation
                ):
                    return True
            elif name == "team":
                if actor.team and subject.get("team") == actor.team:
                    return True
            elif name == "department" and actor.department:
                if subject.get("department") == actor.department:
                    return True
                team = subject.get("team")
                if team is not None and self.teams.get(team, _NO_DEPARTMENT) == actor.department:
                    return True
        return False

    def _holds(self, rule: Rule, actor: Actor, subject: Mapping[str, Any] | None) -> bool:
        """Whether ``rule`` decides for ``actor`` on ``subject``; with no ticket only an
        unconditional rule over all tickets counts."""
        if subject is None:
            return rule.scope == "all" and rule.where == TRUE
        return self._in_scope(rule.scope, actor, subject) and rule.where.matches(subject)

    def _fresh(self) -> None:
        """Drop the memos if the rules, teams or organisation switch changed size or value
        behind the building methods' back."""
        stamp = (len(self.rules), len(self.teams), self.share_organisation_tickets)
        if stamp != self._compiled_stamp:
            self.changed()
            self._compiled_stamp = stamp

    def changed(self) -> None:
        """Forget memoised decisions' inputs: call after changing ``rules`` or ``teams`` in
        place (the building methods call it)."""
        self._compiled.clear()
        self._reads_customer = None

    def scope(self, actor: Actor, action: str, grants: Iterable[Grant] = ()) -> Condition:
        """The tickets ``actor`` may ``action``: (any allow rule or grant) and no deny rule."""
        deny_rules, allow_rules = self._rules_for(actor, action)
        allows = [self._rule_condition(rule, actor) for rule in allow_rules]
        denies = [self._rule_condition(rule, actor) for rule in deny_rules]
        allows.extend(self._grant_condition(g) for g in self._grants_for(actor, action, grants))
        return all_of([any_of(allows), negate(any_of(denies))])

    def check(
        self,
        actor: Actor,
        action: str,
        resource: Ticket | None = None,
        grants: Iterable[Grant] = (),
        *,
        customer: Mapping[str, Any] | None = None,
    ) -> Decision:
        """Decide; the decision names the rule (or grant) that decided and why.

        With ``resource=None`` (actions on no ticket: kb.read, report.view...) a rule counts only
        if its scope is ``all`` and it has no ``where``. ``customer`` gives the requester's
        ``customer.*`` fields (:func:`~helpdesk_core.customers.customer_facts`), as storages
        use them when they list by :meth:`scope`.
        """
        if action not in self.actions:
            return Decision(False, "unknown-action", f"{action!r} is not a known action")
        subject = ticket_subject(resource, customer) if resource is not None else None
        denies, allows = self._rules_for(actor, action)
        for rule in denies:
            if self._holds(rule, actor, subject):
                return Decision(False, rule.id, f"denied by rule {rule.id}: {rule.description}")
        for rule in allows:
            if self._holds(rule, actor, subject):
                where = "" if rule.scope == "all" else f" within scope {rule.scope}"
                return Decision(True, rule.id, f"allowed by rule {rule.id}{where}")
        for grant in self._grants_for(actor, action, grants):
            if subject is not None and self._grant_condition(grant).matches(subject):
                return Decision(
                    True,
                    f"grant:{grant.id}",
                    f"allowed by grant {grant.id} until {grant.valid_until.isoformat()}",
                )
        roles = ", ".join(sorted(actor.roles)) or "no role"
        return Decision(
            False, "default-deny", f"no rule grants {action} to {roles} on this resource"
        )

    # -- explain ----------------------------------------------------------------------------
    def explain(
        self,
        actor: Actor,
        action: str,
        resource: Ticket | None = None,
        grants: Iterable[Grant] = (),
        *,
        hidden: Collection[str] = (),
        customer: Mapping[str, Any] | None = None,
    ) -> list[str]:
        """Why ``check`` decides as it does, one line per rule and grant considered. Names none
        of the ``hidden`` fields (the reader's hidden and masked fields): neither their values
        nor conditions over them."""
        grants = reusable(grants)
        decision = self.check(actor, action, resource, grants, customer=customer)
        roles = ", ".join(sorted(actor.roles)) or "no role"
        lines = [
            f"{actor.id} ({roles}) {'MAY' if decision.allowed else 'may NOT'} {action}"
            + (f" on ticket {resource.number}" if resource is not None else ""),
            f"deciding rule: {decision.rule} ({decision.reason})",
        ]
        subject = ticket_subject(resource, customer) if resource is not None else None
        considered = [r for r in self.rules if r.covers(action)]
        for rule in considered:
            if not rule.applies_to(actor):
                lines.append(f"- {rule.id}: not for these roles (for {sorted(rule.roles)})")
                continue
            ok = self._holds(rule, actor, subject)
            lines.append(
                f"- {rule.id} ({rule.effect}, scope {rule.scope}): "
                + (
                    "matches"
                    if ok
                    else "does not match: " + self._why_not(rule, actor, subject, hidden)
                )
            )
        for grant in self._grants_for(actor, action, grants):
            lines.append(f"- grant {grant.id}: active until {grant.valid_until.isoformat()}")
        if not considered:
            lines.append(f"- no rule mentions {action}")
        return lines

    def _why_not(
        self,
        rule: Rule,
        actor: Actor,
        subject: Mapping[str, Any] | None,
        hidden: Collection[str] = (),
    ) -> str:
        if subject is None:
            return "needs a ticket (the rule has a scope or condition)"
        scope = self._scope_condition(rule.scope, actor)
        if not scope.matches(subject):
            needs = {
                "own": f"assignee or author == {actor.id}",
                "requester": f"requester == {actor.id}",
                "organisation": f"organisation == {actor.organisation}"
                + ("" if self.share_organisation_tickets else " (organisation sharing is off)"),
                "team": f"team == {actor.team}",
                "department": f"department == {actor.department}",
            }
            parts = [p for p in rule.scope.split("+") if _SCOPE_FIELD.get(p) not in hidden]
            wanted = " or ".join(needs.get(p, p) for p in parts) or "a scope it does not meet"
            fields = ("assignee", "created_by", "requester", "organisation", "team", "department")
            has = ", ".join(f"{f}={subject.get(f)!r}" for f in fields if f not in hidden)
            return f"scope needs {wanted}; ticket has {has or 'none of them visible'}"
        if rule.where.fields() & set(hidden):
            return "its condition is false for this ticket"
        return f"condition {rule.where.to_data()} is false for this ticket"

    # -- field rules and presentation ---------------------------------------------------------
    def field_rule(self, actor: Actor) -> FieldRule:
        """Hidden/masked fields for the actor: a field is shown only if some role shows it."""
        rules = [self.fields[r] for r in actor.roles if r in self.fields]
        if not rules or len(rules) < len(actor.roles):
            # a role without field rules sees everything; that role wins (most permissive)
            return FieldRule()
        hidden = frozenset.intersection(*(r.hidden for r in rules))
        masked = frozenset.intersection(*(r.masked | r.hidden for r in rules)) - hidden
        return FieldRule(hidden, masked)

    def reads_customer(self) -> bool:
        """Whether a rule's condition reads the requester's ``customer.*`` fields (asked when
        every call's view is built: remembered until the rules change)."""
        self._fresh()
        if self._reads_customer is None:
            self._reads_customer = any(
                f.startswith("customer.") for rule in self.rules for f in rule.where.fields()
            )
        return self._reads_customer

    def unreadable(
        self, actor: Actor, grants: Iterable[Grant] = (), ticket: Ticket | None = None
    ) -> frozenset[str]:
        """Fields the actor sees hidden or masked: the role's field rules, and the PII custom
        fields unless they may see contact data on ``ticket`` (without a ticket: on every
        ticket, i.e. an unconditional ``customer.view_contact``)."""
        rule = self.field_rule(actor)
        fields = set(rule.hidden | rule.masked)
        if self.pii_fields and not self.check(actor, "customer.view_contact", ticket, grants):
            fields |= set(self.pii_fields)
        return frozenset(fields)

    def present(self, actor: Actor, ticket: Ticket, grants: Iterable[Grant] = ()) -> Ticket:
        """The ticket as ``actor`` may see it: internal notes removed without
        ``ticket.view_notes``, contact (PII) fields masked without ``customer.view_contact``,
        and the role's hidden/masked fields applied."""
        grants = reusable(grants)
        rule = self.field_rule(actor)
        changes: dict[str, Any] = {}
        if not self.check(actor, "ticket.view_notes", ticket, grants).allowed:
            visible = tuple(m for m in ticket.messages if m.public)
            if len(visible) != len(ticket.messages):
                changes["messages"] = visible
        custom = self._present_custom(actor, ticket, ticket.custom, rule, grants)
        if custom != dict(ticket.custom):
            changes["custom"] = custom
        for name in PRESENTED_FIELDS:
            if name in rule.hidden:
                changes[name] = _blank(name, masked=False)
            elif name in rule.masked and getattr(ticket, name):
                changes[name] = _blank(name, masked=True)
        return attrs.evolve(ticket, **changes) if changes else ticket

    def _present_custom(
        self,
        actor: Actor,
        ticket: Ticket,
        values: Mapping[str, Any],
        rule: FieldRule,
        grants: Sequence[Grant],
    ) -> dict[str, Any]:
        custom = dict(values)
        see_contact: bool | None = None
        for name in list(custom):
            key = f"custom.{name}"
            if key in rule.hidden:
                del custom[name]
                continue
            if key in self.pii_fields:
                if see_contact is None:
                    see_contact = self.check(actor, "customer.view_contact", ticket, grants).allowed
                if not see_contact:
                    custom[name] = mask_value(self.pii_fields[key], custom[name])
                    continue
            if key in rule.masked:
                custom[name] = mask_value(self.pii_fields.get(key, "secret"), custom[name])
        return custom

    def present_history(
        self, actor: Actor, ticket: Ticket, events: Sequence[Event], grants: Iterable[Grant] = ()
    ) -> list[Event]:
        """The events as ``actor`` may see them, through the same rules as :meth:`present`:
        without ``ticket.view_notes`` the internal events (notes, transfer requests, decisions
        and hand-overs with their summaries) are omitted and messages are public ones only; a
        field the role may not see is ``None`` (empty for tags) in every event that carries it,
        a masked one ``***``; contact custom fields are masked as on the ticket."""
        grants = reusable(grants)
        rule = self.field_rule(actor)
        notes = self.check(actor, "ticket.view_notes", ticket, grants).allowed
        shown: list[Event] = []
        for event in events:
            if not notes and isinstance(event, INTERNAL_EVENTS):
                continue
            changes: dict[str, Any] = {}
            if isinstance(event, TicketCreated | FieldsChanged):
                custom = self._present_custom(actor, ticket, event.custom, rule, grants)
                if custom != event.custom:
                    changes["custom"] = custom
            if isinstance(event, TicketCreated | MergeReceived) and not notes:
                public = tuple(m for m in event.messages if m.public)
                if len(public) != len(event.messages):
                    changes["messages"] = public
            if isinstance(event, FieldsChanged):
                plain = _present_plain(event.changes, rule)
                if plain != event.changes:
                    changes["changes"] = plain
            present = attrs.fields_dict(type(event))
            for name in PRESENTED_FIELDS:
                if name in rule.hidden or name in rule.masked:
                    for attr in EVENT_FIELDS[name]:
                        if attr in present and getattr(event, attr):
                            changes[attr] = _blank(attr, masked=name not in rule.hidden)
            shown.append(attrs.evolve(event, **changes) if changes else event)
        return shown

    # -- export for auditors ------------------------------------------------------------------
    def table(self) -> tuple[list[str], list[list[str]]]:
        """Rows of (action, cell per role): the scope each role gets, ``-`` for denied."""
        roles = sorted(self.roles - {"system"})
        rows = []
        for action in sorted(self.actions):
            row = [action]
            for role in roles:
                cells = []
                for rule in self.rules:
                    if role in rule.roles and rule.covers(action):
                        text = (
                            rule.scope
                            if rule.where == TRUE
                            else f"{rule.scope} if {_brief(rule.where)}"
                        )
                        cells.append(("deny " if rule.effect == "deny" else "") + text)
                row.append("; ".join(cells) or "-")
            rows.append(row)
        return ["action", *roles], rows

    def to_markdown(self) -> str:
        header, rows = self.table()
        lines = [
            "| " + " | ".join(header) + " |",
            "|" + "|".join("---" for _ in header) + "|",
        ]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        header, rows = self.table()
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        return out.getvalue()

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def default(cls, *, share_organisation_tickets: bool = False) -> PermissionMatrix:
        """The preset from the guides (R-PRM-1, R-PRM-2, R-ORG-1)."""
        matrix = cls(share_organisation_tickets=share_organisation_tickets)
        for rule in DEFAULT_RULES:
            matrix.add_rule(rule, f"preset rule {rule.id}")
        matrix.fields = dict(DEFAULT_FIELD_RULES)
        return matrix

    @classmethod
    def from_config(
        cls, data: PermissionsConfig, custom_fields: Mapping[str, CustomFieldSpec] | None = None
    ) -> PermissionMatrix:
        matrix = (
            cls.default(share_organisation_tickets=data.share_organisation_tickets)
            if data.preset == "default"
            else cls(share_organisation_tickets=data.share_organisation_tickets)
        )
        matrix.apply_config(data, custom_fields or {})
        return matrix

    def apply_config(
        self, data: PermissionsConfig, custom_fields: Mapping[str, CustomFieldSpec]
    ) -> None:
        """Add the config's roles, actions, teams, rules and field rules (names validated)."""
        for role in data.roles:
            self.add_role(role)
        for action in data.actions:
            self.add_action(action)
        self.teams.update(data.teams)
        for i, rule in enumerate(data.rules):
            self.add_rule(rule, f"permissions.rules[{i}]")
        for role, raw_rule in data.fields.items():
            if role not in self.roles:
                raise ConfigError(f"permissions.fields.{role}", "unknown role", role)
            self.fields[role] = raw_rule
        self.declare_pii(custom_fields)
        self.changed()


def _brief(condition: Condition) -> str:
    return str(condition.to_data()).replace("|", "/")


_FIELD_RULE_KEYS: Final = ("hidden", "masked")
_RULE_KEYS: Final = {"id", "roles", "actions", "scope", "where", "effect", "description"}
_KEYS: Final = {
    "preset",
    "share_organisation_tickets",
    "roles",
    "actions",
    "teams",
    "rules",
    "fields",
}


def _rule_from_data(raw: Mapping[str, Any], path: str, context: ConfigContext) -> Rule:
    if not isinstance(raw, Mapping):
        raise ConfigError(path, "must be a table", raw)
    extra = set(raw) - _RULE_KEYS
    if extra:
        raise ConfigError(f"{path}.{sorted(extra)[0]}", "unknown key")
    rule_id = raw.get("id", path)
    roles = raw.get("roles")
    actions = raw.get("actions")
    for key, value in (("roles", roles), ("actions", actions)):
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{path}.{key}", "must be a non-empty list of names", value)
    assert isinstance(roles, list) and isinstance(actions, list)
    return Rule(
        id=str(rule_id),
        roles=frozenset(roles),
        actions=tuple(actions),
        scope=str(raw.get("scope", "all")),
        where=context.condition(raw.get("where", {}), f"{path}.where"),
        effect=str(raw.get("effect", "allow")),
        description=str(raw.get("description", "")),
    )


@attrs.frozen
class PermissionsConfig:
    """The ``[permissions]`` section, shape-checked; names are checked against the matrix when
    the desk builds it (plugins may add roles and actions first)."""

    preset: str = "default"
    share_organisation_tickets: bool = False
    roles: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    teams: Mapping[str, str | None] = attrs.field(factory=dict)
    rules: tuple[Rule, ...] = ()
    """Compiled with the desk's condition registry; names are checked by ``apply_config``."""
    fields: Mapping[str, FieldRule] = attrs.field(factory=dict)


@config_keys(
    {
        "permissions": _KEYS,
        "permissions.rules[]": _RULE_KEYS,
        "permissions.fields.<role>": _FIELD_RULE_KEYS,
    }
)
def parse_permissions(value: Any, path: str, context: ConfigContext) -> PermissionsConfig:
    value = table(value, path, _KEYS)
    preset = value.get("preset", "default")
    if preset not in ("default", "none"):
        raise ConfigError(f"{path}.preset", "must be 'default' or 'none'", preset)
    share = value.get("share_organisation_tickets", False)
    if not isinstance(share, bool):
        raise ConfigError(f"{path}.share_organisation_tickets", "must be true or false", share)
    names: dict[str, tuple[str, ...]] = {}
    for key in ("roles", "actions"):
        items = value.get(key, [])
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            raise ConfigError(f"{path}.{key}", "must be a list of names", items)
        names[key] = tuple(items)
    teams = value.get("teams", {})
    if not isinstance(teams, Mapping):
        raise ConfigError(f"{path}.teams", "must be a table of team = department", teams)
    for team, department in teams.items():
        if department is not None and not isinstance(department, str):
            raise ConfigError(f"{path}.teams.{team}", "must be a department name", department)
    rules = value.get("rules", [])
    if not isinstance(rules, list):
        raise ConfigError(f"{path}.rules", "must be a list of tables", rules)
    compiled = tuple(
        _rule_from_data(rule, f"{path}.rules[{i}]", context) for i, rule in enumerate(rules)
    )  # shape errors now, names when the matrix is built
    fields: dict[str, FieldRule] = {}
    raw_fields = value.get("fields", {})
    if not isinstance(raw_fields, Mapping):
        raise ConfigError(
            f"{path}.fields", "must be a table of role = {hidden, masked}", raw_fields
        )
    for role, spec in raw_fields.items():
        fpath = f"{path}.fields.{role}"
        if not isinstance(spec, Mapping) or set(spec) - set(_FIELD_RULE_KEYS):
            raise ConfigError(fpath, "must be a table with 'hidden' and/or 'masked' lists", spec)
        lists = {}
        for key in _FIELD_RULE_KEYS:
            items = spec.get(key, [])
            if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
                raise ConfigError(f"{fpath}.{key}", "must be a list of field names", items)
            lists[key] = frozenset(items)
        fields[str(role)] = FieldRule(lists["hidden"], lists["masked"])
    return PermissionsConfig(
        preset=str(preset),
        share_organisation_tickets=share,
        roles=names["roles"],
        actions=names["actions"],
        teams=dict(teams),
        rules=compiled,
        fields=fields,
    )


def _r(
    rule_id: str,
    roles: Sequence[str],
    actions: Sequence[str],
    scope: str = "all",
    where: Mapping[str, Any] | None = None,
    description: str = "",
    effect: str = "allow",
) -> Rule:
    return Rule(
        id=rule_id,
        roles=frozenset(roles),
        actions=tuple(actions),
        scope=scope,
        where=compile_condition(where or {}, f"preset rule {rule_id}.where"),
        effect=effect,
        description=description,
    )


_AGENT_TICKET_WORK = (
    "ticket.view",
    "ticket.view_notes",
    "ticket.reply",
    "ticket.note",
    "ticket.edit",
    "ticket.assign",
    "ticket.transfer",
    "ticket.set_status",
    "ticket.set_priority",
    "ticket.merge",
    "ticket.split",
    "ticket.link",
    "survey.view",
    "survey.classify",
)

DEFAULT_RULES: Final = (
    _r("system-all", ["system"], ["*"], description="the desk's own automatic changes"),
    _r("admin-all", ["admin"], ["*"], description="administrators configure and see everything"),
    _r(
        "supervisor-department",
        ["supervisor"],
        [
            *_AGENT_TICKET_WORK,
            "ticket.approve_transfer",
            "ticket.flag_quality",
            "ticket.export",
            "report.view",
            "review.view",
            "review.edit",
        ],
        "department+team+own",
        description="supervisors manage their department's tickets and read its figures (R-PRM-2)",
    ),
    _r(
        "supervisor-desk",
        ["supervisor"],
        [
            "ticket.create",
            "kb.read",
            "kb.write",
            "kb.review",
            "customer.view",
            "customer.edit",
            "customer.view_contact",
            "audit.view",
            "grant.request",
            "grant.approve",
            "intake.view",
        ],
        description="supervisors see reports, review the KB and approve grants (R-PRM-1)",
    ),
    _r(
        "agent-team",
        ["agent"],
        _AGENT_TICKET_WORK,
        "team+own",
        description="agents handle their team's and their own tickets (R-PRM-2)",
    ),
    _r(
        "intake-queue",
        ["agent", "supervisor"],
        ["ticket.view", "ticket.view_notes", "ticket.assign", "ticket.note"],
        where={"team": {"exists": False}},
        description="tickets not yet routed to a team form a shared intake queue to triage",
    ),
    _r(
        "agent-desk",
        ["agent"],
        ["ticket.create", "kb.read", "kb.write", "customer.view", "grant.request", "intake.view"],
        description="agents open tickets, read and write the KB, see masked customer data, and "
        "triage ignored and quarantined intake",
    ),
    _r(
        "agent-reviews",
        ["agent"],
        ["review.view"],
        "team+own",
        description="agents read the post-incident reviews of their team's tickets (R-REV-1)",
    ),
    _r(
        "agent-reviews-own",
        ["agent"],
        ["review.edit"],
        "own",
        description="the agents who handled a ticket work on its review (root causes, actions)",
    ),
    _r(
        "agent-reports-own",
        ["agent"],
        ["report.view"],
        "own",
        description="agents read the figures of their own tickets (R-RPT-3)",
    ),
    _r(
        "manager-desk",
        ["manager"],
        [
            "ticket.view",
            "ticket.view_notes",
            "report.view",
            "kb.read",
            "customer.view",
            "audit.view",
            "survey.view",
            "review.view",
            "review.edit",
            "review.approve",
        ],
        description="the service director reads the whole desk's tickets and figures (R-RPT-3) "
        "and approves post-incident reviews (R-REV-2)",
    ),
    _r(
        "agent-contact-own",
        ["agent"],
        ["customer.view_contact"],
        "own",
        description="the handling agent may see the requester's contact details",
    ),
    _r(
        "qa-inspect",
        ["qa_inspector"],
        ["ticket.view", "ticket.view_notes", "ticket.flag_quality", "survey.view"],
        description="QA inspectors read every ticket and flag quality issues (R-PRM-1)",
    ),
    _r("qa-desk", ["qa_inspector"], ["kb.read", "report.view"]),
    _r(
        "other-departments-kb",
        ["sales", "marketing", "logistics", "tech"],
        ["kb.read", "grant.request"],
        description="other departments get ticket and customer access only by grant (R-PRM-3)",
    ),
    _r("customer-create", ["customer"], ["ticket.create", "kb.read"]),
    _r(
        "customer-own-tickets",
        ["customer"],
        ["ticket.view", "customer.view_contact"],
        "requester+organisation",
        description="customers see their own tickets (and their organisation's when shared)",
    ),
    _r(
        "customer-act-own",
        ["customer"],
        ["ticket.reply", "ticket.set_status"],
        "requester",
        where={"status": {"not_in": ["archived", "merged"]}},
        description="customers reply to, close or reopen their own open tickets",
    ),
    _r(
        "customer-rate-own",
        ["customer"],
        ["survey.answer"],
        "requester",
        description="customers rate their own resolved tickets while signed in (R-CSAT-1)",
    ),
)

DEFAULT_FIELD_RULES: Final = {
    "customer": FieldRule(hidden=frozenset({"tags", "assignee", "team", "department"})),
}
