"""The web UI: server-rendered pages (Jinja2) with a little JavaScript for SLA countdowns.

Signing in picks a demo user and keeps its token in a cookie; every page then calls the facade
as that user, so what a page shows and allows is exactly what the permission matrix allows. A
refused command comes back as a message on the page, in the library's words.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import attrs
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from helpdesk_core import Actor, Helpdesk
from helpdesk_core.errors import HelpdeskError, NotFound, ValidationError
from helpdesk_core.model.events import Event
from helpdesk_core.model.tickets import Ticket
from helpdesk_core.reports import Report
from helpdesk_core.sla import SlaClock
from helpdesk_server.auth import TOKEN_COOKIE, desk_of, settings_of
from helpdesk_server.errors import status_of
from helpdesk_server.history import describe
from helpdesk_server.settings import DemoUser

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))


def marks(snippet: str) -> Markup:
    """A search snippet as HTML: everything escaped except the engine's ``<mark>`` tags."""
    escaped = str(escape(snippet))
    return Markup(escaped.replace("&lt;mark&gt;", "<mark>").replace("&lt;/mark&gt;", "</mark>"))


templates.env.filters["marks"] = marks

OPEN_CATEGORIES = ("new", "open", "pending")
STAFF_STATUSES = ("in_progress", "pending_customer", "pending_third_party", "resolved", "closed")
URGENCY = {"breached": 0, "warning": 1, "running": 2, "paused": 3, "met": 4}


# ---------------------------------------------------------------------- helpers
def _user(request: Request) -> DemoUser | None:
    token = request.cookies.get(TOKEN_COOKIE)
    return settings_of(request).user_for_token(token) if token else None


def _back(path: str, *, error: str | None = None, notice: str | None = None) -> RedirectResponse:
    query = {k: v for k, v in (("error", error), ("notice", notice)) if v}
    target = f"{path}?{urllib.parse.urlencode(query)}" if query else path
    return RedirectResponse(target, status_code=303)


def _to_login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


def _zone(desk: Helpdesk) -> ZoneInfo:
    return ZoneInfo(desk.config.desk.timezone)


def span(delta: timedelta) -> str:
    """``1h 05m``, ``3d 2h``, ``45s``: a duration for people."""
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


@attrs.frozen
class ClockView:
    """One SLA clock as a page shows it."""

    metric: str
    state: str
    due_at: datetime | None
    due_local: str
    remaining: str
    overdue: str
    business: bool

    @classmethod
    def of(cls, clock: SlaClock, zone: ZoneInfo) -> ClockView:
        due = clock.due_at
        return cls(
            metric=clock.metric.replace("_", " "),
            state=clock.state,
            due_at=due,
            due_local=due.astimezone(zone).strftime("%m-%d %H:%M") if due else "paused",
            remaining=span(clock.remaining),
            overdue=span(clock.overdue),
            business=clock.business,
        )


NEVER = datetime.max.replace(tzinfo=UTC)


@attrs.frozen
class InboxRow:
    ticket: Ticket
    clock: ClockView | None

    def urgency(self) -> tuple[int, datetime]:
        """Breached first, then warning, running, paused; sooner due first."""
        if self.clock is None:
            return (9, NEVER)
        return (URGENCY[self.clock.state], self.clock.due_at or NEVER)


def _clocks(desk: Helpdesk, actor: Actor, ticket: Ticket, now: datetime) -> list[ClockView]:
    zone = _zone(desk)
    return [ClockView.of(c, zone) for c in desk.sla_status(actor, ticket.id, now)]


def _headline(clocks: Iterable[ClockView]) -> ClockView | None:
    """The clock that matters most: the most urgent unmet one."""
    unmet = [c for c in clocks if c.state != "met"]
    if not unmet:
        return None
    return min(
        unmet, key=lambda c: (URGENCY[c.state], c.due_at or datetime.max.replace(tzinfo=UTC))
    )


def _page(request: Request, name: str, user: DemoUser | None, **context: Any) -> HTMLResponse:
    desk = desk_of(request)
    context.update(
        user=user,
        title_desk=settings_of(request).title,
        zone=desk.config.desk.timezone,
        error=request.query_params.get("error"),
        notice=request.query_params.get("notice"),
        staff=user is not None and not user.actor().is_customer,
        local=lambda when: when.astimezone(_zone(desk)).strftime("%Y-%m-%d %H:%M") if when else "",
    )
    return templates.TemplateResponse(request, name, context)


def _failed(request: Request, user: DemoUser | None, error: HelpdeskError) -> HTMLResponse:
    response = _page(request, "error.html", user, message=str(error), kind=type(error).__name__)
    response.status_code = status_of(error)
    return response


def _guard(request: Request, render: Callable[[DemoUser, Helpdesk, Actor], Response]) -> Response:
    """Run a page for the signed-in user; library errors become an error page."""
    user = _user(request)
    if user is None:
        return _to_login()
    try:
        return render(user, desk_of(request), user.actor())
    except HelpdeskError as error:
        return _failed(request, user, error)


