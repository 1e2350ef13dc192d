"""Dead letters (issue 23): a notification that failed every attempt is kept with its last
error, listed and retried by an administrator through the one command path, and then delivered
to a real aiosmtpd peer; on the memory, SQLite and PostgreSQL stores."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from helpdesk_core import Actor, Helpdesk, NotFound, PermissionDenied, ValidationError
from helpdesk_core.config import load_config
from helpdesk_core.model.records import OUTBOX_MAX_ATTEMPTS
from helpdesk_core.testing import FixedClock
from helpdesk_plugins.cli import main

if TYPE_CHECKING:
    from pathlib import Path

    from conftest import SmtpServer

ADMIN = Actor(id="admin-1", roles={"admin"})
AGENT = Actor(id="a-1", roles={"agent"}, team="after-sales")
CUSTOMER = Actor(id="zhang@customer.cn", roles={"customer"})


def mail_desk(server: SmtpServer, store_url: str, clock: FixedClock) -> Helpdesk:
    config = load_config(
        {
            "email": {
                "from": "Example Support <support@example.com>",
                "smtp": {"host": server.host, "port": server.port, "security": "none"},
            }
        }
    )
    return Helpdesk(config, store_url, clock=clock, load_entrypoints=False)


def a_reply_to_the_customer(desk: Helpdesk) -> str:
    """A ticket with an agent's public reply (mailed to the customer); its outbox key."""
    ticket = desk.open_ticket(CUSTOMER, subject="Cup broken", channel="email")
    desk.assign(ADMIN, ticket.id, AGENT.id)
    desk.dispatch_outbox()  # creation and assignment notices: not what this test follows
    reply = desk.reply(AGENT, ticket.id, "We are sending a new cup.")
    return f"event:{ticket.id}:{reply.version}"


def kill_every_attempt(desk: Helpdesk, clock: FixedClock) -> None:
    for _ in range(OUTBOX_MAX_ATTEMPTS):
        desk.dispatch_outbox()
        clock.advance(timedelta(days=1))


def test_a_dead_letter_is_listed_retried_and_then_delivered(
    smtp_server: SmtpServer, store_url: str, clock: FixedClock
) -> None:
    """R-SLA-4 notices must not be lost: dead after 8 attempts, retried by hand, delivered."""
    with mail_desk(smtp_server, store_url, clock) as desk:
        key = a_reply_to_the_customer(desk)
        smtp_server.mailbox.messages.clear()
        smtp_server.mailbox.refuse = True
        kill_every_attempt(desk, clock)
        dead = desk.dead_letters(ADMIN)
        assert [m.key for m in dead] == [key]
        assert dead[0].attempts == OUTBOX_MAX_ATTEMPTS
        assert dead[0].last_error is not None and "451" in dead[0].last_error
        assert smtp_server.mailbox.messages == []

        smtp_server.mailbox.refuse = False
        revived = desk.retry_dead_letter(ADMIN, dead[0].id)
        assert (revived.state, revived.attempts) == ("pending", 0)
        assert desk.dead_letters(ADMIN) == []
        assert desk.dispatch_outbox() == 1
        assert len(smtp_server.mailbox.messages) == 1
        assert desk.dispatch_outbox() == 0  # delivered once, not again
        with desk.storage.transaction() as uow:
            assert {m.state for m in uow.outbox()} == {"delivered"}
        retried = desk.audit_log(ADMIN, target=dead[0].id)
        assert [(r.action, r.allowed) for r in retried] == [("outbox.manage", True)]
        with pytest.raises(NotFound):  # delivered now: not a dead letter any more
            desk.retry_dead_letter(ADMIN, dead[0].id)


def test_only_outbox_managers_see_or_retry_dead_letters(
    smtp_server: SmtpServer, store_url: str, clock: FixedClock
) -> None:
    with mail_desk(smtp_server, store_url, clock) as desk:
        a_reply_to_the_customer(desk)
        smtp_server.mailbox.refuse = True
        kill_every_attempt(desk, clock)
        [dead] = desk.dead_letters(ADMIN)
        for actor in (AGENT, CUSTOMER, Actor(id="s-1", roles={"supervisor"})):
            with pytest.raises(PermissionDenied):
                desk.dead_letters(actor)
            with pytest.raises(PermissionDenied):
                desk.retry_dead_letter(actor, dead.id)
        assert [m.id for m in desk.dead_letters(ADMIN)] == [dead.id]  # nothing changed
        refusals = desk.audit_log(ADMIN, target=dead.id)
        assert {r.actor for r in refusals if not r.allowed} == {AGENT.id, CUSTOMER.id, "s-1"}


def test_bad_arguments_name_the_parameter(store_url: str, clock: FixedClock) -> None:
    with Helpdesk(storage_url=store_url, clock=clock, load_entrypoints=False) as desk:
        with pytest.raises(ValidationError, match=r"^limit"):
            desk.dead_letters(ADMIN, limit=0)
        with pytest.raises(ValidationError, match=r"^message_id"):
            desk.retry_dead_letter(ADMIN, 42)  # type: ignore[arg-type]
        with pytest.raises(NotFound):
            desk.retry_dead_letter(ADMIN, "no-such-message")


def test_the_cli_lists_and_retries_dead_letters(
    smtp_server: SmtpServer, tmp_path: Path, clock: FixedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    with mail_desk(smtp_server, url, clock) as desk:
        key = a_reply_to_the_customer(desk)
        smtp_server.mailbox.refuse = True
        kill_every_attempt(desk, clock)
    capsys.readouterr()
    assert main(["dead-letters", "list", "--url", url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "1 dead letter(s)"
    message_id, _, topic, listed_key, attempts, error = lines[0].split("\t")
    assert (topic, listed_key, attempts) == ("event", key, "attempts=8")
    assert "451" in error
    assert main(["dead-letters", "retry", message_id, "--url", url, "--as", "ops-li"]) == 0
    assert "pending again" in capsys.readouterr().out
    assert main(["dead-letters", "list", "--url", url]) == 0
    assert capsys.readouterr().out.splitlines() == ["0 dead letter(s)"]
    assert main(["dead-letters", "retry", message_id, "--url", url]) == 2  # not dead now
    assert "not found" in capsys.readouterr().err
    with Helpdesk(storage_url=url, load_entrypoints=False) as desk:
        [record] = desk.audit_log(ADMIN, target=message_id)
    assert (record.actor, record.action) == ("ops-li", "outbox.manage")
