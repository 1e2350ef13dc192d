"""Dead letters: outbox messages whose delivery failed on every attempt, listed and retried by
hand (issue 23).

A message is dead after :data:`~helpdesk_core.model.records.OUTBOX_MAX_ATTEMPTS` failed
attempts and keeps its last error. An operator with ``outbox.manage`` (administrators in the
default matrix) lists them and puts one back to pending; the next worker tick delivers it with
a fresh round of retries and back-off. A retry is written to the audit log.
"""

from __future__ import annotations

from datetime import datetime

from helpdesk_core import validation as check
from helpdesk_core.errors import NotFound
from helpdesk_core.model.people import Actor
from helpdesk_core.model.records import OutboxMessage
from helpdesk_core.service.queries import check_limit
from helpdesk_core.service.runner import Call, Runner

ACTION = "outbox.manage"


def dead_letters(
    runner: Runner, actor: Actor, *, limit: int, now: datetime | None
) -> list[OutboxMessage]:
    """Dead outbox messages, oldest first, at most ``limit`` (1..1000)."""
    page = check_limit(limit, allow_none=False)
    assert page is not None

    def body(call: Call) -> list[OutboxMessage]:
        call.authorise(ACTION, target="outbox")
        # dead rows are few (a failing peer, a bad address): a scan of the dead state only
        return call.uow.outbox("dead")[:page]

    return runner.run(actor, ACTION, "outbox", now, body)


def retry_dead_letter(
    runner: Runner, actor: Actor, message_id: str, *, now: datetime | None
) -> OutboxMessage:
    """Put the dead message back to pending, available at once; NotFound when there is no
    dead message ``message_id`` (a delivered or pending one included)."""
    check.ident(message_id, "message_id")

    def body(call: Call) -> OutboxMessage:
        decision = call.authorise(ACTION, target=message_id)
        revived = call.uow.revive_outbox(message_id, available_at=call.at)
        if revived is None:
            raise NotFound("dead letter", message_id)
        call.audit(
            ACTION,
            message_id,
            decision,
            f"dead letter {revived.key} retried (last error: {revived.last_error})",
        )
        return revived

    return runner.run(actor, ACTION, message_id, now, body)
