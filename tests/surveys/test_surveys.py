"""Satisfaction surveys through the facade (R-CSAT-1, R-REV-4) on the memory, SQLite and
PostgreSQL stores: the survey a resolution owes, the invitation, one answer per token, the
answer window, unsatisfied ratings, classification and the scoped list; and the issue's
"done when": N concurrent answers to one token, exactly one succeeds (hypothesis and threads)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk_core import (
    Actor,
    Agent,
    Helpdesk,
    NotFound,
    PermissionDenied,
    Survey,
    Ticket,
    ValidationError,
)
from helpdesk_core.hookspecs import hookimpl
from helpdesk_core.model.surveys import token_hash
from helpdesk_core.testing import FixedClock, RecordingNotifier

CONFIG: dict[str, Any] = {
    "desk": {"default_team": "after-sales", "timezone": "Asia/Shanghai"},
    "permissions": {"teams": {"after-sales": "service", "tech": "engineering"}},
    "storage": {"encryption": "off"},
}
ADMIN = Actor(id="root", roles={"admin"})
AGENT = Actor(id="a-1", roles={"agent"}, team="after-sales", department="service")
SUPERVISOR = Actor(id="s-1", roles={"supervisor"}, team="after-sales", department="service")
OUTSIDER = Actor(id="a-9", roles={"agent"}, team="tech", department="engineering")
CUSTOMER = Actor(id="C1", roles={"customer"})
T0 = datetime.fromisoformat("2026-11-02T09:00:00+08:00")
TOKEN_MESSAGE = "unknown, expired or already used survey token"


class Notify:
    def __init__(self, notifier: RecordingNotifier) -> None:
        self.notifier = notifier

    @hookimpl
    def helpdesk_register_notifiers(self, config: object) -> list[RecordingNotifier]:
        return [self.notifier]


def make_desk(url: str, config: dict[str, Any] | None = None) -> Helpdesk:
    tokens = (f"token-{n}" for n in itertools.count(1))
    notifier = RecordingNotifier()
    desk = Helpdesk(
        config=config or CONFIG,
        storage_url=url,
        clock=FixedClock(T0),
        plugins=[Notify(notifier)],
        load_entrypoints=False,
        token_factory=lambda: next(tokens),
    )
    desk.save_agent(ADMIN, Agent(id="a-1", name="Ann", team="after-sales"))
    desk.save_agent(ADMIN, Agent(id="s-1", name="Sue", team="after-sales", roles={"supervisor"}))
    desk.save_agent(ADMIN, Agent(id="s-2", name="Sid", department="service", roles={"supervisor"}))
    desk.recorded = notifier  # type: ignore[attr-defined]
    return desk


@pytest.fixture
def desk(store_url: str) -> Iterator[Helpdesk]:
    with make_desk(store_url) as d:
        yield d


def resolved(desk: Helpdesk, *, at: datetime = T0, requester: Actor = CUSTOMER) -> Ticket:
    ticket = desk.open_ticket(requester, subject="Parcel broken", channel="email", now=at)
    desk.assign(AGENT, ticket.id, AGENT.id, now=at)
    return desk.set_status(AGENT, ticket.id, "resolved", now=at + timedelta(hours=1))


def invitations(desk: Helpdesk) -> list[Any]:
    with desk.storage.transaction() as uow:
        return [m for m in uow.outbox() if m.topic == "survey"]


def test_r_csat_1_a_resolution_owes_a_survey_and_an_invitation(desk: Helpdesk) -> None:
    """R-CSAT-1: resolving writes the survey and its outbox invitation in the same transaction;
    the store keeps only the token's SHA-256; the notifier gets the token in its data."""
    ticket = resolved(desk)
    [survey] = desk.surveys(AGENT)
    assert survey.ticket_id == ticket.id and survey.customer == CUSTOMER.id
    assert survey.created_at == T0 + timedelta(hours=1)
    assert survey.expires_at == T0 + timedelta(hours=25)
    assert survey.token_hash == token_hash("token-1") and survey.cycle == 1
    assert survey.stars is None and survey.answered_at is None
    [row] = invitations(desk)
    assert row.key == f"survey:{survey.id}:{CUSTOMER.id}:email"
    assert row.payload["token"] == "token-1"
    desk.dispatch_outbox(now=T0 + timedelta(hours=1))
    sent = [n for n in desk.recorded.sent if n.event_kind == "survey_invitation"]  # type: ignore[attr-defined]
    assert [(n.recipient, n.data["token"], n.key) for n in sent] == [
        (CUSTOMER.id, "token-1", row.key)
    ]