def _command(request: Request, back: str, run: Callable[[Helpdesk, Actor], str | None]) -> Response:
    """Run a command from a form, then back to ``back`` with its notice or the library's error."""
    user = _user(request)
    if user is None:
        return _to_login()
    try:
        notice = run(desk_of(request), user.actor())
    except HelpdeskError as error:
        return _back(back, error=str(error))
    return _back(back, notice=notice)


# ---------------------------------------------------------------------- sign in
@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    return _page(request, "login.html", _user(request), users=settings_of(request).users)


@router.post("/login")
def login(token: Annotated[str, Form()], request: Request) -> Response:
    user = settings_of(request).user_for_token(token)
    if user is None:
        return _back("/login", error="unknown demo user")
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="lax")
    return response


@router.post("/logout")
def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(TOKEN_COOKIE)
    return response


@router.get("/")
def home(request: Request) -> Response:
    user = _user(request)
    if user is None:
        return _to_login()
    return RedirectResponse("/my" if user.actor().is_customer else "/inbox", status_code=303)


# ---------------------------------------------------------------------- staff
@router.get("/inbox")
def inbox(request: Request, view: str = "team") -> Response:
    def render(user: DemoUser, desk: Helpdesk, actor: Actor) -> Response:
        now = desk.clock.now()
        filters: dict[str, Any] = {"status_category": OPEN_CATEGORIES}
        if view == "mine":
            filters["assignee"] = actor.id
        elif view == "unassigned":
            filters["status"] = "new"
        tickets = desk.tickets(actor, limit=200, **filters)
        rows = [InboxRow(t, _headline(_clocks(desk, actor, t, now))) for t in tickets]
        rows.sort(key=InboxRow.urgency)
        breached = sum(1 for r in rows if r.clock and r.clock.state == "breached")
        return _page(request, "inbox.html", user, rows=rows, view=view, breached=breached)

    return _guard(request, render)


@router.get("/tickets/{ticket_id}")
def ticket_page(request: Request, ticket_id: str) -> Response:
    def render(user: DemoUser, desk: Helpdesk, actor: Actor) -> Response:
        now = desk.clock.now()
        ticket = desk.get_ticket(actor, ticket_id)
        history = [(e, describe(e)) for e in desk.history(actor, ticket_id)]
        clocks = _clocks(desk, actor, ticket, now)
        return _page(
            request, "ticket.html", user, ticket=ticket, history=history, clocks=clocks,
            statuses=STAFF_STATUSES, may_rate=_may_rate(ticket, [e for e, _ in history]),
        )  # fmt: skip

    return _guard(request, render)


def _may_rate(ticket: Ticket, events: Sequence[Event]) -> bool:
    """Whether to offer the Rate form: the ticket is resolved and not rated since. Only a hint
    for the page; ``desk.rate_ticket`` decides (requester only, one answer per survey)."""
    if ticket.status_category not in ("solved", "closed"):
        return False
    for event in reversed(events):
        if event.kind == "survey_answered":
            return False
        if event.kind == "status_changed":
            return True
    return True


@router.post("/tickets/{ticket_id}/rate")
def rate(
    request: Request,
    ticket_id: str,
    stars: Annotated[int, Form(ge=1, le=5)],
    comment: Annotated[str, Form()] = "",
) -> Response:
    def run(desk: Helpdesk, actor: Actor) -> str:
        survey = desk.rate_ticket(actor, ticket_id, stars=stars, comment=comment.strip() or None)
        return f"thank you: you rated this ticket {survey.stars} of 5 stars"

    return _command(request, f"/tickets/{ticket_id}", run)


@router.post("/tickets/{ticket_id}/reply")
def reply(
    request: Request,
    ticket_id: str,
    body: Annotated[str, Form()] = "",
    status: Annotated[str, Form()] = "",
    internal: Annotated[str, Form()] = "",
) -> Response:
    def run(desk: Helpdesk, actor: Actor) -> str:
        if internal:
            desk.add_note(actor, ticket_id, body)
            if status:
                desk.set_status(actor, ticket_id, status)
            return "note added"
        desk.reply(actor, ticket_id, body, status=status or None)
        return "reply sent"

    return _command(request, f"/tickets/{ticket_id}", run)


@router.post("/tickets/{ticket_id}/status")
def set_status(request: Request, ticket_id: str, status: Annotated[str, Form()]) -> Response:
    def run(desk: Helpdesk, actor: Actor) -> str:
        ticket = desk.set_status(actor, ticket_id, status)
        return f"status is now {ticket.status}"

    return _command(request, f"/tickets/{ticket_id}", run)


