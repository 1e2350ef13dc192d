"""Post-incident review rules (R-REV-1..3): which tickets are reviewed, the ``[reviews]``
section, the record derived from a ticket's history, and the approval clock.

Semantics (docs/reviews.md states them; tests cite them):

1. Reviewed priorities: ``[reviews] priorities`` (default ``["urgent", "high"]``, P1/P2).
2. The timeline is one readable entry per ticket event, oldest first; internal events (notes,
   transfers) are marked ``internal``.
3. Statistics: time to first response is the first ``first_response`` SLA clock (business
   time on its calendar, wall time from open to the first public reply); time to resolution
   is wall time from open to the last resolution while the ticket is solved or closed, with
   business time the sum of the ``resolution`` clocks' elapsed time (pauses excluded) when
   the SLA gives them. Escalations fired are the ticket's escalation firings.
4. Customer feedback (for now): the requester's messages after the ticket was first resolved.
5. The approval clock: minutes are due approved by the close of business of the
   ``[reviews] approval_days``-th (default 2) business day after the day the review opened,
   on ``[reviews] calendar`` (default ``[sla] calendar``); "close of business" is the end of
   that local date's last open interval. Without a calendar, days are 24-hour days. The
   warning comes at ``[reviews] warn_at`` (default 0.75) of the window's business time.
6. Notices, each exactly once (a firing keyed ``review:<id>|...``): the approval warning and
   the approval breach to the managers while the review is not approved or closed; an
   improvement action still open at its deadline to its owner and the managers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, time, timedelta
from typing import Any, Final

import attrs

from helpdesk_core.calendars import CalendarBase
from helpdesk_core.config import ConfigContext, HelpdeskConfig, config_keys, table
from helpdesk_core.errors import ConfigError
from helpdesk_core.model.events import (
    Assigned,
    CustomerMessaged,
    Event,
    FieldsChanged,
    Linked,
    Merged,
    MergeReceived,
    NoteAdded,
    PriorityChanged,
    PriorityConfirmed,
    Replied,
    RequesterChanged,
    SplitOff,
    StatusChanged,
    TicketCreated,
    TransferDecided,
    Transferred,
    TransferRequested,
)
from helpdesk_core.model.records import Firing
from helpdesk_core.model.reviews import (
    FeedbackItem,
    Measure,
    Review,
    ReviewStatistics,
    TimelineEntry,
)
from helpdesk_core.permissions import INTERNAL_EVENTS

DEFAULT_PRIORITIES: Final = ("urgent", "high")
DONE: Final = frozenset({"solved", "closed"})
_KEYS: Final = {"priorities", "calendar", "approval_days", "warn_at"}
SUMMARY_LIMIT: Final = 160


@attrs.frozen
class ReviewSettings:
    """The ``[reviews]`` section."""

    priorities: tuple[str, ...] = DEFAULT_PRIORITIES
    calendar: CalendarBase | None = None
    calendar_name: str | None = None
    approval_days: int = 2
    warn_at: float = 0.75

    def reviewed(self, priority: str) -> bool:
        return priority in self.priorities

    def approval_clock(self, opened_at: datetime) -> tuple[datetime, datetime]:
        """(warning instant, due instant) of a review opened at ``opened_at`` (rule 5)."""
        cal = self.calendar
        if cal is None:
            due = opened_at + timedelta(days=self.approval_days)
            return opened_at + (due - opened_at) * self.warn_at, due
        due = close_of_business_days(cal, opened_at, self.approval_days)
        return cal.add(opened_at, cal.between(opened_at, due) * self.warn_at), due


def close_of_business_days(calendar: CalendarBase, start: datetime, days: int) -> datetime:
    """The end of the last open interval of the ``days``-th business day after ``start``'s
    local date (a business day is a local date with open time)."""
    zone = calendar.zone
    day = start.astimezone(zone).date()
    for _ in range(days):
        following = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        day = calendar.next_open(following).astimezone(zone).date()
    opens = datetime.combine(day, time(0), tzinfo=zone)
    ends = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return calendar.intervals(opens, ends)[-1][1]


def settings_for(config: HelpdeskConfig) -> ReviewSettings:
    """The desk's review settings: the parsed ``[reviews]`` section, or the defaults on the
    SLA's default calendar."""
    section = config.sections.get("reviews")
    if isinstance(section, ReviewSettings):
        return section
    calendars = config.sections.get("calendars") or {}
    sla_raw = config.raw.get("sla")
    name = sla_raw.get("calendar") if isinstance(sla_raw, Mapping) else None
    calendar = calendars.get(name) if isinstance(name, str) else None
    return ReviewSettings(calendar=calendar, calendar_name=name if calendar is not None else None)


