"""Satisfaction surveys: when one is owed, what the invitation says, what an answer means
(R-CSAT-1, R-REV-4). Pure rules; the service layer (:mod:`helpdesk_core.service.surveys`) runs
them through the one command path.

Semantics, numbered as in docs/surveys.md ("The rules"):

1. **A resolution owes a survey.** A ticket is resolved when a status change moves it from a
   status outside the ``solved``/``closed`` categories into one of them. Each resolution (the
   first, and each one after a reopen) makes one survey, in the transaction of the command that
   resolved it, whatever command that was (``set_status``, ``reply(status=...)``...). Moves
   between done statuses (``resolved -> quality_check -> closed``) and merging a ticket away are
   not resolutions. A ticket without a requester owes no survey (nobody to ask).
2. **The invitation.** An outbox row (topic ``survey``, idempotency key
   ``survey:<survey id>:<recipient>:<channel>``) carries the token to the requester on their
   preferred channel (their customer record's ``preferred_channel`` when it is one of the
   desk's channels, else the ticket's channel).
3. **The token** comes from the desk's token factory (``secrets`` by default); the survey
   stores only its SHA-256. An answer is accepted while ``at < created_at + [surveys]
   answer_window`` (default 24 h, R-CSAT-1). An unknown, used or expired token is
   ``ValidationError('token')`` with one message for all three, so an answer reveals nothing.
4. **One answer per invitation**: the store records an answer only while the survey is still
   unanswered, so of concurrent answers exactly one wins.
5. **An answer** is 1..5 ``stars`` and an optional ``comment`` (at most
   :data:`MAX_COMMENT` characters); it is recorded on the survey and as a ``survey_answered``
   event on the ticket (what the CSAT report reads).
6. **Unsatisfied.** ``stars <= [surveys] unsatisfied_at_most`` (default 2) reopens the ticket in
   the same transaction through the workflow's reopen transition (``on_unsatisfied =
   "reopen"``, the default), or opens a follow-up ticket linked to it (``"follow_up"``; also
   the fall-back when the workflow has no reopen transition from the ticket's status, e.g.
   ``archived``). The supervisors of the ticket's team (else of its department) are notified
   (:func:`helpdesk_core.escalation.resolve_recipients` with ``supervisor``).
7. **Classification** (R-REV-4): an agent or supervisor who may view the ticket files an
   answered survey's feedback as ``process``, ``people`` or ``tool`` (and may change it).
8. **Rating while signed in.** The requester may answer their own open survey of a ticket
   through ``rate_ticket`` (``survey.answer`` on the ticket) instead of the token; rules 4 to 6
   apply unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final, Literal

import attrs

from helpdesk_core.config import ConfigContext, HelpdeskConfig, config_keys, table
from helpdesk_core.durations import parse_duration
from helpdesk_core.errors import ConfigError, ValidationError
from helpdesk_core.model.events import StatusChanged
from helpdesk_core.model.records import OutboxMessage
from helpdesk_core.model.surveys import FEEDBACK_CATEGORIES, STARS, Survey
from helpdesk_core.model.tickets import Ticket

DONE_CATEGORIES: Final = frozenset({"solved", "closed"})
DEFAULT_ANSWER_WINDOW: Final = timedelta(hours=24)
DEFAULT_UNSATISFIED_AT_MOST: Final = 2
MAX_COMMENT: Final = 5_000
"""The longest comment an answer may carry, in characters."""
TOKEN_ERROR: Final = "unknown, expired or already used survey token"
"""The one message for every refused token (rule 3)."""

OnUnsatisfied = Literal["reopen", "follow_up"]
_KEYS: Final = ("enabled", "answer_window", "unsatisfied_at_most", "on_unsatisfied")


@attrs.frozen
class SurveysConfig:
    """The validated ``[surveys]`` section."""

    enabled: bool = True
    """``false``: resolutions owe no survey (a host that surveys elsewhere)."""
    answer_window: timedelta = DEFAULT_ANSWER_WINDOW
    unsatisfied_at_most: int = DEFAULT_UNSATISFIED_AT_MOST
    on_unsatisfied: OnUnsatisfied = "reopen"


@config_keys({"surveys": _KEYS})
def parse_surveys(value: Any, path: str, context: ConfigContext) -> SurveysConfig:
    """``[surveys] enabled``, ``answer_window = "24h"``, ``unsatisfied_at_most = 2``,
    ``on_unsatisfied = "reopen" | "follow_up"``; errors name the key path."""
    section = table(value, path, _KEYS)
    enabled = section.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{path}.enabled", "must be true or false", enabled)
    window = DEFAULT_ANSWER_WINDOW
    if "answer_window" in section:
        raw = section["answer_window"]
        try:
            window = parse_duration(raw, f"{path}.answer_window")
        except ValidationError as exc:
            raise ConfigError(f"{path}.answer_window", str(exc), raw) from exc
        if window <= timedelta(0):
            raise ConfigError(f"{path}.answer_window", "must be a positive duration", raw)
    at_most = section.get("unsatisfied_at_most", DEFAULT_UNSATISFIED_AT_MOST)
    if isinstance(at_most, bool) or not isinstance(at_most, int) or not 0 <= at_most <= 5:
        raise ConfigError(
            f"{path}.unsatisfied_at_most", "must be a whole number of stars 0..5", at_most
        )
    action = section.get("on_unsatisfied", "reopen")
    if action not in ("reopen", "follow_up"):
        raise ConfigError(f"{path}.on_unsatisfied", "must be 'reopen' or 'follow_up'", action)
    return SurveysConfig(enabled, window, at_most, action)


def surveys_config(config: HelpdeskConfig) -> SurveysConfig:
    found = config.sections.get("surveys")
    return found if isinstance(found, SurveysConfig) else SurveysConfig()


# -- rule 1: resolutions -------------------------------------------------------------------
def is_resolution(event: StatusChanged, from_category: str) -> bool:
    """Whether ``event`` (leaving a status of ``from_category``) resolves the ticket."""
    return event.to_category in DONE_CATEGORIES and from_category not in DONE_CATEGORIES


# -- rule 2: the invitation ----------------------------------------------------------------
def invitation(
    message_id: str, survey: Survey, ticket: Ticket, token: str, at: datetime
) -> OutboxMessage:
    """The outbox row that carries the token to the customer (rule 2)."""
    channel = survey.channel or ticket.channel
    return OutboxMessage(
        id=message_id,
        topic="survey",
        key=f"survey:{survey.id}:{survey.customer}:{channel}",
        payload={
            "survey_id": survey.id,
            "ticket_id": ticket.id,
            "number": ticket.number,
            "subject": ticket.subject,
            "recipient": survey.customer,
            "channel": channel,
            "token": token,
            "expires_at": survey.expires_at.isoformat(),
        },
        created_at=at,
        available_at=at,
    )


def unsatisfied_notice(
    message_id: str, survey: Survey, ticket: Ticket, recipients: Sequence[str], action: str,
    at: datetime, follow_up: str | None = None,
) -> OutboxMessage:  # fmt: skip
    """The outbox row telling supervisors of an unsatisfied rating (rule 6)."""
    return OutboxMessage(
        id=message_id,
        topic="survey_unsatisfied",
        key=f"survey:{survey.id}:unsatisfied",
        payload={
            "survey_id": survey.id,
            "ticket_id": ticket.id,
            "number": ticket.number,
            "subject": ticket.subject,
            "stars": survey.stars,
            "comment": survey.comment,
            "action": action,
            "follow_up": follow_up,
            "recipients": list(recipients),
        },
        created_at=at,
        available_at=at,
    )


# -- rules 3 to 5: answers -----------------------------------------------------------------
def check_stars(stars: object) -> int:
    if isinstance(stars, bool) or not isinstance(stars, int) or stars not in STARS:
        raise ValidationError("stars", f"must be a whole number of stars 1..5, got {stars!r:.60}")
    return stars


def check_category(category: object) -> str:
    if not isinstance(category, str) or category not in FEEDBACK_CATEGORIES:
        raise ValidationError(
            "category", f"must be one of {list(FEEDBACK_CATEGORIES)}, got {category!r:.60}"
        )
    return category


def unsatisfied(config: SurveysConfig, stars: int) -> bool:
    return stars <= config.unsatisfied_at_most
