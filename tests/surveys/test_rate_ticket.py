"""Rating a ticket while signed in (R-CSAT-1, docs/surveys.md rule 8) on the memory, SQLite and
PostgreSQL stores: the requester answers their own open survey without the token, through the
same one-answer rule as the token; nobody else can, and a second answer is refused alike."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_surveys import (  # type: ignore[import-not-found]  # the sibling module
    ADMIN,
    AGENT,
    CUSTOMER,
    T0,
    invitations,
    make_desk,
    resolved,
)

from helpdesk_core import Actor, Helpdesk, NotFound, PermissionDenied, ValidationError

RATE_MESSAGE = "no open survey of yours on this ticket"
COLLEAGUE = Actor(id="C2", roles={"customer"})


@pytest.fixture
def desk(store_url: str) -> Iterator[Helpdesk]:
    with make_desk(store_url) as d:
        yield d


def test_r_csat_1_the_requester_rates_their_resolved_ticket(desk: Helpdesk) -> None:
    """R-CSAT-1: the answer lands on the invitation's survey, as a token answer would."""
    ticket = resolved(desk)
    later = T0 + timedelta(hours=3)
    rated = desk.rate_ticket(CUSTOMER, ticket.id, stars=4, comment="quick", now=later)
    [survey] = desk.surveys(AGENT, ticket_id=ticket.id)
    assert (rated.id, rated.stars, rated.comment) == (survey.id, 4, "quick")
    assert survey.answered_at == later
    assert desk.get_ticket(AGENT, ticket.id).status == "resolved"
    assert [e.kind for e in desk.history(AGENT, ticket.id)][-1] == "survey_answered"
    # the invitation's token is spent too: one answer per survey, whatever the door
    token = invitations(desk)[0].payload["token"]
    with pytest.raises(ValidationError) as refused:
        desk.answer_survey(token, stars=5, now=later)
    assert refused.value.field == "token"


def test_r_csat_1_an_unsatisfied_rating_reopens(desk: Helpdesk) -> None:
    """R-CSAT-1 rule 6 through rate_ticket: 2 stars reopens and tells the supervisors."""
    ticket = resolved(desk)
    desk.rate_ticket(CUSTOMER, ticket.id, stars=2, now=T0 + timedelta(hours=2))
    assert desk.get_ticket(AGENT, ticket.id).status == "in_progress"
    with desk.storage.transaction() as uow:
        assert [m.topic for m in uow.outbox()].count("survey_unsatisfied") == 1


def test_r_csat_1_no_open_survey_is_one_validation_error(desk: Helpdesk) -> None:
    """Not resolved, answered already, expired: the same ValidationError('ticket_id')."""
    open_ticket = desk.open_ticket(CUSTOMER, subject="Still open", channel="email", now=T0)
    ticket = resolved(desk)
    answered = resolved(desk)
    desk.rate_ticket(CUSTOMER, answered.id, stars=5, now=T0 + timedelta(hours=2))
    cases = [
        (open_ticket.id, T0 + timedelta(hours=2)),
        (answered.id, T0 + timedelta(hours=2)),
        (ticket.id, T0 + timedelta(hours=25)),  # the answer window closed
    ]
    for ticket_id, at in cases:
        with pytest.raises(ValidationError) as refused:
            desk.rate_ticket(CUSTOMER, ticket_id, stars=3, now=at)
        assert refused.value.field == "ticket_id" and RATE_MESSAGE in str(refused.value)


def test_r_prm_1_only_the_requester_rates(desk: Helpdesk) -> None:
    """R-PRM-1: another customer finds no such ticket; an agent lacks survey.answer; an
    administrator may act but holds no survey of theirs."""
    ticket = resolved(desk)
    at = T0 + timedelta(hours=2)
    with pytest.raises(NotFound):
        desk.rate_ticket(COLLEAGUE, ticket.id, stars=1, now=at)
    with pytest.raises(PermissionDenied):
        desk.rate_ticket(AGENT, ticket.id, stars=1, now=at)
    with pytest.raises(ValidationError) as refused:
        desk.rate_ticket(ADMIN, ticket.id, stars=1, now=at)
    assert refused.value.field == "ticket_id"
    with pytest.raises(NotFound):
        desk.rate_ticket(CUSTOMER, "no-such-ticket", stars=1, now=at)
    assert desk.surveys(AGENT, ticket_id=ticket.id)[0].stars is None  # nothing half-written


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stars=st.one_of(st.integers(), st.booleans(), st.text(max_size=3), st.none()))
def test_r_csat_1_stars_outside_1_to_5_name_stars(desk: Helpdesk, stars: object) -> None:
    """Any value but an int 1..5 is ValidationError('stars'), never a TypeError."""
    if isinstance(stars, int) and not isinstance(stars, bool) and 1 <= stars <= 5:
        return
    with pytest.raises(ValidationError) as refused:
        desk.rate_ticket(CUSTOMER, "any", stars=stars, now=T0)  # type: ignore[arg-type]
    assert refused.value.field == "stars"
