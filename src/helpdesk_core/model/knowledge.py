"""The knowledge base (R-KB-1..4): articles and their review workflow, gaps and usage.

Semantics, cited by tests and docs/knowledge.md:

1. An :class:`Article` is one version of a KB entry (R-KB-1: category, title, problem, steps,
   cases, tags). Every change (an edit or a state change) makes the next version; storages keep
   every version. ``published_version`` names the version readers who may only see published
   articles (customers) get, so editing a published article never hides it.
2. States: ``draft -> in_review -> published -> retired`` (R-KB-2). :func:`submit_article`
   sends a draft to review; :func:`review_article` approves (publishes) or sends it back to
   draft with a required comment; :func:`retire_article` retires a published article;
   :func:`update_article` edits a draft, or starts a new draft version of a published article.
   Any other move raises :class:`~helpdesk_core.errors.InvalidTransition`.
3. A :class:`KbGap` is a question the KB could not answer (R-KB-3); :func:`answer_gap` creates
   a draft linked to it and marks it answered.
4. Usage (the KB-usage KPI): :class:`ArticleUse` records a view or a link from a ticket (with
   ``solved`` for "this solved it"); :func:`usage_of` counts them.
5. :func:`archive_ticket` turns a solved ticket's whole record into a draft (R-KB-4).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

import attrs

from helpdesk_core.errors import InvalidTransition, ValidationError
from helpdesk_core.model.events import Event, to_utc
from helpdesk_core.model.tickets import Ticket

ARTICLE_STATES: Final = ("draft", "in_review", "published", "retired")
CATEGORIES: Final = ("product_guide", "faq", "complaint_script", "incident")
"""R-KB-1's categories plus ``incident`` for archived tickets; a desk may use others."""
_MOVES: Final = {
    "draft": ("in_review",),
    "in_review": ("published", "draft"),
    "published": ("retired", "draft"),
    "retired": (),
}
EDITABLE_FIELDS: Final = ("category", "title", "problem", "steps", "cases", "tags")
GAP_STATES: Final = ("open", "answered")
USE_KINDS: Final = ("view", "link")


def _text(field: str, value: object, *, required: bool = True) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, f"expected text, got {type(value).__name__}")
    if required and not value.strip():
        raise ValidationError(field, "must not be empty")
    return value


