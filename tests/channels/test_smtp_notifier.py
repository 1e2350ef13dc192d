"""The SMTP notifier against a real aiosmtpd server on loopback (issue 23, R-SLA-4 notices and
R-CSAT-1 invitations go out by mail): headers, threading, token, encodings, automated-mail
markers, header injection, STARTTLS with AUTH, implicit TLS, and the desk's outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_core import Actor, Helpdesk
from helpdesk_core.config import load_config
from helpdesk_core.errors import ConfigError
from helpdesk_core.ports import Notification
from helpdesk_core.testing import FixedClock
from helpdesk_plugins.channel_email import (
    EmailSettings,
    SmtpSettings,
    is_own_message_id,
    parse_email,
    ticket_of_message_id,
)
from helpdesk_plugins.notify_smtp import SmtpNotifier

if TYPE_CHECKING:  # the fixtures' types, from tests/channels/conftest.py
    from conftest import Certificates, SmtpServer

NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
USER, PASSWORD = "desk@example.com", "s3cret-pass"  # what smtp_starttls_server accepts


def settings_for(server: SmtpServer, **smtp: Any) -> EmailSettings:
    return EmailSettings(
        from_address="support@example.com",
        from_name="Example Support 客服",
        domains=("example.com",),
        smtp=SmtpSettings(host=server.host, port=server.port, **{"security": "none", **smtp}),
    )


def notification(**overrides: Any) -> Notification:
    fields: dict[str, Any] = {
        "key": "event-1:zhang@customer.cn",
        "recipient": "zhang@customer.cn",
        "subject": "[T20261102000001] Parcel arrived broken",
        "body": "We are sending a replacement.",
        "event_kind": "replied",
        "ticket_id": "t1",
        "data": {"in_reply_to": "<m-1@customer.cn>", "name": "张三", "locale": "zh-CN"},
    }
    fields.update(overrides)
    return Notification(**fields)


def received(server: SmtpServer, index: int = -1) -> EmailMessage:
    content = server.mailbox.messages[index][2]
    message = BytesParser(policy=policy.default).parsebytes(content)
    assert isinstance(message, EmailMessage)
    return message


def test_a_reply_arrives_threaded_with_the_token_in_the_recipients_locale(
    smtp_server: SmtpServer,
) -> None:
    SmtpNotifier(settings_for(smtp_server), clock=lambda: NOW).send(notification())
    mail_from, rcpt, _ = smtp_server.mailbox.messages[0]
    assert (mail_from, rcpt) == ("support@example.com", ["zhang@customer.cn"])
    message = received(smtp_server)
    assert message["Subject"] == "回复：[#T20261102000001] Parcel arrived broken"
    assert message["From"].addresses[0].display_name == "Example Support 客服"
    assert message["From"].addresses[0].addr_spec == "support@example.com"
    assert message["To"].addresses[0].display_name == "张三"
    message_id = str(message["Message-ID"])
    assert message_id.endswith("@example.com>") and is_own_message_id(message_id, ["example.com"])
    assert ticket_of_message_id(message_id, ["example.com"]) == "t1"
    assert message["In-Reply-To"] == "<m-1@customer.cn>"
    references = str(message["References"]).split()
    assert references[-1] == "<m-1@customer.cn>"
    assert ticket_of_message_id(references[0], ["example.com"]) == "t1"  # the thread root
    assert message["X-Loop"] == "support@example.com"
    assert message["Auto-Submitted"] is None  # an agent wrote this reply
    assert message.get_content().startswith("We are sending a replacement.")


def test_automated_notices_carry_auto_submitted_and_suppress_auto_replies(
    smtp_server: SmtpServer,
) -> None:
    notifier = SmtpNotifier(settings_for(smtp_server), clock=lambda: NOW)
    notifier.send(
        notification(key="e2:z", event_kind="status_changed", data={"to_status": "resolved"})
    )
    notifier.send(notification(key="e3:z", event_kind="ticket_created", data={}))
    status, ack = received(smtp_server, 0), received(smtp_server, 1)
    assert status["Auto-Submitted"] == "auto-generated"
    assert status["X-Auto-Response-Suppress"] == "All"
    assert status["Subject"] == "[#T20261102000001] Parcel arrived broken: now resolved"
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["Subject"].startswith("[#T20261102000001] We received your request")
    assert "opened ticket T20261102000001" in ack.get_content()


def test_our_mail_coming_back_is_recognised_as_ours(smtp_server: SmtpServer) -> None:
    settings = settings_for(smtp_server)
    SmtpNotifier(settings, clock=lambda: NOW).send(notification(event_kind="ticket_created"))
    parsed = parse_email(smtp_server.mailbox.messages[0][2], settings)
    assert parsed.reason == "own_message"
    assert parsed.ticket_token == "T20261102000001"


def test_a_customer_reply_to_our_mail_threads_back_to_the_ticket(smtp_server: SmtpServer) -> None:
    settings = settings_for(smtp_server)
    SmtpNotifier(settings, clock=lambda: NOW).send(notification())
    ours = received(smtp_server)
    reply = (
        f"From: zhang@customer.cn\nTo: support@example.com\nSubject: Re: {ours['Subject']}\n"
        f"Message-ID: <r-1@customer.cn>\nIn-Reply-To: {ours['Message-ID']}\n"
        f"References: {ours['References']} {ours['Message-ID']}\n"
        "Content-Type: text/plain; charset=utf-8\n\n好的，谢谢。\n\n"
        "在 2026年11月2日，客服 <support@example.com> 写道：\n> We are sending a replacement.\n"
    ).encode()
    parsed = parse_email(reply, settings)
    assert parsed.reason is None and parsed.reply_text == "好的，谢谢。"
    assert parsed.ticket_token == "T20261102000001"
    assert [ticket_of_message_id(i, settings.domains) for i in parsed.in_reply_to] == ["t1"]


def test_cr_lf_and_nul_from_data_never_reach_a_header(smtp_server: SmtpServer) -> None:
    evil = notification(
        subject="[T20261102000001] Hi\r\nBcc: victim@evil.example\x00",
        data={"name": "Eve\r\nX-Injected: yes", "in_reply_to": "<a@b>\r\nX-Injected: 2"},
    )
    SmtpNotifier(settings_for(smtp_server), clock=lambda: NOW).send(evil)
    _, rcpt, content = smtp_server.mailbox.messages[0]
    assert rcpt == ["zhang@customer.cn"]
    head = content.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in content else content.split(b"\n\n")[0]
    for line in head.splitlines():
        assert not line.lower().startswith((b"bcc:", b"x-injected:")), line
    assert b"\x00" not in head
    message = received(smtp_server)
    assert message["Bcc"] is None and message["X-Injected"] is None
    # an id with a line break in it is dropped: the mail threads on the ticket's root only
    assert ticket_of_message_id(str(message["In-Reply-To"]), ["example.com"]) == "t1"
    assert "Injected" not in str(message["References"])


def test_a_redelivered_notification_keeps_its_message_id(smtp_server: SmtpServer) -> None:
    notifier = SmtpNotifier(settings_for(smtp_server), clock=lambda: NOW)
    notifier.send(notification())
    notifier.send(notification())
    assert received(smtp_server, 0)["Message-ID"] == received(smtp_server, 1)["Message-ID"]


def test_a_recipient_without_an_address_is_skipped_not_retried(smtp_server: SmtpServer) -> None:
    SmtpNotifier(settings_for(smtp_server), clock=lambda: NOW).send(
        notification(recipient="a-17", data={})
    )
    assert smtp_server.mailbox.messages == []


def test_a_refusing_server_raises_so_the_outbox_retries(smtp_server: SmtpServer) -> None:
    import smtplib

    smtp_server.mailbox.refuse = True
    with pytest.raises(smtplib.SMTPDataError):
        SmtpNotifier(settings_for(smtp_server), clock=lambda: NOW).send(notification())


def test_starttls_with_auth_against_a_private_ca(
    smtp_starttls_server: SmtpServer, certificates: Certificates
) -> None:
    settings = settings_for(
        smtp_starttls_server,
        security="starttls",
        username=USER,
        ca_file=str(certificates.ca_file),
    )
    SmtpNotifier(settings, password=PASSWORD, clock=lambda: NOW).send(notification())
    assert smtp_starttls_server.mailbox.logins == [USER]
    assert len(smtp_starttls_server.mailbox.messages) == 1


def test_starttls_refuses_a_certificate_it_cannot_verify(smtp_starttls_server: SmtpServer) -> None:
    import ssl

    settings = settings_for(smtp_starttls_server, security="starttls", username=USER)
    with pytest.raises(ssl.SSLCertVerificationError):
        SmtpNotifier(settings, password=PASSWORD, clock=lambda: NOW).send(notification())
    assert smtp_starttls_server.mailbox.messages == []


def test_implicit_tls(smtp_ssl_server: SmtpServer, certificates: Certificates) -> None:
    settings = settings_for(smtp_ssl_server, security="ssl", ca_file=str(certificates.ca_file))
    SmtpNotifier(settings, clock=lambda: NOW).send(notification())
    assert len(smtp_ssl_server.mailbox.messages) == 1


def test_the_desk_mails_a_public_reply_through_its_outbox(
    smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Enabled by [email.smtp]; the outbox delivers after commit."""
    monkeypatch.setenv("HELPDESK_TEST_SMTP_PASSWORD", "unused")
    config = load_config(
        {
            "email": {
                "from": "Example Support <support@example.com>",
                "locale": "zh-CN",
                "smtp": {"host": smtp_server.host, "port": smtp_server.port, "security": "none"},
            }
        }
    )
    desk = Helpdesk(config, clock=FixedClock(NOW), load_entrypoints=False)
    assert "smtp" in [n.name for n in desk.notifiers]
    customer = Actor(id="zhang@customer.cn", roles={"customer"})
    agent = Actor(id="a-1", roles={"agent"})
    ticket = desk.open_ticket(customer, subject="杯子碎了", channel="email")
    desk.assign(agent, ticket.id, agent.id)
    desk.reply(agent, ticket.id, "我们会补发一个新杯子。")
    desk.dispatch_outbox()
    subjects = [
        received(smtp_server, i)["Subject"] for i in range(len(smtp_server.mailbox.messages))
    ]
    assert f"回复：[#{ticket.number}] 杯子碎了" in subjects
    assert all(rcpt == ["zhang@customer.cn"] for _, rcpt, _ in smtp_server.mailbox.messages)


