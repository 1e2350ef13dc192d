"""The HTTP API under ``/api/v1``: one route per facade command or query, nothing more.

Every route is a plain ``def``: FastAPI runs it in its thread pool, so the synchronous facade
never blocks the event loop. Errors are the library's, mapped to statuses in
:mod:`helpdesk_server.errors`.
"""

from __future__ import annotations

import base64
import binascii
import json
import tomllib
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import PlainTextResponse

from helpdesk_core.errors import ValidationError
from helpdesk_core.model.people import Actor
from helpdesk_server.auth import CurrentActor, CurrentUser, Desk
from helpdesk_server.errors import ERROR_RESPONSES
from helpdesk_server.schemas import (
    ArticleCreate,
    ArticleHitOut,
    ArticleOut,
    AssignIn,
    ClassifyIn,
    CustomerCreate,
    CustomerEventOut,
    CustomerHistoryOut,
    CustomerOut,
    EventOut,
    IntakeRecordOut,
    NoteIn,
    OutboxMessageOut,
    PriorityIn,
    QueueStatusOut,
    RatingIn,
    ReplyIn,
    ReportOut,
    ReviewIn,
    SearchHitOut,
    SlaClockOut,
    SlaExplainOut,
    StatusIn,
    SurveyAnswerIn,
    SurveyOut,
    TicketCreate,
    TicketOut,
    TicketPage,
    TransferDecisionIn,
    TransferIn,
    UserOut,
    WebFormIn,
    WebFormOut,
    WhatIfIn,
    WhatIfOut,
    WorkaroundIn,
)

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=500, description="page size")]


