"""Satisfaction surveys through the one command path: the survey a resolution owes (a reaction
of the runner), answers (no actor: the token is the customer's proof), classification and the
scoped list. The rules are :mod:`helpdesk_core.surveys`."""

from __future__ import annotations

from datetime import datetime
from typing import Final

import attrs

from helpdesk_core import validation as check
from helpdesk_core.access import Decision
from helpdesk_core.conditions import all_of, field_is
from helpdesk_core.errors import InvalidTransition, NotFound, ValidationError
from helpdesk_core.escalation import resolve_recipients
from helpdesk_core.model.customers import preferred_channel
from helpdesk_core.model.events import StatusChanged, SurveyAnswered
from helpdesk_core.model.people import SYSTEM, Actor
from helpdesk_core.model.reviews import FeedbackItem, feedback_from
from helpdesk_core.model.surveys import Survey, token_hash
from helpdesk_core.model.tickets import Ticket
from helpdesk_core.ports import TicketQuery
from helpdesk_core.service.runner import Call, Change, Runner
from helpdesk_core.service.tickets import created_event, linked_event, reopen_events
from helpdesk_core.surveys import (
    MAX_COMMENT,
    TOKEN_ERROR,
    check_category,
    check_stars,
    invitation,
    is_resolution,
    surveys_config,
    unsatisfied,
    unsatisfied_notice,
)


# -- rules 1 and 2: the reaction ------------------------------------------------------------
def owe_surveys(call: Call) -> None:
    """After any command's body: a survey and its invitation for every resolution it decided
    (same transaction). Registered on the runner by the desk."""
    runner = call.runner
    settings = surveys_config(runner.config)
    if not settings.enabled:
        return
    statuses = runner.config.workflow.statuses
    for change in call.changes:
        for event in change.events:
            if not isinstance(event, StatusChanged):
                continue
            source = statuses.get(event.from_status)
            if source is None or not is_resolution(event, source.category):
                continue
            ticket = change.ticket
            if ticket.requester is None:
                continue
            _new_survey(call, ticket, ticket.requester, event.at)


def _new_survey(call: Call, ticket: Ticket, requester: str, at: datetime) -> None:
    runner, uow = call.runner, call.uow
    settings = surveys_config(runner.config)
    token = call.new_token()
    channel = preferred_channel(ticket, uow.get_customer(requester), runner.config.channels)
    survey = Survey(
        id=call.new_id(),
        ticket_id=ticket.id,
        customer=requester,
        token_hash=token_hash(token),
        created_at=at,
        expires_at=at + settings.answer_window,
        cycle=len(uow.surveys(ticket_id=ticket.id)) + 1,
        channel=channel,
    )
    uow.save_survey(survey)
    uow.add_outbox(invitation(call.new_id(), survey, ticket, token, at))


# -- rules 3 to 6: answers --------------------------------------------------------------------
def answer_survey(
    runner: Runner,
    token: str,
    *,
    stars: int,
    comment: str | None,
    now: datetime | None,
) -> Survey:
    try:
        check.ident(token, "token")  # a str of at most MAX_ID, no NUL, valid Unicode
    except ValidationError:
        raise ValidationError("token", TOKEN_ERROR) from None
    check_stars(stars)
    check.optional_text(comment, "comment", limit=MAX_COMMENT)
    digest = token_hash(token)

    def body(call: Call) -> Survey:
        uow = call.uow
        survey = uow.get_survey_by_token_hash(digest)
        if survey is None or not survey.open_at(call.at):
            raise ValidationError("token", TOKEN_ERROR)
        ticket = uow.get_ticket(survey.ticket_id)
        if ticket is None:
            raise ValidationError("token", TOKEN_ERROR)
        answered = _record_answer(call, survey, ticket, stars=stars, comment=comment)
        if answered is None:  # a concurrent answer won (rule 4)
            raise ValidationError("token", TOKEN_ERROR)
        return answered

    return runner.run(SYSTEM, "survey.answer", None, now, body)


RATE_ERROR: Final = (
    "no open survey of yours on this ticket (none owed, expired or already answered)"
)
"""The one message of :func:`rate_ticket` for every survey it cannot answer (as rule 3)."""


