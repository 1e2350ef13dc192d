"""History lines a person can read: what each event changed (``status_changed: new ->
assigned``), for the API's ``text`` field and the ticket page."""

from __future__ import annotations

from typing import Any

from helpdesk_core.model.events import Event, event_to_dict


def _short(text: Any, width: int = 80) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def describe(event: Event) -> str:
    """One line: the event's kind, then what it changed."""
    data = event_to_dict(event)
    kind = event.kind
    detail = ""
    if kind == "ticket_created":
        detail = (
            f"{data.get('number')} {_short(data.get('subject'), 60)!r} "
            f"(status {data.get('status')}, priority {data.get('priority')}, "
            f"via {data.get('channel')})"
        )
    elif kind in ("status_changed", "merged"):
        detail = f"{data.get('from_status')} -> {data.get('to_status')}"
        if data.get("reason"):
            detail += f" ({_short(data['reason'], 60)})"
    elif kind == "assigned":
        before = data.get("previous_assignee") or "nobody"
        after = data.get("assignee") or "nobody"
        detail = f"{before} -> {after}"
        if data.get("team"):
            detail += f" (team {data['team']})"
    elif kind in ("replied", "note_added", "customer_messaged"):
        detail = _short(data.get("body", ""))
    elif kind == "priority_changed":
        detail = f"{data.get('from_priority')} -> {data.get('to_priority')}"
    elif kind == "priority_confirmed":
        detail = str(data.get("priority"))
    elif kind in ("transferred", "transfer_requested"):
        source = data.get("from_team") or ""
        detail = f"{source + ' -> ' if source else 'to '}{data.get('to_team')}: "
        detail += _short(data.get("summary", ""), 60)
    elif kind == "transfer_decided":
        detail = "approved" if data.get("approved") else "rejected"
    elif kind == "fields_changed":
        parts = [f"{k} = {_short(v, 30)!r}" for k, v in sorted(data.get("changes", {}).items())]
        parts += [
            f"custom.{k} = {_short(v, 30)!r}" for k, v in sorted(data.get("custom", {}).items())
        ]
        parts += [f"+{t}" for t in sorted(data.get("tags_added", []))]
        parts += [f"-{t}" for t in sorted(data.get("tags_removed", []))]
        detail = ", ".join(parts)
    else:
        skip = {"kind", "ticket_id", "seq", "at", "actor"}
        detail = ", ".join(
            f"{k} = {_short(v, 30)}" for k, v in sorted(data.items()) if k not in skip and v
        )
    return f"{kind}: {detail}" if detail else kind