def encode_cursor(value: Any, ticket_id: str) -> str:
    """The opaque ``after`` of the next page: the last ticket's order value and id."""
    plain = value.isoformat() if isinstance(value, datetime) else value
    raw = json.dumps([plain, ticket_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, order_by: str) -> tuple[Any, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, ticket_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(ticket_id, str) or not isinstance(value, str):
            raise ValueError(cursor)
        return (value if order_by == "number" else datetime.fromisoformat(value)), ticket_id
    except (ValueError, TypeError, binascii.Error, UnicodeError) as exc:
        raise ValidationError("after", "not a cursor this API returned as next_after") from exc


# ---------------------------------------------------------------------- who am I
@router.get("/me", response_model=UserOut, tags=["auth"])
def me(user: CurrentUser) -> UserOut:
    """The signed-in user (from the bearer token)."""
    return UserOut(
        id=user.id, name=user.name, roles=list(user.roles), team=user.team,
        department=user.department,
    )  # fmt: skip


# ---------------------------------------------------------------------- tickets
@router.get("/tickets", response_model=TicketPage, tags=["tickets"])
def list_tickets(
    desk: Desk,
    actor: CurrentActor,
    status: Annotated[list[str] | None, Query()] = None,
    status_category: Annotated[list[str] | None, Query()] = None,
    assignee: str | None = None,
    team: str | None = None,
    requester: str | None = None,
    priority: Annotated[list[str] | None, Query()] = None,
    type: Annotated[list[str] | None, Query()] = None,
    tag: str | None = None,
    order_by: Literal["created_at", "updated_at", "number"] = "created_at",
    descending: bool = False,
    after: str | None = None,
    limit: Limit = 50,
) -> TicketPage:
    """Tickets the caller may view, filtered, in keyset pages (``desk.tickets``)."""
    cursor = decode_cursor(after, order_by) if after is not None else None
    found = desk.tickets(
        actor, status=status, status_category=status_category, assignee=assignee, team=team,
        requester=requester, priority=priority, type=type, tag=tag, order_by=order_by,
        descending=descending, after=cursor, limit=limit,
    )  # fmt: skip
    next_after = None
    if len(found) == limit:
        last = found[-1]
        next_after = encode_cursor(getattr(last, order_by), last.id)
    return TicketPage(items=[TicketOut.of(t, messages=False) for t in found], next_after=next_after)


@router.post("/tickets", response_model=TicketOut, status_code=201, tags=["tickets"])
def open_ticket(desk: Desk, actor: CurrentActor, body: TicketCreate) -> TicketOut:
    """Open a ticket (``desk.open_ticket``); a customer opens for themself."""
    ticket = desk.open_ticket(
        actor, subject=body.subject, channel=body.channel, description=body.description,
        customer_id=body.customer_id, type=body.type, priority=body.priority, team=body.team,
        tags=body.tags,
    )  # fmt: skip
    return TicketOut.of(ticket)


@router.get("/tickets/by-number/{number}", response_model=TicketOut, tags=["tickets"])
def ticket_by_number(desk: Desk, actor: CurrentActor, number: str) -> TicketOut:
    return TicketOut.of(desk.get_ticket_by_number(actor, number))


@router.get("/tickets/{ticket_id}", response_model=TicketOut, tags=["tickets"])
def get_ticket(desk: Desk, actor: CurrentActor, ticket_id: str) -> TicketOut:
    """The ticket with its conversation; 404 when missing or hidden from the caller, alike."""
    return TicketOut.of(desk.get_ticket(actor, ticket_id))


@router.get("/tickets/{ticket_id}/history", response_model=list[EventOut], tags=["tickets"])
def history(desk: Desk, actor: CurrentActor, ticket_id: str) -> list[EventOut]:
    """The ticket's events, oldest first, each with a readable ``text`` line."""
    return [EventOut.of(e) for e in desk.history(actor, ticket_id)]


@router.post("/tickets/{ticket_id}/replies", response_model=TicketOut, tags=["tickets"])
def reply(desk: Desk, actor: CurrentActor, ticket_id: str, body: ReplyIn) -> TicketOut:
    ticket = desk.reply(
        actor, ticket_id, body.body, public=body.public, status=body.status,
        expected_version=body.expected_version,
    )  # fmt: skip
    return TicketOut.of(ticket)


@router.post("/tickets/{ticket_id}/notes", response_model=TicketOut, tags=["tickets"])
def add_note(desk: Desk, actor: CurrentActor, ticket_id: str, body: NoteIn) -> TicketOut:
    return TicketOut.of(desk.add_note(actor, ticket_id, body.body))


@router.post("/tickets/{ticket_id}/status", response_model=TicketOut, tags=["tickets"])
def set_status(desk: Desk, actor: CurrentActor, ticket_id: str, body: StatusIn) -> TicketOut:
    ticket = desk.set_status(
        actor, ticket_id, body.status, reason=body.reason, expected_version=body.expected_version
    )
    return TicketOut.of(ticket)


@router.post("/tickets/{ticket_id}/assign", response_model=TicketOut, tags=["tickets"])
def assign(desk: Desk, actor: CurrentActor, ticket_id: str, body: AssignIn) -> TicketOut:
    """Assign (``assignee: null`` unassigns); ``team`` moves it to that team too."""
    if body.team is None:
        ticket = desk.assign(
            actor, ticket_id, body.assignee, reason=body.reason,
            expected_version=body.expected_version,
        )  # fmt: skip
    else:
        ticket = desk.assign(
            actor, ticket_id, body.assignee, team=body.team, reason=body.reason,
            expected_version=body.expected_version,
        )  # fmt: skip
    return TicketOut.of(ticket)


@router.post("/tickets/{ticket_id}/claim", response_model=TicketOut, tags=["tickets"])
def claim(desk: Desk, actor: CurrentActor, ticket_id: str) -> TicketOut:
    """Take an unassigned ticket; 409 when someone else claimed it first."""
    return TicketOut.of(desk.claim(actor, ticket_id))


@router.post("/tickets/{ticket_id}/priority", response_model=TicketOut, tags=["tickets"])
def set_priority(desk: Desk, actor: CurrentActor, ticket_id: str, body: PriorityIn) -> TicketOut:
    return TicketOut.of(desk.set_priority(actor, ticket_id, body.priority, reason=body.reason))


@router.post("/tickets/{ticket_id}/transfer", response_model=TicketOut, tags=["tickets"])
def transfer(desk: Desk, actor: CurrentActor, ticket_id: str, body: TransferIn) -> TicketOut:
    """Hand over to another team or tier with a summary (may wait for approval)."""
    ticket = desk.transfer(
        actor, ticket_id, team=body.team, summary=body.summary, steps_tried=body.steps_tried,
        tier=body.tier,
    )  # fmt: skip
    return TicketOut.of(ticket)


@router.post("/tickets/{ticket_id}/transfer/decision", response_model=TicketOut, tags=["tickets"])
def decide_transfer(
    desk: Desk, actor: CurrentActor, ticket_id: str, body: TransferDecisionIn
) -> TicketOut:
    return TicketOut.of(
        desk.decide_transfer(actor, ticket_id, approve=body.approve, note=body.note)
    )


@router.post("/tickets/{ticket_id}/workaround", response_model=TicketOut, tags=["tickets"])
def record_workaround(
    desk: Desk, actor: CurrentActor, ticket_id: str, body: WorkaroundIn
) -> TicketOut:
    """The problem record of an urgent ticket (``desk.record_workaround``, R-TKT-6)."""
    ticket = desk.record_workaround(
        actor, ticket_id, body.text, expected_resolution=body.expected_resolution
    )
    return TicketOut.of(ticket)


# ---------------------------------------------------------------------- SLA
@router.get("/tickets/{ticket_id}/sla", response_model=list[SlaClockOut], tags=["sla"])
def sla_status(desk: Desk, actor: CurrentActor, ticket_id: str) -> list[SlaClockOut]:
    """The ticket's SLA clocks now: state, due instant, remaining business time."""
    return [SlaClockOut.of(c) for c in desk.sla_status(actor, ticket_id)]


@router.get("/tickets/{ticket_id}/sla/explain", response_model=SlaExplainOut, tags=["sla"])
def sla_explain(
    desk: Desk, actor: CurrentActor, ticket_id: str, locale: Literal["en", "zh-CN"] = "en"
) -> SlaExplainOut:
    """Why the clocks are what they are, in words."""
    return SlaExplainOut(text=desk.sla_explain(actor, ticket_id).text(locale))


# ---------------------------------------------------------------------- customers
@router.get("/customers", response_model=list[CustomerOut], tags=["customers"])
def customers(
    desk: Desk,
    actor: CurrentActor,
    tier: str | None = None,
    tag: str | None = None,
    organisation: str | None = None,
    after: str | None = None,
    limit: Limit = 100,
) -> list[CustomerOut]:
    """Customers the caller may see, by id; ``after`` is the last id of the previous page."""
    found = desk.customers(
        actor, tier=tier, tag=tag, organisation=organisation, after=after, limit=limit
    )
    return [CustomerOut.of(c) for c in found]


@router.post("/customers", response_model=CustomerOut, status_code=201, tags=["customers"])
def create_customer(desk: Desk, actor: CurrentActor, body: CustomerCreate) -> CustomerOut:
    customer = desk.create_customer(
        actor, name=body.name, kind=body.kind, emails=body.emails, phones=body.phones,
        organisation=body.organisation, tier=body.tier, tags=body.tags,
    )  # fmt: skip
    return CustomerOut.of(customer)


@router.get("/customers/{customer_id}", response_model=CustomerOut, tags=["customers"])
def get_customer(desk: Desk, actor: CurrentActor, customer_id: str) -> CustomerOut:
    return CustomerOut.of(desk.get_customer(actor, customer_id))


@router.get(
    "/customers/{customer_id}/history", response_model=CustomerHistoryOut, tags=["customers"]
)
def customer_history(desk: Desk, actor: CurrentActor, customer_id: str) -> CustomerHistoryOut:
    """The profile's events and the customer's tickets the caller may view."""
    events, tickets = desk.customer_history(actor, customer_id)
    return CustomerHistoryOut(
        events=[CustomerEventOut(seq=e.seq, kind=e.kind, at=e.at, actor=e.actor) for e in events],
        tickets=[TicketOut.of(t, messages=False) for t in tickets],
    )


# ---------------------------------------------------------------------- search and KB
@router.get("/search", response_model=list[SearchHitOut], tags=["search"])
def search(
    desk: Desk, actor: CurrentActor, q: str, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> list[SearchHitOut]:
    """Full-text search over the tickets the caller may view, best first."""
    return [SearchHitOut.of(h) for h in desk.search(actor, q, limit=limit)]


@router.get("/kb/search", response_model=list[ArticleHitOut], tags=["kb"])
def search_kb(
    desk: Desk, actor: CurrentActor, q: str, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> list[ArticleHitOut]:
    return [ArticleHitOut.of(h) for h in desk.search_kb(actor, q, limit=limit)]


@router.get("/kb/articles", response_model=list[ArticleOut], tags=["kb"])
def articles(
    desk: Desk, actor: CurrentActor, state: str | None = None, category: str | None = None
) -> list[ArticleOut]:
    return [ArticleOut.of(a) for a in desk.articles(actor, state=state, category=category)]


@router.post("/kb/articles", response_model=ArticleOut, status_code=201, tags=["kb"])
def create_article(desk: Desk, actor: CurrentActor, body: ArticleCreate) -> ArticleOut:
    """A draft article (``kb.write``)."""
    article = desk.create_article(
        actor, category=body.category, title=body.title, problem=body.problem,
        steps=body.steps, cases=body.cases, tags=body.tags,
    )  # fmt: skip
    return ArticleOut.of(article)


@router.get("/kb/articles/{article_id}", response_model=ArticleOut, tags=["kb"])
def get_article(desk: Desk, actor: CurrentActor, article_id: str) -> ArticleOut:
    return ArticleOut.of(desk.get_article(actor, article_id))


@router.post("/kb/articles/{article_id}/submit", response_model=ArticleOut, tags=["kb"])
def submit_article(desk: Desk, actor: CurrentActor, article_id: str) -> ArticleOut:
    return ArticleOut.of(desk.submit_article(actor, article_id))


@router.post("/kb/articles/{article_id}/publish", response_model=ArticleOut, tags=["kb"])
def publish_article(desk: Desk, actor: CurrentActor, article_id: str, body: ReviewIn) -> ArticleOut:
    """Review: publish, or send back to draft with a comment (``kb.review``)."""
    article = desk.publish_article(actor, article_id, approve=body.approve, comment=body.comment)
    return ArticleOut.of(article)


# ---------------------------------------------------------------------- surveys (R-CSAT-1)
@router.get("/surveys", response_model=list[SurveyOut], tags=["surveys"])
def surveys(desk: Desk, actor: CurrentActor, ticket_id: str | None = None) -> list[SurveyOut]:
    """Surveys of the tickets the caller may view (``survey.view``), oldest first."""
    return [SurveyOut.of(s) for s in desk.surveys(actor, ticket_id=ticket_id)]


@router.post("/surveys/answer", response_model=SurveyOut, tags=["surveys"])
def answer_survey(desk: Desk, body: SurveyAnswerIn) -> SurveyOut:
    """Answer an invitation with its token, no sign-in (``desk.answer_survey``); an unknown,
    expired or used token is one 422 naming ``token``."""
    return SurveyOut.of(desk.answer_survey(body.token, stars=body.stars, comment=body.comment))


@router.post("/tickets/{ticket_id}/rating", response_model=SurveyOut, tags=["surveys"])
def rate_ticket(desk: Desk, actor: CurrentActor, ticket_id: str, body: RatingIn) -> SurveyOut:
    """The signed-in requester rates their resolved ticket (``desk.rate_ticket``)."""
    survey = desk.rate_ticket(actor, ticket_id, stars=body.stars, comment=body.comment)
    return SurveyOut.of(survey)


@router.post("/surveys/{survey_id}/classify", response_model=SurveyOut, tags=["surveys"])
def classify_feedback(
    desk: Desk, actor: CurrentActor, survey_id: str, body: ClassifyIn
) -> SurveyOut:
    """File an answered survey's feedback as process, people or tool (R-REV-4)."""
    return SurveyOut.of(desk.classify_feedback(actor, survey_id, body.category))


# ---------------------------------------------------------------------- live queue
@router.get("/queue", response_model=QueueStatusOut, tags=["reports"])
def queue_status(desk: Desk, actor: CurrentActor) -> QueueStatusOut:
    """The live queue per team and the ``[alarms]`` that hold now (``report.view`` scope)."""
    return QueueStatusOut.of(desk.queue_status(actor))


# ---------------------------------------------------------------------- reports
REPORT_YEARS = range(2000, 2101)


@router.get(
    "/reports/{name}",
    response_model=ReportOut,
    tags=["reports"],
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def report(
    desk: Desk,
    actor: CurrentActor,
    name: str,
    start: date,
    end: date,
    group_by: Annotated[list[str] | None, Query()] = None,
    format: Literal["json", "csv"] = "json",
) -> Any:
    """A KPI report (``desk.report``) over local days ``start``..``end``, as JSON or CSV."""
    for field, day in (("start", start), ("end", end)):
        if day.year not in REPORT_YEARS:
            raise ValidationError(field, f"must be a day in the years 2000..2100, got {day}")
    result = desk.report(actor, name, start=start, end=end, group_by=group_by or ())
    if format == "csv":
        return PlainTextResponse(result.to_csv(), media_type="text/csv")
    return Response(result.to_json(), media_type="application/json")


@router.post("/whatif", response_model=WhatIfOut, tags=["reports"])
def whatif(desk: Desk, actor: CurrentActor, body: WhatIfIn) -> WhatIfOut:
    """Replay the period's tickets under a candidate configuration (``desk.whatif``)."""
    if (body.config is None) == (body.config_toml is None):
        raise ValidationError("config", "give exactly one of config (JSON) or config_toml")
    for field, day in (("start", body.start), ("end", body.end)):
        if day.year not in REPORT_YEARS:
            raise ValidationError(field, f"must be a day in the years 2000..2100, got {day}")
    if body.config_toml is not None:
        try:
            candidate: dict[str, Any] = tomllib.loads(body.config_toml)
        except tomllib.TOMLDecodeError as exc:
            raise ValidationError("config_toml", f"not TOML: {exc}") from None
    else:
        candidate = body.config or {}
    result = desk.whatif(actor, candidate, start=body.start, end=body.end)
    before, after = result.breached()
    return WhatIfOut(
        tickets=result.tickets, changed=result.changed, breached_before=before,
        breached_after=after, text=result.text(),
    )  # fmt: skip


# ---------------------------------------------------------------------- intake and outbox
@router.post(
    "/forms/ticket",
    response_model=WebFormOut,
    status_code=201,
    tags=["intake"],
    responses={200: {"model": WebFormOut, "description": "a resubmission: the first result"}},
)
def submit_web_form(
    desk: Desk,
    body: WebFormIn,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            description="a key the page makes once per form (1-200 visible ASCII characters): "
            "the same form posted again with it opens no second ticket"
        ),
    ] = None,
) -> WebFormOut:
    """A public contact form (no sign-in): the sender becomes or is found as a customer and is
    told the ticket number at once (``desk.submit_web_form``)."""
    payload: dict[str, Any] = {k: v for k, v in body.model_dump().items() if v is not None}
    if idempotency_key is not None:
        payload["idempotency_key"] = idempotency_key
    result = desk.submit_web_form(payload)
    number = None
    if result.ticket_id is not None and result.customer_id is not None:
        # read back as the sender, through the facade's checks like any customer
        sender = Actor(id=result.customer_id, roles={"customer"})
        number = desk.get_ticket(sender, result.ticket_id).number
    if result.duplicate:
        response.status_code = 200
    return WebFormOut(
        outcome=result.outcome, ticket_id=result.ticket_id, number=number,
        customer_id=result.customer_id, duplicate=result.duplicate,
    )  # fmt: skip


@router.get("/intake", response_model=list[IntakeRecordOut], tags=["intake"])
def intake_records(
    desk: Desk,
    actor: CurrentActor,
    outcome: Literal["ignored", "quarantined", "created", "appended"] | None = None,
    limit: Limit = 100,
) -> list[IntakeRecordOut]:
    """Ignored and quarantined inbound messages (or those of ``outcome``), newest first."""
    found = desk.intake_records(actor, outcome=outcome, limit=limit)
    return [IntakeRecordOut.of(r) for r in found]


@router.post(
    "/intake/{record_id}/promote", response_model=TicketOut, status_code=201, tags=["intake"]
)
def promote_intake(desk: Desk, actor: CurrentActor, record_id: str) -> TicketOut:
    """Make a ticket from an ignored or quarantined message (once per record)."""
    return TicketOut.of(desk.promote_intake(actor, record_id))


@router.get("/dead-letters", response_model=list[OutboxMessageOut], tags=["outbox"])
def dead_letters(desk: Desk, actor: CurrentActor, limit: Limit = 100) -> list[OutboxMessageOut]:
    """Outbox messages that failed every delivery attempt (``outbox.manage``)."""
    return [OutboxMessageOut.of(m) for m in desk.dead_letters(actor, limit=limit)]


@router.post("/dead-letters/{message_id}/retry", response_model=OutboxMessageOut, tags=["outbox"])
def retry_dead_letter(desk: Desk, actor: CurrentActor, message_id: str) -> OutboxMessageOut:
    """Put a dead letter back to pending, deliverable at once."""
    return OutboxMessageOut.of(desk.retry_dead_letter(actor, message_id))