@config_keys({"reviews": _KEYS})
def parse_reviews(value: Any, path: str, context: ConfigContext) -> ReviewSettings:
    """``[reviews]``: ``priorities``, ``calendar``, ``approval_days``, ``warn_at``."""
    value = table(value, path, _KEYS)
    known = list(context.raw.get("priorities", ["urgent", "high", "normal", "low"]))
    priorities = value.get("priorities", list(DEFAULT_PRIORITIES))
    if isinstance(priorities, str) or not isinstance(priorities, list) or not priorities:
        raise ConfigError(
            f"{path}.priorities", "must be a non-empty list of priorities", priorities
        )
    for i, p in enumerate(priorities):
        if p not in known:
            raise ConfigError(f"{path}.priorities[{i}]", f"must be one of {known}", p)
    parsed = context.section("calendars")
    calendars: Mapping[str, Any] = parsed if isinstance(parsed, Mapping) else {}
    sla_raw = context.raw.get("sla")
    default = sla_raw.get("calendar") if isinstance(sla_raw, Mapping) else None
    name = value.get("calendar", default)
    calendar = None
    if name is not None:
        calendar = calendars.get(name) if isinstance(name, str) else None
        if calendar is None:
            raise ConfigError(
                f"{path}.calendar",
                f"unknown calendar; define [calendars.{name}] (known: {sorted(calendars)})",
                name,
            )
    days = value.get("approval_days", 2)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 30:
        raise ConfigError(f"{path}.approval_days", "must be a whole number of days, 1..30", days)
    warn_at = value.get("warn_at", 0.75)
    if isinstance(warn_at, bool) or not isinstance(warn_at, int | float) or not 0 < warn_at < 1:
        raise ConfigError(f"{path}.warn_at", "must be a number in (0, 1)", warn_at)
    return ReviewSettings(tuple(priorities), calendar, name, days, float(warn_at))


# ---------------------------------------------------------------------- the derived record
def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= SUMMARY_LIMIT else line[: SUMMARY_LIMIT - 1] + "…"


def summary(event: Event) -> str:
    """A one-line, readable account of an event (rule 2)."""
    if isinstance(event, TicketCreated):
        return f"Opened {event.number} ({event.priority}) via {event.channel}: {event.subject}"
    if isinstance(event, StatusChanged):
        why = f" ({event.reason})" if event.reason else ""
        verb = "Reopened" if event.reopen else "Status"
        return f"{verb}: {event.from_status} -> {event.to_status}{why}"
    if isinstance(event, Assigned):
        who = event.assignee or "nobody"
        team = f" in {event.team}" if event.team else ""
        return f"Assigned to {who}{team}"
    if isinstance(event, Replied):
        return f"Public reply: {_short(event.body)}"
    if isinstance(event, NoteAdded):
        return f"Internal note: {_short(event.body)}"
    if isinstance(event, CustomerMessaged):
        return f"Customer wrote: {_short(event.body)}"
    if isinstance(event, PriorityChanged):
        why = f" ({event.reason})" if event.reason else ""
        return f"Priority {event.from_priority} -> {event.to_priority}{why}"
    if isinstance(event, PriorityConfirmed):
        return f"Priority confirmed: {event.priority}"
    if isinstance(event, TransferRequested):
        return f"Transfer to {event.to_team} requested: {_short(event.summary)}"
    if isinstance(event, TransferDecided):
        return f"Transfer {'approved' if event.approved else 'rejected'}"
    if isinstance(event, Transferred):
        return f"Transferred {event.from_team or '-'} -> {event.to_team}: {_short(event.summary)}"
    if isinstance(event, FieldsChanged):
        parts = sorted(event.changes) + [f"custom.{k}" for k in sorted(event.custom)]
        parts += [f"+{t}" for t in sorted(event.tags_added)]
        parts += [f"-{t}" for t in sorted(event.tags_removed)]
        return "Changed " + (", ".join(parts) or "nothing")
    if isinstance(event, Merged):
        return f"Merged into {event.into}"
    if isinstance(event, MergeReceived):
        return f"Received merged ticket {event.source_number}"
    if isinstance(event, SplitOff):
        return f"Split off {event.new_ticket}"
    if isinstance(event, Linked):
        return f"Linked ({event.relation}) to {event.other}"
    if isinstance(event, RequesterChanged):
        return f"Requester {event.from_requester or '-'} -> {event.to_requester}"
    return event.kind.replace("_", " ").capitalize()


