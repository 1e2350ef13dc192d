"""The acknowledgement of a ticket made from mail reaches the sender by SMTP (issue 23, R-TKT-1):
a real aiosmtpd server on loopback receives it."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from typing import TYPE_CHECKING

from helpdesk_core import Actor, Helpdesk
from helpdesk_core.testing import FixedClock
from helpdesk_plugins.channel_email import parse_email
from helpdesk_plugins.channel_email.settings import EmailSettings

if TYPE_CHECKING:  # the fixture's type, from tests/channels/conftest.py
    from conftest import SmtpServer

NOW = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def test_the_sender_gets_the_number_threaded_to_their_mail(smtp_server: SmtpServer) -> None:
    config = {
        "email": {
            "from": "Example Support <support@example.com>",
            "locale": "zh-CN",
            "smtp": {"host": smtp_server.host, "port": smtp_server.port, "security": "none"},
        }
    }
    with Helpdesk(config, clock=FixedClock(NOW), load_entrypoints=False) as desk:
        raw = (
            "From: =?utf-8?B?5byg5LiJ?= <zhang@customer.cn>\nTo: support@example.com\n"
            "Subject: 杯子碎了\nMessage-ID: <m-1@customer.cn>\n"
            "Content-Type: text/plain; charset=utf-8\n\n外箱破损。\n"
        ).encode()
        result = desk.ingest_email(raw)
        assert result.outcome == "created"
        desk.dispatch_outbox(now=NOW)
        ticket = desk.get_ticket(Actor(id="root", roles={"admin"}), result.ticket_id or "")
    (_from, recipients, content), *rest = smtp_server.mailbox.messages
    assert rest == []  # the sender authored the ticket: no second notice of its creation
    sent = message_from_bytes(content, policy=policy.default)
    assert recipients == ["zhang@customer.cn"]
    assert sent["Subject"] == f"[#{ticket.number}] 我们已收到您的请求：杯子碎了"
    assert sent["In-Reply-To"] == "<m-1@customer.cn>"
    assert sent["Auto-Submitted"] == "auto-replied"
    assert ticket.number in sent.get_content()
    # if it ever comes back, it is our own message, not a new ticket
    settings = EmailSettings(from_address="support@example.com", domains=("example.com",))
    assert parse_email(content, settings).reason == "own_message"
    with Helpdesk(config, clock=FixedClock(NOW), load_entrypoints=False) as other:
        assert other.ingest_email(content).outcome == "ignored"