def rate_ticket(
    runner: Runner,
    actor: Actor,
    ticket_id: str,
    *,
    stars: int,
    comment: str | None,
    now: datetime | None,
) -> Survey:
    """Rule 8: the requester, signed in, answers their open survey of the ticket without the
    token (``survey.answer`` on the ticket; the answer is the one the invitation would give)."""
    Runner.check_actor(actor)
    check.ident(ticket_id, "ticket_id")
    check_stars(stars)
    check.optional_text(comment, "comment", limit=MAX_COMMENT)

    def body(call: Call) -> Survey:
        ticket = call.load_visible(ticket_id, "survey.answer")
        owed = [
            s
            for s in call.uow.surveys(ticket_id=ticket_id)
            if s.customer == actor.id and s.open_at(call.at)
        ]
        if not owed:
            raise ValidationError("ticket_id", RATE_ERROR)
        survey = max(owed, key=lambda s: s.cycle)  # the latest resolution's invitation
        answered = _record_answer(call, survey, ticket, stars=stars, comment=comment)
        if answered is None:  # a concurrent answer (by token or here) won (rule 4)
            raise ValidationError("ticket_id", RATE_ERROR)
        return _present(call, answered, ticket)

    return runner.run(actor, "survey.answer", ticket_id, now, body)


def _record_answer(
    call: Call, survey: Survey, ticket: Ticket, *, stars: int, comment: str | None
) -> Survey | None:
    """Rules 4 to 6: record the one answer (None when another answer won), its event on the
    ticket, and the reaction to an unsatisfied rating."""
    runner = call.runner
    answered = call.uow.answer_survey(survey.id, stars=stars, comment=comment, answered_at=call.at)
    if answered is None:
        return None
    change = call.track(ticket)
    change.add(
        lambda seq: SurveyAnswered(
            ticket_id=ticket.id,
            seq=seq,
            at=call.at,
            actor=answered.customer,
            survey_id=answered.id,
            stars=stars,
            cycle=answered.cycle,
        )
    )
    if unsatisfied(surveys_config(runner.config), stars):
        _unsatisfied(call, change, answered)
    _into_reviews(call, answered)
    return answered


def _into_reviews(call: Call, survey: Survey) -> None:
    """R-REV-1, R-REV-4: a live post-incident review of the ticket takes the answer (and later
    its classification) as customer feedback, in the same transaction."""
    if survey.stars is None or survey.answered_at is None:
        return
    item = FeedbackItem(
        source="survey",
        at=survey.answered_at,
        author=survey.customer,
        text=survey.comment or "",
        rating=survey.stars,
        category=survey.category,
        ref=survey.id,
    )
    for review in call.uow.reviews(ticket_id=survey.ticket_id):
        updated = feedback_from(review, item, call.at)
        if updated is not review:
            call.uow.save_review(updated)


def _unsatisfied(call: Call, change: Change, survey: Survey) -> None:
    """Rule 6: reopen (or a follow-up ticket), and tell the supervisors."""
    runner = call.runner
    settings = surveys_config(runner.config)
    reason = f"customer unsatisfied: {survey.stars} of 5 stars"
    action: str = settings.on_unsatisfied
    follow_up: str | None = None
    if action == "reopen":
        try:
            reopen_events(runner, change, SYSTEM, call.at, reason)
        except InvalidTransition:
            action = "follow_up"  # archived, or a workflow without a reopen from here
    if action == "follow_up":
        follow_up = _follow_up(call, change, survey, reason)
    ticket = change.ticket
    recipients = resolve_recipients(ticket, ("supervisor",), call.uow.agents(), None, False)
    call.uow.add_outbox(
        unsatisfied_notice(call.new_id(), survey, ticket, recipients, action, call.at, follow_up)
    )


