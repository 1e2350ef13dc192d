"""Grant commands (R-PRM-3): request, approve, reject, revoke, expire, list.

Permission is checked before anything about the grant is revealed: a grant the actor may not
see (neither theirs nor readable through ``grant.approve`` / ``audit.view``) reads exactly like
one that does not exist. The state machine itself is :meth:`Grant.decide`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from helpdesk_core import validation as check
from helpdesk_core.access import Decision
from helpdesk_core.conditions import ConditionRegistry, compile_filter
from helpdesk_core.errors import NotFound, ValidationError
from helpdesk_core.model.events import to_utc
from helpdesk_core.model.grants import GRANT_STATES, Grant
from helpdesk_core.model.people import SYSTEM, Actor
from helpdesk_core.service.runner import ActorView, Call, Runner


def _may_read_all(view: ActorView) -> bool:
    return view.may("grant.approve") or view.may("audit.view")


def request_grant(
    runner: Runner,
    registry: ConditionRegistry,
    actor: Actor,
    *,
    actions: Sequence[str],
    where: Mapping[str, Any],
    valid_until: datetime,
    reason: str,
    grantee: str | None,
    role: str | None,
    now: datetime | None,
) -> Grant:
    if (grantee is None) == (role is None):
        raise ValidationError("grantee", "name exactly one of grantee (a person) or role")
    check.optional_ident(grantee, "grantee")
    check.optional_label(role, "role")
    if isinstance(actions, str) or not isinstance(actions, Sequence) or not actions:
        raise ValidationError("actions", "must be a non-empty list of actions")
    known_actions = getattr(runner.policy, "actions", None)
    known_roles = getattr(runner.policy, "roles", None)
    for action in actions:
        if not isinstance(action, str) or (
            known_actions is not None and action not in known_actions
        ):
            raise ValidationError("actions", f"unknown action {action!r}")
    if role is not None and known_roles is not None and role not in known_roles:
        raise ValidationError("role", f"unknown role {role!r}")
    if not isinstance(where, Mapping):
        raise ValidationError("where", "must be a condition table such as {'requester': 'C123'}")
    compile_filter(where, registry, "where")  # the desk's fields, operators and regex engine
    check.text(reason, "reason", limit=check.MAX_LINE)
    if not isinstance(valid_until, datetime) or valid_until.utcoffset() is None:
        raise ValidationError("valid_until", "must be an aware datetime")

    def body(call: Call) -> Grant:
        if to_utc(valid_until) <= call.at:
            raise ValidationError("valid_until", "must be in the future")
        decision = call.authorise("grant.request", target="grant:new")
        grant = Grant(
            id=call.new_id(),
            actions=tuple(actions),
            where=dict(where),
            valid_until=valid_until,
            reason=reason,
            requested_by=actor.id,
            grantee=grantee,
            role=role,
        ).change("requested", call.at, actor.id, reason)
        call.uow.save_grant(grant)
        call.audit("grant.request", f"grant:{grant.id}", decision, grant.describe())
        return grant

    return runner.run(actor, "grant.request", None, now, body)


def decide_grant(
    runner: Runner,
    actor: Actor,
    grant_id: str,
    state: str,
    *,
    note: str | None,
    now: datetime | None,
) -> Grant:
    """Approve, reject or revoke. Permission comes first: without ``grant.approve`` the actor is
    refused before anything about the grant is looked at (unless they revoke their own
    request), so a hidden grant and a missing one read the same; then the state machine."""
    check.ident(grant_id, "grant_id")
    check.optional_text(note, "note")

    def body(call: Call) -> Grant:
        target = f"grant:{grant_id}"
        approver = call.view.may("grant.approve")
        if not approver and state != "revoked":
            call.authorise("grant.approve", target=target)  # refused before any look
        grant = call.uow.get_grant(grant_id)
        if not approver and (grant is None or grant.requested_by != actor.id):
            # only whoever asked may give access back without grant.approve; for anyone else
            # a hidden grant and a missing one are refused alike
            call.authorise("grant.approve", target=target)
        if grant is None:
            raise NotFound("grant", grant_id)
        action = grant.action_for(state, actor)
        decision = call.authorise(action, target=target)
        changed = grant.decide(state, call.at, actor, note)
        call.uow.save_grant(changed)
        call.audit(action, target, decision, changed.describe())
        return changed

    return runner.run(actor, "grant.approve", f"grant:{grant_id}", now, body)


def expire_grants(runner: Runner, *, now: datetime | None) -> list[Grant]:
    """A system command: approved grants past ``valid_until`` become ``expired`` (they already
    stopped working at that instant)."""

    def body(call: Call) -> list[Grant]:
        expired = [
            g.change("expired", call.at, SYSTEM.id)
            for g in call.uow.grants("approved")
            if not g.active(call.at)
        ]
        system = Decision(True, "system", "the desk's own scheduled change")
        for grant in expired:
            call.uow.save_grant(grant)
            call.audit("grant.expire", f"grant:{grant.id}", system, grant.describe())
        return expired

    return runner.run(SYSTEM, "grant.expire", None, now, body)


def grants(
    runner: Runner, actor: Actor, *, state: str | None, now: datetime | None = None
) -> list[Grant]:
    if state is not None and state not in GRANT_STATES:
        raise ValidationError("state", f"must be one of {list(GRANT_STATES)}, got {state!r}")

    def body(call: Call) -> list[Grant]:
        rows = call.uow.grants(state)
        if _may_read_all(call.view):
            return rows
        return [g for g in rows if g.concerns(actor)]

    return runner.run(actor, "grant.view", None, now, body)
