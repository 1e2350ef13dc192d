"""A check decides a rule's scope without building its condition (it runs on every command);
the lists push the built condition down to the store. The two must agree on every ticket, or a
check and a list could disagree about what an actor may see (R-PRM-1, R-PRM-2)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from helpdesk_core import Actor
from helpdesk_core.permissions import SCOPES, PermissionMatrix, Rule
from helpdesk_core.testing.storage_contract import new_ticket

NAMES = st.sampled_from(["a1", "a2", "c1", "t1", "t2", "t3", "d1", "d2", "o1", "o2"])
MAYBE = st.one_of(st.none(), NAMES)
SCOPE_PARTS = st.lists(st.sampled_from(list(SCOPES)), min_size=1, max_size=4, unique=True)


@st.composite
def subjects(draw: st.DrawFn) -> dict[str, Any]:
    fields = ("assignee", "created_by", "requester", "organisation", "team", "department")
    return {name: draw(MAYBE) for name in fields if draw(st.booleans())}


@given(
    parts=SCOPE_PARTS,
    actor_id=NAMES,
    team=MAYBE,
    department=MAYBE,
    organisation=MAYBE,
    share=st.booleans(),
    teams=st.dictionaries(NAMES, MAYBE, max_size=4),
    subject=subjects(),
)
def test_a_check_and_a_list_agree_on_every_scope(
    parts: list[str],
    actor_id: str,
    team: str | None,
    department: str | None,
    organisation: str | None,
    share: bool,
    teams: dict[str, str | None],
    subject: dict[str, Any],
) -> None:
    matrix = PermissionMatrix.default(share_organisation_tickets=share)
    matrix.teams.update(teams)
    matrix.changed()
    actor = Actor(
        id=actor_id, roles={"agent"}, team=team, department=department, organisation=organisation
    )
    scope = "+".join(parts)
    built = matrix._scope_condition(scope, actor).matches(subject)
    assert matrix._in_scope(scope, actor, subject) is built


def test_rules_changed_in_place_are_seen_by_the_next_check() -> None:
    """The matrix remembers which rules may decide an action; changing its rules or teams in
    place (as tests and plugins do before a desk is built) must not leave a stale answer."""
    matrix = PermissionMatrix.default()
    agent = Actor(id="a1", roles={"agent"}, team="t1", department="d1")
    ticket, _ = new_ticket("x1", 1, team="t2")
    assert not matrix.check(agent, "ticket.view", ticket).allowed
    matrix.rules.append(Rule("dept-view", frozenset({"agent"}), ("ticket.view",), "department"))
    assert not matrix.check(agent, "ticket.view", ticket).allowed  # t2 is in no department
    matrix.teams["t2"] = "d1"
    assert matrix.check(agent, "ticket.view", ticket).rule == "dept-view"
    matrix.teams["t2"] = "d2"  # same size, another value
    matrix.changed()
    assert not matrix.check(agent, "ticket.view", ticket).allowed