def test_r_csat_1_moves_between_done_statuses_owe_nothing(desk: Helpdesk) -> None:
    """R-CSAT-1: resolved -> quality_check -> closed is one resolution; a reopen and a new
    resolution owe a second survey (cycle 2)."""
    ticket = resolved(desk)
    desk.set_status(SUPERVISOR, ticket.id, "quality_check")
    desk.set_status(SUPERVISOR, ticket.id, "closed")
    assert len(desk.surveys(AGENT, ticket_id=ticket.id)) == 1
    desk.reopen(CUSTOMER, ticket.id, reason="still broken", now=T0 + timedelta(hours=2))
    desk.set_status(AGENT, ticket.id, "resolved", now=T0 + timedelta(hours=3))
    assert [s.cycle for s in desk.surveys(AGENT, ticket_id=ticket.id)] == [1, 2]
    assert len(invitations(desk)) == 2


def test_r_csat_1_other_paths_that_resolve_owe_a_survey_too(desk: Helpdesk) -> None:
    """R-CSAT-1: a reply that resolves and a supervisor's direct close both owe a survey; a
    ticket without a requester owes none."""
    one = desk.open_ticket(CUSTOMER, subject="Login fails", channel="web_form")
    desk.assign(AGENT, one.id, AGENT.id)
    desk.reply(AGENT, one.id, "Fixed on our side.", status="resolved")
    two = desk.open_ticket(CUSTOMER, subject="Invoice", channel="email")
    desk.set_status(SUPERVISOR, two.id, "closed")
    internal = desk.open_ticket(AGENT, subject="Internal task", channel="email")
    desk.set_status(SUPERVISOR, internal.id, "closed")
    assert sorted(s.ticket_id for s in desk.surveys(ADMIN)) == sorted([one.id, two.id])
    [web] = [r for r in invitations(desk) if r.payload["ticket_id"] == one.id]
    assert web.payload["channel"] == "web_form"


def test_r_csat_1_the_invitation_uses_the_preferred_channel(desk: Helpdesk) -> None:
    """R-CSAT-1: the customer record's preferred channel carries the invitation."""
    record = desk.create_customer(SUPERVISOR, name="Wei", phones=["13812345678"])
    desk.update_customer(ADMIN, record.id, preferred_channel="phone")
    resolved(desk, requester=Actor(id=record.id, roles={"customer"}))
    [row] = invitations(desk)
    assert row.payload["channel"] == "phone" and row.key.endswith(":phone")


def test_r_csat_1_one_answer_within_the_window(desk: Helpdesk) -> None:
    """R-CSAT-1: an answer records stars and comment, and a survey_answered event; a used,
    an expired and an unknown token are refused alike."""
    ticket = resolved(desk)
    late = resolved(desk)
    answered = desk.answer_survey("token-1", stars=4, comment="Quick and kind")
    assert (answered.stars, answered.comment) == (4, "Quick and kind")
    assert answered.answered_at == T0
    history = desk.history(AGENT, ticket.id)
    assert history[-1].kind == "survey_answered"
    assert (history[-1].stars, history[-1].actor) == (4, CUSTOMER.id)  # type: ignore[attr-defined]
    assert desk.get_ticket(AGENT, ticket.id).status == "resolved"  # 4 stars: satisfied
    messages = []
    for token, when in (
        ("token-1", T0),  # used
        ("token-2", T0 + timedelta(hours=25)),  # expired: the window is [resolved, +24h)
        ("no-such-token", T0),  # unknown
    ):
        with pytest.raises(ValidationError) as refused:
            desk.answer_survey(token, stars=5, now=when)
        assert refused.value.field == "token"
        messages.append(str(refused.value))
    assert messages == [f"token: {TOKEN_MESSAGE}"] * 3
    # just inside the window still counts
    assert desk.answer_survey("token-2", stars=5, now=T0 + timedelta(hours=24, minutes=59))
    assert desk.get_ticket(AGENT, late.id).status == "resolved"


@pytest.mark.parametrize("stars", [0, 6, -1, True, 2.5, "5", None])
def test_stars_outside_1_to_5_are_refused(desk: Helpdesk, stars: Any) -> None:
    resolved(desk)
    with pytest.raises(ValidationError) as refused:
        desk.answer_survey("token-1", stars=stars)
    assert refused.value.field == "stars"
    assert desk.surveys(ADMIN)[0].answered_at is None


def test_a_long_comment_is_refused(desk: Helpdesk) -> None:
    resolved(desk)
    with pytest.raises(ValidationError) as refused:
        desk.answer_survey("token-1", stars=3, comment="x" * 5_001)
    assert refused.value.field == "comment"
    assert desk.answer_survey("token-1", stars=3, comment="x" * 5_000).stars == 3