def timeline(events: Iterable[Event]) -> tuple[TimelineEntry, ...]:
    return tuple(
        TimelineEntry(e.at, e.kind, e.actor, summary(e), isinstance(e, INTERNAL_EVENTS))
        for e in sorted(events, key=lambda e: e.seq)
    )


def _resolved_instants(events: Sequence[Event]) -> list[datetime]:
    return [
        e.at
        for e in events
        if (isinstance(e, StatusChanged) and e.to_category in DONE) or isinstance(e, Merged)
    ]


def statistics(
    events: Sequence[Event], clocks: Sequence[Any], firings: Sequence[Firing]
) -> ReviewStatistics:
    """Rule 3. ``clocks`` are the ticket's SLA clocks (:class:`~helpdesk_core.sla.SlaClock`)."""
    if not events:
        return ReviewStatistics()
    opened = events[0].at
    first_reply = next((e.at for e in events if isinstance(e, Replied)), None)
    first_response = None
    if first_reply is not None:
        clock = next((c for c in clocks if c.metric == "first_response" and c.cycle == 1), None)
        business = clock.elapsed if clock is not None and clock.calendar else None
        first_response = Measure(
            first_reply - opened, business, clock.calendar if clock is not None else None
        )
    resolution = None
    current_done = False
    for e in events:
        if isinstance(e, StatusChanged):
            current_done = e.to_category in DONE
        elif isinstance(e, Merged):
            current_done = True
    resolved = _resolved_instants(events)
    if current_done and resolved:
        runs = [c for c in clocks if c.metric == "resolution"]
        met = bool(runs) and all(c.met_at is not None for c in runs)
        calendar = runs[-1].calendar if runs else None
        business = (
            sum((c.elapsed for c in runs), timedelta(0)) if met and calendar is not None else None
        )
        resolution = Measure(resolved[-1] - opened, business, calendar)
    escalations = [f for f in firings if f.policy != "review"]
    return ReviewStatistics(
        first_response, resolution, len(escalations), tuple(f.key for f in escalations)
    )


def customer_feedback(events: Sequence[Event]) -> tuple[FeedbackItem, ...]:
    """Rule 4: the requester's messages after the ticket was first resolved."""
    resolved = _resolved_instants(events)
    if not resolved:
        return ()
    first = resolved[0]
    return tuple(
        FeedbackItem("message", e.at, e.actor, e.body, ref=e.message_id)
        for e in events
        if isinstance(e, CustomerMessaged) and e.at > first
    )


# ---------------------------------------------------------------------- notices (rule 6)
def schedule_key(review_id: str) -> str:
    """The key a review's checks are scheduled under, beside the tickets' escalation checks."""
    return f"review:{review_id}"


def review_of_key(key: str) -> str | None:
    return key.removeprefix("review:") if key.startswith("review:") else None


@attrs.frozen
class ReviewNotice:
    """A notice the approval clock or an overdue action calls for, keyed to fire once."""

    key: str
    level: int
    metric: str
    due_at: datetime
    kind: str
    """``approval_warning``, ``approval_breached`` or ``action_overdue``."""
    action_id: str | None = None


def notices(review: Review) -> list[ReviewNotice]:
    """Every notice this review can still call for, fired or not, by due instant."""
    found: list[ReviewNotice] = []
    base = schedule_key(review.id)
    if review.state in ("open", "minutes_submitted"):
        found.append(
            ReviewNotice(
                f"{base}|approval|warning", 1, "approval", review.approval_warn_at,
                "approval_warning",
            )
        )  # fmt: skip
        found.append(
            ReviewNotice(
                f"{base}|approval|breached", 2, "approval", review.approval_due_at,
                "approval_breached",
            )
        )  # fmt: skip
    if review.state != "closed":
        for action in review.actions:
            if action.state == "open":
                found.append(
                    ReviewNotice(
                        f"{base}|action:{action.id}|overdue", 3, f"action:{action.id}",
                        action.deadline, "action_overdue", action.id,
                    )
                )  # fmt: skip
    return sorted(found, key=lambda n: (n.due_at, n.key))


def due_notices(review: Review, now: datetime, fired: Iterable[str]) -> list[ReviewNotice]:
    done = set(fired)
    return [n for n in notices(review) if n.due_at <= now and n.key not in done]


def next_check_at(review: Review, fired: Iterable[str]) -> datetime | None:
    done = set(fired)
    return min((n.due_at for n in notices(review) if n.key not in done), default=None)