def _texts(field: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError(field, "expected a list of texts")
    return tuple(_text(f"{field}[{i}]", v) for i, v in enumerate(value))


@attrs.frozen
class ReviewComment:
    """A reviewer's decision on a version in review."""

    author: str
    at: datetime = attrs.field(converter=to_utc)
    version: int
    approved: bool
    comment: str | None = None


@attrs.frozen
class Article:
    """One version of a knowledge-base article (semantics 1)."""

    id: str
    category: str
    title: str
    problem: str
    steps: tuple[str, ...]
    cases: tuple[str, ...]
    tags: frozenset[str]
    state: str = attrs.field(validator=attrs.validators.in_(ARTICLE_STATES))
    version: int
    author: str
    """Who made this version."""
    created_at: datetime = attrs.field(converter=to_utc)
    updated_at: datetime = attrs.field(converter=to_utc)
    published_version: int | None = None
    reviews: tuple[ReviewComment, ...] = ()
    gap_id: str | None = None
    source_ticket: str | None = None

    @property
    def text_fields(self) -> dict[str, str]:
        """The article as search fields (title, problem, steps, cases, tags)."""
        return {
            "title": self.title,
            "problem": self.problem,
            "steps": "\n".join(self.steps),
            "cases": "\n".join(self.cases),
            "tags": " ".join(sorted(self.tags)),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "category": self.category,
            "title": self.title,
            "problem": self.problem,
            "steps": list(self.steps),
            "cases": list(self.cases),
            "tags": sorted(self.tags),
            "state": self.state,
            "version": self.version,
            "author": self.author,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "published_version": self.published_version,
            "reviews": [
                {
                    "author": r.author,
                    "at": r.at.isoformat(),
                    "version": r.version,
                    "approved": r.approved,
                    "comment": r.comment,
                }
                for r in self.reviews
            ],
            "gap_id": self.gap_id,
            "source_ticket": self.source_ticket,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Article:
        try:
            return cls(
                id=data["id"],
                category=data["category"],
                title=data["title"],
                problem=data["problem"],
                steps=tuple(data["steps"]),
                cases=tuple(data["cases"]),
                tags=frozenset(data["tags"]),
                state=data["state"],
                version=data["version"],
                author=data["author"],
                created_at=data["created_at"],
                updated_at=data["updated_at"],
                published_version=data.get("published_version"),
                reviews=tuple(ReviewComment(**r) for r in data.get("reviews", ())),
                gap_id=data.get("gap_id"),
                source_ticket=data.get("source_ticket"),
            )
        except (KeyError, TypeError) as exc:
            raise ValidationError("article", f"not a stored article: {exc}") from exc


def new_article(
    article_id: str,
    *,
    category: str,
    title: str,
    problem: str,
    steps: Sequence[str] = (),
    cases: Sequence[str] = (),
    tags: Iterable[str] = (),
    author: str,
    now: datetime,
    gap_id: str | None = None,
    source_ticket: str | None = None,
) -> Article:
    """Version 1 of a new article, a draft (``create_article``)."""
    return Article(
        id=_text("article_id", article_id),
        category=_text("category", category),
        title=_text("title", title),
        problem=_text("problem", problem, required=False),
        steps=_texts("steps", steps),
        cases=_texts("cases", cases),
        tags=frozenset(_texts("tags", tags)),
        state="draft",
        version=1,
        author=author,
        created_at=now,
        updated_at=now,
        gap_id=gap_id,
        source_ticket=source_ticket,
    )


def _move(article: Article, target: str, author: str, now: datetime, **changes: Any) -> Article:
    allowed = _MOVES[article.state]
    if target not in allowed:
        raise InvalidTransition(article.state, target, allowed)
    return attrs.evolve(
        article,
        state=target,
        version=article.version + 1,
        author=author,
        updated_at=now,
        **changes,
    )


def update_article(article: Article, *, author: str, now: datetime, **changes: Any) -> Article:
    """The next version with ``changes`` (fields of :data:`EDITABLE_FIELDS`) applied.

    A draft stays a draft; a published article gets a new draft version while its published
    version stays readable; articles in review or retired cannot be edited.
    """
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError("changes", f"unknown article fields {sorted(unknown)}")
    if not changes:
        raise ValidationError("changes", "give at least one field to change")
    checked: dict[str, Any] = {}
    for name, value in changes.items():
        if name in ("steps", "cases"):
            checked[name] = _texts(name, value)
        elif name == "tags":
            checked[name] = frozenset(_texts(name, value))
        else:
            checked[name] = _text(name, value, required=name != "problem")
    if article.state == "draft":
        return attrs.evolve(
            article, version=article.version + 1, author=author, updated_at=now, **checked
        )
    if article.state == "published":
        return _move(article, "draft", author, now, **checked)
    raise InvalidTransition(
        article.state, "draft", _MOVES[article.state], "only drafts and published articles edit"
    )


def submit_article(article: Article, *, author: str, now: datetime) -> Article:
    """Send a draft to review (``submit_article``)."""
    return _move(article, "in_review", author, now)


def review_article(
    article: Article,
    *,
    reviewer: str,
    now: datetime,
    approve: bool,
    comment: str | None = None,
) -> Article:
    """Approve (publish) or send back (to draft, ``comment`` required) an article in review."""
    if not approve and (comment is None or not comment.strip()):
        raise ValidationError("comment", "say what must change when sending an article back")
    target = "published" if approve else "draft"
    if article.state != "in_review":
        raise InvalidTransition(article.state, target, _MOVES[article.state], "not in review")
    review = ReviewComment(reviewer, now, article.version, approve, comment)
    moved = _move(article, target, reviewer, now, reviews=(*article.reviews, review))
    if approve:
        moved = attrs.evolve(moved, published_version=moved.version)
    return moved


def retire_article(article: Article, *, author: str, now: datetime) -> Article:
    """Retire a published article: nobody reads it as current any more."""
    return _move(article, "retired", author, now, published_version=None)


def readable_version(versions: Sequence[Article], *, published_only: bool) -> Article | None:
    """Of an article's versions (oldest first), the one a reader gets: the latest, or for
    readers of published articles only, the published version (None when there is none)."""
    if not versions:
        return None
    latest = versions[-1]
    if not published_only:
        return latest
    wanted = latest.published_version
    return next((v for v in versions if v.version == wanted), None)


# -- gaps ------------------------------------------------------------------------------------
@attrs.frozen
class KbGap:
    """A question the KB did not answer (R-KB-3), fed back for a writer to answer."""

    id: str
    query: str
    reported_by: str
    at: datetime = attrs.field(converter=to_utc)
    ticket_id: str | None = None
    state: str = attrs.field(default="open", validator=attrs.validators.in_(GAP_STATES))
    article_id: str | None = None
    answered_at: datetime | None = attrs.field(
        default=None, converter=attrs.converters.optional(to_utc)
    )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "query": self.query,
            "reported_by": self.reported_by,
            "at": self.at.isoformat(),
            "ticket_id": self.ticket_id,
            "state": self.state,
            "article_id": self.article_id,
            "answered_at": None if self.answered_at is None else self.answered_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KbGap:
        try:
            return cls(**{f.name: data[f.name] for f in attrs.fields(cls)})
        except (KeyError, TypeError) as exc:
            raise ValidationError("gap", f"not a stored gap: {exc}") from exc


def report_gap(
    gap_id: str, query: str, *, reported_by: str, now: datetime, ticket_id: str | None = None
) -> KbGap:
    """A new open gap (``report_kb_gap``)."""
    return KbGap(gap_id, _text("query", query), reported_by, now, ticket_id)


def answer_gap(
    gap: KbGap,
    article_id: str,
    *,
    category: str,
    title: str,
    problem: str | None = None,
    steps: Sequence[str] = (),
    cases: Sequence[str] = (),
    tags: Iterable[str] = (),
    author: str,
    now: datetime,
) -> tuple[KbGap, Article]:
    """Answer an open gap: a new draft linked to it, and the gap marked answered."""
    if gap.state != "open":
        raise InvalidTransition(gap.state, "answered", (), "the gap is already answered")
    draft = new_article(
        article_id,
        category=category,
        title=title,
        problem=gap.query if problem is None else problem,
        steps=steps,
        cases=cases,
        tags=tags,
        author=author,
        now=now,
        gap_id=gap.id,
    )
    return attrs.evolve(gap, state="answered", article_id=article_id, answered_at=now), draft


# -- usage -----------------------------------------------------------------------------------
@attrs.frozen
class ArticleUse:
    """A view of an article, or a link to it from a ticket (``solved``: "this solved it")."""

    article_id: str
    kind: str = attrs.field(validator=attrs.validators.in_(USE_KINDS))
    actor: str
    at: datetime = attrs.field(converter=to_utc)
    ticket_id: str | None = None
    solved: bool = False

    def __attrs_post_init__(self) -> None:
        if self.kind == "link" and self.ticket_id is None:
            raise ValidationError("ticket_id", "a link from a ticket names the ticket")


@attrs.frozen
class Usage:
    """How much an article is used: views, tickets linked, tickets it solved."""

    views: int = 0
    linked: int = 0
    solved: int = 0


def usage_of(uses: Iterable[ArticleUse]) -> Usage:
    """Count uses; a ticket linked twice counts once (solved if any link says so)."""
    views = 0
    linked: dict[str, bool] = {}
    for use in uses:
        if use.kind == "view":
            views += 1
        elif use.ticket_id is not None:
            linked[use.ticket_id] = linked.get(use.ticket_id, False) or use.solved
    return Usage(views, len(linked), sum(linked.values()))


# -- archiving a solved incident (R-KB-4) -----------------------------------------------------
ARCHIVABLE: Final = ("solved", "closed")


def archive_ticket(
    ticket: Ticket,
    events: Sequence[Event],
    article_id: str,
    *,
    author: str,
    now: datetime,
    category: str = "incident",
) -> Article:
    """A draft holding a solved ticket's whole record (R-KB-4).

    ``problem`` is the subject and description (with the customer's messages); ``steps`` are the
    agents' public replies and internal notes in order, then the workaround; ``cases`` is one
    line describing the incident (number, type, priority, opened/solved times, event count).
    """
    if ticket.status_category not in ARCHIVABLE:
        raise InvalidTransition(
            ticket.status, "archived to KB", (), "only a solved or closed ticket is archived"
        )
    if not events or events[-1].seq != ticket.version:
        raise ValidationError("events", "give the ticket's whole history, up to its version")
    customer = [m.body for m in ticket.messages if m.kind == "customer"]
    problem = "\n\n".join([ticket.description, *customer]).strip() or ticket.subject
    steps = [m.body for m in ticket.messages if m.kind in ("reply", "note") and m.body.strip()]
    if ticket.workaround:
        steps.append(ticket.workaround)
    case = (
        f"{ticket.number}: {ticket.type}"
        f"{'/' + ticket.sub_category if ticket.sub_category else ''}, priority "
        f"{ticket.priority}, opened {ticket.created_at.isoformat()}, "
        f"{ticket.status} {ticket.updated_at.isoformat()}, {len(events)} events"
    )
    return new_article(
        article_id,
        category=category,
        title=ticket.subject,
        problem=problem,
        steps=steps,
        cases=[case],
        tags=ticket.tags,
        author=author,
        now=now,
        source_ticket=ticket.id,
    )