def test_r_csat_1_an_unsatisfied_rating_reopens_and_tells_the_supervisor(desk: Helpdesk) -> None:
    """R-CSAT-1: 2 stars (at most unsatisfied_at_most) reopens through the workflow's reopen
    transition in the answer's transaction, and the team's supervisor is notified."""
    ticket = resolved(desk)
    desk.answer_survey("token-1", stars=2, comment="Still broken")
    after = desk.get_ticket(AGENT, ticket.id)
    assert after.status == "in_progress" and after.reopen_count == 1
    kinds = [e.kind for e in desk.history(AGENT, ticket.id)][-2:]
    assert kinds == ["survey_answered", "status_changed"]
    desk.dispatch_outbox()
    notices = [n for n in desk.recorded.sent if n.event_kind == "survey_unsatisfied"]  # type: ignore[attr-defined]
    assert [n.recipient for n in notices] == ["s-1"]  # the team's supervisor, not s-2
    assert "2 of 5 stars" in notices[0].body and "Still broken" in notices[0].body


def test_r_csat_1_follow_up_mode_opens_a_linked_ticket(store_url: str) -> None:
    """R-CSAT-1: on_unsatisfied = "follow_up" leaves the ticket resolved and opens a new ticket
    for the same requester, linked both ways."""
    config = {**CONFIG, "surveys": {"on_unsatisfied": "follow_up", "unsatisfied_at_most": 3}}
    with make_desk(store_url, config) as desk:
        ticket = resolved(desk)
        desk.answer_survey("token-1", stars=3, comment="Meh")
        original = desk.get_ticket(AGENT, ticket.id)
        assert original.status == "resolved"
        [(relation, other)] = original.links
        follow = desk.get_ticket(AGENT, other)
        assert relation == "has_follow_up" and ("follow_up_of", ticket.id) in follow.links
        assert follow.requester == CUSTOMER.id and follow.subject.startswith("Follow-up:")
        assert "Comment: Meh" in follow.description
        with desk.storage.transaction() as uow:
            [notice] = [m for m in uow.outbox() if m.topic == "survey_unsatisfied"]
        assert notice.payload["follow_up"] == other


def test_r_csat_1_an_archived_ticket_gets_a_follow_up(desk: Helpdesk) -> None:
    """R-CSAT-1: the workflow has no reopen from archived: a follow-up is opened instead."""
    ticket = resolved(desk)
    desk.set_status(SUPERVISOR, ticket.id, "closed")
    desk.set_status(SUPERVISOR, ticket.id, "archived")
    desk.answer_survey("token-1", stars=1)
    archived = desk.get_ticket(AGENT, ticket.id)
    assert archived.status == "archived"
    assert [r for r, _ in archived.links] == ["has_follow_up"]


def test_r_rev_4_classification_by_who_may_view_the_ticket(desk: Helpdesk) -> None:
    """R-REV-4: feedback is filed as process, people or tool by an agent or supervisor who may
    view the ticket; others get NotFound (hidden) or PermissionDenied."""
    ticket = resolved(desk)
    survey = desk.answer_survey("token-1", stars=3, comment="Took three calls")
    filed = desk.classify_feedback(AGENT, survey.id, "process")
    assert (filed.category, filed.classified_by, filed.stars) == ("process", AGENT.id, 3)
    assert desk.classify_feedback(SUPERVISOR, survey.id, "people").category == "people"
    with pytest.raises(ValidationError) as bad:
        desk.classify_feedback(AGENT, survey.id, "weather")
    assert bad.value.field == "category"
    with pytest.raises(NotFound) as hidden:
        desk.classify_feedback(OUTSIDER, survey.id, "tool")
    with pytest.raises(NotFound) as missing:
        desk.classify_feedback(OUTSIDER, "nope", "tool")
    assert str(hidden.value) == str(missing.value).replace("nope", survey.id)
    with pytest.raises(PermissionDenied):
        desk.classify_feedback(CUSTOMER, survey.id, "tool")
    assert desk.surveys(AGENT, ticket_id=ticket.id)[0].category == "people"
    unanswered = resolved(desk)
    [pending] = desk.surveys(AGENT, ticket_id=unanswered.id)
    with pytest.raises(ValidationError) as early:
        desk.classify_feedback(AGENT, pending.id, "tool")
    assert early.value.field == "survey_id"


def test_surveys_are_scoped_to_visible_tickets(desk: Helpdesk) -> None:
    """R-PRM-2: the list holds the surveys of tickets the actor may view."""
    ours = resolved(desk)
    theirs = desk.open_ticket(CUSTOMER, subject="Router", channel="email", team="tech")
    desk.set_status(ADMIN, theirs.id, "closed")
    assert {s.ticket_id for s in desk.surveys(ADMIN)} == {ours.id, theirs.id}
    assert [s.ticket_id for s in desk.surveys(AGENT)] == [ours.id]
    assert [s.ticket_id for s in desk.surveys(OUTSIDER)] == [theirs.id]
    assert desk.surveys(Actor(id="m-1", roles={"manager"})) == desk.surveys(ADMIN)
    with pytest.raises(NotFound):
        desk.surveys(OUTSIDER, ticket_id=ours.id)
    with pytest.raises(PermissionDenied):
        desk.surveys(CUSTOMER, ticket_id=ours.id)
    assert desk.surveys(CUSTOMER) == []


