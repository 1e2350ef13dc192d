"""The API's request and response bodies (pydantic), so ``/openapi.json`` describes every
response exactly; converters from the library's attrs objects live beside each model."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from helpdesk_core.model.customers import Customer
from helpdesk_core.model.events import Event, Message, event_to_dict
from helpdesk_core.model.hits import ArticleHit, SearchHit
from helpdesk_core.model.intake import IntakeRecord
from helpdesk_core.model.knowledge import Article
from helpdesk_core.model.records import OutboxMessage
from helpdesk_core.model.surveys import Survey
from helpdesk_core.model.tickets import Ticket
from helpdesk_core.monitoring import QueueStatus
from helpdesk_core.sla import SlaClock
from helpdesk_server.history import describe


class ErrorBody(BaseModel):
    """Every error response: the library's message and the error's class name."""

    detail: str
    error: str
    field: str | None = None


class UserOut(BaseModel):
    id: str
    name: str
    roles: list[str]
    team: str | None = None
    department: str | None = None


class MessageOut(BaseModel):
    id: str
    kind: str
    author: str
    body: str
    channel: str
    at: datetime

    @classmethod
    def of(cls, message: Message) -> MessageOut:
        return cls(
            id=message.id, kind=message.kind, author=message.author, body=message.body,
            channel=message.channel, at=message.at,
        )  # fmt: skip


class TicketOut(BaseModel):
    """A ticket as the caller may see it (hidden fields are empty, masked ones masked)."""

    id: str
    number: str
    subject: str
    description: str
    type: str
    sub_category: str | None
    priority: str
    urgency: str | None
    channel: str
    status: str
    status_category: str
    requester: str | None
    organisation: str | None
    assignee: str | None
    team: str | None
    department: str | None
    tags: list[str]
    custom: dict[str, Any]
    expected_resolution_at: datetime | None
    created_at: datetime
    updated_at: datetime
    created_by: str
    version: int
    reopen_count: int
    tier: int
    pending_transfer: str | None
    messages: list[MessageOut]

    @classmethod
    def of(cls, ticket: Ticket, *, messages: bool = True) -> TicketOut:
        return cls(
            id=ticket.id, number=ticket.number, subject=ticket.subject,
            description=ticket.description, type=ticket.type, sub_category=ticket.sub_category,
            priority=ticket.priority, urgency=ticket.urgency, channel=ticket.channel,
            status=ticket.status, status_category=ticket.status_category,
            requester=ticket.requester, organisation=ticket.organisation,
            assignee=ticket.assignee, team=ticket.team, department=ticket.department,
            tags=sorted(ticket.tags), custom=dict(ticket.custom),
            expected_resolution_at=ticket.expected_resolution_at,
            created_at=ticket.created_at, updated_at=ticket.updated_at,
            created_by=ticket.created_by, version=ticket.version,
            reopen_count=ticket.reopen_count, tier=ticket.tier,
            pending_transfer=ticket.pending_transfer,
            messages=[MessageOut.of(m) for m in ticket.messages] if messages else [],
        )  # fmt: skip


class TicketPage(BaseModel):
    items: list[TicketOut]
    next_after: str | None = Field(
        description="pass as ``after`` for the next page; null on the last page"
    )


class TicketCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: str
    channel: str = "web_form"
    description: str = ""
    customer_id: str | None = None
    type: str | None = None
    priority: str | None = None
    team: str | None = None
    tags: list[str] = []


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str
    public: bool = True
    status: str | None = None
    expected_version: int | None = None


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str
    reason: str | None = None
    expected_version: int | None = None


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assignee: str | None
    team: str | None = None
    reason: str | None = None
    expected_version: int | None = None


class PriorityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    priority: str
    reason: str | None = None


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    team: str
    summary: str
    steps_tried: list[str] = []
    tier: int | None = None


class TransferDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approve: bool
    note: str | None = None


class EventOut(BaseModel):
    seq: int
    kind: str
    at: datetime
    actor: str
    text: str = Field(description="a readable line: `status_changed: new -> assigned`")
    data: dict[str, Any]

    @classmethod
    def of(cls, event: Event) -> EventOut:
        data = event_to_dict(event)
        for key in ("kind", "ticket_id", "seq", "at", "actor"):
            data.pop(key, None)
        return cls(
            seq=event.seq, kind=event.kind, at=event.at, actor=event.actor, text=describe(event),
            data=data,
        )  # fmt: skip


class SlaClockOut(BaseModel):
    metric: str
    cycle: int
    state: str = Field(description="running, paused, warning, met or breached")
    policy: str
    target_seconds: float
    calendar: str | None = Field(description="the business calendar; null: calendar time")
    started_at: datetime
    due_at: datetime | None = Field(description="due instant; null while paused")
    elapsed_seconds: float
    remaining_seconds: float = Field(description="business (or calendar) time left")
    overdue_seconds: float
    met_at: datetime | None
    breached_at: datetime | None

    @classmethod
    def of(cls, c: SlaClock) -> SlaClockOut:
        return cls(
            metric=c.metric, cycle=c.cycle, state=c.state, policy=c.policy,
            target_seconds=c.target.total_seconds(), calendar=c.calendar,
            started_at=c.started_at, due_at=c.due_at,
            elapsed_seconds=c.elapsed.total_seconds(),
            remaining_seconds=c.remaining.total_seconds(),
            overdue_seconds=c.overdue.total_seconds(), met_at=c.met_at,
            breached_at=c.breached_at,
        )  # fmt: skip


class SlaExplainOut(BaseModel):
    text: str


class CustomerOut(BaseModel):
    id: str
    kind: str
    name: str
    emails: list[str]
    phones: list[str]
    organisation: str | None
    industry: str | None
    tier: str
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    version: int
    merged_into: str | None

    @classmethod
    def of(cls, c: Customer) -> CustomerOut:
        return cls(
            id=c.id, kind=c.kind, name=c.name, emails=list(c.emails), phones=list(c.phones),
            organisation=c.organisation, industry=c.industry, tier=c.tier,
            tags=sorted(c.tags), created_at=c.created_at, updated_at=c.updated_at,
            version=c.version, merged_into=c.merged_into,
        )  # fmt: skip


class CustomerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    kind: str = "individual"
    emails: list[str] = []
    phones: list[str] = []
    organisation: str | None = None
    tier: str = "normal"
    tags: list[str] = []


class CustomerEventOut(BaseModel):
    seq: int
    kind: str
    at: datetime
    actor: str


class CustomerHistoryOut(BaseModel):
    events: list[CustomerEventOut]
    tickets: list[TicketOut]


class SearchHitOut(BaseModel):
    ticket: TicketOut
    score: float
    highlights: list[str] = Field(description="snippets, matched words in <mark>...</mark>")

    @classmethod
    def of(cls, hit: SearchHit) -> SearchHitOut:
        return cls(
            ticket=TicketOut.of(hit.ticket, messages=False),
            score=hit.score,
            highlights=list(hit.highlights),
        )


class ArticleOut(BaseModel):
    id: str
    category: str
    title: str
    problem: str
    steps: list[str]
    cases: list[str]
    tags: list[str]
    state: str
    version: int
    author: str
    created_at: datetime
    updated_at: datetime
    published_version: int | None

    @classmethod
    def of(cls, a: Article) -> ArticleOut:
        return cls(
            id=a.id, category=a.category, title=a.title, problem=a.problem,
            steps=list(a.steps), cases=list(a.cases), tags=sorted(a.tags), state=a.state,
            version=a.version, author=a.author, created_at=a.created_at,
            updated_at=a.updated_at, published_version=a.published_version,
        )  # fmt: skip


class ArticleHitOut(BaseModel):
    article: ArticleOut
    score: float
    highlights: list[str]

    @classmethod
    def of(cls, hit: ArticleHit) -> ArticleHitOut:
        return cls(
            article=ArticleOut.of(hit.article), score=hit.score, highlights=list(hit.highlights)
        )


class ArticleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: str
    title: str
    problem: str = ""
    steps: list[str] = []
    cases: list[str] = []
    tags: list[str] = []


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approve: bool = True
    comment: str | None = None


class ReportOut(BaseModel):
    report: str
    start: datetime
    end: datetime
    columns: list[str]
    rows: list[dict[str, Any]]


class AlarmOut(BaseModel):
    rule: str
    team: str | None
    value: float
    threshold: float
    detail: str


class TeamQueueOut(BaseModel):
    team: str | None
    queue_length: int
    average_wait_seconds: float | None
    longest_wait_seconds: float | None
    agents_online: int
    agents_on_shift: int
    breaches_next_hour: int
    breached: int


class QueueStatusOut(BaseModel):
    """The live queue (``desk.queue_status``) with the alarms that hold now."""

    at: datetime
    queue_length: int
    average_wait_seconds: float | None
    longest_wait_seconds: float | None
    agents_online: int
    agents_on_shift: int
    breaches_next_hour: int
    breached: int
    teams: list[TeamQueueOut]
    alarms: list[AlarmOut]

    @classmethod
    def of(cls, status: QueueStatus) -> QueueStatusOut:
        def seconds(value: timedelta | None) -> float | None:
            return None if value is None else value.total_seconds()

        return cls(
            at=status.at, queue_length=status.queue_length,
            average_wait_seconds=seconds(status.average_wait),
            longest_wait_seconds=seconds(status.longest_wait),
            agents_online=status.agents_online, agents_on_shift=status.agents_on_shift,
            breaches_next_hour=status.breaches_next_hour, breached=status.breached,
            teams=[
                TeamQueueOut(
                    team=t.team, queue_length=t.queue_length,
                    average_wait_seconds=seconds(t.average_wait),
                    longest_wait_seconds=seconds(t.longest_wait),
                    agents_online=t.agents_online, agents_on_shift=t.agents_on_shift,
                    breaches_next_hour=t.breaches_next_hour, breached=t.breached,
                )
                for t in status.teams
            ],
            alarms=[
                AlarmOut(rule=a.rule, team=a.team, value=a.value, threshold=a.threshold,
                         detail=a.detail)
                for a in status.alarms
            ],
        )  # fmt: skip


# ---------------------------------------------------------------------- surveys
class SurveyOut(BaseModel):
    """A survey as the caller may see it (never its token or the token's hash)."""

    id: str
    ticket_id: str
    customer: str
    cycle: int
    channel: str | None
    created_at: datetime
    expires_at: datetime
    stars: int | None
    comment: str | None
    answered_at: datetime | None
    category: str | None
    classified_by: str | None

    @classmethod
    def of(cls, s: Survey) -> SurveyOut:
        return cls(
            id=s.id, ticket_id=s.ticket_id, customer=s.customer, cycle=s.cycle,
            channel=s.channel, created_at=s.created_at, expires_at=s.expires_at, stars=s.stars,
            comment=s.comment, answered_at=s.answered_at, category=s.category,
            classified_by=s.classified_by,
        )  # fmt: skip


class RatingIn(BaseModel):
    """1..5 stars and an optional comment (the library checks both)."""

    model_config = ConfigDict(extra="forbid")
    stars: int
    comment: str | None = None


class SurveyAnswerIn(RatingIn):
    """An answer to an invitation: its token is the customer's proof (no sign-in)."""

    token: str


class ClassifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: str = Field(description="process, people or tool (R-REV-4)")


# ---------------------------------------------------------------------- operations
class WhatIfIn(BaseModel):
    """A candidate configuration, as JSON (``config``) or TOML text (``config_toml``), and the
    local days whose tickets to replay. The server never reads a file named here."""

    model_config = ConfigDict(extra="forbid")
    config: dict[str, Any] | None = None
    config_toml: str | None = None
    start: date
    end: date


class WhatIfOut(BaseModel):
    tickets: int
    changed: bool
    breached_before: int
    breached_after: int
    text: str


class WebFormIn(BaseModel):
    """A contact form as a public page posts it (``desk.submit_web_form``): the library checks
    every field and names a bad one as ``payload.<field>``."""

    model_config = ConfigDict(extra="forbid")
    email: str
    name: str
    subject: str
    body: str
    phone: str | None = None
    type: str | None = None
    priority: str | None = None


class WebFormOut(BaseModel):
    """What the sender is told at once (R-TKT-1): the ticket and its number; ``duplicate`` when
    this was a resubmission of a form already taken (same ``Idempotency-Key``)."""

    outcome: str
    ticket_id: str | None
    number: str | None
    customer_id: str | None
    duplicate: bool


class IntakeRecordOut(BaseModel):
    """An ignored or quarantined inbound message (its raw bytes are not sent)."""

    id: str
    at: datetime
    channel: str
    outcome: str
    message_id: str | None
    sender: str | None
    subject: str
    reason: str | None
    detail: str | None
    promoted_to: str | None

    @classmethod
    def of(cls, r: IntakeRecord) -> IntakeRecordOut:
        return cls(
            id=r.id, at=r.at, channel=r.channel, outcome=r.outcome, message_id=r.message_id,
            sender=r.sender, subject=r.subject, reason=r.reason, detail=r.detail,
            promoted_to=r.promoted_to,
        )  # fmt: skip


class OutboxMessageOut(BaseModel):
    """An outbox row (a dead letter): its idempotency key, state and last error."""

    id: str
    topic: str
    key: str
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime
    available_at: datetime

    @classmethod
    def of(cls, m: OutboxMessage) -> OutboxMessageOut:
        return cls(
            id=m.id, topic=m.topic, key=m.key, state=m.state, attempts=m.attempts,
            last_error=m.last_error, created_at=m.created_at, available_at=m.available_at,
        )  # fmt: skip


class WorkaroundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str
    expected_resolution: datetime | None = None
