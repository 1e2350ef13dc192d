"""The default matrix, cell by cell (R-PRM-1, R-PRM-2, R-PRM-3, R-ORG-1).

The ticket: team after-sales (department service), requester C1 of organisation acme, assigned to
a-in. Cells: ``Y`` allowed in every state, ``o`` allowed only while the ticket is open (not in
archived), ``-`` denied.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from helpdesk_core import Actor, Ticket
from helpdesk_core.permissions import ACTIONS, Grant, PermissionMatrix
from helpdesk_core.testing.storage_contract import new_ticket

TABLE = """
action                   anon cust org_on org_off other agent_in agent_out sup_dep sup_other qa sales sales_grant admin
ticket.view               -    Y    Y      -       -     Y        -         Y       -         Y  -     Y           Y
ticket.view_notes         -    -    -      -       -     Y        -         Y       -         Y  -     -           Y
ticket.create             -    Y    Y      Y       Y     Y        Y         Y       Y         -  -     -           Y
ticket.reply              -    o    -      -       -     Y        -         Y       -         -  -     -           Y
ticket.note               -    -    -      -       -     Y        -         Y       -         -  -     -           Y
ticket.edit               -    -    -      -       -     Y        -         Y       -         -  -     -           Y
ticket.assign             -    -    -      -       -     Y        -         Y       -         -  -     -           Y
ticket.transfer           -    -    -      -       -     Y        -         Y       -         -  -     -           Y
ticket.approve_transfer   -    -    -      -       -     -        -         Y       -         -  -     -           Y
ticket.set_status         -    o    -      -       -     Y        -         Y       -         -  -     -           Y
ticket.set_priority       -    -    -      -       -     Y        -         Y       -         -  -     -           Y
ticket.merge              -    -    -      -       -     Y        -         Y       -         -  -     -           Y
ticket.split              -    -    -      -       -     Y        -         Y       -         -  -     -           Y
ticket.link               -    -    -      -       -     Y        -         Y       -         -  -     -           Y
ticket.flag_quality       -    -    -      -       -     -        -         Y       -         Y  -     -           Y
ticket.export             -    -    -      -       -     -        -         Y       -         -  -     -           Y
customer.view             -    -    -      -       -     Y        Y         Y       Y         -  -     Y           Y
customer.edit             -    -    -      -       -     -        -         Y       Y         -  -     -           Y
customer.view_contact     -    Y    Y      -       -     Y        -         Y       Y         -  -     -           Y
kb.read                   -    Y    Y      Y       Y     Y        Y         Y       Y         Y  Y     Y           Y
kb.write                  -    -    -      -       -     Y        Y         Y       Y         -  -     -           Y
kb.review                 -    -    -      -       -     -        -         Y       Y         -  -     -           Y
report.view               -    -    -      -       -     Y        -         Y       -         Y  -     -           Y
config.edit               -    -    -      -       -     -        -         -       -         -  -     -           Y
audit.view                -    -    -      -       -     -        -         Y       Y         -  -     -           Y
grant.request             -    -    -      -       -     Y        Y         Y       Y         -  Y     Y           Y
grant.approve             -    -    -      -       -     -        -         Y       Y         -  -     -           Y
outbox.manage             -    -    -      -       -     -        -         -       -         -  -     -           Y
survey.view               -    -    -      -       -     Y        -         Y       -         Y  -     -           Y
survey.classify           -    -    -      -       -     Y        -         Y       -         -  -     -           Y
survey.answer             -    Y    -      -       -     -        -         -       -         -  -     -           Y
intake.view               -    -    -      -       -     Y        Y         Y       Y         -  -     -           Y
review.view               -    -    -      -       -     Y        -         Y       -         -  -     -           Y
review.edit               -    -    -      -       -     Y        -         Y       -         -  -     -           Y
review.approve            -    -    -      -       -     -        -         -       -         -  -     -           Y
"""

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

ACTORS = {
    "anon": Actor(id="anon", roles=set()),
    "cust": Actor(id="C1", roles={"customer"}, organisation="acme"),
    "org_on": Actor(id="C2", roles={"customer"}, organisation="acme"),
    "org_off": Actor(id="C2", roles={"customer"}, organisation="acme"),
    "other": Actor(id="C3", roles={"customer"}, organisation="globex"),
    "agent_in": Actor(id="a-in", roles={"agent"}, team="after-sales", department="service"),
    "agent_out": Actor(id="a-out", roles={"agent"}, team="tech", department="engineering"),
    "sup_dep": Actor(id="s-dep", roles={"supervisor"}, department="service"),
    "sup_other": Actor(id="s-other", roles={"supervisor"}, department="engineering"),
    "qa": Actor(id="q-1", roles={"qa_inspector"}),
    "sales": Actor(id="sales-1", roles={"sales"}, department="sales"),
    "sales_grant": Actor(id="sales-2", roles={"sales"}, department="sales"),
    "admin": Actor(id="root", roles={"admin"}),
}

SALES_GRANT = Grant(
    id="g1",
    actions=("ticket.view", "customer.view"),
    where={"requester": "C1"},
    valid_until=NOW + timedelta(days=1),
    reason="follow-up sale",
    requested_by="sales-2",
    grantee="sales-2",
    state="approved",
)


def _rows() -> list[tuple[str, str, str]]:
    lines = [line.split() for line in TABLE.strip().splitlines()]
    header = lines[0][1:]
    return [
        (row[0], who, cell) for row in lines[1:] for who, cell in zip(header, row[1:], strict=True)
    ]


def _ticket(status: str) -> Ticket:
    ticket, _ = new_ticket(
        "t1",
        1,
        team="after-sales",
        department="service",
        requester="C1",
        organisation="acme",
        assignee="a-in",
        actor="C1",
        status=status,
        status_category="open" if status == "in_progress" else "closed",
    )
    return ticket


def _matrix(who: str) -> PermissionMatrix:
    matrix = PermissionMatrix.default(share_organisation_tickets=who != "org_off")
    matrix.teams.update({"after-sales": "service", "tech": "engineering"})
    return matrix


def test_table_covers_every_action_and_actor() -> None:
    rows = _rows()
    assert {action for action, _, _ in rows} == set(ACTIONS)
    assert {who for _, who, _ in rows} == set(ACTORS)


@pytest.mark.parametrize(("action", "who", "cell"), _rows())
@pytest.mark.parametrize("status", ["in_progress", "archived"])
def test_cell(action: str, who: str, cell: str, status: str) -> None:
    matrix = _matrix(who)
    ticket = _ticket(status)
    grants = [SALES_GRANT] if who == "sales_grant" else []
    expected = cell == "Y" or (cell == "o" and status == "in_progress")
    decision = matrix.check(ACTORS[who], action, ticket, grants)
    assert decision.allowed is expected, decision
    # the storage filter gives the same answer as the single check
    assert matrix.scope(ACTORS[who], action, grants).matches(_subject(ticket)) is expected


def _subject(ticket: Ticket) -> dict[str, object]:
    from helpdesk_core.model.tickets import ticket_subject

    return ticket_subject(ticket)


def test_markdown_and_csv_export_for_auditors() -> None:
    matrix = PermissionMatrix.default()
    markdown = matrix.to_markdown()
    assert markdown.splitlines()[0].startswith("| action | admin | agent |")
    assert "| ticket.view |" in markdown
    csv_text = matrix.to_csv()
    header = csv_text.splitlines()[0].split(",")
    assert header[0] == "action" and "customer" in header and "system" not in header
    assert len(csv_text.splitlines()) == len(ACTIONS) + 1
