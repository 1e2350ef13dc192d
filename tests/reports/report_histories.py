"""Build ticket histories event by event for report tests (real events, checked by folding)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import attrs

from helpdesk_core.lifecycle import DEFAULT_WORKFLOW
from helpdesk_core.model.events import (
    Assigned,
    CustomerMessaged,
    Event,
    Replied,
    StatusChanged,
    TicketCreated,
)
from helpdesk_core.model.tickets import Ticket


@attrs.frozen(kw_only=True)
class SurveyAnswer(Event):
    """A customer's survey answer as the reports read it: an event of kind
    ``survey_answered`` with ``stars`` (the shape of the surveys work's event, built here so
    the CSAT report is tested without it)."""

    kind: ClassVar[str] = "survey_answered"
    survey_id: str
    stars: int

    def apply(self, ticket: Ticket) -> Ticket:
        return attrs.evolve(ticket, version=self.seq, updated_at=self.at)


class History:
    """One ticket's events; each method appends the next event with the right seq."""

    def __init__(self, ticket_id: str, at: datetime, **fields: Any) -> None:
        values: dict[str, Any] = {
            "number": f"N-{ticket_id}",
            "subject": "s",
            "type": "consultation",
            "priority": "normal",
            "channel": "email",
            "status": "new",
            "status_category": "new",
            "requester": "c1",
            **fields,
        }
        self.id = ticket_id
        self.events: list[Event] = [
            TicketCreated(ticket_id=ticket_id, seq=1, at=at, actor="c1", **values)
        ]
        self.status = "new"

    def _seq(self) -> int:
        return len(self.events) + 1

    def assign(self, at: datetime, agent: str, team: str | None = None) -> History:
        self.events.append(
            Assigned(
                ticket_id=self.id, seq=self._seq(), at=at, actor=agent, assignee=agent, team=team
            )
        )
        return self.status_to(at, "assigned", agent) if self.status == "new" else self

    def reply(self, at: datetime, agent: str) -> History:
        self.events.append(
            Replied(
                ticket_id=self.id,
                seq=self._seq(),
                at=at,
                actor=agent,
                message_id=f"m{at}",
                body="b",
                channel="email",
            )
        )
        return self

    def customer(self, at: datetime) -> History:
        self.events.append(
            CustomerMessaged(
                ticket_id=self.id,
                seq=self._seq(),
                at=at,
                actor="c1",
                message_id=f"c{at}",
                body="b",
                channel="email",
            )
        )
        return self

    def rate(self, at: datetime, stars: int) -> History:
        self.events.append(
            SurveyAnswer(
                ticket_id=self.id,
                seq=self._seq(),
                at=at,
                actor="c1",
                survey_id=f"s-{self.id}-{self._seq()}",
                stars=stars,
            )
        )
        Ticket.from_events(self.events)
        return self

    def status_to(self, at: datetime, status: str, actor: str, reopen: bool = False) -> History:
        self.events.append(
            StatusChanged(
                ticket_id=self.id,
                seq=self._seq(),
                at=at,
                actor=actor,
                from_status=self.status,
                to_status=status,
                to_category=DEFAULT_WORKFLOW.category(status),
                reopen=reopen,
            )
        )
        self.status = status
        Ticket.from_events(self.events)  # the history must fold
        return self