def test_surveys_are_exported_types(desk: Helpdesk) -> None:
    resolved(desk)
    assert all(isinstance(s, Survey) for s in desk.surveys(ADMIN))
    survey = desk.surveys(ADMIN)[0]
    assert Survey.from_dict(survey.to_dict()) == survey


def test_disabled_surveys_owe_nothing(store_url: str) -> None:
    with make_desk(store_url, {**CONFIG, "surveys": {"enabled": False}}) as desk:
        resolved(desk)
        assert desk.surveys(ADMIN) == [] and invitations(desk) == []


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(stars=st.lists(st.integers(min_value=1, max_value=5), min_size=2, max_size=6))
def test_r_csat_1_concurrent_answers_to_one_token_one_succeeds(
    desk: Helpdesk, stars: list[int]
) -> None:
    """R-CSAT-1: N concurrent answers to one token -> exactly one succeeds, the rest are
    ValidationError('token')."""
    ticket = resolved(desk)
    [survey] = desk.surveys(AGENT, ticket_id=ticket.id)
    token = f"token-{len(desk.surveys(AGENT))}"  # the desk's tokens count up from 1
    barrier = threading.Barrier(len(stars))
    outcomes: list[tuple[str, int]] = []
    lock = threading.Lock()

    def answer(given_stars: int) -> None:
        barrier.wait(timeout=30)
        try:
            desk.answer_survey(token, stars=given_stars)
            outcome = "answered"
        except ValidationError as exc:
            outcome = f"refused:{exc.field}"
        with lock:
            outcomes.append((outcome, given_stars))

    threads = [threading.Thread(target=answer, args=(s,)) for s in stars]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    winners = [s for outcome, s in outcomes if outcome == "answered"]
    assert len(outcomes) == len(stars) and len(winners) == 1, outcomes
    assert all(o == "refused:token" for o, _ in outcomes if o != "answered")
    [stored] = desk.surveys(AGENT, ticket_id=ticket.id)
    assert stored.id == survey.id and stored.stars == winners[0]
    answered = [e for e in desk.history(AGENT, ticket.id) if e.kind == "survey_answered"]
    assert len(answered) == 1


def test_r_rpt_1_csat_report_reads_the_answers(desk: Helpdesk) -> None:
    """R-RPT-1, R-CSAT-1: the csat report counts every answer of the cohort's tickets, by
    stars, with the mean and the share of 4-5 stars; the pure function over the event stream
    gives the same figures as the desk's report."""
    from helpdesk_core import reports

    first, second, third = resolved(desk), resolved(desk), resolved(desk)
    desk.answer_survey("token-1", stars=5)
    desk.answer_survey("token-2", stars=2)  # reopens the second ticket
    desk.set_status(AGENT, second.id, "resolved", now=T0 + timedelta(hours=2))
    desk.answer_survey("token-4", stars=4, now=T0 + timedelta(hours=3))
    day = T0.date()
    [row] = desk.report(ADMIN, "csat", start=day, end=day, now=T0 + timedelta(hours=4)).rows
    assert row == {
        "tickets": 3,
        "ratings": 3,
        "satisfied": 2,
        "stars_1": 0,
        "stars_2": 1,
        "stars_3": 0,
        "stars_4": 1,
        "stars_5": 1,
        "mean_stars": round(11 / 3, 6),
        "rate": round(2 / 3, 6),
    }
    events = [e for t in (first, second, third) for e in desk.history(ADMIN, t.id)]
    pure = reports.csat(events, start=day, end=day, tz="Asia/Shanghai").rows
    assert pure == [row]


def test_a_requester_the_actor_may_not_read_is_hidden_on_surveys(store_url: str) -> None:
    """R-PRM-2: surveys follow the ticket's field rules: an agent who sees the requester masked
    sees the survey's customer masked too (list and classification alike)."""
    config = {**CONFIG, "permissions": {"fields": {"agent": {"masked": ["requester"]}}}}
    with make_desk(store_url, config) as desk:
        resolved(desk)
        survey = desk.answer_survey("token-1", stars=3)
        assert [s.customer for s in desk.surveys(AGENT)] == ["***"]
        assert desk.classify_feedback(AGENT, survey.id, "tool").customer == "***"
        assert [s.customer for s in desk.surveys(SUPERVISOR)] == [CUSTOMER.id]