def test_smtp_config_errors_name_the_key_path(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_config({"email": {"smtp": {"ca_file": "/etc/ssl/private-ca.pem"}}})
    assert settings.sections["email"].smtp.ca_file == "/etc/ssl/private-ca.pem"  # documented key
    with pytest.raises(ConfigError, match=r"^email\.smtp\.security"):
        load_config({"email": {"smtp": {"security": "tls"}}})
    with pytest.raises(ConfigError, match=r"^email\.smtp\.port"):
        load_config({"email": {"smtp": {"port": 70000}}})
    with pytest.raises(ConfigError, match=r"^email\.smtp\.username"):
        load_config({"email": {"smtp": {"password_env": "X"}}})
    monkeypatch.delenv("HELPDESK_NO_SUCH_PASSWORD", raising=False)
    config = load_config(
        {"email": {"smtp": {"username": "u", "password_env": "HELPDESK_NO_SUCH_PASSWORD"}}}
    )
    with pytest.raises(ConfigError, match=r"^email\.smtp\.password_env"):
        Helpdesk(config, load_entrypoints=False)


def test_contact_details_are_masked_for_a_recipient_whose_role_requires_it(
    smtp_server: SmtpServer,
) -> None:
    """R-CUS-2: an agent without customer.view_contact gets mail with the customer's address
    and phone masked; the customer's own mail and the ticket token are left as they are."""
    from helpdesk_plugins.channel_email.outbound import Recipient

    def address_book(n: Notification) -> Recipient:
        if n.recipient == "a-17":  # an agent: contact details masked by the matrix
            return Recipient("a17@example.com", "Agent 17", "en", mask_contacts=True)
        return Recipient(n.recipient, "张三", "en")

    notifier = SmtpNotifier(settings_for(smtp_server), address_book=address_book, clock=lambda: NOW)
    text = "Call me on +86 138-1234-5678 or mail li.si@customer.cn (order of 2026-11-02)."
    for key, recipient in (("e1:a-17", "a-17"), ("e1:zhang", "zhang@customer.cn")):
        notifier.send(
            notification(
                key=key,
                recipient=recipient,
                subject="[T20261102000001] Call 13812345678",
                body=text,
                event_kind="customer_messaged",
                data={},
            )
        )
    agent, customer = received(smtp_server, 0), received(smtp_server, 1)
    assert agent["Subject"] == "[#T20261102000001] New customer message: Call 138****5678"
    body = agent.get_content()
    assert "+86 138-****-5678" in body and "li.***@customer.cn" in body
    assert "1234" not in body and "li.si@" not in body
    assert "2026-11-02" in body and "T20261102000001" in body
    assert text in customer.get_content()
    assert "13812345678" in customer["Subject"]


@given(
    subject=st.text(max_size=60),
    name=st.text(max_size=30),
    reply_to=st.text(max_size=40),
    masked=st.booleans(),
)
@settings(max_examples=200, deadline=None)
def test_no_data_ever_adds_a_header_line_or_a_nul(
    subject: str, name: str, reply_to: str, masked: bool
) -> None:
    """Issue 23: CR/LF/NUL from inbound data never reach an outbound header, masked or not."""
    from helpdesk_plugins.channel_email.outbound import Recipient, render_email

    hostile = notification(
        subject=f"[T20261102000001] {subject}\r\nBcc: x@evil.example",
        data={"in_reply_to": reply_to + "\r\nX-Injected: 1"},
    )
    message = render_email(
        hostile,
        Recipient("zhang@customer.cn", name + "\nX-Injected: 2", mask_contacts=masked),
        EmailSettings(from_address="support@example.com", domains=("example.com",)),
        now=NOW,
    )
    raw = message.as_bytes(policy=policy.SMTP)
    head = raw.split(b"\r\n\r\n", 1)[0]
    names = [
        line.split(b":", 1)[0].lower()
        for line in head.split(b"\r\n")
        if line[:1] not in (b" ", b"\t")
    ]
    assert b"\x00" not in head
    assert b"bcc" not in names and b"x-injected" not in names
