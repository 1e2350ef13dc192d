"""The SMTP/LMTP listener (``helpdesk mail listen``) with a real smtplib client on loopback
(issue 23, R-TKT-1): 250 only after ingest committed, 451 on a storage outage so the MTA keeps
the message, 552 above the size limit, LMTP answered per recipient."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from intake_helpers import RecordingIngest, mail

from conftest import free_port
from helpdesk_core import Helpdesk
from helpdesk_plugins.mail_intake.listener import make_controller


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Helpdesk]:
    with Helpdesk(storage_url=f"sqlite:///{tmp_path / 'desk.db'}", load_entrypoints=False) as d:
        yield d


@pytest.fixture
def listen() -> Iterator[Any]:
    """Start a listener into an ingest; stopped after the test. Returns its port."""
    started: list[Any] = []

    def start(ingest: RecordingIngest, **options: Any) -> int:
        port = free_port()
        controller = make_controller(ingest, host="127.0.0.1", port=port, **options)
        controller.start()
        started.append(controller)
        return port

    yield start
    for controller in started:
        controller.stop()


def test_a_message_is_answered_250_after_it_was_ingested(desk: Helpdesk, listen: Any) -> None:
    ingest = RecordingIngest(desk)
    port = listen(ingest)
    with smtplib.SMTP("127.0.0.1", port) as client:
        code, reply = client.docmd("NOOP")
        client.sendmail("zhang1@customer.cn", ["support@example.com"], mail(1))
        assert ingest.firsts() == [mail(1)]  # recorded before the client got its 250
        client.mail("zhang2@customer.cn")
        client.rcpt("support@example.com")
        code, reply = client.data(mail(2))
    assert code == 250 and reply.decode().startswith("2.0.0 OK: created")
    assert [raw for raw, _ in ingest.ingested] == [mail(1), mail(2)]


def test_a_storage_outage_is_a_temporary_failure_and_nothing_is_recorded(
    desk: Helpdesk, listen: Any
) -> None:
    ingest = RecordingIngest(desk, outage=1)
    port = listen(ingest)
    with smtplib.SMTP("127.0.0.1", port) as client:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail("zhang1@customer.cn", ["support@example.com"], mail(1))
        assert refused.value.smtp_code == 451
        assert ingest.ingested == []
        client.sendmail("zhang1@customer.cn", ["support@example.com"], mail(1))  # the retry
    assert ingest.firsts() == [mail(1)]


def test_a_message_above_the_size_limit_is_refused_552(desk: Helpdesk, listen: Any) -> None:
    ingest = RecordingIngest(desk)
    port = listen(ingest, max_bytes=2000)
    big = mail(1).replace(b"the cup is broken.", b"the cup is broken.\r\n" * 200)
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.ehlo()
        assert client.has_extn("size") and client.esmtp_features["size"] == "2000"
        client.mail("zhang1@customer.cn")
        client.rcpt("support@example.com")
        code, _ = client.data(big)
        assert code == 552
    assert ingest.calls == []


def test_lmtp_answers_each_recipient(desk: Helpdesk, listen: Any) -> None:
    ingest = RecordingIngest(desk)
    port = listen(ingest, lmtp=True)
    client = smtplib.LMTP("127.0.0.1", port)
    try:
        client.sendmail("zhang1@customer.cn", ["support@example.com"], mail(1))
        # two recipients: one reply line each (RFC 2033), read here off the wire
        client.mail("zhang2@customer.cn")
        client.rcpt("support@example.com")
        client.rcpt("sales@example.com")
        client.putcmd("data")
        assert client.getreply()[0] == 354
        client.send(mail(2) + b".\r\n")  # mail() has CRLF line ends and no leading dots
        replies = [client.getreply(), client.getreply()]
        assert [code for code, _ in replies] == [250, 250]
        assert client.noop()[0] == 250  # the conversation is still in step
    finally:
        client.close()
    assert len(ingest.firsts()) == 2