def _follow_up(call: Call, change: Change, survey: Survey, reason: str) -> str:
    """A new ticket for the same requester, linked both ways to the rated one."""
    runner, original = call.runner, change.ticket
    new_id = call.new_id()
    subject = f"Follow-up: {original.subject}"[: check.MAX_LINE]
    lines = [reason]
    if survey.comment:
        lines.append(f"Comment: {survey.comment}")
    created = created_event(
        runner,
        call,
        new_id,
        subject=subject,
        ticket_type=original.type,
        priority=original.priority,
        channel=original.channel,
        requester=original.requester,
        organisation=original.organisation,
        team=original.team,
        department=original.department,
        description="\n".join(lines),
        sub_category=original.sub_category,
        urgency=original.urgency,
    )
    new = call.track(Ticket.created(created), [created])
    new.add(linked_event(new_id, original.id, "follow_up_of", call.at, SYSTEM.id))
    change.add(linked_event(original.id, new_id, "has_follow_up", call.at, SYSTEM.id))
    return new_id


# -- rule 7: classification and the scoped list --------------------------------------------
HIDDEN_CUSTOMER = "***"
"""What a survey's ``customer`` reads for an actor who may not read the ticket's requester."""


def _present(call: Call, survey: Survey, ticket: Ticket) -> Survey:
    """The survey as the actor may see it: the same field rules as the ticket (the requester
    hidden or masked on the ticket is hidden on its surveys too)."""
    if "requester" in call.view.unreadable_on(ticket):
        return attrs.evolve(survey, customer=HIDDEN_CUSTOMER)
    return survey


def _visible_survey(call: Call, survey_id: str, action: str) -> tuple[Survey, Ticket, Decision]:
    """The survey if the actor may view its ticket (else NotFound, as a missing one) and take
    ``action`` on it."""
    survey = call.uow.get_survey(survey_id)
    ticket = None if survey is None else call.uow.get_ticket(survey.ticket_id)
    if survey is None or ticket is None:
        raise NotFound("survey", survey_id)
    view = call.view.check("ticket.view", ticket)
    if not view.allowed:
        call.refuse_hidden("survey", survey_id, "ticket.view", view)
    return survey, ticket, call.authorise(action, ticket)


def classify_feedback(
    runner: Runner,
    actor: Actor,
    survey_id: str,
    category: str,
    *,
    now: datetime | None,
) -> Survey:
    Runner.check_actor(actor)
    check.ident(survey_id, "survey_id")
    check_category(category)

    def body(call: Call) -> Survey:
        survey, ticket, decision = _visible_survey(call, survey_id, "survey.classify")
        if not survey.answered:  # an answer never changes once given: classify only that
            raise ValidationError("survey_id", "the survey has no answer to classify yet")
        classified = attrs.evolve(
            survey, category=category, classified_by=actor.id, classified_at=call.at
        )
        call.uow.save_survey(classified)
        _into_reviews(call, classified)
        call.audit("survey.classify", survey_id, decision, f"feedback filed as {category}")
        return _present(call, classified, ticket)

    return runner.run(actor, "survey.classify", survey_id, now, body)


def surveys(
    runner: Runner, actor: Actor, *, ticket_id: str | None, now: datetime | None
) -> list[Survey]:
    """The surveys of the tickets the actor may view (and take ``survey.view`` on), oldest
    first. The survey table is read whole; the ticket scope is pushed into the store, which
    loads only the visible tickets that have surveys."""
    Runner.check_actor(actor)
    check.optional_ident(ticket_id, "ticket_id")

    def body(call: Call) -> list[Survey]:
        if ticket_id is not None:
            ticket = call.load_visible(ticket_id, "survey.view")
            return [_present(call, s, ticket) for s in call.uow.surveys(ticket_id=ticket_id)]
        found = call.uow.surveys()
        ids = sorted({s.ticket_id for s in found})
        if not ids:
            return []
        scope = all_of(
            [call.view.scope("ticket.view"), call.view.scope("survey.view"),
             field_is("id", "in", ids)]
        )  # fmt: skip
        visible = {t.id: t for t in call.uow.query_tickets(TicketQuery(where=scope, limit=None))}
        return [_present(call, s, visible[s.ticket_id]) for s in found if s.ticket_id in visible]

    return runner.run(actor, "survey.view", None, now, body)