@router.post("/tickets/{ticket_id}/take")
def take(request: Request, ticket_id: str) -> Response:
    def run(desk: Helpdesk, actor: Actor) -> str:
        desk.assign(actor, ticket_id, actor.id)
        return "assigned to you"

    return _command(request, f"/tickets/{ticket_id}", run)


@router.get("/customers/{customer_id}")
def customer_page(request: Request, customer_id: str) -> Response:
    def render(user: DemoUser, desk: Helpdesk, actor: Actor) -> Response:
        try:
            customer = desk.get_customer(actor, customer_id)
            _, tickets = desk.customer_history(actor, customer_id)
            summary = desk.customer_summary(actor, customer_id)
        except NotFound:  # a requester without a profile: their tickets only
            customer, summary = None, None
            tickets = desk.tickets(actor, requester=customer_id, limit=200)
            if not tickets:
                raise
        return _page(
            request, "customer.html", user, customer=customer, customer_id=customer_id,
            tickets=tickets, summary=summary,
        )  # fmt: skip

    return _guard(request, render)


# ---------------------------------------------------------------------- KB
@router.get("/kb")
def kb(request: Request, q: str = "") -> Response:
    def render(user: DemoUser, desk: Helpdesk, actor: Actor) -> Response:
        hits = desk.search_kb(actor, q) if q.strip() else []
        articles = [] if q.strip() else desk.articles(actor)
        return _page(request, "kb.html", user, q=q, hits=hits, articles=articles)

    return _guard(request, render)


@router.get("/kb/{article_id}")
def article_page(request: Request, article_id: str) -> Response:
    def render(user: DemoUser, desk: Helpdesk, actor: Actor) -> Response:
        return _page(request, "article.html", user, article=desk.get_article(actor, article_id))

    return _guard(request, render)


# ---------------------------------------------------------------------- dashboard
def _chart(report: Report, title: str) -> str | None:
    from helpdesk_plugins.charts import render_svg

    if not report.rows:
        return None
    try:
        return render_svg(report, title=title)
    except ValidationError:
        return None


@router.get("/dashboard")
def dashboard(request: Request, days: int = 7) -> Response:
    def render(user: DemoUser, desk: Helpdesk, actor: Actor) -> Response:
        now = desk.clock.now()
        today = now.astimezone(_zone(desk)).date()
        start: date = today - timedelta(days=max(1, min(days, 90)) - 1)
        charts = []
        for name, group_by, title in (
            ("backlog_by_age", (), "Queue: open tickets by age"),
            ("sla_compliance", (), "SLA compliance (%)"),
            ("volumes", ("day",), "Tickets per day"),
            ("csat", ("day",), "CSAT: satisfied ratings (%)"),
        ):
            report = desk.report(actor, name, start=start, end=today, group_by=group_by)
            charts.append({"title": title, "svg": _chart(report, title), "report": report})
        open_now = desk.count_tickets(actor, status_category=list(OPEN_CATEGORIES))
        queue = desk.queue_status(actor, now=now)
        return _page(
            request, "dashboard.html", user, charts=charts, open_now=open_now, queue=queue,
            start=start, end=today, span=span,
        )  # fmt: skip

    return _guard(request, render)


# ---------------------------------------------------------------------- customers' own pages
@router.get("/my")
def my_tickets(request: Request) -> Response:
    def render(user: DemoUser, desk: Helpdesk, actor: Actor) -> Response:
        tickets = desk.tickets(actor, requester=actor.id, descending=True, limit=100)
        return _page(request, "my.html", user, tickets=tickets)

    return _guard(request, render)


@router.post("/my/tickets")
def submit_ticket(
    request: Request,
    subject: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    type: Annotated[str, Form()] = "consultation",
) -> Response:
    user = _user(request)
    if user is None:
        return _to_login()
    try:
        ticket = desk_of(request).open_ticket(
            user.actor(), subject=subject, description=description, channel="web_form", type=type
        )
    except HelpdeskError as error:
        return _back("/my", error=str(error))
    return _back(f"/tickets/{ticket.id}", notice=f"ticket {ticket.number} submitted")


# ---------------------------------------------------------------------- survey invitations
@router.get("/survey/{token}")
def survey_page(request: Request, token: str) -> HTMLResponse:
    """The invitation's link: a rating form, no sign-in (the token is the customer's proof;
    the page reveals nothing about the survey until an answer is accepted)."""
    return _page(request, "survey.html", _user(request), token=token, answered=None)


@router.post("/survey/{token}")
def answer_survey(
    request: Request,
    token: str,
    stars: Annotated[int, Form(ge=1, le=5)],
    comment: Annotated[str, Form()] = "",
) -> HTMLResponse:
    try:
        answered = desk_of(request).answer_survey(
            token, stars=stars, comment=comment.strip() or None
        )
    except HelpdeskError as error:
        return _failed(request, _user(request), error)
    return _page(request, "survey.html", _user(request), token=token, answered=answered)
